"""Cradle reader: cradle.log request/response blocks, ANSI codes, noise lines, callers and runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slmscout.traces.cradle import CradleLogReader
from slmscout.traces.source import sample_file
from tests.conftest import FIXTURES
from tests.reader_helpers import earlier_claimants, ingest, read_with

RUN = FIXTURES / "cradle" / "runs" / "1717000000.123"
LOG = RUN / "logs" / "cradle.log"
MESSAGES = [{"role": "user", "content": [{"type": "text", "text": "What next?"}]}]
READER = CradleLogReader()


def test_calls_fields() -> None:
    calls, ctx = read_with(READER, LOG, siblings=False)
    assert ctx.skips == []
    assert [c.call_id for c in calls] == [
        "1717000000.123/cradle.log:4",
        "1717000000.123/cradle.log:19",
        "1717000000.123/cradle.log:36",
    ]
    gather, plan, reflect = calls

    assert gather.source.format == "cradle-log" and gather.source.position == "4"
    assert gather.session_id == "1717000000.123"
    assert gather.model == "gpt-4o-2024-05-13"
    assert gather.caller.module == "INFORMATION GATHERING" and gather.caller.agent is None
    assert gather.metadata == {"step": 1}
    assert gather.latency_ms == pytest.approx(4832.0)  # Requesting ... -> Response received
    assert gather.started_at == "2024-06-01T14:03:20.118" and gather.ended_at == "2024-06-01T14:03:24.950"
    assert [m.role for m in gather.messages] == ["system", "user"]
    assert gather.messages[0].content == "You are a helpful AI assistant integrated with 'Chrome' on the PC."
    user = gather.messages[1].content
    assert user.startswith("Current task: open example.com and search for 'weather'.\nDescribe the screenshot.")
    assert "[image sha256:" in user and "base64" not in user and "/9j/" not in user
    assert gather.response == "Image Description:\nA browser window showing example.com with a search box at the top."
    assert gather.usage is None  # Cradle does not log tokens

    assert plan.caller.module == "ACTION PLANNING" and plan.metadata == {"step": 1}
    assert plan.response == "Reasoning: The search box is visible.\nActions:\n```python\nclick_at(0.41, 0.12)\n```"
    assert plan.latency_ms == pytest.approx(5601.0)

    assert reflect.caller.module == "SELF REFLECTION" and reflect.metadata == {"step": 2}
    assert reflect.status == "error" and reflect.error == "error_logged" and reflect.response is None
    assert reflect.model == "gpt-4o-2024-05-13"  # from the request line, no response came
    assert reflect.latency_ms is None and reflect.ended_at is None


def test_ansi_codes_and_noise_never_reach_calls() -> None:
    calls, _ = read_with(READER, LOG, siblings=False)
    texts = [c.response or "" for c in calls] + [m.content for c in calls for m in c.messages]
    assert not any("\x1b" in t or "Request options" in t or "HTTP Request" in t for t in texts)


def header(time: str, level: str, message: str, layout: str = "name-first", name: str = "UAC Logger") -> str:
    usage = "CPU: 3.0%, Memory: 40.0% - "
    if layout == "name-first":
        return f"2024-06-01 {time} - {name} - {usage}{level} - {message}\n"
    if layout == "usage-first":
        return f"2024-06-01 {time} - {usage}{name} - {level} - {message}\n"
    return f"2024-06-01 {time} - {name} - {level} - {message}\n"


@pytest.mark.parametrize("layout", ["name-first", "usage-first", "plain"])
def test_every_logger_layout(tmp_path: Path, layout: str) -> None:
    path = tmp_path / "cradle.log"
    path.write_text(
        header("10:00:00,000", "INFO", "\x1b[37m>> Calling TASK INFERENCE\x1b[0m", layout)
        + header("10:00:00,100", "DEBUG", "\n>> Upstream - R:\n" + json.dumps(MESSAGES) + "\n", layout)
        + header(
            "10:00:00,200",
            "DEBUG",
            "Creating chat completion with model gpt-4o, temperature 0, max_tokens 1024",
            layout,
        )
        + header("10:00:00,250", "DEBUG", "Request options: {'x': 1}", layout, name="openai._base_client")
        + header("10:00:01,700", "DEBUG", "\n>> Downstream - A:\nTask: search.\n", layout)
    )
    (call,), ctx = read_with(READER, path, siblings=False)
    assert ctx.skips == []
    assert call.model == "gpt-4o"
    assert call.caller.module == "TASK INFERENCE" and call.metadata == {"latency_estimated": True}
    assert call.latency_ms == pytest.approx(1500.0)  # debug-mode request line -> response block
    assert call.session_id is None and call.call_id == "cradle.log:2"
    assert call.messages[0].content == "What next?" and call.response == "Task: search."


def test_malformed_blocks_are_skipped_with_reasons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import slmscout.traces.textlog as textlog

    monkeypatch.setattr(textlog, "MAX_LINE_BYTES", 2000)
    path = tmp_path / "cradle.log"
    path.write_bytes(
        (
            header("10:00:00,000", "DEBUG", "\n>> Downstream - A:\nno request before me\n")
            + header("10:00:01,000", "DEBUG", "\n>> Upstream - R:\n[{broken json\n")
            + header("10:00:02,000", "DEBUG", '\n>> Upstream - R:\n{"role": "user"}\n')
            + header("10:00:03,000", "DEBUG", '\n>> Upstream - R:\n[{"content": "no role"}]\n')
            + header("10:00:04,000", "DEBUG", "\n>> Upstream - R:\n" + json.dumps(MESSAGES) + "\n")
            + "x" * 3000
            + "\n"
            + header("10:00:05,000", "DEBUG", "\n>> Upstream - R:\n" + json.dumps(MESSAGES) + "\n")
            + header("10:00:06,000", "INFO", "Response received from gpt-4o.")
        ).encode()
        + b"2024-06-01 10:00:07,000 - UAC Logger - DEBUG - \n>> Downstream - A:\ncaf\xe9\n"
        + bytes(range(256))
        + b"\n"
    )
    calls, ctx = read_with(READER, path, siblings=False)
    assert ctx.skips == [
        ("response without a logged request", "1"),
        ("request is not valid JSON", "5"),
        ("messages is not a list", "9"),
        ("a message has no role", "13"),
        ("line longer than 2000 bytes", "21"),
    ]
    first, second = calls
    assert first.response is None and first.status == "ok"  # its response block never came
    assert second.model == "gpt-4o" and second.response is not None and second.response.startswith("caf\ufffd")


def test_detection() -> None:
    reader = CradleLogReader()
    sample = sample_file(LOG)
    assert reader.claims(sample)
    assert earlier_claimants(reader, sample) == []
    assert not reader.claims(sample_file(FIXTURES / "metagpt" / "logs" / "20250516.txt"))
    assert not reader.claims(sample_file(FIXTURES / "openai_pairs.jsonl"))


def test_end_to_end_through_ingest() -> None:
    calls, summary = ingest(FIXTURES / "cradle")
    assert summary.calls_by_format() == {"cradle-log": 3}
    assert summary.records_skipped == 0  # noise lines are not records
    assert [c.caller.module for c in calls] == ["INFORMATION GATHERING", "ACTION PLANNING", "SELF REFLECTION"]
