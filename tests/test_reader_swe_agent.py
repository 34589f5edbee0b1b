"""SWE-agent .traj trajectories: 0.7 (history rebuild), 1.0 (function calling), 1.1+ (query per step), retries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slmscout.traces.registry import all_readers
from slmscout.traces.source import sample_file
from slmscout.traces.swe_agent import SweAgentTrajReader
from tests.conftest import FIXTURES
from tests.reader_helpers import earlier_claimants, ingest, read_with

HERE = FIXTURES / "swe_agent"
V07 = HERE / "example-org__tinyparse-12.traj"
V10 = HERE / "tinyparse-7.traj"
V11 = HERE / "example-org__tinyparse-9.traj"
READER = SweAgentTrajReader()


def test_v07_prompt_rebuilt_from_history() -> None:
    calls, ctx = read_with(READER, V07, siblings=False)
    assert ctx.skips == []
    assert [c.call_id for c in calls] == [f"{V07.name}:step {n}" for n in (1, 2, 3)]
    first, second, third = calls
    # system prompt, demonstration and instance template come before the first response
    assert [m.role for m in first.messages] == ["system", "user", "user"]
    assert first.messages[1].content.startswith("Here is a demonstration")
    assert first.response is not None and first.response.startswith("Let's find where parse_size is defined.")
    assert [m.role for m in third.messages] == ["system", "user", "user", "assistant", "user", "assistant", "user"]
    assert third.messages[3].content == first.response and third.messages[5].content == second.response
    assert third.messages[6].content.startswith("[File: /example-org__tinyparse/tinyparse/units.py")
    assert all(c.caller.agent == "primary" for c in calls)
    assert all(c.session_id == "example-org__tinyparse-12" for c in calls)
    assert all(c.model is None and c.usage is None for c in calls)  # 0.7 writes no model and only run totals
    assert first.metadata["prompt_rebuilt_from_history"] is True
    assert first.metadata["run_tokens_sent"] == 9120 and first.metadata["run_api_calls"] == 3
    assert first.metadata["exit_status"] == "submitted" and first.metadata["environment"] == "swe_main"
    assert third.metadata["action"] == "submit\n"


def test_v10_function_calling_from_history() -> None:
    calls, ctx = read_with(READER, V10, siblings=False)
    assert ctx.skips == []
    first, second = calls
    assert first.model == "gpt-4o"  # replay_config.agent.model.name, the config as an object
    assert first.session_id == "tinyparse-7"
    assert first.caller.agent == "main"
    assert first.response_tool_calls[0].name == "str_replace_editor"
    assert first.response_tool_calls[0].id == "call_v1"
    assert json.loads(first.response_tool_calls[0].arguments)["command"] == "view"
    assert [m.role for m in second.messages] == ["system", "user", "assistant", "tool"]
    assert second.messages[2].tool_calls[0].id == "call_v1"
    assert second.messages[3].tool_call_id == "call_v1"  # from tool_call_ids
    assert second.response_tool_calls[0].name == "submit"
    assert first.metadata["action_execution_s"] == 0.21


def test_v11_query_requery_and_exit_step() -> None:
    calls, ctx = read_with(READER, V11, siblings=False)
    assert ctx.skips == []
    # four steps: three model calls (one of them a format-error requery) and the exit step SWE-agent wrote itself
    assert [c.source.position for c in calls] == ["step 1", "step 2", "step 3"]
    first, requery_cause, retried = calls
    assert first.model == "claude-sonnet-4-20250514"  # replay_config as JSON text
    assert first.session_id == "example-org__tinyparse-9"
    assert [m.role for m in first.messages] == ["system", "user"]
    assert first.messages[1].content.startswith("<uploaded_files>")  # content parts with cache_control
    assert "prompt_rebuilt_from_history" not in first.metadata
    assert first.response_tool_calls[0].name == "bash"
    assert requery_cause.response == "I should strip spaces in split()."
    assert requery_cause.response_tool_calls == ()  # not in history: the model's output failed to parse
    assert [m.role for m in retried.messages] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert retried.messages[-1].content.startswith("Your output could not be parsed as a tool call.")
    assert retried.response_tool_calls[0].name == "str_replace_editor"
    assert first.metadata["exit_status"] == "submitted (exit_cost)"
    assert first.metadata["swe_agent_version"] == "1.1.0"
    assert first.metadata["run_instance_cost"] == 3.02


def test_retry_agent_attempts_read_once(tmp_path: Path) -> None:
    first = json.loads(V11.read_text())
    second = json.loads(V10.read_text())
    retry = {"attempts": [first, second], **second, "info": {**second["info"], "best_attempt_idx": 1}}
    path = tmp_path / "retry.traj"
    path.write_text(json.dumps(retry, indent=2))
    calls, ctx = read_with(READER, path, siblings=False)
    assert ctx.skips == []
    assert [c.source.position for c in calls] == [
        "attempt 0 step 1",
        "attempt 0 step 2",
        "attempt 0 step 3",
        "attempt 1 step 1",
        "attempt 1 step 2",
    ]  # the top-level copy of the best attempt is not read again
    assert len({c.call_id for c in calls}) == 5


@pytest.mark.parametrize("path", [V07, V10, V11], ids=["v0.7", "v1.0", "v1.1"])
def test_detection(path: Path) -> None:
    mine = next(r for r in all_readers() if r.name == "swe-agent-traj")
    sample = sample_file(path)
    assert mine.claims(sample)
    assert earlier_claimants(mine, sample) == []


@pytest.mark.parametrize("path", [V07, V10, V11], ids=["v0.7", "v1.0", "v1.1"])
def test_detection_of_a_file_too_big_to_sample(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import slmscout.traces.source as source

    monkeypatch.setattr(source, "MAX_SAMPLED_DOCUMENT_BYTES", 100)
    sample = sample_file(path)
    assert sample.records == []
    assert SweAgentTrajReader().claims(sample)


def test_other_trajectory_shapes_are_not_claimed(tmp_path: Path) -> None:
    nebius_row = {"instance_id": "x", "trajectory": [{"role": "system", "text": "hi"}], "exit_status": "submitted"}
    mini = {"info": {"exit_status": "Submitted"}, "messages": [], "trajectory_format": "mini-swe-agent-1.1"}
    for number, record in enumerate([nebius_row, mini]):
        path = tmp_path / f"{number}.json"
        path.write_text(json.dumps(record))
        assert not SweAgentTrajReader().claims(sample_file(path))


def test_malformed_steps_are_skipped(tmp_path: Path) -> None:
    doc = json.loads(V10.read_text())
    doc["trajectory"] = [
        "not a step",
        {"action": "ls", "observation": "x", "thought": "no response field"},
        {"action": "ls", "observation": "x", "response": "ok", "query": [{"role": "user", "content": 42}]},
        *doc["trajectory"],
    ]
    path = tmp_path / "bad.traj"
    path.write_text(json.dumps(doc))
    calls, ctx = read_with(READER, path, siblings=False)
    assert [c.source.position for c in calls] == ["step 4", "step 5"]
    assert ctx.skips == [
        ("trajectory step is not an object", "step 1"),
        ("trajectory step has no response", "step 2"),
        ("message content is neither text nor a list of parts", "step 3"),
    ]
    broken = tmp_path / "broken.traj"
    broken.write_text('{"trajectory": [{"action": ')
    calls, ctx = read_with(READER, broken, siblings=False)
    assert calls == [] and ctx.skips == [("invalid JSON", "1")]


def test_end_to_end_read_traces() -> None:
    calls, summary = ingest(HERE)
    assert summary.calls_by_format() == {"swe-agent-traj": 8}
    assert summary.records_skipped == 0 and summary.files_unrecognised == []
    assert len({c.call_id for c in calls}) == 8
