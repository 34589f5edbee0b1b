"""The AutoGen / AG2 readers: SQLite runtime logs, the file logger's runtime.log (pydantic reprs), and
autogen_core LLMCall events (fixtures built by fixtures/autogen/make_fixtures.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slmscout.traces.autogen import AutoGenFileReader, AutoGenSqliteReader, repr_parts, response_parts
from slmscout.traces.content import MalformedRecord
from slmscout.traces.reader import FileReader
from slmscout.traces.record import LLMCall
from tests.conftest import FIXTURES
from tests.reader_helpers import Recorder, assert_detected, by_id, claimed, fixture_files, ingest, read_with

HERE = FIXTURES / "autogen"
SQLITE = AutoGenSqliteReader()
FILE = AutoGenFileReader()
SESSION = "7f3c2e1a-5d4b-4c3a-9b2a-1e0f9d8c7b6a"
SUMMARY = 'It\'s done: "Q3" grew 4% — see the table.\nNext: pricing.'
MINE = {"litellm", "helicone", "llm_logs", "autogen"}


def read(reader: FileReader, path: Path) -> tuple[list[LLMCall], Recorder]:
    calls, ctx = read_with(reader, path)
    assert len(by_id(calls)) == len(calls)
    return calls, ctx


# --- SQLite ---------------------------------------------------------------------------------------------------


def test_sqlite_completions() -> None:
    calls, ctx = read(SQLITE, HERE / "logs.db")
    assert ctx.skips == [("request is not a JSON object", "chat_completions row 6")]
    by_id = {c.call_id: c for c in calls}
    first = by_id["3f1c0d9e-0001"]  # invocation_id
    assert first.source.position == "chat_completions row 1"
    assert [(m.role, m.content, m.name) for m in first.messages] == [
        ("system", "You are a writer. Reply TERMINATE when done.", None),
        ("user", "Summarise the Q3 numbers.", "user_proxy"),
    ]
    assert first.response == SUMMARY
    assert first.model == "gpt-4o-2024-08-06"
    assert first.metadata["model_requested"] == "gpt-4o"
    assert first.caller.agent == "writer"  # source_name
    assert first.session_id == SESSION
    assert first.usage is not None and (first.usage.input_tokens, first.usage.output_tokens) == (42, 9)
    assert first.started_at == "2025-01-05T10:00:01.100000Z" and first.ended_at == "2025-01-05T10:00:02.350000Z"
    assert first.latency_ms == 1250.0
    assert first.metadata["cost_usd"] == 0.00021 and first.metadata["is_cached"] is False

    tool = by_id["3f1c0d9e-0002"]
    assert tool.caller.agent == "critic"
    assert tool.response == ""
    assert [(t.name, json.loads(t.arguments), t.id) for t in tool.response_tool_calls] == [
        ("lookup_price", {"sku": "A-17"}, "call_7Hq")
    ]
    assert [t.name for t in tool.tools] == ["lookup_price"]
    assert tool.usage is not None and tool.usage.cache_read_tokens == 64

    assert by_id["3f1c0d9e-0003"].metadata["is_cached"] is True
    # a failed config and its retry share the invocation id; the failure is told apart by its position
    failed = by_id["3f1c0d9e-0004:chat_completions row 4"]
    assert failed.status == "error" and failed.error == "rate_limit_exceeded"
    assert failed.response is None and failed.usage is None
    assert by_id["3f1c0d9e-0004"].status == "ok"
    assert by_id["3f1c0d9e-0006"].response == "TERMINATE"  # {"response": str}


def test_pyautogen_02_caller_from_agents_table() -> None:
    calls, ctx = read(SQLITE, HERE / "logs_pyautogen02.db")
    assert ctx.skips == []
    (call,) = calls
    assert call.caller.agent == "assistant"  # no source_name: agents joined on wrapper_id
    assert call.response == "def add(a, b):\n    return a + b"
    assert call.model == "gpt-4-0613"
    assert call.latency_ms == 3250.0


# --- runtime.log ------------------------------------------------------------------------------------------------


def test_file_logger_reprs() -> None:
    calls, ctx = read(FILE, HERE / "runtime.log")
    assert ctx.skips == [("the AutoGen logger failed to write this record", "10"), ("invalid JSON", "11")]
    by_id = {c.call_id: c for c in calls}
    first = by_id["9a8b7c6d-0001"]
    # ``str(ChatCompletion)`` in openai's ClassName(...) form: quotes, a newline and a non-ASCII dash survive
    assert first.response == SUMMARY
    assert first.model == "gpt-4o-2024-08-06"
    assert first.usage is not None
    assert (first.usage.input_tokens, first.usage.output_tokens, first.usage.cache_read_tokens) == (51, 14, 32)
    assert first.session_id == SESSION  # from the plain "Started new session" line
    assert first.caller.agent == "writer"
    assert first.latency_ms == 1250.0
    # the plain pydantic ``field=value`` form, with a tool call whose JSON arguments hold escaped quotes
    tool = by_id["9a8b7c6d-0002"]
    assert tool.model == "gpt-4o-mini-2024-07-18"
    assert tool.response is None
    assert [(t.name, json.loads(t.arguments), t.id) for t in tool.response_tool_calls] == [
        ("lookup_price", {"sku": "B-2", "note": 'it\'s "urgent"'}, "call_Zk9")
    ]
    assert [t.name for t in tool.tools] == ["lookup_price"]
    failed = by_id["9a8b7c6d-0003:7"]
    assert failed.status == "error" and failed.error == "api_error"
    # a second session in the same file; old lines have no source_name: the agent line names the wrapper
    old = by_id["5e4d3c2b-0001"]
    assert old.session_id == "e6d1f0a2-7777-4888-9999-aaaabbbbcccc"
    assert old.caller.agent == "reviewer"
    assert old.response == "Looks fine."
    assert len(calls) == 4


def test_core_events_log() -> None:
    calls, ctx = read(FILE, HERE / "core_events.log")
    assert ctx.skips == [("stream end without its start", "7")]
    call, streamed = calls
    assert call.call_id == "chatcmpl-Ev1"
    assert [m.role for m in call.messages] == ["system", "user"]
    assert call.response == "Morning: Vieux Lyon. Afternoon: Fourvière."
    assert call.caller.agent == "planner" and call.metadata["agent_id"] == "planner/default"
    assert call.usage is not None and (call.usage.input_tokens, call.usage.output_tokens) == (25, 11)
    assert call.model == "gpt-4o-2024-08-06"
    # LLMStreamStart's messages joined to the LLMStreamEnd's CreateResult
    assert [m.content for m in streamed.messages] == ["Name a bakery."]
    assert streamed.response == "Boulangerie du Palais."
    assert streamed.caller.agent == "writer_agent"
    assert streamed.usage is not None and streamed.usage.output_tokens == 5


def test_core_events_json_lines_are_not_chat_messages() -> None:
    calls, ctx = read(FILE, HERE / "core_events.jsonl")
    assert [c.response for c in calls] == ["Morning: Vieux Lyon. Afternoon: Fourvière.", "Boulangerie du Palais."]
    assert ctx.skips == []


def test_repr_parser_edge_cases() -> None:
    assert response_parts("error_code:429, config 1 failed").error == "429"
    assert response_parts("a plain answer").text == "a plain answer"
    assert response_parts(None).text is None
    with pytest.raises(MalformedRecord):
        response_parts({"something": "else"})
    with pytest.raises(MalformedRecord):
        repr_parts("id='x' created=1")  # no choices
    cut = repr_parts(
        "ChatCompletion(id='c1', choices=[Choice(finish_reason='stop', index=0, message=ChatCompletionMessage("
        "content='unfinished"
    )
    assert cut.text is None and cut.response_id == "c1"
    # a literal that mentions field names is not read as fields
    tricky = repr_parts(
        "ChatCompletion(id='c2', choices=[Choice(message=ChatCompletionMessage(content=\"model='fake' "
        "prompt_tokens=999\", role='assistant'))], model='real-model', usage=CompletionUsage(completion_tokens=1, "
        "prompt_tokens=2, total_tokens=3))"
    )
    assert tricky.text == "model='fake' prompt_tokens=999"
    assert tricky.model == "real-model"
    assert tricky.usage is not None and tricky.usage.input_tokens == 2
    hostile = "ChatCompletion(id='x', choices=[" + "'\\'" * 200_000 + "content=" + "'" * 100_001
    repr_parts(hostile)  # returns quickly, whatever it finds


def test_strange_lines_never_crash(tmp_path: Path) -> None:
    path = tmp_path / "runtime.log"
    lines = [
        b"Started new session with Session ID: s-1",
        b'{"invocation_id": "i1", "wrapper_id": 1, "request": {"messages": "hi"}, "response": "ok"}',
        b'{"invocation_id": "i2", "wrapper_id": 1, "request": [1], "response": "ok"}',
        b'{"invocation_id": "i3", "wrapper_id": 1, "request": {"messages": [{"role": "user", "content": "x"}]}, '
        b'"response": {"weird": true}}',
        b"[1, 2, 3]",
        b'{"type": "LLMCall", "messages": 5, "response": {}}',
        b"\xff\xfe\x00binary \x00 {not json",
        b'{"invocation_id": "i4", "wrapper_id": 1, "request": {"messages": [{"role": "user", "content": "y"}]}, '
        b"\"response\": \"ChatCompletion(id='z', choices=[Choice(message=ChatCompletionMessage(content='fine'))])\","
        b' "start_time": "garbage", "end_time": 12}',
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    calls, ctx = read(FILE, path)
    assert [c.call_id for c in calls] == ["i1", "i4"]
    assert calls[1].response == "fine" and calls[1].latency_ms is None and calls[1].started_at is None
    assert [p for _, p in ctx.skips] == ["3", "4", "6", "7"]  # line 5 holds no object: not a log record


# --- detection and ingest -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reader"),
    [
        ("logs.db", SQLITE),
        ("logs_pyautogen02.db", SQLITE),
        ("runtime.log", FILE),
        ("core_events.log", FILE),
        ("core_events.jsonl", FILE),
    ],
)
def test_detection_is_precise(name: str, reader: FileReader) -> None:
    assert_detected(reader, HERE / name)


def test_no_other_format_is_claimed() -> None:
    others = fixture_files(excluding=MINE)
    assert claimed(SQLITE, others) == []
    assert claimed(FILE, others) == []


def test_end_to_end_read_traces() -> None:
    calls, summary = ingest(HERE)
    assert summary.calls_by_format() == {"autogen-sqlite": 7, "autogen-file": 8}
    assert len(calls) == 15
    assert summary.records_skipped == 4
