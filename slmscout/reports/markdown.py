"""The Markdown rendering of a run: for a pull request, a wiki page or an issue.

Trace text (names, templates, reasons, example calls) is escaped for Markdown and HTML in table cells and
headings, and put in fenced blocks longer than any backtick run it holds, so it can neither break the layout nor
inject markup into a renderer that accepts HTML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from slmscout.analyzers.analysis import Analysis, ClusterReport
from slmscout.reports.rollup import clusters_by_verdict, paper_estimate, rollup
from slmscout.reports.run import Manifest
from slmscout.reports.terminal import VERDICT_NAMES, _usd, clip, evidence_line
from slmscout.traces.record import LLMCall

_INLINE_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def inline(text: str) -> str:
    """Text safe inside a table cell or heading: HTML entities, Markdown punctuation escaped, one line."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = " ".join(text.split())
    return _INLINE_SPECIAL.sub(r"\\\1", text)


def fenced(text: str, info: str = "text") -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def _summary(manifest: Manifest, analysis: Analysis) -> list[str]:
    r = rollup(analysis)
    by_verdict = clusters_by_verdict(analysis)
    counts = ", ".join(f"{by_verdict.get(kind, 0)} {label}" for kind, label in VERDICT_NAMES)
    reads = manifest.reads
    formats = ", ".join(f"{inline(fmt)}: {calls:,}" for fmt, calls in reads.calls_by_format().items())
    lines = [
        f"# slmscout report {inline(manifest.run_id)}",
        "",
        f"Read {reads.calls_read:,} calls ({formats}); {reads.records_skipped:,} record(s) skipped; "
        f"{len(reads.files_unrecognised):,} file(s) passed over.",
        "",
        f"{len(analysis.clusters):,} task clusters ({counts}); embeddings: {inline(analysis.model)}; "
        f"{analysis.one_off_calls:,} one-off call(s).",
        "",
        f"**Replaceable by an SLM: {r.call_share:.0%} of calls ({r.replaceable_calls:,} of {r.calls:,}), "
        f"{r.token_share:.0%} of tokens, {r.cost_share:.0%} of cost.** "
        f"Cost {_usd(r.current_usd)} now, {_usd(r.after_usd)} expected after replacement.",
    ]
    estimate = paper_estimate(analysis)
    if estimate is not None:
        lines += [
            "",
            f"The paper (arXiv 2506.02153, Appendix B) estimates ~{estimate:.0%} of {analysis.framework}'s calls "
            f"could move to SLMs; measured here: {r.call_share:.0%} of calls.",
        ]
    return lines


def _table(analysis: Analysis, limit: int | None) -> list[str]:
    lines = [
        "| id | task cluster | calls | verdict | SLM | $ now | $ after | main reason |",
        "|---:|---|---:|---|---|---:|---:|---|",
    ]
    clusters = analysis.clusters if limit is None else analysis.clusters[:limit]
    for c in clusters:
        reason = c.verdict.reasons[0] if c.verdict.reasons else ""
        lines.append(
            f"| {c.cluster_id} | [{inline(c.name)}](#cluster-{c.cluster_id}) | {c.evidence.calls:,} | "
            f"{c.verdict.label} ({c.verdict.confidence}) | {inline(c.economics.slm or '-')} | "
            f"{_usd(c.economics.current_usd)} | {_usd(c.economics.slm_usd)} | {inline(reason)} |"
        )
    if limit is not None and len(analysis.clusters) > limit:
        lines += ["", f"{len(analysis.clusters) - limit:,} smaller clusters not shown."]
    return lines


def _call(call: LLMCall) -> list[str]:
    text = "\n\n".join(f"[{m.role}]\n{clip(m.content)}" for m in call.messages)
    text += f"\n\n[response]\n{clip(call.response or '(no text)')}"
    text += "".join(f"\n[tool call] {t.name}({clip(t.arguments, 200, 60)})" for t in call.response_tool_calls)
    return [f"Call `{inline(call.call_id)}`:", "", fenced(text)]


def _details(c: ClusterReport, examples: Mapping[str, LLMCall]) -> list[str]:
    v = c.verdict
    lines = [
        f'<a id="cluster-{c.cluster_id}"></a>',
        f"### #{c.cluster_id} {inline(c.name)}",
        "",
        f"**{v.label}** ({v.confidence}); SLM candidates: {inline(', '.join(v.candidates) or '-')}; "
        f"needs: {inline(', '.join(v.needs) or '-')}.",
        "",
    ]
    lines += [f"- {inline(reason)}" for reason in v.reasons]
    lines += ["", f"Evidence: {inline(evidence_line(c))}.", ""]
    if c.template:
        lines += ["Template:", "", fenced("\n".join(c.template)), ""]
    for call_id in c.example_call_ids:
        if call_id in examples:
            lines += [*_call(examples[call_id]), ""]
    return lines


def render_markdown(
    manifest: Manifest, analysis: Analysis, examples: Mapping[str, LLMCall], limit: int | None = None
) -> str:
    lines = [*_summary(manifest, analysis), "", "## Clusters", "", *_table(analysis, limit), "", "## Details", ""]
    clusters = analysis.clusters if limit is None else analysis.clusters[:limit]
    for c in clusters:
        lines += _details(c, examples)
    items = [f"{key}={value}" for key, value in analysis.assumptions.items()]
    lines += ["## Assumptions", "", inline("  ".join(items)), ""]
    return "\n".join(lines)
