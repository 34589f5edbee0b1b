"""The Helicone export reader: OpenAI and Anthropic bodies, JSON-text bodies, session properties."""

from __future__ import annotations

import json
from pathlib import Path

from slmscout.traces.helicone import HeliconeReader
from tests.conftest import FIXTURES
from tests.reader_helpers import assert_detected, claimed, fixture_files, ingest, read_by_id

HERE = FIXTURES / "helicone"
EXPORT = HERE / "export.jsonl"
READER = HeliconeReader()
SESSION = "6b1d2c3e-4f50-4a61-8b72-9c8d7e6f5a40"
MINE = {"litellm", "helicone", "llm_logs", "autogen"}


def test_openai_request_with_session_properties() -> None:
    calls, _ = read_by_id(READER, EXPORT)
    call = calls["a1f0c3d2-5e6b-4a7c-8d9e-0f1a2b3c4d5e"]  # request_id
    assert [m.role for m in call.messages] == ["system", "user"]
    assert call.messages[1].content == "Paris to Lyon tomorrow morning"
    assert call.response == ""
    assert [(t.name, json.loads(t.arguments), t.id) for t in call.response_tool_calls] == [
        ("search_trains", {"from": "Paris", "to": "Lyon"}, "call_tr1")
    ]
    assert [t.name for t in call.tools] == ["search_trains"]
    assert call.model == "gpt-4o-mini-2024-07-18"  # response_model, not the requested alias
    assert call.metadata["model_requested"] == "gpt-4o-mini"
    assert call.usage is not None
    assert (call.usage.input_tokens, call.usage.output_tokens, call.usage.cache_read_tokens) == (1320, 18, 1024)
    assert call.session_id == SESSION  # Helicone-Session-Id
    assert call.caller.module == "/plan/search"  # Helicone-Session-Path
    assert call.caller.agent == "researcher"  # custom property "Agent"
    assert call.metadata["session_name"] == "Trip planner"
    assert call.latency_ms == 812.0  # delay_ms
    assert call.started_at == "2025-03-10T12:00:00Z"
    assert call.ended_at == "2025-03-10T12:00:00.812000Z"
    assert call.metadata["cost_usd"] == 0.00042  # costUSD
    assert call.metadata["ttft_ms"] == 305.0
    assert call.metadata["user"] == "user-17"
    assert call.status == "ok"


def test_anthropic_bodies_as_json_text() -> None:
    calls, _ = read_by_id(READER, EXPORT)
    call = calls["c3d2e1f0-7a8b-4c9d-8e0f-1a2b3c4d5e6f"]
    assert [m.role for m in call.messages] == ["system", "user", "assistant", "user"]
    assert call.messages[0].content == "You write Python."  # system blocks
    assert call.messages[2].tool_calls[0].name == "http_get"
    assert "08:02 08:32 09:02" in call.messages[3].content  # tool_result
    assert "[image sha256:" in call.messages[3].content and "iVBORw0KGgo" not in call.messages[3].content
    assert call.response == "Saving the times."
    assert [(t.name, json.loads(t.arguments)) for t in call.response_tool_calls] == [
        ("write_file", {"path": "times.txt"})
    ]
    assert [t.name for t in call.tools] == ["http_get", "write_file"]
    assert call.usage is not None
    # Anthropic reports cache reads and writes apart from input_tokens: input includes them here
    assert (call.usage.input_tokens, call.usage.cache_read_tokens, call.usage.cache_write_tokens) == (2150, 2000, 100)
    assert call.usage.output_tokens == 40
    assert call.caller.agent == "coder"  # "Helicone-Property-Agent": the prefix is dropped
    assert call.caller.module == "/plan/code"
    assert call.metadata["property_environment"] == "prod"
    assert call.started_at == "2025-03-10T12:00:05Z"  # ClickHouse time without a zone is UTC
    assert call.latency_ms == 2250.0


def test_error_response() -> None:
    calls, _ = read_by_id(READER, EXPORT)
    call = calls["e5f4a3b2-9cad-4ebf-8a2b-3c4d5e6f7a8b"]
    assert call.status == "error"
    assert call.error == "requests"  # error.type, never the message
    assert call.response is None
    assert call.usage is None
    assert call.caller.agent == "critic"
    assert call.metadata["cost_usd"] == 0.0  # ``cost`` when there is no ``costUSD``


def test_bad_records_are_skipped() -> None:
    calls, ctx = read_by_id(READER, EXPORT)
    assert len(calls) == 3
    assert ctx.skips == [("invalid JSON", "4"), ("request body was not stored by Helicone", "5")]


def test_status_without_error_body_and_odd_records(tmp_path: Path) -> None:
    base = {"request_created_at": "2025-01-01T00:00:00Z", "response_status": 200}
    lines = [
        {**base, "request_id": "r1", "response_status": 500, "request_body": {"messages": []}, "response_body": None},
        {**base, "request_id": "r2", "request_body": "[1, 2", "response_body": None},
        {**base, "request_id": "r3", "request_body": {"model": "x"}, "response_body": {}},
        {**base, "request_id": "r4", "request_body": {"messages": [{"content": "no role"}]}},
        {**base, "request_id": "r5", "request_body": {"input": "plain text"}, "response_body": {"output": 3}},
        {**base, "request_id": "r6", "request_body": {"messages": "hello"}, "properties": ["odd"]},
    ]
    path = tmp_path / "odd.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    calls, ctx = read_by_id(READER, path)
    assert calls["r1"].status == "error" and calls["r1"].error == "http 500"
    assert calls["r5"].messages[0].content == "plain text" and calls["r5"].response is None
    assert calls["r6"].messages[0].content == "hello"
    assert [p for _, p in ctx.skips] == ["2", "3", "4"]


def test_detection_is_precise() -> None:
    assert_detected(READER, EXPORT)
    assert claimed(READER, fixture_files(excluding=MINE)) == []


def test_end_to_end_read_traces() -> None:
    calls, summary = ingest(HERE)
    assert summary.calls_by_format() == {"helicone": 3}
    assert len(calls) == 3
    assert summary.records_skipped == 2
