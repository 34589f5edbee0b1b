"""The OpenAI Chat Completions reader against the real request/response shapes."""

from __future__ import annotations

import json
from pathlib import Path

from slmscout.traces.openai_chat import OpenAIChatReader
from slmscout.traces.record import LLMCall
from slmscout.traces.responses import error_type
from slmscout.traces.source import sample_file
from tests.conftest import FIXTURES
from tests.reader_helpers import Recorder, earlier_claimants, ingest, read_by_id

PAIRS = FIXTURES / "openai_chat" / "pairs.jsonl"
READER = OpenAIChatReader()


def read(path: Path = PAIRS) -> tuple[dict[str, LLMCall], Recorder]:
    return read_by_id(READER, path, distinct=False)


def test_developer_role_parts_structured_output_and_reasoning_tokens() -> None:
    calls, ctx = read()
    assert ctx.skips == []
    call = calls["extract-001"]
    assert [m.role for m in call.messages] == ["developer", "user"]
    assert call.messages[0].content == "Extract invoice fields as JSON."
    user = call.messages[1].content
    assert user.startswith("Invoice attached.\n[image sha256:")
    assert "[input_audio sha256:" in user and "[file sha256:" in user
    assert "iVBORw0KGgo" not in user and "UklGR" not in user and "JVBERi0" not in user
    assert call.response == '{"total": 118.5}'
    assert call.model == "o4-mini-2025-04-16" and call.metadata["requested_model"] == "o4-mini"
    assert call.usage is not None
    assert (call.usage.input_tokens, call.usage.output_tokens, call.usage.cache_read_tokens) == (2210, 340, 0)
    assert call.metadata["reasoning_tokens"] == 320
    assert call.metadata["max_tokens"] == 4000  # max_completion_tokens
    assert call.metadata["response_format"] == "json_schema"
    assert call.metadata["response_schema"] == "invoice_fields"
    assert call.metadata["reasoning_effort"] == "medium" and call.metadata["finish_reason"] == "stop"
    assert call.metadata["response_id"] == "chatcmpl-e1"
    assert call.started_at == "2024-05-29T16:26:40Z"  # response.created
    assert call.latency_ms == 2310.0 and call.session_id == "run-7"
    assert call.status == "ok" and call.error is None


def test_refusal_is_the_response() -> None:
    calls, _ = read()
    call = calls["extract-002"]
    assert call.response == "I'm sorry, I can't help with that."
    assert call.metadata["refusal"] is True and call.status == "ok"


def test_error_shapes() -> None:
    calls, _ = read()
    body = calls["extract-003"]
    assert (body.status, body.error, body.response) == ("error", "context_length_exceeded", None)
    assert body.model == "gpt-4o-mini" and body.messages[0].content.startswith("Summarise")
    text = calls["extract-004"]
    assert (text.status, text.error, text.response) == ("error", "http_429", None)
    beside = calls["extract-005"]
    assert (beside.status, beside.error, beside.response) == ("error", "APITimeoutError", None)


def test_custom_tools_and_legacy_functions() -> None:
    calls, _ = read()
    call = calls["extract-006"]
    assert [t.name for t in call.tools] == ["shell", "lookup_order"]
    assert call.tools[0].description == "Run a shell command" and json.loads(call.tools[0].parameters) == {
        "type": "text"
    }
    assert [(t.name, t.arguments, t.id) for t in call.response_tool_calls] == [
        ("shell", "ls -la", "call_c6"),
        ("lookup_order", '{"id": "A-1"}', None),
    ]
    assert call.response == ""


def test_history_with_tool_turns_refusal_part_and_json_text_response() -> None:
    calls, _ = read()
    call = calls["chatcmpl-e7"]  # no id on the record: the response id
    assert [m.role for m in call.messages] == ["user", "assistant", "tool", "assistant", "user"]
    assert call.messages[1].tool_calls[0].name == "lookup_order" and call.messages[1].tool_calls[0].id == "call_7"
    assert call.messages[2].tool_call_id == "call_7"
    assert call.messages[3].content == "I cannot share the address."
    assert call.response == "Order A-1 has shipped."  # the first choice
    assert call.metadata["choices"] == 2
    assert call.usage is not None and call.usage.cache_read_tokens == 128
    assert call.started_at == "2025-01-05T10:00:00.100000Z" and call.ended_at == "2025-01-05T10:00:01.300000Z"
    assert call.latency_ms == 1200.0


def test_error_type_is_short_and_never_the_message() -> None:
    assert error_type({"message": "secret prompt text", "type": "invalid_request_error", "code": None}) == (
        "invalid_request_error"
    )
    assert error_type({"error": {"code": "rate_limit_exceeded", "message": "x"}}) == "rate_limit_exceeded"
    assert error_type({"code": 503, "message": "x"}) == "http_503"
    assert error_type("Something failed with the prompt 'secret'") == "error"
    assert error_type(None) == "error"
    assert len(error_type({"type": "x" * 5000})) <= 64


def test_malformed_records_are_skipped(tmp_path: Path) -> None:
    ok = {"id": "ok", "request": {"messages": [{"role": "user", "content": "hi"}]}, "response": None}

    def with_response(response: object) -> str:
        return json.dumps({**ok, "id": "x", "response": response})

    lines = [
        json.dumps(ok),
        json.dumps({"id": "x", "request": {"messages": "nope"}, "response": None}),
        json.dumps({"id": "x", "request": {"messages": [7]}, "response": None}),
        with_response(42),
        with_response({"choices": [7]}),
        with_response({"choices": [{"index": 0}]}),
        with_response({"choices": [{"message": {"content": "a", "tool_calls": [{"function": {}}]}}]}),
        json.dumps({"id": "x", "request": {"messages": [], "tools": [{"type": "function"}]}, "response": None}),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    calls, ctx = read(path)
    assert list(calls) == ["ok"] and calls["ok"].response is None and calls["ok"].status == "ok"
    assert ctx.skips == [
        ("messages is not a list", "2"),
        ("a message is not an object", "3"),
        ("response is not an object", "4"),
        ("response choice is not an object", "5"),
        ("response choice has no message", "6"),
        ("a tool call has no name", "7"),
        ("a tool definition has no name", "8"),
    ]


def test_detection() -> None:
    for path in [PAIRS, FIXTURES / "openai_pairs.jsonl"]:
        sample = sample_file(path)
        assert READER.claims(sample)
        assert earlier_claimants(READER, sample, ties=True) == [], path


def test_end_to_end_through_read_traces() -> None:
    calls, summary = ingest(PAIRS, FIXTURES / "openai_pairs.jsonl")
    assert summary.calls_by_format() == {"openai-chat": 9}
    assert summary.records_skipped == 0
    assert [c.call_id for c in calls][:2] == ["extract-001", "extract-002"]
