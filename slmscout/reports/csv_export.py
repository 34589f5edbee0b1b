"""CSV exports: one row per cluster, one row per call."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from slmscout.analyzers.analysis import Analysis
from slmscout.errors import OutputError

CLUSTER_COLUMNS = (
    "cluster_id",
    "cluster_name",
    "templated",
    "calls",
    "share",
    "verdict",
    "confidence",
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
    "distinct_output_share",
    "tool_call_share",
    "error_share",
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
    "input_tokens",
    "output_tokens",
    "token_source",
)


def cluster_rows(analysis: Analysis) -> Iterable[Sequence[object]]:
    for c in analysis.clusters:
        e = c.evidence
        yield (
            c.cluster_id,
            c.name,
            int(c.templated),
            e.calls,
            round(e.share, 6),
            c.verdict.kind,
            c.verdict.confidence,
            "; ".join(c.verdict.reasons),
            round(e.input_tokens.p50),
            round(e.input_tokens.p95),
            round(e.input_tokens.max),
            round(e.input_tokens.total),
            round(e.output_tokens.p50),
            round(e.output_tokens.p95),
            round(e.output_tokens.max),
            round(e.output_tokens.total),
            e.token_source,
            round(e.json_share, 4),
            round(e.distinct_output_share, 4),
            round(e.tool_call_share, 4),
            round(e.error_share, 4),
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
            a.input_tokens,
            a.output_tokens,
            a.token_source,
        )


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write a CSV atomically: to a temporary file beside ``path``, then renamed over it."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows(rows)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_cluster_csv(path: Path, analysis: Analysis) -> None:
    write_csv(path, CLUSTER_COLUMNS, cluster_rows(analysis))


def write_call_csv(path: Path, analysis: Analysis) -> None:
    write_csv(path, CALL_COLUMNS, call_rows(analysis))
