"""CSV exports: one row per cluster, one row per call."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from slmscout.analyzers.analysis import Analysis
from slmscout.reports.atomic import atomic_file

CLUSTER_COLUMNS = (
    "cluster_id",
    "cluster_name",
    "templated",
    "calls",
    "share",
    "verdict",
    "confidence",
    "slm_candidates",
    "needs",
    "reasons",
    "input_tokens_p50",
    "input_tokens_p95",
    "input_tokens_max",
    "input_tokens_total",
    "output_tokens_p50",
    "output_tokens_p95",
    "output_tokens_max",
    "output_tokens_total",
    "token_source",
    "json_share",
    "schema_share",
    "code_share",
    "distinct_outputs",
    "distinct_output_share",
    "output_entropy_bits",
    "tool_call_share",
    "multi_step_share",
    "prompt_turns_p50",
    "history_share",
    "error_share",
    "repeat_share",
    "template_homogeneity",
    "calls_per_day",
    "current_usd",
    "current_cost_source",
    "slm",
    "slm_cost_source",
    "after_usd",
    "savings_usd",
    "expected_slm_attempts",
    "llm_fallback_share",
    "current_kwh",
    "after_kwh",
    "terms",
    "headline",
    "template",
    "example_call_ids",
)

CALL_COLUMNS = (
    "call_id",
    "cluster_id",
    "cluster_name",
    "verdict",
    "source",
    "group",
    "input_tokens",
    "output_tokens",
    "token_source",
    "current_usd",
    "after_usd",
)


def _r(value: float | None, digits: int = 4) -> object:
    return "" if value is None else round(value, digits)


def cluster_rows(analysis: Analysis) -> Iterable[Sequence[object]]:
    for c in analysis.clusters:
        e, v, m = c.evidence, c.verdict, c.economics
        yield (
            c.cluster_id,
            c.name,
            int(c.templated),
            e.calls,
            round(e.share, 6),
            v.kind,
            v.confidence,
            " ".join(v.candidates),
            " ".join(v.needs),
            "; ".join(v.reasons),
            round(e.input_tokens.p50),
            round(e.input_tokens.p95),
            round(e.input_tokens.max),
            round(e.input_tokens.total),
            round(e.output_tokens.p50),
            round(e.output_tokens.p95),
            round(e.output_tokens.max),
            round(e.output_tokens.total),
            e.token_source,
            _r(e.json_share),
            _r(e.schema_share),
            _r(e.code_share),
            e.distinct_outputs,
            _r(e.distinct_output_share),
            _r(e.output_entropy_bits, 3),
            _r(e.tool_call_share),
            _r(e.multi_step_share),
            e.prompt_turns_p50,
            _r(e.history_share),
            _r(e.error_share),
            _r(e.repeat_share),
            _r(e.template_homogeneity),
            _r(e.calls_per_day, 2),
            _r(m.current_usd, 6),
            m.current_source,
            m.slm or "",
            m.slm_cost_source,
            _r(m.slm_usd, 6),
            _r(m.savings_usd, 6),
            _r(m.expected_slm_attempts, 3),
            _r(m.llm_fallback_share),
            _r(m.current_kwh, 6),
            _r(m.slm_kwh, 6),
            " ".join(c.terms),
            c.headline,
            "\n".join(c.template),
            " ".join(c.example_call_ids),
        )


def call_rows(analysis: Analysis) -> Iterable[Sequence[object]]:
    for a in analysis.assignments:
        cluster = analysis.cluster(a.cluster_id)
        yield (
            a.call_id,
            a.cluster_id,
            cluster.name,
            cluster.verdict.kind,
            a.source,
            a.group,
            a.input_tokens,
            a.output_tokens,
            a.token_source,
            round(a.current_usd, 8),
            round(a.after_usd, 8),
        )


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write a CSV atomically: to a temporary file beside ``path``, then renamed over it."""
    with atomic_file(path, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_cluster_csv(path: Path, analysis: Analysis) -> None:
    write_csv(path, CLUSTER_COLUMNS, cluster_rows(analysis))


def write_call_csv(path: Path, analysis: Analysis) -> None:
    write_csv(path, CALL_COLUMNS, call_rows(analysis))
