"""Saved runs: the codec, the run folder (atomic, checked on load), the JSON report and its schema, Markdown."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from slmscout.analyzers.calltable import CallTable
from slmscout.analyzers.pipeline import analyze
from slmscout.errors import InputError, OutputError
from slmscout.reports import save as save_module
from slmscout.reports.json_report import SCHEMA_VERSION, dumps, json_schema, read_document
from slmscout.reports.markdown import fenced, inline, render_markdown
from slmscout.reports.run import (
    CALLS,
    MANIFEST,
    REPORT,
    RedactionInfo,
    SavedRun,
    find_run,
    iter_run_calls,
    load_run,
    overview_of,
    run_calls,
)
from slmscout.reports.save import build_manifest, save_run
from slmscout.traces.codec import DecodeError, from_jsonable, to_jsonable
from slmscout.traces.ingest import ReadSummary, read_traces
from slmscout.traces.record import LLMCall, Message, SourceRef, ToolCall
from tests.conftest import OPENHANDS_SAMPLE, HashingEmbedder

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sample() -> tuple[list[LLMCall], ReadSummary]:
    summary = ReadSummary()
    calls = list(read_traces([OPENHANDS_SAMPLE], summary))
    return calls, summary


def _saved(sample: tuple[list[LLMCall], ReadSummary], out: Path | None) -> SavedRun:
    calls, summary = sample
    analysis = analyze(calls, HashingEmbedder())
    manifest = build_manifest([OPENHANDS_SAMPLE], overview_of(summary), analysis, RedactionInfo(False))
    return save_run(manifest, analysis, CallTable.of_calls(calls), out)


def test_codec_round_trips_real_calls(sample: tuple[list[LLMCall], ReadSummary]) -> None:
    for call in sample[0]:
        assert from_jsonable(LLMCall, json.loads(json.dumps(to_jsonable(call)))) == call


def test_codec_refuses_values_of_the_wrong_type() -> None:
    good = to_jsonable(LLMCall("a", SourceRef("f", "1", "x"), (Message("user", "hi", (ToolCall("t", "{}"),)),)))
    assert isinstance(good, dict)
    for field, value in (("messages", "not a list"), ("latency_ms", "fast"), ("status", "maybe"), ("call_id", 3)):
        with pytest.raises(DecodeError, match=field if field != "messages" else "messages"):
            from_jsonable(LLMCall, {**good, field: value})
    with pytest.raises(DecodeError, match="missing 'call_id'"):
        from_jsonable(LLMCall, {k: v for k, v in good.items() if k != "call_id"})


def test_saved_run_loads_back_identical(sample: tuple[list[LLMCall], ReadSummary], tmp_path: Path) -> None:
    saved = _saved(sample, tmp_path / "run")
    assert sorted(p.name for p in saved.path.iterdir()) == sorted(
        [MANIFEST, REPORT, CALLS, "clusters.csv", "calls.csv", "report.md", "report.html"]
    )
    loaded = load_run(saved.path)
    assert loaded.analysis == saved.analysis
    assert loaded.manifest.run_id == saved.manifest.run_id
    assert set(loaded.manifest.files) == {REPORT, CALLS, "clusters.csv", "calls.csv", "report.md", "report.html"}
    assert [c.call_id for c in iter_run_calls(loaded)] == sorted(c.call_id for c in sample[0])
    assert {c.call_id: c for c in sample[0]} == {c.call_id: c for c in iter_run_calls(loaded)}
    some = sample[0][0].call_id
    assert list(run_calls(loaded, [some])) == [some]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary folder left"
    assert saved.path.stat().st_mode & 0o777 == 0o700  # a run holds trace text: private to its owner


def test_manifest_records_inputs_model_parameters_seeds_versions(
    sample: tuple[list[LLMCall], ReadSummary], tmp_path: Path
) -> None:
    manifest = _saved(sample, tmp_path / "run").manifest
    (entry,) = manifest.reads.files
    assert entry.format == "chat-messages" and entry.calls == len(sample[0])
    assert entry.bytes == OPENHANDS_SAMPLE.stat().st_size and len(entry.sha256) == 64
    assert len(manifest.input_fingerprint) == 64 and manifest.run_id.endswith(manifest.input_fingerprint[:8])
    assert manifest.model == "hashing-test-embedder"
    assert manifest.seeds == {"map": 0}
    assert {"python", "slmscout", "scikit-learn"} <= set(manifest.versions)
    assert "clustering" in manifest.parameters and "verdict" in manifest.parameters


def test_same_input_gives_the_same_report(sample: tuple[list[LLMCall], ReadSummary], tmp_path: Path) -> None:
    first = _saved(sample, tmp_path / "a")
    calls, summary = sample
    analysis = analyze(list(reversed(calls)), HashingEmbedder())
    manifest = build_manifest([OPENHANDS_SAMPLE], overview_of(summary), analysis, RedactionInfo(False))
    second = save_run(manifest, analysis, CallTable.of_calls(list(reversed(calls))), tmp_path / "b")
    assert (
        json.loads((first.path / REPORT).read_text())["analysis"]
        == json.loads((second.path / REPORT).read_text())["analysis"]
    )
    assert (first.path / CALLS).read_bytes() == (second.path / CALLS).read_bytes()


def test_a_changed_or_partial_run_is_refused(sample: tuple[list[LLMCall], ReadSummary], tmp_path: Path) -> None:
    saved = _saved(sample, tmp_path / "run")
    report = saved.path / REPORT
    report.write_text(report.read_text().replace('"calls": ', '"calls":  ', 1))
    with pytest.raises(InputError, match="changed since the run was saved"):
        load_run(saved.path)
    (saved.path / MANIFEST).unlink()
    with pytest.raises(InputError, match="not a saved run"):
        load_run(saved.path)


def test_an_interrupted_save_leaves_nothing_a_later_command_trusts(
    sample: tuple[list[LLMCall], ReadSummary], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(save_module, "render_markdown", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _saved(sample, tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_save_replaces_an_earlier_run_but_never_a_foreign_folder(
    sample: tuple[list[LLMCall], ReadSummary], tmp_path: Path
) -> None:
    _saved(sample, tmp_path / "run")
    again = _saved(sample, tmp_path / "run")
    assert load_run(again.path).manifest.run_id == again.manifest.run_id
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not a saved run"):
        _saved(sample, foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_find_run_by_path_id_and_latest(
    sample: tuple[list[LLMCall], ReadSummary], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    saved = _saved(sample, None)
    assert saved.path == Path("reports") / saved.manifest.run_id
    assert find_run(saved.manifest.run_id) == saved.path
    assert find_run(str(saved.path)) == saved.path
    assert find_run("latest") == saved.path
    with pytest.raises(InputError, match="no saved run"):
        find_run("nope")
    with pytest.raises(InputError, match="no saved run"):
        find_run("../reports")


def test_json_report_fits_the_committed_schema(sample: tuple[list[LLMCall], ReadSummary], tmp_path: Path) -> None:
    saved = _saved(sample, tmp_path / "run")
    document = json.loads((saved.path / REPORT).read_text())
    committed = json.loads((ROOT / "docs" / "report.schema.json").read_text())
    assert committed == json.loads(json.dumps(json_schema())), "run scripts/write_schema.py"
    jsonschema.Draft202012Validator(committed).validate(document)
    assert document["schema_version"] == SCHEMA_VERSION
    broken = json.loads(json.dumps(document))
    broken["analysis"]["clusters"][0]["evidence"]["calls"] = "many"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(committed).validate(broken)
    with pytest.raises(InputError, match="does not fit"):
        read_document(json.dumps(broken), "report.json")
    with pytest.raises(InputError, match="schema version 99"):
        read_document(dumps({**document, "schema_version": 99}), "report.json")


def test_markdown_escapes_trace_text(sample: tuple[list[LLMCall], ReadSummary], tmp_path: Path) -> None:
    assert inline("a | b <script>x</script>") == "a \\| b &lt;script&gt;x&lt;/script&gt;"
    assert fenced("```python\nx\n```").startswith("````text\n")
    saved = _saved(sample, tmp_path / "run")
    hostile = LLMCall(
        "evil",
        SourceRef("f", "1", "x"),
        (Message("user", "<script>alert(1)</script> | ``` done"),),
        response="<img src=x onerror=alert(1)>",
    )
    cluster = saved.analysis.clusters[0]
    examples = {cluster.example_call_ids[0]: hostile}
    text = render_markdown(saved.manifest, saved.analysis, examples)
    outside_fences = "\n".join(
        chunk for i, chunk in enumerate(text.split("````")) if i % 2 == 0
    )  # the hostile call sits in a 4-backtick fence because it holds a 3-backtick run
    assert "<script>" not in outside_fences and "onerror=alert" not in outside_fences.replace("````", "")
    assert "## Clusters" in text and f"#{cluster.cluster_id}" in text
