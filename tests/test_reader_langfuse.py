"""The Langfuse readers: API/SDK/UI camelCase observations and the blob-storage export (snake_case)."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest

from slmscout.traces.langfuse import LangfuseBlobReader, LangfuseReader
from slmscout.traces.reader import TraceReader
from slmscout.traces.registry import all_readers
from slmscout.traces.source import sample_file
from tests.conftest import FIXTURES, OPENHANDS_SAMPLE
from tests.reader_helpers import by_id, earlier_claimants, ingest, read_with, write_jsonl

LANGFUSE = FIXTURES / "langfuse"


def test_api_page_generations_in_file_order_with_parents_after_children() -> None:
    calls, ctx = read_with(LangfuseReader(), LANGFUSE / "api_observations_page.json")
    assert ctx.skips == []  # spans, agents, tools and events are context, not skips
    assert [c.call_id for c in calls] == ["obs-gen-claude", "obs-gen-tools", "obs-gen-plan", "obs-gen-error"]
    assert [c.source.position for c in calls] == ["1 data 1", "1 data 2", "1 data 3", "1 data 4"]
    assert {c.source.format for c in calls} == {"langfuse"}


def test_api_generation_fields() -> None:
    plan = by_id(read_with(LangfuseReader(), LANGFUSE / "api_observations_page.json")[0])["obs-gen-plan"]
    assert [(m.role, m.content) for m in plan.messages] == [
        ("system", "You plan trips for Example Travel."),
        ("user", "Book a flight from Lyon to Oslo on 12 May."),
    ]
    assert plan.response == "Step 1: search flights LYS-OSL for 12 May."
    assert plan.model == "gpt-4o-2024-08-06"
    assert plan.usage is not None
    # usageDetails keeps cached tokens apart from "input"; every *input* type counts as input
    assert (plan.usage.input_tokens, plan.usage.output_tokens, plan.usage.cache_read_tokens) == (220, 31, 40)
    assert plan.latency_ms == pytest.approx(2290.0)
    assert plan.started_at == "2025-03-02T10:00:00.120000Z"
    assert plan.ended_at == "2025-03-02T10:00:02.410000Z"
    # the AGENT ancestor (through the plan-step span) is the agent; the generation's name the module
    assert (plan.caller.agent, plan.caller.module) == ("trip-planner-agent", "planner.llm")
    assert plan.status == "ok" and plan.error is None
    assert plan.metadata["trace_id"] == "trace-trip-1"
    assert plan.metadata["prompt_name"] == "trip-planner" and plan.metadata["prompt_version"] == 3
    assert plan.metadata["cost_usd"] == pytest.approx(0.00086)
    assert plan.metadata["ttft_ms"] == pytest.approx(780.0)
    assert plan.metadata["temperature"] == pytest.approx(0.2)


def test_api_tools_tool_calls_and_images() -> None:
    calls = by_id(read_with(LangfuseReader(), LANGFUSE / "api_observations_page.json")[0])
    tools = calls["obs-gen-tools"]
    assert [t.name for t in tools.tools] == ["search_flights"]
    assert json.loads(tools.tools[0].parameters)["required"] == ["origin", "destination"]
    assert tools.response == ""
    assert [(t.name, t.id) for t in tools.response_tool_calls] == [("search_flights", "call_abc")]
    assert json.loads(tools.response_tool_calls[0].arguments) == {"origin": "LYS", "destination": "OSL"}
    assert "Find flights LYS to OSL" in tools.messages[0].content
    assert "[image sha256:" in tools.messages[0].content and "iVBORw0KGgo" not in tools.messages[0].content
    # parent is a TOOL observation under the plan-step span under the agent
    assert tools.caller.agent == "trip-planner-agent"


def test_api_anthropic_shapes_and_cache_tokens() -> None:
    claude = by_id(read_with(LangfuseReader(), LANGFUSE / "api_observations_page.json")[0])["obs-gen-claude"]
    assert [m.role for m in claude.messages] == ["system", "user"]
    assert claude.messages[0].content == "You summarise itineraries."
    assert "[image sha256:" in claude.messages[1].content and "iVBORw0KGgo" not in claude.messages[1].content
    assert claude.response == "Let me look up the booking."
    assert [(t.name, t.id, json.loads(t.arguments)) for t in claude.response_tool_calls] == [
        ("lookup_booking", "toolu_01", {"ref": "BK-1001"})
    ]
    assert claude.usage is not None
    assert (
        claude.usage.input_tokens,
        claude.usage.output_tokens,
        claude.usage.cache_read_tokens,
        claude.usage.cache_write_tokens,
    ) == (360, 20, 300, 10)


def test_api_error_level_and_metadata_caller() -> None:
    failed = by_id(read_with(LangfuseReader(), LANGFUSE / "api_observations_page.json")[0])["obs-gen-error"]
    assert failed.status == "error"
    assert failed.error == "RateLimitError"  # the type, never the status message body
    assert failed.response is None
    assert failed.usage is None
    assert [(m.role, m.content) for m in failed.messages] == [
        ("user", "Write a confirmation email for booking BK-1001.")
    ]
    assert failed.caller.agent == "writer"  # metadata.langgraph_node: no parent observation
    assert failed.metadata["level"] == "ERROR"


def test_api_v2_rows_with_json_text_io_and_trace_context() -> None:
    calls, ctx = read_with(LangfuseReader(), LANGFUSE / "api_v2_observations.jsonl")
    assert ctx.skips == []
    first, second = calls
    assert first.call_id == "v2-gen-1" and first.source.position == "1"
    assert [(m.role, m.content) for m in first.messages] == [("user", "Perfect.")]
    assert first.response == "You're all set. Have a great day!"
    assert first.model == "gpt-4o"  # providedModelName
    assert first.session_id == "support-chat-session"
    assert first.caller.agent == "support-chat"  # traceName
    assert first.latency_ms == pytest.approx(581.0)  # no endTime: the row's latency, in seconds
    assert first.usage is not None and (first.usage.input_tokens, first.usage.output_tokens) == (98, 68)
    assert first.metadata["cost_usd"] == pytest.approx(0.00253)
    assert second.response == "shipping" and second.messages[0].content == "Classify: where is my parcel?"
    assert second.usage is None and second.latency_ms == pytest.approx(1250.0)


def test_api_trace_with_observations() -> None:
    calls, ctx = read_with(LangfuseReader(), LANGFUSE / "api_trace.json")
    assert ctx.skips == []
    (call,) = calls
    assert call.call_id == "faq-gen" and call.source.position == "1 observation 0"
    assert call.session_id == "sess-faq-3"
    assert call.caller.agent == "faq-bot" and call.caller.module == "answer"
    assert call.response == "Use the reset link on the sign-in page."
    assert call.metadata["trace_name"] == "faq-bot"


def test_blob_jsonl_fields() -> None:
    calls, ctx = read_with(LangfuseBlobReader(), LANGFUSE / "blob_observations_v2.jsonl")
    assert ctx.skips == []
    route, summarise = calls
    assert route.call_id == "b-gen-1" and route.source.format == "langfuse-blob"
    assert [(m.role, m.content) for m in route.messages] == [
        ("system", "Route support tickets."),
        ("user", "My invoice is wrong"),
    ]
    assert [t.name for t in route.tools] == ["route"]
    assert [(t.name, t.id, t.arguments) for t in route.response_tool_calls] == [
        ("route", "call_r1", '{"queue": "billing"}')
    ]
    assert route.model == "gpt-4o-mini"
    assert route.usage is not None
    assert (route.usage.input_tokens, route.usage.output_tokens, route.usage.cache_read_tokens) == (912, 9, 512)
    # zone-less "YYYY-MM-DD HH:MM:SS.ffffff" is UTC; latency from the timestamps, not the export's column
    assert route.started_at == "2025-05-29T13:46:19.963000Z"
    assert route.latency_ms == pytest.approx(1500.0)
    assert route.metadata["ttft_ms"] == pytest.approx(200.0)
    assert route.session_id == "sess-blob-1"
    assert (route.caller.agent, route.caller.module) == ("support-router-agent", "route-ticket")
    assert "parent_observation_id" not in summarise.metadata  # "" at the root means no parent
    assert summarise.caller.agent == "support-router"  # trace_name
    assert (summarise.status, summarise.error, summarise.response) == ("error", "APITimeoutError", None)


def test_blob_csv_fields() -> None:
    calls, ctx = read_with(LangfuseBlobReader(), LANGFUSE / "blob_observations.csv")
    assert ctx.skips == []
    extract, label = calls
    assert extract.call_id == "c-gen-1" and extract.source.position == "row 3"
    assert extract.messages[1].content == "Invoice INV-7: total 120.50 EUR,\nVAT included."
    assert extract.response == "120.50 EUR"
    assert extract.usage is not None and (extract.usage.input_tokens, extract.usage.output_tokens) == (150, 6)
    assert extract.metadata["prompt_version"] == 2  # CSV text "2"
    assert extract.metadata["cost_usd"] == pytest.approx(0.00003)
    assert extract.caller.agent == "extract-invoice"  # nearest span: no AGENT, no metadata, no trace name
    assert extract.latency_ms == pytest.approx(1500.0)
    assert label.messages[0].content == "Label this: {not json, just text}"
    assert label.response == "invoice"


def test_blob_row_without_end_time_has_no_latency_and_tool_calls_column(tmp_path: Path) -> None:
    row = json.loads((LANGFUSE / "blob_observations_v2.jsonl").read_text().splitlines()[0])
    row.update(end_time=None, latency=1.5, output="Routed.")
    (call,) = read_with(LangfuseBlobReader(), write_jsonl(tmp_path / "rows.jsonl", [row]))[0]
    assert call.latency_ms is None  # latency is seconds or milliseconds depending on the export's age
    assert call.response == "Routed."
    assert [t.name for t in call.response_tool_calls] == ["route"]  # from the tool_calls column


def test_blob_parquet_with_timestamps_and_map_columns(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "id": ["p-gen-1"],
            "trace_id": ["p-trace"],
            "project_id": ["project-example"],
            "type": ["GENERATION"],
            "parent_observation_id": [""],
            "start_time": pa.array([datetime(2025, 5, 29, 13, 46, 19, 963000)], pa.timestamp("us")),
            "end_time": pa.array([datetime(2025, 5, 29, 13, 46, 20, 463000)], pa.timestamp("us")),
            "name": ["p.llm"],
            "input": ['[{"role": "user", "content": "hi"}]'],
            "output": ['{"role": "assistant", "content": "hello"}'],
            "provided_model_name": ["gpt-4o-mini"],
            "usage_details": pa.array([[("input", 5), ("output", 2)]], pa.map_(pa.string(), pa.int64())),
        }
    )
    path = tmp_path / "observations.parquet"
    pq.write_table(table, path)
    assert LangfuseBlobReader().claims(sample_file(path))
    (call,) = read_with(LangfuseBlobReader(), path)[0]
    assert call.started_at == "2025-05-29T13:46:19.963000Z"
    assert call.latency_ms == pytest.approx(500.0)
    assert call.usage is not None and (call.usage.input_tokens, call.usage.output_tokens) == (5, 2)
    assert call.response == "hello"


def test_ui_csv_export_camel_case(tmp_path: Path) -> None:
    path = tmp_path / "generations.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "traceId", "name", "type", "model", "startTime", "endTime", "input", "output", "usage"])
        writer.writerow(
            [
                "ui-1",
                "trace-ui",
                "openai-chat",
                "GENERATION",
                "gpt-4o-mini",
                "2025-04-12T10:23:14.512Z",
                "2025-04-12T10:23:16.108Z",
                json.dumps([{"role": "user", "content": "Summarize the email below."}]),
                json.dumps({"role": "assistant", "content": "The email asks ..."}),
                json.dumps({"input": 412, "output": 87, "total": 499, "unit": "TOKENS"}),
            ]
        )
    assert LangfuseReader().claims(sample_file(path))
    (call,) = read_with(LangfuseReader(), path)[0]
    assert call.response == "The email asks ..."
    assert call.usage is not None and (call.usage.input_tokens, call.usage.output_tokens) == (412, 87)
    assert call.latency_ms == pytest.approx(1596.0)


def test_malformed_records_are_skipped_with_reasons(tmp_path: Path) -> None:
    good = {
        "id": "ok",
        "traceId": "t",
        "type": "GENERATION",
        "startTime": "2025-01-01T00:00:00Z",
        "input": "hi",
        "output": "yo",
    }
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            good,
            "{broken json",
            json.dumps(["not", "an", "object"]),
            {**good, "id": "no-input", "input": None},
            {**good, "id": "no-role", "input": [{"role": "user", "content": "a"}, {"content": "b"}]},
            {**good, "id": "bad-content", "input": [{"role": "user", "content": 42}]},
            {"id": "score-1", "traceId": "t", "name": "accuracy", "value": 1},
            {**good, "id": "span", "type": "SPAN"},
            {**good, "id": "ok-2"},
        ],
    )
    calls, ctx = read_with(LangfuseReader(), path)
    assert [c.call_id for c in calls] == ["ok", "no-input", "ok-2"]
    assert calls[1].messages == ()  # a generation logged without input is a call with an empty prompt
    assert ctx.skips == [
        ("invalid JSON", "2"),
        ("record is not a JSON object", "3"),
        ("a message has no role", "5"),
        ("message content is neither text nor a list of parts", "6"),
        ("record is not a langfuse observation", "7"),
    ]


def test_parent_cycle_and_deep_nesting_do_not_hang_or_crash(tmp_path: Path) -> None:
    base = {"traceId": "t", "startTime": "2025-01-01T00:00:00Z", "parentObservationId": None}
    path = write_jsonl(
        tmp_path / "cycle.jsonl",
        [
            {**base, "id": "a", "type": "SPAN", "name": "a", "parentObservationId": "b"},
            {**base, "id": "b", "type": "SPAN", "name": "b", "parentObservationId": "a"},
            {**base, "id": "g", "type": "GENERATION", "parentObservationId": "a", "input": "x", "output": "y"},
            {**base, "id": "deep", "type": "GENERATION", "input": "x", "output": "[" * 5000 + "]" * 5000},
            "[" * 100000,
        ],
    )
    calls, ctx = read_with(LangfuseReader(), path)
    assert [c.call_id for c in calls] == ["g", "deep"]
    assert calls[0].caller.agent == "a"
    assert ctx.skips == [("invalid JSON", "5")]


def test_binary_and_invalid_utf8_are_not_claimed(tmp_path: Path) -> None:
    (tmp_path / "bin.dat").write_bytes(bytes(range(256)) * 50)
    (tmp_path / "latin.jsonl").write_bytes(b'{"id": "x", "traceId": "t", "type": "\xff"}\n')
    for name in ("bin.dat", "latin.jsonl"):
        sample = sample_file(tmp_path / name)
        assert not LangfuseReader().claims(sample) and not LangfuseBlobReader().claims(sample)


EXPECTED = {
    "api_observations_page.json": "langfuse",
    "api_v2_observations.jsonl": "langfuse",
    "api_trace.json": "langfuse",
    "blob_observations_v2.jsonl": "langfuse-blob",
    "blob_observations.csv": "langfuse-blob",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_detection_claims_own_files_only(name: str) -> None:
    sample = sample_file(LANGFUSE / name)
    mine: TraceReader = LangfuseReader() if EXPECTED[name] == "langfuse" else LangfuseBlobReader()
    other: TraceReader = LangfuseBlobReader() if EXPECTED[name] == "langfuse" else LangfuseReader()
    assert mine.claims(sample) and not other.claims(sample)
    assert earlier_claimants(mine, sample, ties=True) == []
    generic = {r.name: r for r in all_readers() if r.name in ("chat-messages", "openai-chat")}
    assert not any(r.claims(sample) for r in generic.values())


@pytest.mark.parametrize("path", [FIXTURES / "chat_messages.jsonl", FIXTURES / "openai_pairs.jsonl", OPENHANDS_SAMPLE])
def test_does_not_claim_other_formats(path: Path) -> None:
    sample = sample_file(path)
    assert not LangfuseReader().claims(sample) and not LangfuseBlobReader().claims(sample)


def test_read_traces_end_to_end() -> None:
    calls, summary = ingest(LANGFUSE)
    assert summary.calls_by_format() == {"langfuse": 7, "langfuse-blob": 4}
    assert summary.records_skipped == 0
    assert summary.files_unrecognised == []
    assert len({c.call_id for c in calls}) == 11
