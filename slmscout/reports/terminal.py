"""The terminal report: read summary, roll-up and the cluster table, rendered with rich.

Text that comes from traces (names, templates, paths) is passed as ``rich.text.Text``, never as markup, so a
prompt containing ``[CONTENT]`` or ``[/bold]`` prints as written.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from slmscout.analyzers.analysis import Analysis, ClusterReport, Distribution
from slmscout.reports.rollup import clusters_by_verdict, paper_estimate, rollup, rollup_by_group
from slmscout.reports.run import ReadOverview
from slmscout.traces.record import LLMCall

VERDICT_STYLES = {"prompted-slm": "green", "finetuned-slm": "yellow", "keep-llm": "red"}


def _tokens(value: float) -> str:
    return f"{value:,.0f}"


FILES_LISTED = 5


def read_summary_view(summary: ReadOverview) -> RenderableType:
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
        for group in summary.skips:
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


VERDICT_NAMES = (("prompted-slm", "prompted SLM"), ("finetuned-slm", "fine-tuned SLM"), ("keep-llm", "keep on LLM"))


def _usd(value: float) -> str:
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:,.4f}"


def rollup_view(analysis: Analysis) -> RenderableType:
    r = rollup(analysis)
    by_verdict = clusters_by_verdict(analysis)
    counts = ", ".join(f"{by_verdict.get(kind, 0)} {label}" for kind, label in VERDICT_NAMES)
    one_offs = analysis.one_off_calls
    share = one_offs / analysis.total_calls if analysis.total_calls else 0.0
    current_kwh = sum(c.economics.current_kwh for c in analysis.clusters)
    after_kwh = sum(c.economics.slm_kwh for c in analysis.clusters)
    saved = r.savings_usd / r.current_usd if r.current_usd else 0.0
    lines: list[RenderableType] = [
        Text(f"{len(analysis.clusters):,} task clusters ({counts}); embeddings: {analysis.model}."),
        Text(f"{one_offs:,} call(s) ({share:.1%}) are one-offs: no other call shares their task (a cluster each)."),
        Text.assemble(
            ("Replaceable by an SLM: ", "bold"),
            (
                f"{r.call_share:.0%} of calls ({r.replaceable_calls:,} of {r.calls:,}), {r.token_share:.0%} of tokens, "
                f"{r.cost_share:.0%} of cost.",
                "bold green",
            ),
        ),
        Text(
            f"Cost of these calls: {_usd(r.current_usd)} now, {_usd(r.after_usd)} expected after replacement "
            f"({saved:.0%} saved, retries and LLM fallbacks included); "
            f"energy {current_kwh:,.3f} kWh -> {after_kwh:,.3f} kWh."
        ),
    ]
    estimate = paper_estimate(analysis)
    if estimate is not None:
        lines.append(
            Text(
                f"The paper (arXiv 2506.02153, Appendix B) estimates ~{estimate:.0%} of {analysis.framework}'s calls "
                f"could move to SLMs; measured here: {r.call_share:.0%} of calls, {r.cost_share:.0%} of cost.",
                style="cyan",
            )
        )
    return Group(*lines)


def group_table(analysis: Analysis, limit: int = 10) -> Table | None:
    """Replaceable shares per agent (or source file), when the calls come from more than one."""
    groups = rollup_by_group(analysis)
    if len(groups) < 2:
        return None
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="By agent or source", title_justify="left")
    for column, justify in (
        ("agent / source", "left"),
        ("calls", "right"),
        ("replaceable calls", "right"),
        ("tokens", "right"),
        ("cost now", "right"),
        ("after", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for g in groups[:limit]:
        table.add_row(
            Text(g.group),
            f"{g.calls:,}",
            f"{g.call_share:.0%}",
            f"{g.token_share:.0%}",
            _usd(g.current_usd),
            _usd(g.after_usd),
        )
    return table


def cluster_table(analysis: Analysis, limit: int | None = None) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_lines=False, pad_edge=False, expand=True)
    table.add_column("id", justify="right")
    table.add_column("task cluster", overflow="fold", ratio=4, min_width=24)
    table.add_column("calls", justify="right")
    table.add_column("in p50/p95", justify="right")
    table.add_column("out p50/p95", justify="right")
    table.add_column("verdict", no_wrap=True)
    table.add_column("SLM", overflow="fold", ratio=3)
    table.add_column("$ now", justify="right")
    table.add_column("$ after", justify="right")
    table.add_column("main reason", overflow="fold", ratio=5)
    clusters = analysis.clusters if limit is None else analysis.clusters[:limit]
    for c in clusters:
        e = c.evidence
        table.add_row(
            str(c.cluster_id),
            Text(c.name),
            f"{e.calls:,}",
            f"{_tokens(e.input_tokens.p50)}/{_tokens(e.input_tokens.p95)}",
            f"{_tokens(e.output_tokens.p50)}/{_tokens(e.output_tokens.p95)}",
            Text(f"{c.verdict.label} ({c.verdict.confidence})", style=VERDICT_STYLES[c.verdict.kind]),
            Text(c.economics.slm or "-"),
            _usd(c.economics.current_usd),
            _usd(c.economics.slm_usd),
            Text(c.verdict.reasons[0] if c.verdict.reasons else ""),
        )
    return table


def token_note(analysis: Analysis) -> Text:
    sources = {a.token_source for a in analysis.assignments}
    if sources == {"reported"}:
        return Text("Token counts are the ones the logs reported.", style="dim")
    what = "all" if sources == {"counted"} else "some"
    return Text(
        f"Token counts: {what} counted with the cl100k_base tokenizer where the logs reported no usage.", style="dim"
    )


def cost_note(analysis: Analysis) -> Text:
    sources = {c.economics.current_source for c in analysis.clusters}
    models = sorted({m for c in analysis.clusters for m in c.economics.current_models})
    if sources == {"reported"}:
        text = "Current cost: as the logs reported it."
    else:
        priced = ", ".join(models) or "-"
        what = "all" if sources == {"priced"} else "some"
        text = f"Current cost: {what} priced from the LLM price table ({priced}) where the logs reported no cost."
    by_energy = sorted(
        {c.economics.slm for c in analysis.clusters if c.economics.slm and c.economics.slm_cost_source == "energy"}
    )
    if by_energy:
        text += (
            f" SLMs costed by their energy at electricity_usd_per_kwh (local, or no hosted price in the catalog): "
            f"{', '.join(by_energy)}."
        )
    return Text(text, style="dim")


def assumptions_view(analysis: Analysis) -> RenderableType:
    """Every assumption behind the figures, and how to change it."""
    items = [f"{key}={value}" for key, value in analysis.assumptions.items()]
    rules = analysis.parameters.get("verdict", {})
    if isinstance(rules, dict):
        items += [f"rules.{key}={value}" for key, value in rules.items()]
    return Group(
        Text(
            "Assumptions (change with --assume KEY=VALUE, or [assumptions] / [rules] in slmscout.toml):", style="bold"
        ),
        Text("  " + "  ".join(items), style="dim"),
        Text(
            f"  SLM catalog: {analysis.parameters.get('catalog')}; LLM prices: {analysis.parameters.get('prices')} "
            "(slmscout models lists the catalog; --catalog/--prices replace them).",
            style="dim",
        ),
    )


def _spread(d: Distribution) -> str:
    return f"{_tokens(d.p50)}/{_tokens(d.p95)}/{_tokens(d.max)}"


def evidence_line(c: ClusterReport) -> str:
    e, m = c.evidence, c.economics
    parts = [
        f"{e.calls:,} calls ({e.share:.1%})",
        f"in p50/p95/max {_spread(e.input_tokens)}",
        f"out {_spread(e.output_tokens)} ({e.token_source})",
        f"JSON {e.json_share:.0%} (one schema {e.schema_share:.0%})",
        f"code {e.code_share:.0%}",
        f"{e.distinct_outputs:,} distinct outputs ({e.output_entropy_bits:.1f} bits)",
        f"tool calls {e.tool_call_share:.0%}",
        f"multi-step {e.multi_step_share:.0%}",
        f"turns p50 {e.prompt_turns_p50:g}, history {e.history_share:.0%}",
        f"errors {e.error_share:.0%}, repeats {e.repeat_share:.0%}",
        f"template homogeneity {e.template_homogeneity:.0%}",
        f"cost {_usd(m.current_usd)} ({m.current_source}) -> {_usd(m.slm_usd)}",
    ]
    if m.slm:
        parts.append(f"{m.expected_slm_attempts:.2f} expected SLM attempts, {m.llm_fallback_share:.1%} LLM fallback")
    return "; ".join(parts)


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
        parts.append(
            Text(f"  verdict: {c.verdict.label} ({c.verdict.confidence})", style=VERDICT_STYLES[c.verdict.kind])
        )
        parts.extend(Text(f"    - {reason}") for reason in c.verdict.reasons)
        parts.append(Text(f"  evidence: {evidence_line(c)}", style="dim"))
    return Group(*parts)


def render_report(
    console: Console, analysis: Analysis, summary: ReadOverview, limit: int | None = None, details: bool = False
) -> None:
    console.print(read_summary_view(summary))
    console.print()
    console.print(rollup_view(analysis))
    groups = group_table(analysis)
    if groups is not None:
        console.print(groups)
    console.print(cluster_table(analysis, limit))
    if limit is not None and len(analysis.clusters) > limit:
        hidden = len(analysis.clusters) - limit
        console.print(Text(f"... {hidden:,} smaller clusters not shown (see --csv).", style="dim"))
    console.print(token_note(analysis))
    console.print(cost_note(analysis))
    console.print(assumptions_view(analysis))
    if details:
        console.print()
        console.print(cluster_details(analysis, limit))


MESSAGE_HEAD = 600
MESSAGE_TAIL = 200


def clip(text: str, head: int = MESSAGE_HEAD, tail: int = MESSAGE_TAIL) -> str:
    """A long trace text as its start and end, with how much was left out between them."""
    if len(text) <= head + tail + 40:
        return text
    return f"{text[:head]}\n[... {len(text) - head - tail:,} characters left out ...]\n{text[-tail:]}"


def call_view(call: LLMCall) -> RenderableType:
    """One representative call: its messages and response, clipped."""
    parts: list[RenderableType] = [Text(f"call {call.call_id}  ({call.source})", style="bold")]
    for message in call.messages:
        parts.append(Text(f"  [{message.role}]", style="cyan"))
        parts.append(Text("    " + clip(message.content).replace("\n", "\n    ")))
        for tool_call in message.tool_calls:
            parts.append(Text(f"    tool call {tool_call.name}({clip(tool_call.arguments, 200, 60)})"))
    parts.append(Text("  [response]", style="green"))
    parts.append(Text("    " + clip(call.response or "(no text)").replace("\n", "\n    ")))
    for tool_call in call.response_tool_calls:
        parts.append(Text(f"    tool call {tool_call.name}({clip(tool_call.arguments, 200, 60)})"))
    return Group(*parts)


def cluster_view(analysis: Analysis, cluster: ClusterReport, examples: dict[str, LLMCall]) -> RenderableType:
    """One cluster's drill-down: name, template, evidence, verdict with reasons, SLM match, representative calls."""
    v, m = cluster.verdict, cluster.economics
    parts: list[RenderableType] = [
        Text(f"#{cluster.cluster_id} {cluster.name}", style="bold"),
        Text(f"headline: {cluster.headline}"),
        Text(f"terms: {', '.join(cluster.terms) or '-'}", style="dim"),
        Text("template:" if cluster.templated else "no recurring template: grouped by meaning", style="bold"),
    ]
    parts.extend(Text(f"  | {piece}") for piece in cluster.template)
    parts.append(Text.assemble(("verdict: ", "bold"), (f"{v.label} ({v.confidence})", VERDICT_STYLES[v.kind])))
    parts.extend(Text(f"  - {reason}") for reason in v.reasons)
    parts.append(Text(f"needs: {', '.join(v.needs) or '-'}; SLM candidates: {', '.join(v.candidates) or '-'}"))
    if m.slm:
        parts.append(
            Text(
                f"costed on {m.slm} ({m.slm_cost_source}): {_usd(m.current_usd)} now ({m.current_source}) -> "
                f"{_usd(m.slm_usd)}, {m.expected_slm_attempts:.2f} expected attempts, "
                f"{m.llm_fallback_share:.1%} LLM fallback; energy {m.current_kwh:.4f} -> {m.slm_kwh:.4f} kWh"
            )
        )
    parts.append(Text("evidence:", style="bold"))
    parts.extend(Text(f"  {item}", style="dim") for item in evidence_line(cluster).split("; "))
    parts.append(Text(f"representative calls ({len(cluster.example_call_ids)}):", style="bold"))
    for call_id in cluster.example_call_ids:
        call = examples.get(call_id)
        parts.append(call_view(call) if call is not None else Text(f"  {call_id} (not in the saved calls)"))
    return Group(*parts)
