"""The JSON line each call is kept as in the call store: the record's fields in order, compact, read back as the same
call, whether orjson writes it or (for what orjson refuses) the json module."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType

import pytest

from slmscout.analyzers.facts import call_json
from slmscout.traces.codec import from_jsonable, to_jsonable
from slmscout.traces.ingest import ReadSummary, read_traces
from slmscout.traces.record import Caller, LLMCall, Message, SourceRef, ToolCall, ToolDefinition, Usage

DEMO = Path(__file__).resolve().parent.parent / "slmscout" / "demo" / "metagpt_calls.jsonl"


def _call(**changes: object) -> LLMCall:
    base: dict[str, object] = {
        "call_id": "c-1",
        "source": SourceRef("logs/app.jsonl", "7", "openai-chat"),
        "messages": (
            Message("system", 'Route the ticket. Ünïcödé, emoji \U0001f600, quotes " and \\ and \n newlines'),
            Message("assistant", "", tool_calls=(ToolCall("lookup", '{"id": 3}', "t1"),)),
            Message("tool", "found", name="lookup", tool_call_id="t1"),
        ),
        "response": "billing",
        "tools": (ToolDefinition("lookup", "Find an order", '{"type":"object"}'),),
        "model": "gpt-4o",
        "caller": Caller(agent="router", role="triage"),
        "usage": Usage(input_tokens=120, output_tokens=3),
        "latency_ms": 812.5,
        "started_at": "2024-05-01T10:00:00Z",
        "metadata": {"team": "support", "retries": 2, "score": 0.25, "flag": True, "none": None},
    }
    base.update(changes)
    return LLMCall(**base)  # type: ignore[arg-type]


def _same_call(line: str, call: LLMCall) -> None:
    value = json.loads(line)
    expected = to_jsonable(call)
    assert value == expected
    assert isinstance(expected, dict) and list(value) == list(expected)  # field order kept
    assert from_jsonable(LLMCall, value) == call


def test_fast_path_writes_the_records_fields_compactly() -> None:
    call = _call()
    line = call_json(call)
    _same_call(line, call)
    assert line.startswith('{"call_id":"c-1","source":{"path":"logs/app.jsonl"')
    assert "\U0001f600" in line and "Ünïcödé" in line  # not escaped


@pytest.mark.parametrize(
    "changes",
    [
        {"metadata": {"huge": 2**70}},  # past 64 bits
        {"metadata": MappingProxyType({"team": "support"})},  # a mapping that is not a dict
        {"response": "broken \ud800 surrogate"},  # a lone surrogate, as json.loads reads "\\ud800"
    ],
    ids=["big-int", "mapping", "surrogate"],
)
def test_what_orjson_refuses_goes_through_json_in_the_same_form(changes: dict[str, object]) -> None:
    call = _call(**changes)
    line = call_json(call)
    value = json.loads(line)
    assert value == to_jsonable(call)
    assert line.startswith('{"call_id":"c-1","source":{"path":"logs/app.jsonl"')  # compact, as orjson writes


def test_nan_is_null_on_both_paths() -> None:
    fast = json.loads(call_json(_call(latency_ms=float("nan"))))
    slow = json.loads(call_json(_call(latency_ms=float("nan"), metadata={"huge": 2**70})))
    assert fast["latency_ms"] is None and slow["latency_ms"] is None


def test_real_calls_read_back_unchanged() -> None:
    calls = list(read_traces([DEMO], ReadSummary()))
    assert len(calls) > 300
    for call in calls:
        _same_call(call_json(call), call)
