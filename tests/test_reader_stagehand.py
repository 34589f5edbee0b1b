"""Stagehand reader: inference_summary/ summaries joined with their non-strict JSON .txt files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from slmscout.traces.ingest import trace_files
from slmscout.traces.record import LLMCall
from slmscout.traces.source import sample_file
from slmscout.traces.stagehand import StagehandReader, loads_txt, stagehand_time
from tests.conftest import FIXTURES
from tests.reader_helpers import Recorder, earlier_claimants, ingest, read_with

ROOT = FIXTURES / "stagehand" / "inference_summary"


def read(*paths: Path) -> tuple[list[LLMCall], Recorder]:
    """The calls of every file under ``paths``, handed to the reader together as ingest does."""
    return read_with(StagehandReader(), *(f for p in paths for f in trace_files(p)))


def stringify(data: object) -> str:
    """What Stagehand writes: JSON.stringify(data, null, 2).replace(/\\\\n/g, "\\n")."""
    return json.dumps(data, indent=2, ensure_ascii=False).replace("\\n", "\n")


def test_calls_fields() -> None:
    calls, ctx = read(ROOT)
    assert ctx.file_skips == []
    assert [c.call_id for c in calls] == [
        "20250127_123456789_act_call.txt",
        "20250127_123501002_extract_call.txt",
        "20250127_123502520_metadata_call.txt",
        "20250127_123510000_observe_call.txt",
    ]
    act, extract, metadata, observe = calls

    assert act.source.format == "stagehand" and act.source.position == "act_summary[0]"
    assert Path(act.source.path).name == "act_summary.json"
    assert act.caller.module == "act" and act.model is None and act.caller.agent is None
    assert [m.role for m in act.messages] == ["system", "user"]
    assert act.messages[0].content.startswith("You are helping the user automate the browser")
    assert "\n\nYou will be given:\n1. a user defined instruction" in act.messages[0].content  # raw newlines
    assert act.messages[1].content.endswith("[0-5] link: Sign in\n  [0-7] heading: Example Domain")
    assert act.response is not None and json.loads(act.response) == {
        "elementId": "0-5",
        "description": "Sign in link",
        "method": "click",
        "arguments": [],
        "twoStep": False,
    }
    assert act.usage is not None
    assert (act.usage.input_tokens, act.usage.output_tokens, act.usage.cache_read_tokens) == (3451, 45, 1024)
    assert act.latency_ms == 951.0
    assert act.started_at == "2025-01-27T12:34:56.789Z" and act.ended_at == "2025-01-27T12:34:57.740Z"
    assert act.metadata == {
        "input_file": "20250127_123456789_act_call.txt",
        "output_file": "20250127_123457740_act_response.txt",
    }

    # a literal backslash-n in the data: the writer broke it into a backslash and a newline
    assert "Files are saved to C:\\new_folder\\reports\n[0-4] StaticText" in extract.messages[1].content
    assert extract.response is not None and json.loads(extract.response) == {"folder": "C:\\new_folder\\reports"}
    assert extract.caller.module == "extract"
    assert extract.usage is not None and extract.usage.cache_read_tokens is None  # older summaries lack the field

    assert metadata.caller.module == "metadata" and metadata.source.position == "extract_summary[1]"
    assert metadata.usage is None  # prompt_tokens/completion_tokens 0: the client reported none
    assert metadata.response is not None
    assert json.loads(metadata.response) == {"completed": True, "progress": "Extracted the download folder."}
    assert 'Extracted content: {"folder": "C:\\\\new_folder\\\\reports"}' in metadata.messages[1].content

    # observe_summary/ has no observe_summary.json: its call file is read on its own
    assert observe.caller.module == "observe" and observe.usage is None and observe.latency_ms is None
    assert Path(observe.source.path).name == "20250127_123510000_observe_call.txt" and observe.source.position == "1"
    assert observe.started_at == "2025-01-27T12:35:10.000Z"
    assert observe.metadata == {
        "input_file": "20250127_123510000_observe_call.txt",
        "summary_missing": True,
        "output_file": "20250127_123510870_observe_response.txt",
    }
    assert observe.response is not None and json.loads(observe.response)["elements"][0]["elementId"] == "0-9"
    assert sorted(ctx.consumed_names) == sorted(
        f.name for f in trace_files(ROOT) if f.suffix == ".txt" and f.name != "20250127_123510000_observe_call.txt"
    )


def test_summary_alone_reads_its_txt_files() -> None:
    calls, ctx = read(ROOT / "act_summary" / "act_summary.json")
    assert [c.call_id for c in calls] == ["20250127_123456789_act_call.txt"]
    assert ctx.consumed_names == ["20250127_123456789_act_call.txt", "20250127_123457740_act_response.txt"]


def test_loads_txt() -> None:
    assert loads_txt('{\n  "a": "line one\nline two"\n}') == {"a": "line one\nline two"}
    assert loads_txt('{"a": "C:\\\new"}') == {"a": "C:\\new"}  # odd backslash run before a newline: repaired
    assert loads_txt('{"a": "x\\\\\ny"}') == {"a": "x\\\ny"}  # even run: an escaped backslash, then a newline
    assert stagehand_time("20250127_123456789") is not None and stagehand_time("2025") is None


def test_loose_files_pairing_and_orphans(tmp_path: Path) -> None:
    folder = tmp_path / "inference_summary" / "observe_summary"
    folder.mkdir(parents=True)
    call = {"modelCall": "observe", "messages": [{"role": "user", "content": "find it"}]}
    (folder / "20250101_000000000_observe_response.txt").write_text(stringify({"modelResponse": "observe"}))
    (folder / "20250101_000001000_observe_call.txt").write_text(stringify(call))
    (folder / "20250101_000002000_observe_response.txt").write_text(
        stringify({"modelResponse": "observe", "rawResponse": "A"})
    )
    (folder / "20250101_000003000_observe_call.txt").write_text(stringify(call))
    (folder / "20250101_000004000_observe_call.txt").write_text(stringify(call))
    (folder / "20250101_000005000_observe_response.txt").write_text(
        stringify({"modelResponse": "observe", "rawResponse": "C"})
    )
    (folder / "notes_call.txt").write_text(stringify(call))
    calls, ctx = read(tmp_path)
    assert [(c.call_id, c.response) for c in calls] == [
        ("20250101_000001000_observe_call.txt", "A"),
        ("20250101_000003000_observe_call.txt", None),
        ("20250101_000004000_observe_call.txt", "C"),
    ]
    assert ctx.file_skips == [
        ("inference file name is not <ts>_<kind>_call|response.txt", "notes_call.txt", "1"),
        ("response file without its call file", "20250101_000000000_observe_response.txt", "1"),
    ]


def test_malformed_entries_are_skipped_with_reasons(tmp_path: Path) -> None:
    folder = tmp_path / "act_summary"
    shutil.copytree(ROOT / "act_summary", folder)
    good = json.loads((folder / "act_summary.json").read_text())["act_summary"][0]
    (folder / "20250101_000000000_act_call.txt").write_text('{\n  "modelCall": "act",\n  "messages": [oops')
    entries = [
        good,
        "not an object",
        {**good, "LLM_input_file": "../../etc/passwd"},
        {**good, "LLM_input_file": "20250101_999999999_act_call.txt"},
        {**good, "LLM_input_file": "20250101_000000000_act_call.txt"},
        {**good, "LLM_output_file": "missing_act_response.txt"},
        {k: v for k, v in good.items() if k != "LLM_input_file"},
    ]
    (folder / "act_summary.json").write_text(json.dumps({"act_summary": entries}))
    calls, ctx = read(folder / "act_summary.json")
    assert [c.source.position for c in calls] == ["act_summary[0]", "act_summary[5]"]
    assert calls[1].response is None and calls[1].metadata["response_file_missing"] is True
    assert ctx.file_skips == [
        ("summary entry is not an object", "act_summary.json", "act_summary[1]"),
        ("LLM_input_file is not a plain file name", "act_summary.json", "act_summary[2]"),
        ("call file named in the summary is missing", "act_summary.json", "act_summary[3]"),
        ("inference file is not JSON even with raw newlines allowed", "act_summary.json", "act_summary[4]"),
        ("summary entry has no LLM_input_file", "act_summary.json", "act_summary[6]"),
    ]


def test_garbage_never_crashes(tmp_path: Path) -> None:
    (tmp_path / "a_summary.json").write_text('{"act_summary": [{"LLM_input_file": 5}]} trailing')
    (tmp_path / "20250101_000000000_act_call.txt").write_bytes(b'{"modelCall": "' + bytes(range(256)) * 20)
    (tmp_path / "20250101_000001000_act_call.txt").write_text('{"modelCall": "act", "messages": ' + "[" * 100000)
    calls, ctx = read(tmp_path)
    assert calls == []
    assert [s[0] for s in ctx.file_skips] == [
        "invalid JSON",
        "inference file is not JSON even with raw newlines allowed",
        "inference file nests too deeply",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "act_summary/act_summary.json",
        "act_summary/20250127_123456789_act_call.txt",
        "act_summary/20250127_123457740_act_response.txt",
        "extract_summary/extract_summary.json",
        "extract_summary/20250127_123502520_metadata_call.txt",
    ],
)
def test_detection(name: str) -> None:
    reader = StagehandReader()
    sample = sample_file(ROOT / name)
    assert reader.claims(sample)
    assert earlier_claimants(reader, sample) == []


def test_not_claimed_elsewhere() -> None:
    reader = StagehandReader()
    for other in (FIXTURES / "chat_messages.jsonl", FIXTURES / "metagpt" / "rsp_cache.json"):
        assert not reader.claims(sample_file(other))


def test_end_to_end_through_ingest() -> None:
    calls, summary = ingest(FIXTURES / "stagehand")
    assert len(calls) == 4 and summary.calls_by_format() == {"stagehand": 4}
    assert summary.records_skipped == 0 and summary.files_unrecognised == []
    assert {f.format for f in summary.files} == {"stagehand"}
