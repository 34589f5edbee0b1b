"""The HTML report as text: one self-contained file, every cluster in it, trace text escaped everywhere.

The browser-side checks (it loads without console errors, plots render, payloads run nothing) are in
test_html_chromium.py; the run builders here are shared with it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import random
import re
from collections.abc import Mapping
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slmscout.analyzers.analysis import Analysis, CallAssignment
from slmscout.analyzers.pipeline import analyze
from slmscout.reports.html import MAP_POINTS, clip, map_sample, plot_text, render_html
from slmscout.reports.rollup import rollup
from slmscout.reports.run import InputFile, Manifest, ReadOverview, RedactionInfo, SavedRun, SkipLine
from slmscout.traces.ingest import ReadSummary, read_traces
from slmscout.traces.record import Caller, LLMCall, Message, ToolCall
from tests.conftest import OPENHANDS_SAMPLE, HashingEmbedder

# ---- runs built by hand (the lead's save/load code is not used here) -------------------------------------------


@cache
def sample_calls() -> tuple[LLMCall, ...]:
    return tuple(read_traces([OPENHANDS_SAMPLE], ReadSummary(), None))


@cache
def sample_analysis() -> Analysis:
    return analyze(sample_calls(), HashingEmbedder())


def make_manifest(
    analysis: Analysis, run_id: str = "20250101-000000-abcdef", path: str = str(OPENHANDS_SAMPLE)
) -> Manifest:
    reads = ReadOverview(
        files=(
            InputFile(path, "openai-chat", analysis.total_calls, 1, 123_456, "0" * 64),
            InputFile(path + ".notes.txt", None, 0, 0, 42, "1" * 64, note="no reader recognised it"),
        ),
        calls_read=analysis.total_calls,
        records_skipped=1,
        skips=(SkipLine("not a JSON object", 1, (f"{path}:67",)),),
    )
    return Manifest(
        schema_version=1,
        run_id=run_id,
        created_at="2025-01-01T00:00:00Z",
        slmscout_version="0.1.0",
        input_fingerprint="f" * 64,
        inputs=(path,),
        reads=reads,
        model=analysis.model,
        parameters=analysis.parameters,
        seeds={"map": 0, "clustering": 0},
        versions={"python": "3.11", "scikit-learn": "1.5"},
        redaction=RedactionInfo(True, {"email": 3, "api-key": 1}),
    )


def example_calls(analysis: Analysis, calls: tuple[LLMCall, ...]) -> dict[str, LLMCall]:
    wanted = {call_id for c in analysis.clusters for call_id in c.example_call_ids}
    return {c.call_id: c for c in calls if c.call_id in wanted}


def sample_run() -> tuple[SavedRun, dict[str, LLMCall]]:
    analysis = sample_analysis()
    return SavedRun(Path("reports/run"), make_manifest(analysis), analysis), example_calls(analysis, sample_calls())


def injected_run(text: str, framework: str | None = None) -> tuple[SavedRun, dict[str, LLMCall]]:
    """The sample run with `text` in every place trace text reaches the page: cluster name, headline, terms and
    template; a representative call's id, messages, names, tool calls and response; an agent name; file paths,
    skip reasons and the run id. Only text changes: the page keeps the structure of the sample run's."""
    analysis = sample_analysis()
    first = analysis.clusters[0]
    old_id = first.example_call_ids[0]
    new_id = f"call {text}"
    clusters = list(analysis.clusters)
    clusters[0] = dataclasses.replace(
        first,
        name=text,
        headline=f"head {text}",
        terms=(text, *first.terms[1:]),
        template=(f"piece {text}", *first.template[1:]),
        example_call_ids=(new_id, *first.example_call_ids[1:]),
    )
    assignments = tuple(
        dataclasses.replace(
            a,
            call_id=new_id if a.call_id == old_id else a.call_id,
            group=f"agent {text}" if i % 2 else a.group,
        )
        for i, a in enumerate(analysis.assignments)
    )
    examples = example_calls(analysis, sample_calls())
    analysis = dataclasses.replace(analysis, clusters=tuple(clusters), assignments=assignments, framework=framework)
    call = examples.pop(old_id)
    messages = (
        Message("system", f"system {text}", name=f"name {text}"),
        *call.messages,
        Message("assistant", text, tool_calls=(ToolCall(f"tool {text}", text, id=f"id {text}"),)),
    )
    examples[new_id] = dataclasses.replace(
        call,
        call_id=new_id,
        messages=messages,
        response=f"response {text}",
        response_tool_calls=(ToolCall(f"tool {text}", text),),
        model=f"model {text}",
        caller=Caller(agent=f"agent {text}"),
        error=f"error {text}",
    )
    manifest = make_manifest(analysis, run_id=f"run {text}", path=f"traces/{text}.jsonl")
    return SavedRun(Path("reports/run"), manifest, analysis), examples


# ---- reading the page back ------------------------------------------------------------------------------------


class PageParser(HTMLParser):
    """Start tags with their attributes, script bodies, and text (character references decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self.cells: list[str] = []
        self._in: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._in = tag
        if tag == "script":
            self.scripts.append((dict(attrs), ""))
        if tag == "td" and ("class", "name cluster") in attrs:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._in = None
        if tag == "td" and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            attrs, body = self.scripts[-1]
            self.scripts[-1] = (attrs, body + data)
        elif self._in is None:
            self.text.append(data)
            if self._cell is not None:
                self._cell.append(data)


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


def figures(parsed: PageParser) -> dict[str, Any]:
    return {
        str(attrs["id"]): json.loads(body) for attrs, body in parsed.scripts if attrs.get("type") == "application/json"
    }


def csp_of(parsed: PageParser) -> str:
    policies = [
        attrs.get("content") or ""
        for tag, attrs in parsed.tags
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "content-security-policy"
    ]
    assert len(policies) == 1
    return policies[0]


def plot_labels(parsed: PageParser) -> list[str]:
    """Every legend name, hover text and bar label of the plots, as plotly will read them."""
    labels: list[str] = []
    for figure in figures(parsed).values():
        for trace in figure["data"]:
            labels.append(trace["name"])
            labels += trace.get("text", [])
            labels += [y for y in trace.get("y", []) if isinstance(y, str)]
    return labels


def assert_plot_labels_inert(parsed: PageParser) -> None:
    """Plotly renders some HTML in labels: the only tag in them is our own <br>, every & starts an entity."""
    for label in plot_labels(parsed):
        assert "<" not in label.replace("<br>", ""), label
        assert re.fullmatch(r"(?:[^&]|&(?:amp|lt|gt);)*", label, re.DOTALL), label


def structure(parsed: PageParser) -> list[tuple[str, tuple[str, ...]]]:
    return [(tag, tuple(sorted(attrs))) for tag, attrs in parsed.tags]


# ---- tests ----------------------------------------------------------------------------------------------------


def test_page_is_one_self_contained_file() -> None:
    run, examples = sample_run()
    page = render_html(run, examples)
    assert page.startswith("<!DOCTYPE html>")
    parsed = parse(page)
    for tag, attrs in parsed.tags:
        assert tag not in ("link", "iframe", "object", "embed", "base", "img"), tag
        assert "src" not in attrs, (tag, attrs)
        href = attrs.get("href")
        assert href is None or href.startswith("#"), href
    style = page[page.index("<style>") : page.index("</style>")]
    assert "url(" not in style and "@import" not in style and "@font-face" not in style
    # Scripts: plotly.js and the drawing script inline, each allowed by its hash; the rest are inert JSON.
    code = [body for attrs, body in parsed.scripts if attrs.get("type") != "application/json"]
    assert len(code) == 2 and sum("plotly.js v" in body[:200] for body in code) == 1
    assert not any("mathjax" in body.lower()[:2000] for body in code)
    csp = csp_of(parsed)
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["default-src"] == "'none'"
    assert directives["img-src"] == "data:" and "http" not in csp and "'unsafe-eval'" not in csp
    allowed = set(directives["script-src"].split())
    assert "'unsafe-inline'" not in allowed
    for body in code:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in allowed
    assert set(figures(parsed)) == {"figure-map", "figure-cost"}
    plots = [attrs["data-figure"] for tag, attrs in parsed.tags if "data-figure" in attrs]
    assert plots == ["figure-map", "figure-cost"]


def test_every_cluster_in_table_drill_down_and_charts() -> None:
    run, examples = sample_run()
    analysis = run.analysis
    page = render_html(run, examples)
    parsed = parse(page)
    ids = {attrs.get("id") for _, attrs in parsed.tags}
    links = {attrs.get("href") for _, attrs in parsed.tags}
    text = "".join(parsed.text)
    assert parsed.cells[: len(analysis.clusters)] == [c.name for c in analysis.clusters]
    for c in analysis.clusters:
        assert f"cluster-{c.cluster_id}" in ids and f"#cluster-{c.cluster_id}" in links
        assert c.verdict.reasons[0] in text
        for call_id in c.example_call_ids:
            assert call_id in text and examples[call_id].messages[-1].content[:40] in text
    charts = figures(parsed)
    map_traces = [t for t in charts["figure-map"]["data"] if t.get("visible") is not False]
    assert sum(len(t["x"]) for t in map_traces) == analysis.total_calls
    assert all(len(t["text"]) == len(t["x"]) for t in map_traces)
    verdict_traces = [t for t in charts["figure-map"]["data"] if t.get("visible") is False]
    assert sum(len(t["x"]) for t in verdict_traces) == analysis.total_calls
    assert f"Showing all {analysis.total_calls} calls" in text
    bars = charts["figure-cost"]["data"]
    assert [b["name"] for b in bars] == ["now", "after replacement", "savings"]
    assert len(bars[0]["y"]) == min(len(analysis.clusters), 15)


def test_summary_shows_the_rollup_and_the_paper_estimate() -> None:
    run, examples = sample_run()
    r = rollup(run.analysis)
    text = " ".join("".join(parse(render_html(run, examples)).text).split())
    assert f"Replaceable by an SLM: {r.call_share:.0%} of calls ({r.replaceable_calls} of {r.calls})" in text
    assert "Read 66 calls from 1 file(s) (openai-chat: 66); skipped 1 record(s)." in text
    assert "1 \u00d7 not a JSON object" in text and "no reader recognised it" in text
    assert "The paper" not in text
    metagpt = SavedRun(run.path, run.manifest, dataclasses.replace(run.analysis, framework="metagpt"))
    text = " ".join("".join(parse(render_html(metagpt, examples)).text).split())
    assert "estimates ~60% of metagpt's calls could move to SLMs" in text


PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</script>",
    "\"';",
    "\u2028",
    "</script><script>alert(1)</script>",
    "<!--",
    "]]></textarea><svg onload=alert(1)>",
)


def test_payloads_never_reach_the_page_unescaped() -> None:
    clean = parse(render_html(*injected_run("benign")))
    for payload in PAYLOADS:
        marked = f"QX{payload}QX"
        page = render_html(*injected_run(marked))
        assert marked not in page, payload
        assert "\u2028" not in page and "\u2029" not in page
        parsed = parse(page)
        assert structure(parsed) == structure(clean), payload  # no element or attribute added
        text = "".join(parsed.text)
        for shown in (f"call {marked}", f"head {marked}", f"piece {marked}", f"system {marked}", f"run {marked}"):
            assert shown in text, (payload, shown)
        assert f"response {marked}" in text and f"agent {marked}" in text and f"traces/{marked}.jsonl" in text
        assert_plot_labels_inert(parsed)
        charts = figures(parsed)
        hover = [s for t in charts["figure-map"]["data"] for s in t["text"]]
        assert any(plot_text(f"call {marked}", 80) in s for s in hover)
        names = [t["name"] for t in charts["figure-map"]["data"]]
        assert f"#{run_first_cluster()} {plot_text(marked, 48)}" in names
        for attrs, body in parsed.scripts:
            if attrs.get("type") == "application/json":
                assert not re.search(r"[<>&\u2028\u2029]", body)


def run_first_cluster() -> int:
    return sample_analysis().clusters[0].cluster_id


def test_long_text_is_clipped_with_a_marker() -> None:
    text = "".join(f"line {i}\n" for i in range(5_000))
    clipped = clip(text)
    assert clipped.head == text[: len(clipped.head)] and text.endswith(clipped.tail)
    assert len(clipped.head) + clipped.omitted + len(clipped.tail) == len(text) and clipped.omitted > 0
    assert clip("short").omitted == 0
    run, examples = injected_run("x")
    call_id = run.analysis.clusters[0].example_call_ids[0]
    examples[call_id] = dataclasses.replace(examples[call_id], response=text)
    page = render_html(run, examples)
    assert f"[... {clipped.omitted:,} characters left out ...]" in page
    assert "line 4999" in page and "line 2500\n" not in page


def test_rendering_is_deterministic() -> None:
    run, examples = sample_run()
    reordered = dict(reversed(list(examples.items())))
    shuffled = list(run.analysis.assignments)
    random.Random(1).shuffle(shuffled)
    run2 = SavedRun(run.path, run.manifest, dataclasses.replace(run.analysis, assignments=tuple(shuffled)))
    assert render_html(run, examples) == render_html(run2, reordered)


def synthetic_assignments(sizes: Mapping[int, int]) -> list[CallAssignment]:
    return [
        CallAssignment(f"c{cluster}-{i:06d}", f"f:{i}", "g", cluster, 10, 1, "counted", 0.01, 0.001, 0.1, -0.1)
        for cluster, size in sizes.items()
        for i in range(size)
    ]


def test_map_sample_is_stratified_and_deterministic() -> None:
    sizes = {0: 9_000, 1: 2_997, 2: 3, 3: 1}
    assignments = synthetic_assignments(sizes)
    chosen = map_sample(assignments)
    assert len(chosen) == MAP_POINTS and len({a.call_id for a in chosen}) == MAP_POINTS
    per_cluster = {c: sum(1 for a in chosen if a.cluster_id == c) for c in sizes}
    assert per_cluster[2] >= 1 and per_cluster[3] == 1
    total = sum(sizes.values())
    for cluster, size in sizes.items():
        assert abs(per_cluster[cluster] - MAP_POINTS * size / total) <= 2
    shuffled = assignments[:]
    random.Random(0).shuffle(shuffled)
    assert map_sample(shuffled) == chosen
    assert map_sample(assignments[:100]) == sorted(assignments[:100], key=lambda a: (a.cluster_id, a.call_id))
    many_clusters = synthetic_assignments(dict.fromkeys(range(6_000), 1))
    assert len(map_sample(many_clusters)) == MAP_POINTS


def test_a_large_run_draws_a_sample_and_says_so() -> None:
    run, examples = sample_run()
    clusters = len(run.analysis.clusters)
    big = synthetic_assignments({c: 1_200 for c in range(clusters)})
    analysis = dataclasses.replace(run.analysis, assignments=tuple(big))
    parsed = parse(render_html(SavedRun(run.path, run.manifest, analysis), examples))
    text = " ".join("".join(parsed.text).split())
    assert f"Showing 5,000 of {len(big):,} calls, sampled evenly within each cluster." in text
    shown = [t for t in figures(parsed)["figure-map"]["data"] if t.get("visible") is not False]
    assert sum(len(t["x"]) for t in shown) == MAP_POINTS


# ---- fuzz: arbitrary text in names and messages never adds an element ----------------------------------------


def fuzzed_page(name: str, message: str) -> str:
    run, examples = injected_run(name)
    call_id = run.analysis.clusters[0].example_call_ids[0]
    call = examples[call_id]
    examples[call_id] = dataclasses.replace(call, messages=(Message("user", message), *call.messages[1:]))
    return render_html(run, examples)


@cache
def baseline_structure() -> list[tuple[str, tuple[str, ...]]]:
    return structure(parse(fuzzed_page("x", "y")))


FRAGMENTS = ("<", ">", "&", '"', "'", "/", "=", "<script>", "</script>", "<!--", "-->", "&amp;", "&#x3c;", "\u2028")
fuzz_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), min_size=1, max_size=12).map("".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=fuzz_text, message=fuzz_text)
def test_fuzzed_text_stays_text(name: str, message: str) -> None:
    parsed = parse(fuzzed_page(name, message))
    assert structure(parsed) == baseline_structure()
    assert_plot_labels_inert(parsed)
    assert parsed.cells[0] == name
    assert message in "".join(parsed.text)
    names = [t["name"] for t in figures(parsed)["figure-map"]["data"]]
    assert f"#{run_first_cluster()} {plot_text(name, 48)}" in names


def test_a_run_without_its_calls_still_renders() -> None:
    run, _ = sample_run()
    text = "".join(parse(render_html(run, {})).text)
    missing = sum(len(c.example_call_ids) for c in run.analysis.clusters)
    assert text.count("not in this run's saved calls") == missing
