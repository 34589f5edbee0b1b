"""The LiteLLM StandardLoggingPayload reader: bucket-logger JSON Lines and wrapped callback dumps."""

from __future__ import annotations

import json
from pathlib import Path

from slmscout.traces.litellm import LiteLLMReader
from tests.conftest import FIXTURES
from tests.reader_helpers import assert_detected, claimed, fixture_files, ingest, read_by_id

HERE = FIXTURES / "litellm"
PAYLOADS = HERE / "s3_payloads.jsonl"
WRAPPED = HERE / "callback_dump.json"
READER = LiteLLMReader()
MINE = {"litellm", "helicone", "llm_logs", "autogen"}


def test_tool_call_payload() -> None:
    calls, _ = read_by_id(READER, PAYLOADS)
    call = calls["chatcmpl-5b1f6a2e-4c1d-4e8a-9f00-1a2b3c4d5e6f"]  # the payload's ``id``
    assert call.source.format == "litellm" and call.source.position == "1"
    assert [(m.role, m.content) for m in call.messages] == [
        ("system", "You plan trips. Use tools for facts."),
        ("user", "Is it warm in Lyon today?"),
    ]
    assert call.response == ""
    assert [(t.name, json.loads(t.arguments), t.id) for t in call.response_tool_calls] == [
        ("get_weather", {"city": "Lyon"}, "toolu_01A09q90qw90lq917835lq9")
    ]
    assert [t.name for t in call.tools] == ["get_weather"]  # from model_parameters.tools
    assert call.model == "claude-3-5-sonnet-20241022"
    assert call.usage is not None
    assert (call.usage.input_tokens, call.usage.output_tokens) == (2048, 23)
    assert (call.usage.cache_read_tokens, call.usage.cache_write_tokens) == (1536, 256)
    # startTime/endTime are epoch float seconds (camelCase)
    assert call.started_at == "2025-01-05T10:00:00.123000Z"
    assert call.ended_at == "2025-01-05T10:00:01.456000Z"
    assert call.latency_ms is not None and abs(call.latency_ms - 1333.0) < 0.01
    # identity comes only from user metadata: requester_metadata here
    assert (call.caller.agent, call.caller.module) == ("planner", "plan_step")
    assert call.session_id == "sess-42"
    assert call.status == "ok" and call.error is None
    assert call.metadata["provider"] == "anthropic"
    assert call.metadata["tags"] == "agent:planner,prod"
    assert call.metadata["cost_usd"] == 0.0031
    assert call.metadata["trace_id"] == "3c5e9a10-7f2b-4d61-9a0e-5b8c2d4e6f01"


def test_image_becomes_placeholder_and_responding_model_wins() -> None:
    calls, _ = read_by_id(READER, PAYLOADS)
    call = calls["chatcmpl-AqR7bX2"]
    user = call.messages[0].content
    assert user.startswith("Total on this receipt?\n[image sha256:")
    assert "/9j/4AAQ" not in user
    assert call.response == "12.40 EUR"
    assert call.model == "gpt-4o-mini-2024-07-18"
    assert call.metadata["model_requested"] == "gpt-4o-mini"
    assert (call.caller.agent, call.caller.module) == ("receipt-reader", "extract_total")  # spend_logs_metadata
    assert call.metadata["stream"] is True and call.metadata["cache_hit"] is False
    assert call.latency_ms == 750.0


def test_failure_payload() -> None:
    calls, _ = read_by_id(READER, PAYLOADS)
    call = calls["2f4a6c8e-0b1d-4f3a-8c5e-7a9b1c3d5e7f"]
    assert call.status == "error"
    assert call.error == "RateLimitError"  # error_information.error_class, never the message
    assert call.response is None
    assert call.usage is None  # a failure logs 0/0 tokens: nothing was reported
    assert call.caller.agent == "critic"
    assert call.latency_ms is not None and abs(call.latency_ms - 200.0) < 0.01


def test_bad_records_are_skipped_with_reasons() -> None:
    calls, ctx = read_by_id(READER, PAYLOADS)
    assert len(calls) == 3
    assert ctx.skips == [
        ("call is not a text generation", "4"),  # an embedding call
        ("invalid JSON", "5"),
        ("record has no messages", "6"),
    ]


def test_wrapped_payloads_in_a_json_array() -> None:
    calls, ctx = read_by_id(READER, WRAPPED)
    assert ctx.skips == []
    responses_api = calls["resp_67ccd2bed1ec8190b14f964abc054267"]
    assert responses_api.source.position == "item 0"
    assert [(m.role, m.content, m.tool_call_id) for m in responses_api.messages] == [
        ("user", "What is 6 x 7?", None),
        ("assistant", "", None),
        ("tool", "42", "call_m1"),
    ]
    assert responses_api.messages[1].tool_calls[0].name == "multiply"
    assert responses_api.response == "6 x 7 = 42."
    assert responses_api.model == "gpt-4.1-2025-04-14"
    assert [t.name for t in responses_api.tools] == ["multiply"]
    assert responses_api.usage is not None and responses_api.usage.input_tokens == 150
    assert responses_api.caller.agent == "calculator" and responses_api.session_id == "sess-calc-1"
    text = calls["cmpl-8xYz"]
    assert [(m.role, m.content) for m in text.messages] == [("user", "Say hello in French:")]  # messages is a str
    assert text.response == " Bonjour !"


def test_spend_log_style_record(tmp_path: Path) -> None:
    record = {
        "request_id": "req-77",
        "call_type": "acompletion",
        "startTime": "2025-02-01T10:00:00.000Z",
        "endTime": "2025-02-01T10:00:02.500Z",
        "model": "gpt-4o",
        "messages": json.dumps([{"role": "user", "content": "hi"}]),
        "response": json.dumps({"choices": [{"message": {"role": "assistant", "content": "hello"}}]}),
        "prompt_tokens": 3,
        "completion_tokens": 1,
        "session_id": "s-9",
    }
    path = tmp_path / "spend.jsonl"
    path.write_text(json.dumps(record) + "\n")
    calls, ctx = read_by_id(READER, path)
    call = calls["req-77"]
    assert call.response == "hello" and call.session_id == "s-9" and call.latency_ms == 2500.0
    assert ctx.skips == []


def test_strange_records_never_crash(tmp_path: Path) -> None:
    base = {"startTime": 1.0, "call_type": "acompletion", "response": {}}
    deep = "[" * 50_000 + "]" * 50_000
    lines = [
        json.dumps({**base, "id": "a", "messages": [{"role": 5, "content": "x"}]}),
        json.dumps({**base, "id": "b", "messages": [{"role": "user", "content": 42}]}),
        json.dumps({**base, "id": "c", "messages": [{"role": "user", "content": "ok"}], "response": {"choices": [7]}}),
        json.dumps({**base, "id": "d", "messages": [{"role": "user", "content": "ok"}], "metadata": "not json"}),
        json.dumps({**base, "id": "e", "messages": {"unknown": 1}}),
        '{"startTime": 1, "call_type": "acompletion", "response": null, "messages": ' + deep + "}",
        json.dumps({"standard_logging_object": {**base, "id": "f", "messages": "hi", "endTime": "soon"}}),
    ]
    path = tmp_path / "odd.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe garbage\n")
    calls, ctx = read_by_id(READER, path)
    assert sorted(calls) == ["d", "f"]
    assert calls["f"].latency_ms is None and calls["f"].started_at is not None
    assert [p for _, p in ctx.skips] == ["1", "2", "3", "5", "6", "8"]


def test_detection_is_precise() -> None:
    for path in (PAYLOADS, WRAPPED):
        assert_detected(READER, path)
    assert claimed(READER, fixture_files(excluding=MINE)) == []


def test_end_to_end_read_traces() -> None:
    calls, summary = ingest(HERE)
    assert summary.calls_by_format() == {"litellm": 5}
    assert len(calls) == 5
    assert summary.records_skipped == 3
    assert summary.files_unrecognised == []
