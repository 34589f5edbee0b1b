"""The OpenAI Batch reader: input and output/error JSONL joined on custom_id."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

from slmscout.traces.openai_batch import OpenAIBatchReader
from slmscout.traces.source import sample_file
from tests.conftest import FIXTURES
from tests.reader_helpers import claimed, earlier_claimants, ingest, read_by_id, read_with, write_jsonl

BATCH = FIXTURES / "openai_batch"
READER = OpenAIBatchReader()


def fixture_files() -> list[Path]:
    return sorted(BATCH.iterdir())


def chat_input(custom_id: str, text: str = "hi") -> dict[str, object]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]},
    }


def chat_output(custom_id: str, text: str) -> dict[str, object]:
    body = {
        "id": f"chatcmpl-{custom_id}",
        "object": "chat.completion",
        "created": 1717000000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
    }
    return {
        "id": f"batch_req_{custom_id}",
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": "req_x", "body": body},
        "error": None,
    }


def test_joined_call_fields() -> None:
    calls, _ = read_by_id(READER, *fixture_files())
    first = calls["ticket-001"]
    assert first.source.format == "openai-batch"
    assert Path(first.source.path).name == "batch_input.jsonl" and first.source.position == "1"
    assert [m.role for m in first.messages] == ["system", "user"]
    assert first.messages[1].content == "Ticket: I was charged twice this month."
    assert first.model == "gpt-4o-mini-2024-07-18"  # the responding model
    assert first.metadata["requested_model"] == "gpt-4o-mini"
    assert first.response == ""
    assert [(t.name, t.id) for t in first.response_tool_calls] == [("route_ticket", "call_b1")]
    assert json.loads(first.response_tool_calls[0].arguments) == {"queue": "billing"}
    assert [t.name for t in first.tools] == ["route_ticket"] and "billing" in first.tools[0].parameters
    assert first.usage is not None and (first.usage.input_tokens, first.usage.output_tokens) == (88, 17)
    assert first.started_at == "2024-05-29T16:28:20Z"
    assert first.status == "ok" and first.error is None
    assert first.metadata["batch_output"] == "batch_output.jsonl:2"
    assert first.metadata["http_status"] == 200
    assert first.metadata["tool_choice"] == "required" and first.metadata["finish_reason"] == "tool_calls"


def test_reasoning_model_with_developer_role_and_structured_output() -> None:
    calls, _ = read_by_id(READER, *fixture_files())
    call = calls["ticket-002"]
    assert [m.role for m in call.messages] == ["developer", "user"]
    assert "[image sha256:" in call.messages[1].content and "/9j/4AAQ" not in call.messages[1].content
    assert json.loads(call.response or "") == {"order": "4471", "complaint": "box arrived crushed"}
    assert call.usage is not None
    assert (call.usage.input_tokens, call.usage.output_tokens, call.usage.cache_read_tokens) == (1320, 210, 1024)
    assert call.metadata["reasoning_tokens"] == 192
    assert call.metadata["max_tokens"] == 2000  # max_completion_tokens
    assert call.metadata["response_format"] == "json_schema" and call.metadata["response_schema"] == "complaint"
    assert call.metadata["reasoning_effort"] == "low"


def test_errors_from_the_error_file() -> None:
    calls, _ = read_by_id(READER, *fixture_files())
    rejected = calls["ticket-003"]  # HTTP 400: error null, the API error is the response body
    assert (rejected.status, rejected.error) == ("error", "invalid_request_error")
    assert rejected.response is None and rejected.metadata["http_status"] == 400
    assert rejected.messages[0].content == "Summarise this very long thread."
    expired = calls["ticket-004"]  # never ran: response null, top-level error code
    assert (expired.status, expired.error) == ("error", "batch_expired")
    assert expired.model == "gpt-4o-mini" and expired.usage is None
    assert expired.metadata["batch_output"] == "batch_errors.jsonl:1"


def test_input_without_output_is_a_call_without_response() -> None:
    calls, _ = read_by_id(READER, *fixture_files())
    waiting = calls["ticket-005"]
    assert waiting.response is None and waiting.status == "ok" and waiting.usage is None
    assert waiting.messages[0].content == "Ticket: password reset mail never arrives."
    assert waiting.metadata["batch_output"] == "missing"


def test_legacy_completions_endpoint() -> None:
    calls, _ = read_by_id(READER, *fixture_files())
    legacy = calls["legacy-001"]
    assert [(m.role, m.content) for m in legacy.messages] == [("user", "Label the sentiment: great service!\nLabel:")]
    assert legacy.response == " positive"
    assert legacy.model == "gpt-3.5-turbo-instruct"


def test_skips_and_order() -> None:
    calls, ctx = read_by_id(READER, *fixture_files())
    # outputs in file order (error file first: files are sorted), then inputs that have no output
    assert list(calls) == ["ticket-004", "ticket-003", "ticket-002", "ticket-001", "legacy-001", "ticket-005"]
    assert sorted(ctx.file_skips) == [
        ("batch output has no matching input", "batch_output.jsonl", "3"),
        ("batch output of an input line that was skipped", "batch_output.jsonl", "4"),
        ("batch request is not a chat or text completion", "batch_input.jsonl", "6"),
    ]


def test_output_only_or_input_only() -> None:
    calls, ctx = read_by_id(READER, BATCH / "batch_output.jsonl")
    assert calls == {}
    assert {reason for reason, _, _ in ctx.file_skips} == {"batch output has no matching input"}
    calls, ctx = read_by_id(READER, BATCH / "batch_input.jsonl")
    assert all(c.response is None and c.metadata["batch_output"] == "missing" for c in calls.values())
    assert len(calls) == 6 and len(ctx.file_skips) == 1


def test_malformed_lines_are_skipped_with_reasons(tmp_path: Path) -> None:
    good_body = chat_output("a", "fine")["response"]
    inputs = write_jsonl(
        tmp_path / "in.jsonl",
        [
            chat_input("a"),
            "{broken json",
            json.dumps(["not", "an", "object"]),
            {
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"messages": []},
            },  # no custom_id: not a batch line
            {"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m"}},
            {"custom_id": "c", "url": "/v1/chat/completions", "body": {"messages": [{"content": "no role"}]}},
            chat_input("a", "again"),
            chat_input("d"),
            chat_input("e"),
            {"unrelated": True},
        ],
    )
    outputs = write_jsonl(
        tmp_path / "out.jsonl",
        [
            chat_output("a", "fine"),
            chat_output("a", "twice"),
            chat_output("b", "for a skipped input"),
            {"custom_id": "d", "response": {"status_code": 200, "body": {"choices": ["not an object"]}}, "error": None},
            {"custom_id": "", "response": good_body, "error": None},
            {"custom_id": "e", "response": {"status_code": 500, "body": None}, "error": None},
        ],
    )
    calls, ctx = read_by_id(READER, inputs, outputs)
    assert calls["a"].response == "fine"
    assert calls["d"].response is None and calls["d"].metadata["batch_output"] == "unreadable"
    assert (calls["e"].status, calls["e"].error) == ("error", "http_500")
    assert set(calls) == {"a", "d", "e"}
    assert sorted(ctx.file_skips) == sorted(
        [
            ("invalid JSON", "in.jsonl", "2"),
            ("record is not a JSON object", "in.jsonl", "3"),
            ("record is not in the openai-batch shape", "in.jsonl", "4"),
            ("messages is not a list", "in.jsonl", "5"),
            ("a message has no role", "in.jsonl", "6"),
            ("duplicate custom_id in batch input", "in.jsonl", "7"),
            ("record is not in the openai-batch shape", "in.jsonl", "10"),
            ("duplicate custom_id in batch output", "out.jsonl", "2"),
            ("batch output of an input line that was skipped", "out.jsonl", "3"),
            ("response choice is not an object", "out.jsonl", "4"),
            ("batch record has no custom_id", "out.jsonl", "5"),
        ]
    )


def test_several_batches_with_the_same_custom_ids(tmp_path: Path) -> None:
    for batch in ("a", "b"):
        write_jsonl(tmp_path / f"batch_{batch}" / "input.jsonl", [chat_input("request-1", f"prompt {batch}")])
        write_jsonl(tmp_path / f"batch_{batch}" / "output.jsonl", [chat_output("request-1", f"answer {batch}")])
    files = sorted(tmp_path.rglob("*.jsonl"))
    calls, ctx = read_with(READER, *files)
    pairs = sorted((c.messages[0].content, c.response) for c in calls)
    assert pairs == [("prompt a", "answer a"), ("prompt b", "answer b")]
    assert ctx.file_skips == []
    # same folder, names equally close: ambiguous, the output is skipped and both inputs stay unanswered
    flat = tmp_path / "flat"
    write_jsonl(flat / "x_in.jsonl", [chat_input("request-1", "x")])
    write_jsonl(flat / "y_in.jsonl", [chat_input("request-1", "y")])
    write_jsonl(flat / "z_out.jsonl", [chat_output("request-1", "?")])
    calls, ctx = read_with(READER, *sorted(flat.iterdir()))
    assert [c.response for c in calls] == [None, None]
    assert ctx.file_skips == [("custom_id matches input lines in several batch files", "z_out.jsonl", "1")]


def test_gzip_and_garbage_never_crash(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "in.jsonl.gz", "wt") as handle:
        handle.write((BATCH / "batch_input.jsonl").read_text())
    shutil.copy(BATCH / "batch_output.jsonl", tmp_path / "out.jsonl")
    (tmp_path / "garbage.jsonl").write_bytes(b"{\xff\xfe" + bytes(range(256)) * 4 + b"\n" + b"[" * 100000 + b"\n")
    calls, ctx = read_by_id(READER, tmp_path / "in.jsonl.gz", tmp_path / "out.jsonl", tmp_path / "garbage.jsonl")
    assert calls["ticket-002"].response is not None
    assert ("invalid JSON", "garbage.jsonl", "1") in ctx.file_skips


def test_detection() -> None:
    for path in fixture_files():
        sample = sample_file(path)
        assert READER.claims(sample), path
        assert earlier_claimants(READER, sample, ties=True) == [], path
    assert claimed(READER, [FIXTURES / "openai_pairs.jsonl", FIXTURES / "chat_messages.jsonl"]) == []
    assert claimed(READER, (FIXTURES / "openai_chat").iterdir()) == []
    assert claimed(READER, (FIXTURES / "anthropic_messages").iterdir()) == []


def test_end_to_end_through_read_traces() -> None:
    calls, summary = ingest(BATCH)
    assert summary.calls_by_format() == {"openai-batch": 6}
    assert {f.format for f in summary.files} == {"openai-batch"}
    assert summary.records_skipped == 3
    assert sorted(c.call_id for c in calls) == [
        "legacy-001",
        "ticket-001",
        "ticket-002",
        "ticket-003",
        "ticket-004",
        "ticket-005",
    ]
