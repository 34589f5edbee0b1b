"""OpenTelemetry readers: OTLP JSON (GenAI, OpenLLMetry, OpenInference dialects) and ConsoleSpanExporter output."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from slmscout.errors import InputError
from slmscout.traces import LLMCall
from slmscout.traces.otlp import OtelConsoleReader, OtlpReader, any_value, iter_object_records, normalize_id
from slmscout.traces.source import RawRecord, Skip, sample_file
from tests.conftest import FIXTURES
from tests.reader_helpers import by_id, claimed, first_claimant, ingest, read_with

OTLP = FIXTURES / "otlp"
OTLP_FILES = [
    "genai_current.jsonl",
    "genai_legacy_events.jsonl",
    "openllmetry.jsonl",
    "openinference.jsonl",
    "base64_ids.json",
    "agent_workflow.jsonl",
    "tools_only.jsonl",
]


# --- shared helpers to build OTLP records in tests -----------------------------------------------------------


def s(value: str) -> dict[str, Any]:
    return {"stringValue": value}


def traces_line(*spans: dict[str, Any]) -> str:
    record = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {}, "spans": list(spans)}]}]}
    return json.dumps(record)


def chat_span(span_id: str, parent: str = "", attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    attrs = {"gen_ai.operation.name": s("chat"), "gen_ai.request.model": s("m"), **(attributes or {})}
    return {
        "traceId": "ab" * 16,
        "spanId": span_id,
        "parentSpanId": parent,
        "name": "chat m",
        "kind": 3,
        "startTimeUnixNano": "1717000000000000000",
        "endTimeUnixNano": "1717000000500000000",
        "attributes": [{"key": k, "value": v} for k, v in attrs.items()],
    }


# --- the GenAI semantic conventions --------------------------------------------------------------------------


def test_genai_current_conventions() -> None:
    calls, ctx = read_with(OtlpReader(), OTLP / "genai_current.jsonl")
    assert ctx.skips == []
    assert [c.call_id for c in calls] == ["eee19b7ec3c1b174", "b7ad6b7169203331"]  # embeddings/tool spans: no call
    chat, failed = calls
    assert chat.source.format == "otlp" and chat.source.position == "1 span eee19b7ec3c1b174"
    assert [m.role for m in chat.messages] == ["system", "user", "assistant", "tool"]
    assert chat.messages[0].content == "You are a weather assistant."  # gen_ai.system_instructions
    assert chat.messages[1].content == "Weather in Paris?"
    history_call = chat.messages[2].tool_calls[0]
    assert (history_call.name, history_call.id) == ("get_weather", "call_1")
    assert json.loads(history_call.arguments) == {"location": "Paris"}
    assert chat.messages[3].content == "rainy, 57F"  # tool_call_response written with "result"
    assert chat.messages[3].tool_call_id == "call_1"
    assert chat.response == "It is rainy in Paris, 57F."  # structured arrayValue/kvlistValue output
    assert [t.name for t in chat.tools] == ["get_weather"]
    assert json.loads(chat.tools[0].parameters)["required"] == ["location"]
    assert chat.model == "gpt-4o-2024-08-06"  # the responding model
    assert chat.metadata["requested_model"] == "gpt-4o"
    assert chat.usage is not None
    assert (chat.usage.input_tokens, chat.usage.output_tokens, chat.usage.cache_read_tokens) == (812, 17, 512)
    assert chat.session_id == "conv_example_1"
    assert chat.started_at == "2024-05-29T16:26:40Z" and chat.ended_at == "2024-05-29T16:26:41.200000Z"
    assert chat.latency_ms == pytest.approx(1200.0)
    assert chat.status == "ok" and chat.error is None
    assert chat.metadata["provider"] == "openai" and chat.metadata["finish_reason"] == "stop"
    assert chat.metadata["request.temperature"] == 0.2 and chat.metadata["request.max_tokens"] == 256
    assert chat.metadata["otel_dialect"] == "genai" and chat.metadata["service_name"] == "weather-agent"
    assert chat.metadata["trace_id"] == "5b8efff798038103d269b633813fc60c"

    # content only in the gen_ai.client.inference.operation.details event; an inline image blob; a timeout
    assert failed.messages[0].role == "user"
    assert failed.messages[0].content.startswith("Describe this chart\n[image sha256:")
    assert "iVBORw0KGgo" not in failed.messages[0].content
    assert failed.response is None
    assert failed.status == "error" and failed.error == "timeout"
    assert failed.metadata["provider"] == "gcp.gemini"  # the older gen_ai.system
    assert failed.latency_ms == pytest.approx(30000.0)
    assert failed.usage is None


def test_genai_older_event_forms() -> None:
    calls, ctx = read_with(OtlpReader(), OTLP / "genai_legacy_events.jsonl")
    assert ctx.skips == []
    events, azure, pre128 = calls
    # v1.28-1.36 span events, tool calls as arrayValue of kvlistValue
    assert [m.role for m in events.messages] == ["system", "user", "assistant", "tool"]
    assert events.messages[1].content == "My invoice is wrong"
    assert events.messages[2].tool_calls[0].name == "lookup_invoice"
    assert json.loads(events.messages[2].tool_calls[0].arguments) == {"customer": "c-17"}
    assert events.messages[3].tool_call_id == "call_lookup"
    assert events.response == "billing" and events.metadata["finish_reason"] == "stop"
    assert events.model == "gpt-4o-mini-2024-07-18"
    # the event body as a JSON string in gen_ai.event.content (Azure SDKs)
    assert [(m.role, m.content) for m in azure.messages] == [("user", "Translate: bonjour")]
    assert azure.response == "hello"
    # pre-1.28: gen_ai.content.prompt / gen_ai.content.completion, very old usage names
    assert [(m.role, m.content) for m in pre128.messages] == [
        ("system", "Summarise in one word."),
        ("user", "The meeting moved to Friday."),
    ]
    assert pre128.response == "Rescheduled"
    assert pre128.usage is not None and (pre128.usage.input_tokens, pre128.usage.output_tokens) == (40, 6)


# --- OpenLLMetry / Traceloop ---------------------------------------------------------------------------------


def test_openllmetry_indexed_attributes() -> None:
    calls, ctx = read_with(OtlpReader(), OTLP / "openllmetry.jsonl")
    assert ctx.skips == []
    openai, anthropic = calls  # the workflow and task spans give context only
    assert openai.metadata["otel_dialect"] == "openllmetry"
    assert [m.role for m in openai.messages] == ["system", "user"]
    assert openai.messages[1].content.startswith("Somewhere warm in May\n[image sha256:")  # JSON parts list
    assert "iVBORw0KGgo" not in openai.messages[1].content
    assert openai.response == ""
    call = openai.response_tool_calls[0]
    assert (call.name, call.id, json.loads(call.arguments)) == ("pick_city", "call_pick", {"city": "Lisbon"})
    assert [(t.name, t.description) for t in openai.tools] == [("pick_city", "Choose a destination")]
    assert json.loads(openai.tools[0].parameters)["properties"] == {"city": {"type": "string"}}
    assert openai.model == "gpt-4o-mini-2024-07-18"
    assert openai.usage is not None and (openai.usage.input_tokens, openai.usage.output_tokens) == (95, 14)
    assert openai.caller.module == "pick_city"  # the nearest task
    assert openai.session_id == "sess-openllmetry-1"  # traceloop.association.properties.session_id
    assert openai.metadata["finish_reason"] == "tool_calls"

    assert anthropic.response == "Pack light layers and comfortable shoes for the hills."
    assert anthropic.caller.module == "trip_planner"  # no task above it: the workflow
    assert anthropic.usage is not None
    assert (anthropic.usage.input_tokens, anthropic.usage.cache_read_tokens, anthropic.usage.cache_write_tokens) == (
        1200,
        1024,
        150,
    )


# --- OpenInference -------------------------------------------------------------------------------------------


def test_openinference_flattened_attributes() -> None:
    calls, ctx = read_with(OtlpReader(), OTLP / "openinference.jsonl")
    assert ctx.skips == []
    llm, nested = calls  # AGENT, CHAIN and TOOL spans are not calls
    assert llm.metadata["otel_dialect"] == "openinference"
    assert [m.role for m in llm.messages] == ["system", "user", "assistant", "tool"]
    assert llm.messages[1].content.startswith("Find a hotel like this one\n[image sha256:")
    assert "/9j/4AAQ" not in llm.messages[1].content
    assert llm.messages[2].tool_calls[0].name == "search_hotels"
    assert llm.messages[3].tool_call_id == "call_a"
    assert llm.response == ""
    assert [(c.name, c.id) for c in llm.response_tool_calls] == [("book_hotel", "call_b")]
    assert [t.name for t in llm.tools] == ["search_hotels", "book_hotel"]
    assert llm.model == "gpt-4.1-mini-2025-04-14"
    assert llm.usage is not None
    assert (llm.usage.input_tokens, llm.usage.output_tokens, llm.usage.cache_read_tokens) == (640, 22, 256)
    assert llm.caller.agent == "travel_agent" and llm.caller.module == "planner"  # graph.node.name of the CHAIN
    assert llm.session_id == "sess-phoenix-9"
    assert llm.metadata["request.temperature"] == 0.3  # from llm.invocation_parameters
    # Phoenix-style re-nested list under llm.input_messages
    assert [(m.role, m.content) for m in nested.messages] == [("user", "Confirm the booking in one sentence.")]
    assert nested.response == "Your room at Casa Azul is booked."
    assert nested.caller.agent == "travel_agent" and nested.caller.module is None


# --- ids, shapes ---------------------------------------------------------------------------------------------


def test_base64_ids_and_protobuf_json_enum_names() -> None:
    calls, ctx = read_with(OtlpReader(), OTLP / "base64_ids.json")
    assert ctx.skips == []
    (call,) = calls
    assert call.call_id == "0011223344556677"
    assert call.metadata["trace_id"] == "0123456789abcdef0123456789abcdef"
    assert call.metadata["parent_span_id"] == "89abcdef01234567"
    assert call.caller.agent == "Planner"  # the parent link resolves through the decoded ids
    assert call.status == "error" and call.error == "RateLimitError"  # STATUS_CODE_ERROR + exception event
    assert call.messages[0].content == "Plan a 2-day trip"


def test_console_exporter_shape() -> None:
    calls, ctx = read_with(OtelConsoleReader(), OTLP / "console_exporter.log")
    assert ctx.skips == []
    (call,) = calls  # the agent and tool spans are context; the agent is printed after its child
    assert call.source.format == "otel-console"
    assert call.call_id == "6e0c63257de34c92"  # "0x" prefix dropped
    assert call.metadata["trace_id"] == "d4cda95b652f4a1592b449d5929fda1b"
    assert call.caller.agent == "Triage" and call.session_id == "thread-77"
    assert [(m.role, m.content) for m in call.messages] == [("user", "Classify: the app crashes on login")]
    assert call.response == "bug"  # gen_ai.choice message as JSON text (span event attributes are flat)
    assert call.model == "gpt-4o-mini-2024-07-18"
    assert call.usage is not None and (call.usage.input_tokens, call.usage.output_tokens) == (58, 7)
    assert call.started_at == "2024-05-29T16:26:40.100000Z"
    assert call.latency_ms == pytest.approx(1250.0)
    assert call.metadata["service_name"] == "console-demo"


def test_console_variants_one_a_line_array_and_noise(tmp_path: Path) -> None:
    items = list(iter_object_records(OTLP / "console_exporter.log"))
    assert [i.position for i in items] == ["1", "57", "87"]  # each object's first line
    spans = [i.value for i in items if isinstance(i, RawRecord)]
    one_a_line = tmp_path / "spans.jsonl"
    one_a_line.write_text("".join(json.dumps(span) + "\n" for span in spans))
    array = tmp_path / "spans.json"
    array.write_text(json.dumps(spans, indent=2))
    noisy = tmp_path / "stdout.txt"
    pretty = [json.dumps(span, indent=4) for span in spans]
    noisy.write_text(
        "\ufeff"
        + pretty[0]
        + "\nINFO: something printed by the app\nmore output\n"
        + pretty[1]
        + "\n"
        + pretty[2]
        + '\n{\n    "name": "cut off",\n'
    )
    for path in (one_a_line, array, noisy):
        assert OtelConsoleReader().claims(sample_file(path)), path.name
        calls, ctx = read_with(OtelConsoleReader(), path)
        assert [c.call_id for c in calls] == ["6e0c63257de34c92"], path.name
        assert calls[0].caller.agent == "Triage"
    _, ctx = read_with(OtelConsoleReader(), noisy)
    noise = pretty[0].count("\n") + 2
    cut = noise + 2 + pretty[1].count("\n") + 1 + pretty[2].count("\n") + 1
    assert ctx.skips == [("text outside a JSON object", str(noise)), ("invalid JSON", str(cut))]


def test_pretty_printed_documents_one_after_another_and_gzip(tmp_path: Path) -> None:
    records = [json.loads(line) for line in (OTLP / "agent_workflow.jsonl").read_text().splitlines()]
    pretty = tmp_path / "export.json"
    pretty.write_text("".join(json.dumps(r, indent=2) + "\n" for r in records))
    packed = tmp_path / "export.jsonl.gz"
    with gzip.open(packed, "wt") as handle:
        handle.write((OTLP / "agent_workflow.jsonl").read_text())
    for path in (pretty, packed):
        assert OtlpReader().claims(sample_file(path)), path.name
        calls, ctx = read_with(OtlpReader(), path)
        assert ctx.skips == []
        assert [c.caller.agent for c in calls] == ["triage", "triage"]


# --- callers, modules, sessions across lines -----------------------------------------------------------------


def test_caller_resolution_across_lines_with_parents_later() -> None:
    calls, ctx = read_with(OtlpReader(), OTLP / "agent_workflow.jsonl")
    assert ctx.skips == []
    direct_call, in_task = calls
    assert direct_call.caller.agent == "triage"
    assert direct_call.caller.module == "support_flow"  # no task between it and the workflow
    assert direct_call.session_id == "sess-42"  # from the workflow span, three lines further down
    assert direct_call.response == "finance"
    assert in_task.caller.agent == "triage" and in_task.caller.module == "summarise"
    assert in_task.caller.label() == "triage / summarise"
    assert in_task.response is None  # no output recorded


def test_own_agent_name_and_missing_parents(tmp_path: Path) -> None:
    path = tmp_path / "own.jsonl"
    own = chat_span("1111111111111111", "9999999999999999", attributes={"gen_ai.agent.name": s("Writer")})
    path.write_text(traces_line(own) + "\n")
    (call,) = read_with(OtlpReader(), path)[0]
    assert call.caller.agent == "Writer" and call.caller.module is None  # parent in another file: left alone


def test_nested_llm_spans_are_marked(tmp_path: Path) -> None:
    path = tmp_path / "nested.jsonl"
    outer = chat_span("1111111111111111")
    inner = chat_span("2222222222222222", "1111111111111111")
    path.write_text(traces_line(inner) + "\n" + traces_line(outer) + "\n")
    calls = by_id(read_with(OtlpReader(), path)[0])
    assert calls["1111111111111111"].metadata.get("wraps_llm_span") is True
    assert "wraps_llm_span" not in calls["2222222222222222"].metadata


def test_parent_cycles_and_duplicates_end(tmp_path: Path) -> None:
    path = tmp_path / "cycle.jsonl"
    a = chat_span("1111111111111111", "2222222222222222")
    b = {**chat_span("2222222222222222", "1111111111111111"), "attributes": []}
    path.write_text(traces_line(a, b) + "\n" + traces_line(a) + "\n")
    calls, ctx = read_with(OtlpReader(), path)
    assert [c.call_id for c in calls] == ["1111111111111111"]
    assert ctx.skips == [("duplicate span (same trace and span id)", "2 span 1111111111111111")]


def test_non_llm_spans_only_give_no_calls() -> None:
    calls, ctx = read_with(OtlpReader(), OTLP / "tools_only.jsonl")
    assert calls == [] and ctx.skips == []
    with pytest.raises(InputError, match="no LLM calls could be read"):
        ingest(OTLP / "tools_only.jsonl")


# --- values and ids ------------------------------------------------------------------------------------------


def test_any_value_decoding() -> None:
    assert any_value({"intValue": "812"}) == 812
    assert any_value({"intValue": 9}) == 9
    assert any_value({"doubleValue": 0.5}) == 0.5
    assert any_value({"boolValue": True}) is True
    assert any_value({"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "2"}]}}) == ["a", 2]
    assert any_value({"kvlistValue": {"values": [{"key": "k", "value": {"stringValue": "v"}}]}}) == {"k": "v"}
    assert any_value({"arrayValue": {}}) == []
    assert any_value({}) is None
    assert any_value({"bytesValue": "aGVsbG8="}).startswith("[bytes sha256:")


def test_id_normalisation() -> None:
    assert normalize_id("5B8EFFF798038103D269B633813FC60C") == "5b8efff798038103d269b633813fc60c"
    assert normalize_id("0xeee19b7ec3c1b174") == "eee19b7ec3c1b174"
    assert normalize_id("ASNFZ4mrze8BI0VniavN7w==") == "0123456789abcdef0123456789abcdef"  # base64, 24 chars
    assert normalize_id("ABEiM0RVZnc=") == "0011223344556677"  # base64, 12 chars
    assert normalize_id("") is None and normalize_id("0" * 16) is None and normalize_id(None) is None


# --- malformed input -----------------------------------------------------------------------------------------


def test_malformed_records_are_skipped_with_reasons(tmp_path: Path) -> None:
    good = chat_span(
        "1111111111111111",
        attributes={"gen_ai.input.messages": s('[{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]')},
    )
    lines = [
        traces_line(good),
        "{broken json",
        json.dumps({"something": "else"}),
        json.dumps({"resourceSpans": ["not an object"]}),
        traces_line({"spanId": "", "name": "no id"}),
        json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": ["not a span"]}]}]}),
        traces_line(chat_span("3333333333333333", attributes={"gen_ai.input.messages": {"intValue": "42"}})),
        traces_line(chat_span("4444444444444444", attributes={"gen_ai.input.messages": s('[{"parts": []}]')})),
        traces_line(
            chat_span("5555555555555555", attributes={"gen_ai.input.messages": s('[{"role": "user", "parts": [{"ty')})
        ),
        traces_line(chat_span("6666666666666666", attributes={"gen_ai.input.messages": s("plain text prompt")})),
        "",
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines))
    calls, summary = ingest(path)
    assert [c.call_id for c in calls] == ["1111111111111111", "6666666666666666"]
    assert [(m.role, m.content) for m in calls[1].messages] == [("user", "plain text prompt")]
    reasons = {g.reason: g.locations for g in summary.skips.values()}
    assert reasons["invalid JSON"] == [f"{path}:2"]
    assert reasons["record has no resourceSpans list"] == [f"{path}:3"]
    assert reasons["resourceSpans entry is not an object"] == [f"{path}:4 resource 0"]
    assert reasons["span has no span id"] == [f"{path}:5 span #0"]
    assert reasons["span is not an object"] == [f"{path}:6 span #0"]
    assert reasons["gen_ai.input.messages is not a list of messages"] == [f"{path}:7 span 3333333333333333"]
    assert reasons["a message has no role"] == [f"{path}:8 span 4444444444444444"]
    assert reasons["gen_ai.input.messages is not valid JSON"] == [f"{path}:9 span 5555555555555555"]
    assert summary.records_skipped == 8
    assert summary.files[0].calls == 2 and summary.files[0].skipped == 8


@pytest.mark.parametrize(
    "content",
    [
        bytes(range(256)) * 40,
        b'{"resourceSpans": [' + b"[" * 100_000 + b"]}\n",
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "1111111111111111", "attributes": '
        + b'[{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}, {"key": "x", "value": '
        + b'{"arrayValue": {"values": [' * 40
        + b"]}}" * 40
        + b'}], "startTimeUnixNano": "99999999999999999999999", "events": "nope"}]}]}]}\n',
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": 7, "traceId": {}}]}]}]}\n\xff\xfe\n',
        '{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "1111111111111111", "name": "\u00e9\ud800", '
        '"attributes": {"gen_ai.operation.name": "chat"}}]}]}]}\n'.encode("utf-8", "surrogatepass"),
    ],
)
def test_strange_input_never_crashes(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "strange.jsonl"
    path.write_bytes(content)
    for reader in (OtlpReader(), OtelConsoleReader()):
        calls, ctx = read_with(reader, path)
        assert all(isinstance(c, LLMCall) for c in calls)
        assert all(isinstance(reason, str) for reason, _ in ctx.skips)


def test_oversized_console_object_is_read_past(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    big = {"name": "x", "context": {"span_id": "0x1111111111111111"}, "attributes": {"blob": "a" * 5000}}
    small = {"name": "y", "context": {"span_id": "0x2222222222222222"}, "attributes": {}}
    path.write_text(json.dumps(big, indent=4) + "\n" + json.dumps(small, indent=4) + "\n")
    items = list(iter_object_records(path, max_object_bytes=1000))
    assert [type(i).__name__ for i in items] == ["Skip", "RawRecord"]
    assert isinstance(items[0], Skip) and items[0].reason == "line longer than 1000 bytes"
    assert isinstance(items[1], RawRecord) and items[1].value["name"] == "y"


# --- detection and the end-to-end path ---------------------------------------------------------------------


@pytest.mark.parametrize("name", [*OTLP_FILES, "console_exporter.log"])
def test_detection_claims_only_these_files(name: str) -> None:
    expected = "otel-console" if name.endswith(".log") else "otlp"
    assert first_claimant(sample_file(OTLP / name)) == expected


def test_other_formats_are_not_claimed() -> None:
    others = [p for p in FIXTURES.rglob("*") if p.is_file() and OTLP not in p.parents]
    assert others, "expected other readers' fixtures"
    assert claimed(OtlpReader(), others) == []
    assert claimed(OtelConsoleReader(), others) == []


def test_read_traces_end_to_end() -> None:
    calls, summary = ingest(OTLP)
    assert summary.calls_by_format() == {"otlp": 12, "otel-console": 1}
    assert summary.records_skipped == 0
    assert [f.path for f in summary.files_unrecognised] == []
    assert len({c.call_id for c in calls}) == 13
