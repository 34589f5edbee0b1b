"""The HTML report: one self-contained page (summary, map of calls, cost charts, cluster table with drill-down).

The page loads nothing from a network: plotly.js is inlined once, and a Content-Security-Policy allows only the
page's own two scripts (by hash), inline styles and data: images. Text from traces reaches the page in two ways only:
HTML-escaped by jinja2 (autoescape on, U+2028/2029 as character references too), or inside the plots' JSON blocks
(``<script type="application/json">``, with ``<``, ``>``, ``&``, U+2028/2029 as \\u escapes), which the page's
script reads with ``JSON.parse``; plotly renders a little HTML in labels, so every label is HTML-escaped first.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import plotly.graph_objects as go  # type: ignore[import-untyped]
import plotly.io as pio  # type: ignore[import-untyped]
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape
from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

from slmscout.analyzers.analysis import VERDICT_LABELS, Analysis, CallAssignment, ClusterReport
from slmscout.errors import OutputError
from slmscout.reports.rollup import clusters_by_verdict, paper_estimate, rollup, rollup_by_group
from slmscout.reports.run import SavedRun
from slmscout.reports.terminal import cost_note, token_note
from slmscout.traces.record import LLMCall, Message

MAP_POINTS = 5_000  # the most calls drawn on the map; more would make the page slow to open and to hover
LEGEND_CLUSTERS = 10  # clusters with their own colour on the map; the rest are grey "other"
BAR_CLUSTERS = 15  # clusters in the cost chart, by current cost
TABLE_CLUSTERS = 500  # rows of the cluster table (the CSV export has every cluster)
DETAIL_CLUSTERS = 100  # clusters with a drill-down section
FILES_LISTED = 50
MESSAGES_HEAD, MESSAGES_TAIL = 2, 3  # of a long prompt, the first and last messages shown
TEXT_HEAD, TEXT_TAIL = 1_500, 500  # of a long message or response, the first and last characters shown
LABEL_CHARS = 48  # cluster names in plot labels

CLUSTER_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#393b79",
)
OTHER_COLOUR = "#c7c7c7"
VERDICT_COLOURS = {"prompted-slm": "#2e7d32", "finetuned-slm": "#ef8f00", "keep-llm": "#c62828"}
PLOT_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


@dataclass(frozen=True, slots=True)
class Clipped:
    """A long text shown as its start and end, with how much was left out between them."""

    head: str
    omitted: int = 0
    tail: str = ""


def clip(text: str, head: int = TEXT_HEAD, tail: int = TEXT_TAIL) -> Clipped:
    if len(text) <= head + tail + 200:  # cutting out less than a paragraph helps nobody
        return Clipped(text)
    return Clipped(text[:head], len(text) - head - tail, text[len(text) - tail :])


def map_sample(assignments: Sequence[CallAssignment], budget: int = MAP_POINTS) -> list[CallAssignment]:
    """At most `budget` calls for the map, chosen whatever the input order: each cluster keeps points in proportion
    to its size (at least one while the budget allows), taken evenly over its calls sorted by id."""
    ordered = sorted(assignments, key=lambda a: (a.cluster_id, a.call_id, a.source))
    if len(ordered) <= budget:
        return ordered
    members: dict[int, list[CallAssignment]] = {}
    for a in ordered:
        members.setdefault(a.cluster_id, []).append(a)
    quotas = _quotas({cluster: len(calls) for cluster, calls in members.items()}, budget)
    chosen: list[CallAssignment] = []
    for cluster, calls in members.items():
        k = quotas[cluster]
        chosen += [calls[i * len(calls) // k] for i in range(k)]
    return chosen


def _quotas(sizes: Mapping[int, int], budget: int) -> dict[int, int]:
    """Split `budget` (< the sum of sizes) over clusters by largest remainder, in integers so it is exact."""
    floor = 1 if len(sizes) <= budget else 0
    rest = budget - floor * len(sizes)
    extra = {cluster: size - floor for cluster, size in sizes.items()}
    total = sum(extra.values())
    quotas = {cluster: floor + e * rest // total for cluster, e in extra.items()}
    left = budget - sum(quotas.values())
    by_remainder = sorted(sizes, key=lambda cluster: (-(extra[cluster] * rest % total), cluster))
    for cluster in by_remainder[:left]:
        quotas[cluster] += 1
    return quotas


def plot_text(text: str, limit: int | None = None) -> str:
    """Text for a plotly label or hover: shortened, then HTML-escaped (plotly renders tags and entities in labels)."""
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return html.escape(text, quote=False)


def cluster_label(c: ClusterReport) -> str:
    return f"#{c.cluster_id} {plot_text(c.name, LABEL_CHARS)}"


def _layout(**extra: object) -> dict[str, object]:
    return {
        "template": "plotly_white",
        "font": {"family": PLOT_FONT, "size": 12},
        "margin": {"l": 20, "r": 20, "t": 40, "b": 30},
        **extra,
    }


def map_figure(analysis: Analysis, sample: Sequence[CallAssignment]) -> go.Figure:
    """The calls on their 2-D map, coloured by cluster (top clusters, the rest grey), or by verdict (a toggle)."""
    top = sorted(analysis.clusters, key=lambda c: (-c.evidence.calls, c.cluster_id))[:LEGEND_CLUSTERS]
    top_ids = [c.cluster_id for c in top]
    by_cluster: dict[int, list[CallAssignment]] = {}
    by_verdict: dict[str, list[CallAssignment]] = {kind: [] for kind in VERDICT_LABELS}
    for a in sample:
        cluster = analysis.cluster(a.cluster_id)
        by_cluster.setdefault(a.cluster_id if a.cluster_id in top_ids else -1, []).append(a)
        by_verdict[cluster.verdict.kind].append(a)

    def hover(a: CallAssignment) -> str:
        cluster = analysis.cluster(a.cluster_id)
        return f"{plot_text(a.call_id, 80)}<br>{cluster_label(cluster)}<br>{cluster.verdict.label}"

    def trace(points: Sequence[CallAssignment], name: str, colour: str, visible: bool) -> go.Scatter:
        return go.Scatter(
            x=[round(a.x, 4) for a in points],
            y=[round(a.y, 4) for a in points],
            mode="markers",
            name=name,
            marker={"color": colour, "size": 6, "opacity": 0.8},
            text=[hover(a) for a in points],
            hovertemplate="%{text}<extra></extra>",
            visible=visible,
        )

    cluster_traces = [
        trace(by_cluster.get(c.cluster_id, []), cluster_label(c), CLUSTER_COLOURS[i % len(CLUSTER_COLOURS)], True)
        for i, c in enumerate(top)
    ]
    others = len(analysis.clusters) - len(top)
    if others:
        cluster_traces.append(
            trace(
                by_cluster.get(-1, []),
                f"other ({others:,} more cluster{'s' if others > 1 else ''})",
                OTHER_COLOUR,
                True,
            )
        )
    verdict_traces = [
        trace(points, VERDICT_LABELS[kind], VERDICT_COLOURS[kind], False)
        for kind, points in by_verdict.items()
        if points
    ]
    n_cluster, n_verdict = len(cluster_traces), len(verdict_traces)
    buttons = [
        {
            "label": "colour by cluster",
            "method": "update",
            "args": [{"visible": [True] * n_cluster + [False] * n_verdict}],
        },
        {
            "label": "colour by verdict",
            "method": "update",
            "args": [{"visible": [False] * n_cluster + [True] * n_verdict}],
        },
    ]
    axis = {"showticklabels": False, "showgrid": False, "zeroline": False, "range": [-1.1, 1.1], "title": None}
    layout = _layout(
        height=640,
        xaxis=axis,
        yaxis={**axis, "scaleanchor": "x", "scaleratio": 1},
        legend={"itemsizing": "constant", "font": {"size": 11}},
        hovermode="closest",
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 0,
                "xanchor": "left",
                "y": 1.0,
                "yanchor": "bottom",
                "showactive": True,
                "active": 0,
                "buttons": buttons,
            }
        ],
    )
    return go.Figure(data=cluster_traces + verdict_traces, layout=layout)


def cost_figure(analysis: Analysis) -> go.Figure:
    """Current cost, expected cost after replacement and savings of the costliest clusters."""
    costliest = sorted(analysis.clusters, key=lambda c: (-c.economics.current_usd, c.cluster_id))[:BAR_CLUSTERS]
    labels = [cluster_label(c) for c in costliest]
    series = (
        ("now", [c.economics.current_usd for c in costliest], "#7f7f7f"),
        ("after replacement", [c.economics.slm_usd for c in costliest], "#1f77b4"),
        ("savings", [c.economics.savings_usd for c in costliest], "#2ca02c"),
    )
    bars = [
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            name=name,
            marker={"color": colour},
            hovertemplate="%{y}<br>" + name + ": $%{x:,.4f}<extra></extra>",
        )
        for name, values, colour in series
    ]
    layout = _layout(
        height=140 + 54 * len(costliest),
        barmode="group",
        xaxis={"title": {"text": "USD"}, "tickprefix": "$", "rangemode": "tozero"},
        yaxis={"type": "category", "autorange": "reversed", "automargin": True},
        legend={"orientation": "h", "y": -0.08},
    )
    layout["margin"] = {"l": 20, "r": 20, "t": 30, "b": 60}
    return go.Figure(data=bars, layout=layout)


def script_json(figure: go.Figure) -> Markup:
    """A figure (and the plot config) as JSON safe inside <script type="application/json">: no `<`, `>`, `&` or
    line separators left that could end the block or confuse a parser; JSON.parse reads the escapes back."""
    spec = json.loads(pio.to_json(figure, validate=True))
    spec["config"] = PLOT_CONFIG
    text = json.dumps(spec, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return Markup(text)


def _finalize(value: object) -> object:
    """Every {{ value }} of the template: HTML-escaped unless already markup, line separators as references."""
    if isinstance(value, Markup):
        return value
    text = str(escape(value)).replace("\u2028", "&#x2028;").replace("\u2029", "&#x2029;")
    return Markup(text)


def usd(value: float) -> str:
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:,.4f}"


def pct(value: float, digits: int = 0) -> str:
    return f"{value:.{digits}%}"


def number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("slmscout.reports", "templates"),
        autoescape=True,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(usd=usd, pct=pct, number=number)
    return env


@cache
def _static(name: str) -> str:
    return (files("slmscout.reports") / "templates" / name).read_text(encoding="utf-8")


@cache
def _plotly_js() -> str:
    js = str(get_plotlyjs())
    if "</script" in js.lower():  # would end the inline script early; plotly's own HTML export relies on this too
        raise OutputError("the installed plotly.js cannot be inlined in the HTML report (it holds '</script')")
    return js


def _script_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(scripts: Sequence[str]) -> str:
    """No network loads of any kind; only the page's own scripts run (inline handlers and injected scripts do not)."""
    hashes = " ".join(_script_hash(s) for s in scripts)
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


def _rollup_figures(analysis: Analysis) -> dict[str, object]:
    r = rollup(analysis)
    return {
        "rollup": r,
        "by_verdict": clusters_by_verdict(analysis),
        "groups": rollup_by_group(analysis),
        "estimate": paper_estimate(analysis),
        "one_off_share": analysis.one_off_calls / analysis.total_calls if analysis.total_calls else 0.0,
        "saved_share": r.savings_usd / r.current_usd if r.current_usd else 0.0,
        "current_kwh": sum(c.economics.current_kwh for c in analysis.clusters),
        "after_kwh": sum(c.economics.slm_kwh for c in analysis.clusters),
    }


def _assumption_items(analysis: Analysis) -> list[str]:
    items = [f"{key}={value}" for key, value in analysis.assumptions.items()]
    rules = analysis.parameters.get("verdict", {})
    if isinstance(rules, dict):
        items += [f"rules.{key}={value}" for key, value in rules.items()]
    return items


def shown_messages(call: LLMCall) -> tuple[list[Message | None], int]:
    """The messages of a call's prompt to show, and how many are left out (marked by None between them): all of a
    short prompt, else the first and last few."""
    messages: list[Message | None] = list(call.messages)
    if len(messages) <= MESSAGES_HEAD + MESSAGES_TAIL + 1:
        return messages, 0
    hidden = len(messages) - MESSAGES_HEAD - MESSAGES_TAIL
    return [*messages[:MESSAGES_HEAD], None, *messages[-MESSAGES_TAIL:]], hidden


def render_html(run: SavedRun, examples: Mapping[str, LLMCall]) -> str:
    """The report page for a saved run; `examples` holds the clusters' representative calls (already redacted)."""
    analysis, manifest = run.analysis, run.manifest
    sample = map_sample(analysis.assignments)
    figures = {
        "figure-map": script_json(map_figure(analysis, sample)),
        "figure-cost": script_json(cost_figure(analysis)),
    }
    scripts = [_plotly_js(), _static("report.js")]
    shown = analysis.clusters[:DETAIL_CLUSTERS]
    page = (
        _environment()
        .get_template("report.html.j2")
        .render(
            manifest=manifest,
            analysis=analysis,
            reads=manifest.reads,
            files_listed=FILES_LISTED,
            **_rollup_figures(analysis),
            assumptions=_assumption_items(analysis),
            token_note=token_note(analysis).plain,
            cost_note=cost_note(analysis).plain,
            parameters=json.dumps(manifest.parameters, indent=2, sort_keys=True, default=str),
            map_shown=len(sample),
            map_placed=any(a.x or a.y for a in analysis.assignments),
            legend_clusters=LEGEND_CLUSTERS,
            bar_clusters=BAR_CLUSTERS,
            figures=figures,
            table_clusters=analysis.clusters[:TABLE_CLUSTERS],
            detail_ids={c.cluster_id for c in shown},
            detail_clusters=shown,
            examples=examples,
            clip=clip,
            shown_messages=shown_messages,
            css=Markup(_static("report.css")),
            plotly_js=Markup(scripts[0]),
            report_js=Markup(scripts[1]),
            csp=content_security_policy(scripts),
        )
    )
    return str(page)
