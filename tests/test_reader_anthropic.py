"""The Anthropic Messages reader: request/response pairs with content blocks, thinking and cache tokens."""

from __future__ import annotations

import json
from pathlib import Path

from slmscout.traces.anthropic_messages import AnthropicMessagesReader
from slmscout.traces.openai_chat import OpenAIChatReader
from slmscout.traces.source import sample_file
from tests.conftest import FIXTURES
from tests.reader_helpers import assert_detected, claimed, ingest, read_with

PAIRS = FIXTURES / "anthropic_messages" / "pairs.jsonl"
READER = AnthropicMessagesReader()


def test_system_blocks_thinking_tool_use_and_cache_tokens() -> None:
    calls, ctx = read_with(READER, PAIRS)
    assert ctx.skips == []
    call = calls[0]
    assert call.call_id == "trip-planner-0001"
    assert call.source.format == "anthropic-messages" and call.source.position == "1"
    assert [m.role for m in call.messages] == ["system", "user"]
    assert call.messages[0].content == (
        "You are the trip planner of Example Travel.\nAlways check the weather before suggesting activities."
    )
    assert call.response == "Let me check the weather in Lisbon first."
    assert [(t.name, t.id) for t in call.response_tool_calls] == [("get_weather", "toolu_01")]
    assert json.loads(call.response_tool_calls[0].arguments) == {"city": "Lisbon"}
    assert [t.name for t in call.tools] == ["get_weather"]
    assert json.loads(call.tools[0].parameters)["required"] == ["city"]
    assert call.model == "claude-sonnet-4-5-20250929"
    assert call.metadata["requested_model"] == "claude-sonnet-4-5"
    assert call.usage is not None
    # Anthropic reports cache tokens apart from input_tokens; the record's input includes them
    assert (call.usage.input_tokens, call.usage.output_tokens) == (25 + 1800 + 0, 96)
    assert (call.usage.cache_read_tokens, call.usage.cache_write_tokens) == (1800, 0)
    assert call.metadata["stop_reason"] == "tool_use"
    assert call.metadata["thinking_budget"] == 2048 and call.metadata["tool_choice"] == "auto"
    assert call.session_id == "sess-42"
    assert call.started_at == "2025-03-02T10:00:00.120000Z" and call.ended_at == "2025-03-02T10:00:03.620000Z"
    assert call.latency_ms == 3500.0
    assert call.status == "ok" and call.error is None


def test_thinking_is_a_length_never_text() -> None:
    calls, _ = read_with(READER, PAIRS)
    first, second = calls[0], calls[1]
    thinking = "The user wants a Lisbon day plan; check the weather first."
    assert first.metadata["thinking_chars"] == len(thinking)
    for call in (first, second):
        texts = [call.response or "", *(m.content for m in call.messages), *map(str, call.metadata.values())]
        assert not any("Lisbon day plan" in t or "Secret chain of thought" in t for t in texts)
        assert not any("c2ln" in t for t in texts)  # nor the signature


def test_tool_result_turns_image_and_response_id() -> None:
    calls, _ = read_with(READER, PAIRS)
    call = calls[1]
    assert call.call_id == "msg_01B"  # no id on the record: the response id
    assert [m.role for m in call.messages] == ["system", "user", "assistant", "user"]
    assert call.messages[0].content == "You are the trip planner of Example Travel."
    assert "[image sha256:" in call.messages[1].content and "iVBORw0KGgo" not in call.messages[1].content
    assert [t.name for t in call.messages[2].tool_calls] == ["get_weather"]
    assert "toolu_01" in call.messages[3].content and "Sunny, 24 C" in call.messages[3].content
    assert call.response == "Saturday looks sunny: start at Belem, lunch in Alfama."
    assert call.response_tool_calls == ()
    assert call.usage is not None
    assert (call.usage.input_tokens, call.usage.cache_write_tokens, call.usage.cache_read_tokens) == (1610, 1200, 0)


def test_errors() -> None:
    calls, _ = read_with(READER, PAIRS)
    overloaded, text_error = calls[2], calls[4]
    assert (overloaded.status, overloaded.error) == ("error", "overloaded_error")
    assert overloaded.response is None and overloaded.usage is None and overloaded.model == "claude-haiku-4-5"
    assert (text_error.status, text_error.error) == ("error", "http_529")
    assert [m.role for m in text_error.messages] == ["system", "user"]


def test_server_tools_and_redacted_thinking() -> None:
    calls, _ = read_with(READER, PAIRS)
    call = calls[3]
    assert call.response == "Yes, tram 28 runs normally this weekend."
    assert [(t.name, t.id) for t in call.response_tool_calls] == [("web_search", "srvtoolu_01")]
    assert [(t.name, t.parameters) for t in call.tools] == [("web_search", "")]
    assert call.metadata["redacted_thinking_blocks"] == 1 and "thinking_chars" not in call.metadata
    assert call.latency_ms == 5120.5
    assert call.usage is not None and call.usage.input_tokens == 2100


def test_malformed_records_are_skipped(tmp_path: Path) -> None:
    base = json.loads(PAIRS.read_text().splitlines()[0])
    lines = [
        json.dumps(base),
        json.dumps({**base, "request": {**base["request"], "messages": [{"content": "no role"}]}}),
        json.dumps({**base, "response": {**base["response"], "content": "not blocks"}}),
        json.dumps({**base, "response": {**base["response"], "content": [{"type": "tool_use", "input": {}}]}}),
        json.dumps({**base, "response": 42}),
        json.dumps({**base, "request": {**base["request"], "messages": [{"role": "user", "content": 7}]}}),
        "{broken",
        '{"request": {"messages": ' + "[" * 50000 + "]" * 50000 + "}}",
        json.dumps({"request": {"messages": [{"role": "user", "content": "hi"}]}, "response": None}),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    calls, ctx = read_with(READER, path)
    assert [c.call_id for c in calls] == ["trip-planner-0001"]
    assert ctx.skips == [
        ("a message has no role", "2"),
        ("response has no content blocks", "3"),
        ("a tool_use block has no name", "4"),
        ("response is not an object", "5"),
        ("message content is neither text nor a list of blocks", "6"),
        ("invalid JSON", "7"),
        ("invalid JSON", "8"),
        ("record is not in the anthropic-messages shape", "9"),
    ]


def test_detection_is_precise() -> None:
    assert_detected(READER, PAIRS)
    # OpenAI pairs are not Anthropic: openai-chat keeps them
    for path in [FIXTURES / "openai_pairs.jsonl", *sorted((FIXTURES / "openai_chat").iterdir())]:
        assert not READER.claims(sample_file(path)), path
        assert OpenAIChatReader().claims(sample_file(path))
    assert claimed(READER, sorted((FIXTURES / "openai_batch").iterdir())) == []


def test_each_record_is_recognised_by_a_distinct_anthropic_sign() -> None:
    text_only = {"request": {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi"}]}}
    assert not READER.matches({**text_only, "response": None})  # nothing Anthropic about it: openai-chat's
    assert not READER.matches({**text_only, "response": {"error": {"type": "x"}}})
    assert READER.matches({**text_only, "response": {"type": "message", "content": []}})
    assert READER.matches({**text_only, "response": {"type": "error", "error": {"type": "api_error"}}})
    assert READER.matches({**text_only, "response": {"content": [], "stop_reason": "end_turn"}})
    assert READER.matches({**text_only, "response": {"usage": {"input_tokens": 1, "cache_read_input_tokens": 0}}})
    assert READER.matches({"request": {**text_only["request"], "system": "Be brief."}, "response": None})
    tools = [{"name": "t", "input_schema": {"type": "object"}}]
    assert READER.matches({"request": {**text_only["request"], "tools": tools}, "response": None})
    blocks = [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}]
    assert READER.matches({"request": {"messages": blocks}, "response": None})


def test_end_to_end_through_read_traces() -> None:
    calls, summary = ingest(PAIRS)
    assert summary.calls_by_format() == {"anthropic-messages": 5}
    assert summary.records_skipped == 0
    assert [c.call_id for c in calls][:2] == ["trip-planner-0001", "msg_01B"]
