"""Claude Code transcripts: one call per requestId, prompt rebuilt along parentUuid, Anthropic usage normalised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slmscout.traces.claude_code import ClaudeCodeReader
from slmscout.traces.registry import all_readers
from slmscout.traces.source import sample_file
from tests.conftest import FIXTURES
from tests.reader_helpers import earlier_claimants, ingest, read_with

HERE = FIXTURES / "claude_code"
SESSION_ID = "7f3c9a2e-1b4d-4e8f-9a6b-0c2d3e4f5a6b"
SESSION = HERE / f"{SESSION_ID}.jsonl"
SUBAGENT = HERE / SESSION_ID / "subagents" / "agent-a1b2c3d4.jsonl"
READER = ClaudeCodeReader()


def test_session_calls_one_per_request() -> None:
    calls, ctx = read_with(READER, SESSION, siblings=False)
    assert ctx.skips == []
    assert [c.call_id for c in calls] == [
        "req_011CTa1example0001",
        "req_011CTa1example0002",
        "req_011CTa1example0003",
        "req_011CTa1example0004",
        "req_011CTa1example0005",
        "a0b1c2d3-0000-4000-8000-000000000015",  # the failed request: no requestId, its message id
    ]  # "No response requested." (a synthetic message, no API call) is not a call
    assert all(c.session_id == SESSION_ID for c in calls)
    assert all(c.source.format == "claude-code" for c in calls)
    assert [c.source.position for c in calls] == ["7", "11", "15", "17", "19", "21"]


def test_streamed_lines_of_one_request_are_merged() -> None:
    first = read_with(READER, SESSION, siblings=False)[0][0]
    assert [(m.role, m.content) for m in first.messages] == [("user", "The test test_parse_iso fails, please fix it.")]
    assert first.response == "I'll look at the failing test first."
    assert [t.name for t in first.response_tool_calls] == ["Read"]
    assert first.response_tool_calls[0].id == "toolu_01Read0001"
    assert json.loads(first.response_tool_calls[0].arguments) == {
        "file_path": "/home/dev/projects/datekit/tests/test_parse.py"
    }
    assert first.metadata["reasoning"] == "I should read the test before changing the parser."
    assert first.metadata["stop_reason"] == "tool_use"
    assert first.model == "claude-sonnet-4-5-20250929"
    # usage from the line that carries stop_reason (the earlier lines repeat message_start's counts);
    # Anthropic reports cache tokens apart from input_tokens: input includes them here
    assert first.usage is not None
    assert (
        first.usage.input_tokens,
        first.usage.output_tokens,
        first.usage.cache_read_tokens,
        first.usage.cache_write_tokens,
    ) == (4 + 15000 + 1200, 142, 15000, 1200)
    # timing: from the entry the request answered (the user prompt) to its last streamed line
    assert first.started_at == "2025-09-14T09:00:00Z" and first.ended_at == "2025-09-14T09:00:04Z"
    assert first.latency_ms == 4000.0


def test_prompt_is_rebuilt_along_the_parent_chain() -> None:
    calls, _ = read_with(READER, SESSION, siblings=False)
    third, fourth = calls[2], calls[3]
    assert [m.role for m in third.messages] == ["user", "assistant", "user", "assistant", "user"]
    earlier_answer = third.messages[1]
    assert earlier_answer.content.startswith("I'll look at the failing test first.\n[tool call Read]")
    assert [t.name for t in earlier_answer.tool_calls] == ["Read"]
    assert third.messages[2].content.startswith("[tool result toolu_01Read0001]\n     1\tfrom datekit import parse")
    assert third.messages[4].content == "[tool result toolu_01Edit0002]\nThe file datekit/parse.py has been updated."
    assert third.response == "Fixed: `parse` now keeps the UTC offset, so test_parse_iso passes."
    assert third.response_tool_calls == ()
    assert third.started_at == "2025-09-14T09:00:08.800000Z"  # a system note sits on the chain: passed through
    # the merged turns are shared by later prompts, not rebuilt
    assert fourth.messages[1] is third.messages[1]
    image_turn = fourth.messages[-1]
    assert image_turn.content.startswith("[image sha256:")
    assert "iVBORw0KGgo" not in image_turn.content
    assert fourth.response_tool_calls[0].name == "Task"


def test_sidechain_and_api_error() -> None:
    calls, _ = read_with(READER, SESSION, siblings=False)
    sidechain, failed = calls[4], calls[5]
    assert sidechain.caller.agent == "claude-code" and sidechain.caller.role == "subagent"
    assert calls[0].caller.role is None
    assert [(m.role, m.content) for m in sidechain.messages] == [
        ("user", "Find every rstrip('Z') call under datekit/ and report file:line.")
    ]
    assert sidechain.model == "claude-haiku-4-5-20251001"
    assert failed.status == "error" and failed.error == "rate_limit"
    assert failed.response is None and failed.usage is None and failed.model is None
    assert failed.messages[-1].content.startswith("[tool result toolu_01Task0004]\nNo other rstrip")


def test_subagent_transcript_file() -> None:
    calls, ctx = read_with(READER, SUBAGENT, siblings=False)
    assert ctx.skips == []
    assert [c.call_id for c in calls] == ["req_011CTb1example0101", "req_011CTb1example0102"]
    assert all(c.caller.role == "subagent" for c in calls)
    assert calls[1].metadata["agent_id"] == "a1b2c3d4"
    assert [m.role for m in calls[1].messages] == ["user", "assistant", "user"]
    assert calls[1].response == "parse, parse_date"
    assert calls[1].usage is not None and calls[1].usage.input_tokens == 760


@pytest.mark.parametrize("path", [SESSION, SUBAGENT], ids=["session", "subagent"])
def test_detection(path: Path) -> None:
    mine = next(r for r in all_readers() if r.name == "claude-code")
    sample = sample_file(path)
    assert mine.claims(sample)
    assert earlier_claimants(mine, sample) == []


def _line(uuid: str, parent: str | None, kind: str, content: object, **extra: object) -> str:
    message: dict[str, object] = {"role": kind, "content": content}
    if kind == "assistant":
        message.update({"model": "claude-sonnet-4-5", "id": f"msg_{uuid}", "usage": {"input_tokens": 1}})
    record = {"parentUuid": parent, "sessionId": "s1", "type": kind, "uuid": uuid, "message": message, **extra}
    return json.dumps(record)


def test_malformed_lines_are_skipped_and_the_chain_survives(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    path.write_text(
        "\n".join(
            [
                _line("u1", None, "user", "hello"),
                "{broken",
                json.dumps(["not", "an", "object"]),
                _line("u2", "u1", "user", 42),  # content of the wrong type: reported, kept on the chain
                _line("a1", "u2", "assistant", [{"type": "text", "text": "hi"}], requestId="req_1"),
                _line("a2", "missing-parent", "assistant", "orphan", requestId="req_2"),
            ]
        )
        + "\n"
    )
    calls, ctx = read_with(READER, path, siblings=False)
    assert ctx.skips == [
        ("invalid JSON", "2"),
        ("record is not a JSON object", "3"),
        ("message content is neither text nor a list of blocks", "4"),
    ]
    assert [c.call_id for c in calls] == ["req_1", "req_2"]
    assert [(m.role, m.content) for m in calls[0].messages] == [("user", "hello")]
    assert "prompt_incomplete" not in calls[0].metadata
    assert calls[1].messages == () and calls[1].metadata["prompt_incomplete"] is True


def test_parent_cycle_does_not_hang(tmp_path: Path) -> None:
    path = tmp_path / "loop.jsonl"
    path.write_text(
        _line("u1", "a1", "user", "ping") + "\n" + _line("a1", "u1", "assistant", "pong", requestId="r") + "\n"
    )
    calls, _ = read_with(READER, path, siblings=False)
    assert [c.call_id for c in calls] == ["r"]
    assert calls[0].metadata["prompt_incomplete"] is True


def test_end_to_end_read_traces() -> None:
    calls, summary = ingest(HERE)
    assert summary.calls_by_format() == {"claude-code": 8}
    assert summary.records_skipped == 0 and summary.files_unrecognised == []
    assert len({c.call_id for c in calls}) == 8
