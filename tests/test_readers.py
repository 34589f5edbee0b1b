"""The readers: chat "messages" layout and OpenAI request/response pairs, detection, accounting."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from slmscout.errors import InputError, UsageError
from tests.conftest import FIXTURES, OPENHANDS_SAMPLE
from tests.reader_helpers import ingest


def test_chat_messages_fields() -> None:
    calls, summary = ingest(FIXTURES / "chat_messages.jsonl")
    assert [c.call_id for c in calls] == ["c1", "c2", "chat_messages.jsonl:3"]
    first, second, third = calls
    assert [m.role for m in first.messages] == ["system", "user"]
    assert first.messages[1].content == "Route: refund please"
    assert first.response == "billing"
    assert first.model == "gpt-4o-mini"
    assert first.source.format == "chat-messages" and first.source.position == "1"
    assert first.usage is None
    assert second.response == ""
    assert second.response_tool_calls[0].name == "calc"
    assert json.loads(second.response_tool_calls[0].arguments) == {"expr": "2+2"}
    assert [t.name for t in second.tools] == ["calc"]
    assert third.response is None and third.messages[0].content == "no response logged"
    assert summary.calls_by_format() == {"chat-messages": 3}
    assert summary.records_skipped == 0


def test_openai_pairs_fields() -> None:
    calls, summary = ingest(FIXTURES / "openai_pairs.jsonl")
    assert summary.calls_by_format() == {"openai-chat": 2}
    first, second = calls
    assert first.call_id == "req-1"
    assert second.call_id == "chatcmpl-2"  # no id on the record: the response id
    assert first.model == "gpt-4o-2024-08-06"  # the model that answered, not the alias asked for
    assert first.usage is not None
    assert (first.usage.input_tokens, first.usage.output_tokens, first.usage.cache_read_tokens) == (
        812,
        9,
        512,
    )
    assert first.response_tool_calls[0].name == "route"
    assert first.response_tool_calls[0].id == "call_1"
    assert first.tools[0].name == "route" and "queue" in first.tools[0].parameters
    assert second.response == "Hello!"


def test_images_become_placeholder_and_hash() -> None:
    calls, _ = ingest(FIXTURES / "openai_pairs.jsonl")
    user = calls[0].messages[1].content
    assert "Ticket: my invoice is wrong" in user
    assert "[image sha256:" in user
    assert "iVBORw0KGgo" not in user


def test_detection_by_content_not_extension(tmp_path: Path) -> None:
    odd = tmp_path / "calls.log"
    odd.write_bytes((FIXTURES / "openai_pairs.jsonl").read_bytes())
    calls, summary = ingest(odd)
    assert len(calls) == 2 and summary.calls_by_format() == {"openai-chat": 2}


def test_json_array_document_and_gzip(tmp_path: Path) -> None:
    records = [json.loads(line) for line in (FIXTURES / "chat_messages.jsonl").read_text().splitlines()]
    (tmp_path / "array.json").write_text(json.dumps(records, indent=2))
    with gzip.open(tmp_path / "lines.jsonl.gz", "wt") as handle:
        handle.write((FIXTURES / "chat_messages.jsonl").read_text())
    calls, summary = ingest(tmp_path)
    assert len(calls) == 6
    assert summary.calls_by_format() == {"chat-messages": 6}
    assert calls[0].source.position == "item 0"
    assert {c.call_id for c in calls if c.source.path.endswith(".gz")} == {"c1", "c2", "lines.jsonl.gz:3"}


def test_directory_walk_is_recursive_and_sorted(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.jsonl").write_bytes((FIXTURES / "chat_messages.jsonl").read_bytes())
    (tmp_path / "b" / "c.jsonl").write_bytes((FIXTURES / "openai_pairs.jsonl").read_bytes())
    (tmp_path / ".hidden.jsonl").write_bytes((FIXTURES / "openai_pairs.jsonl").read_bytes())
    (tmp_path / "notes.md").write_text("# not a trace\n")
    calls, summary = ingest(tmp_path)
    assert len(calls) == 5
    assert [Path(f.path).name for f in summary.files] == ["a.jsonl", "notes.md", "c.jsonl"]
    assert [f.note for f in summary.files_unrecognised] == ["no reader recognises its content"]


def test_malformed_records_are_counted_with_locations(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "id": "ok-1",
                "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
            }
        ),
        "{broken json",
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "bad-role", "messages": [{"content": "no role"}]}),
        json.dumps({"id": "bad-content", "messages": [{"role": "user", "content": 42}]}),
        json.dumps({"id": "other-shape", "prompt": "x"}),
        "",
        json.dumps({"id": "ok-2", "messages": [{"role": "user", "content": "hello"}]}),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    calls, summary = ingest(path)
    assert [c.call_id for c in calls] == ["ok-1", "ok-2"]
    assert summary.records_skipped == 5
    reasons = {g.reason: g.locations for g in summary.skips.values()}
    assert reasons["invalid JSON"] == [f"{path}:2"]
    assert reasons["record is not a JSON object"] == [f"{path}:3"]
    assert reasons["a message has no role"] == [f"{path}:4"]
    assert reasons["message content is neither text nor a list of parts"] == [f"{path}:5"]
    assert reasons["record is not in the chat-messages shape"] == [f"{path}:6"]
    assert summary.files[0].calls == 2 and summary.files[0].skipped == 5


def test_overlong_line_is_skipped_not_held(tmp_path: Path) -> None:
    from slmscout.traces.source import Skip, iter_json_records

    path = tmp_path / "long.jsonl"
    good = json.dumps({"id": "x", "messages": [{"role": "user", "content": "hi"}]})
    path.write_text(good + "\n" + json.dumps({"messages": [{"role": "user", "content": "a" * 5000}]}) + "\n" + good)
    items = list(iter_json_records(path, max_line_bytes=1000))
    assert [type(i).__name__ for i in items] == ["RawRecord", "Skip", "RawRecord"]
    assert isinstance(items[1], Skip) and items[1].reason == "line longer than 1000 bytes"


def test_invalid_utf8_and_binary_never_crash(tmp_path: Path) -> None:
    (tmp_path / "bin.dat").write_bytes(bytes(range(256)) * 10)
    good = json.dumps({"id": "u", "messages": [{"role": "user", "content": "caf\u00e9"}]}).encode()
    (tmp_path / "latin.jsonl").write_bytes(good.replace(b"caf\\u00e9", b"caf\xe9") + b"\n")
    calls, summary = ingest(tmp_path)
    assert [c.call_id for c in calls] == ["u"]
    assert [f.note for f in summary.files_unrecognised] == ["no reader recognises its content"]
    assert calls[0].messages[0].content == "caf\ufffd"


def test_forced_format_overrides_detection(tmp_path: Path) -> None:
    calls, _ = ingest(FIXTURES / "chat_messages.jsonl", format_name="chat-messages")
    assert len(calls) == 3
    with pytest.raises(InputError, match="record is not in the chat-messages shape"):
        ingest(FIXTURES / "openai_pairs.jsonl", format_name="chat-messages")


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown format 'nope'"):
        ingest(FIXTURES / "openai_pairs.jsonl", format_name="nope")


def test_missing_path() -> None:
    with pytest.raises(InputError, match="no such file or directory"):
        ingest(Path("/no/such/place"))


def test_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no files in directory"):
        ingest(tmp_path)


def test_directory_with_nothing_readable(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello\n")
    (tmp_path / "b.jsonl").write_text("{not json\n")
    with pytest.raises(InputError, match="no LLM calls could be read"):
        ingest(tmp_path)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import slmscout.traces.source as source

    locked = tmp_path / "locked.jsonl"
    locked.write_bytes((FIXTURES / "chat_messages.jsonl").read_bytes())
    (tmp_path / "open.jsonl").write_bytes((FIXTURES / "openai_pairs.jsonl").read_bytes())
    real_open = source.open_binary

    def deny(path: Path):  # type: ignore[no-untyped-def]
        if path.name == "locked.jsonl":
            raise PermissionError(13, "Permission denied")
        return real_open(path)

    monkeypatch.setattr(source, "open_binary", deny)
    with pytest.raises(InputError, match=r"cannot read .*locked.jsonl: Permission denied"):
        ingest(locked)
    calls, summary = ingest(tmp_path)  # in a folder: the others are read, the locked one is reported
    assert len(calls) == 2
    assert [f.note for f in summary.files_unrecognised] == ["cannot be read (Permission denied)"]


def test_real_sample_reads_every_call() -> None:
    calls, summary = ingest(OPENHANDS_SAMPLE)
    ids = [json.loads(line)["id"] for line in OPENHANDS_SAMPLE.read_text().splitlines()]
    assert [c.call_id for c in calls] == ids
    assert all(c.response for c in calls)
    assert summary.records_skipped == 0
