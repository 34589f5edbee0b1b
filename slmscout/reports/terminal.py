"""The terminal report: read summary, roll-up and the cluster table, rendered with rich.

Text that comes from traces (names, templates, paths) is passed as ``rich.text.Text``, never as markup, so a
prompt containing ``[CONTENT]`` or ``[/bold]`` prints as written.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from slmscout.analyzers.analysis import Analysis
from slmscout.reports.rollup import rollup
from slmscout.traces.ingest import ReadSummary

VERDICT_STYLES = {"prompted-slm": "green", "finetuned-slm": "yellow", "keep-llm": "red"}


def _tokens(value: float) -> str:
    return f"{value:,.0f}"


FILES_LISTED = 5


def read_summary_view(summary: ReadSummary) -> RenderableType:
    """Every record accounted for: calls per format and file, skips by reason with where, files passed over."""
    lines: list[RenderableType] = []
    files_by_format = summary.files_by_format()
    formats = ", ".join(
        f"{fmt}: {calls:,} from {files_by_format[fmt]:,} file(s)"
        for fmt, calls in sorted(summary.calls_by_format().items())
    )
    read_files = sum(files_by_format.values())
    lines.append(Text(f"Read {summary.calls_read:,} calls from {read_files:,} file(s) ({formats})."))
    read = [f for f in summary.files if f.format is not None]
    if 1 < len(read) <= FILES_LISTED:
        for entry in read:
            skipped = f", {entry.skipped:,} skipped" if entry.skipped else ""
            lines.append(Text(f"  {entry.path}: {entry.calls:,} calls ({entry.format}{skipped})"))
    if summary.records_skipped:
        lines.append(Text(f"Skipped {summary.records_skipped:,} record(s):", style="yellow"))
        for group in sorted(summary.skips.values(), key=lambda g: (-g.count, g.reason)):
            where = ", ".join(group.locations)
            more = " ..." if group.count > len(group.locations) else ""
            lines.append(Text(f"  {group.count:,} x {group.reason}: {where}{more}"))
    unrecognised = summary.files_unrecognised
    if unrecognised:
        lines.append(Text(f"Passed over {len(unrecognised):,} file(s) that hold no calls:", style="yellow"))
        lines.extend(Text(f"  {entry.path}: {entry.note}") for entry in unrecognised[:FILES_LISTED])
        if len(unrecognised) > FILES_LISTED:
            lines.append(Text(f"  ... and {len(unrecognised) - FILES_LISTED:,} more"))
    return Group(*lines)


def rollup_view(analysis: Analysis) -> RenderableType:
    r = rollup(analysis)
    counts = ", ".join(
        f"{r.clusters_by_verdict.get(kind, 0)} {label}"
        for kind, label in (
            ("prompted-slm", "prompted SLM"),
            ("finetuned-slm", "fine-tuned SLM"),
            ("keep-llm", "keep on LLM"),
        )
    )
    one_offs = analysis.one_off_calls
    share = one_offs / analysis.total_calls if analysis.total_calls else 0.0
    return Group(
        Text(f"{len(analysis.clusters):,} task clusters ({counts}); embeddings: {analysis.model}."),
        Text(f"{one_offs:,} call(s) ({share:.1%}) are one-offs: no other call shares their task (a cluster each)."),
        Text.assemble(
            ("Replaceable by an SLM: ", "bold"),
            (f"{r.call_share:.0%} of calls ({r.replaceable_calls:,} of {r.calls:,}), ", "bold green"),
            (
                f"{r.token_share:.0%} of tokens ({_tokens(r.replaceable_tokens)} of {_tokens(r.tokens)}).",
                "bold green",
            ),
        ),
    )


def cluster_table(analysis: Analysis, limit: int | None = None) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_lines=False, pad_edge=False, expand=True)
    table.add_column("id", justify="right")
    table.add_column("task cluster", overflow="fold", ratio=5, min_width=24)
    table.add_column("calls", justify="right")
    table.add_column("share", justify="right")
    table.add_column("in p50/p95", justify="right")
    table.add_column("out p50/p95", justify="right")
    table.add_column("verdict", no_wrap=True)
    table.add_column("why", overflow="fold", ratio=4)
    clusters = analysis.clusters if limit is None else analysis.clusters[:limit]
    for c in clusters:
        e = c.evidence
        table.add_row(
            str(c.cluster_id),
            Text(c.name),
            f"{e.calls:,}",
            f"{e.share:.1%}",
            f"{_tokens(e.input_tokens.p50)}/{_tokens(e.input_tokens.p95)}",
            f"{_tokens(e.output_tokens.p50)}/{_tokens(e.output_tokens.p95)}",
            Text(f"{c.verdict.label} ({c.verdict.confidence})", style=VERDICT_STYLES[c.verdict.kind]),
            Text("; ".join(c.verdict.reasons)),
        )
    return table


def token_note(analysis: Analysis) -> Text:
    sources = {a.token_source for a in analysis.assignments}
    if sources == {"reported"}:
        return Text("Token counts are the ones the logs reported.", style="dim")
    what = "all" if sources == {"estimated"} else "some"
    return Text(
        f"Token counts: {what} estimated at 4 characters per token where the logs reported no usage.",
        style="dim",
    )


def cluster_details(analysis: Analysis, limit: int | None = None) -> RenderableType:
    """Each cluster's mined template (its skeleton, masked) and its representative calls."""
    parts: list[RenderableType] = []
    clusters = analysis.clusters if limit is None else analysis.clusters[:limit]
    for c in clusters:
        parts.append(Text(f"#{c.cluster_id} {c.name}", style="bold"))
        kind = "template" if c.templated else "no recurring template; grouped by meaning"
        parts.append(Text(f"  {kind}; terms: {', '.join(c.terms) or '-'}", style="dim"))
        parts.extend(Text(f"  | {piece}") for piece in c.template)
        parts.append(Text(f"  representative calls: {', '.join(c.example_call_ids)}", style="dim"))
    return Group(*parts)


def render_report(
    console: Console, analysis: Analysis, summary: ReadSummary, limit: int | None = None, details: bool = False
) -> None:
    console.print(read_summary_view(summary))
    console.print()
    console.print(rollup_view(analysis))
    console.print(cluster_table(analysis, limit))
    if limit is not None and len(analysis.clusters) > limit:
        hidden = len(analysis.clusters) - limit
        console.print(Text(f"... {hidden:,} smaller clusters not shown (see --csv).", style="dim"))
    console.print(token_note(analysis))
    if details:
        console.print()
        console.print(cluster_details(analysis, limit))
