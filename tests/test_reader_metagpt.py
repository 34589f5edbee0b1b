"""MetaGPT readers: the loguru log (prompt repr, raw output, cost lines, callers) and rsp_cache.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slmscout.traces.metagpt import MetaGPTCacheReader, MetaGPTLogReader, cache_call_id
from slmscout.traces.source import sample_file
from tests.conftest import FIXTURES
from tests.reader_helpers import earlier_claimants, ingest, read_with

METAGPT = FIXTURES / "metagpt"
LOG = METAGPT / "logs" / "20250516.txt"
CACHE = METAGPT / "rsp_cache.json"
HEAD = "2025-05-16 10:00:00.000 | INFO     | metagpt.team:invest:93 - Investment: $3.0.\n"
LOG_READER = MetaGPTLogReader()
CACHE_READER = MetaGPTCacheReader()


def line(time: str, level: str, where: str, message: str) -> str:
    return f"2025-05-16 {time} | {level:<8} | {where} - {message}\n"


def test_log_calls_fields() -> None:
    calls, ctx = read_with(LOG_READER, LOG)
    assert ctx.skips == []
    assert [c.call_id for c in calls] == ["20250516.txt:5", "20250516.txt:17", "20250516.txt:19", "20250516.txt:21"]
    prd, review, failed, local = calls

    assert prd.source.format == "metagpt-log" and prd.source.position == "5"
    assert [m.role for m in prd.messages] == ["system", "user"]
    assert (
        prd.messages[0].content.startswith("You are a Product Manager, named Alice")
        and "Don't" in prd.messages[0].content
    )
    assert "### Original Requirements\nWrite a small todo list web app" in prd.messages[1].content
    assert prd.response == (
        "[CONTENT]\n{\n"
        '    "Language": "en_us",\n'
        '    "Product Goals": ["Let users add and tick off tasks", "Keep the app fast"]\n'
        "}\n[/CONTENT]"
    )
    assert (prd.caller.agent, prd.caller.role, prd.caller.module) == ("Alice", "Product Manager", "WritePRD")
    assert prd.usage is not None and (prd.usage.input_tokens, prd.usage.output_tokens) == (1312, 402)
    assert prd.model is None  # the log does not name it
    assert prd.started_at == "2025-05-16T10:02:11.490" and prd.ended_at == "2025-05-16T10:02:29.117"
    assert prd.latency_ms == pytest.approx(17627.0)
    assert prd.metadata == {"latency_estimated": True, "cost_usd": 0.021}
    assert prd.status == "ok" and prd.error is None and prd.session_id is None

    # a plain aask: its response was streamed to stdout only
    assert review.response is None
    assert (review.caller.agent, review.caller.role, review.caller.module) == ("Bob", "Architect", "WriteDesign")
    assert review.usage is not None and (review.usage.input_tokens, review.usage.output_tokens) == (880, 120)
    assert "cost_usd" not in review.metadata
    assert "Review the attached wireframe" in review.messages[1].content
    assert "[image sha256:" in review.messages[1].content

    # a failed ActionNode attempt: no cost, no output, then the retry error
    assert failed.status == "error" and failed.error == "attempt_failed"
    assert failed.response is None and failed.usage is None
    assert failed.latency_ms == pytest.approx(12004.0)

    # a model missing from TOKEN_COSTS: the warning names it, no tokens are logged
    assert local.model == "llama3-8b-instruct"
    assert local.usage is None
    assert local.response == '[CONTENT]\n{"Implementation approach": "A single Flask app with SQLite."}\n[/CONTENT]'
    assert local.ended_at == "2025-05-16T10:03:02.440"


def test_log_multi_line_records_of_other_modules_are_read_past() -> None:
    calls, _ = read_with(LOG_READER, LOG)
    texts = [c.response or "" for c in calls] + [m.content for c in calls for m in c.messages]
    assert not any("parsed_data" in t or "todo_app_1: already exists" in t for t in texts)


def test_unlabelled_cost_line_of_early_versions(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_text(
        HEAD
        + line("10:00:01.000", "DEBUG", "metagpt.provider.base_llm:aask:90", "[{'role': 'user', 'content': 'hi'}]")
        + line(
            "10:00:02.500",
            "INFO",
            "metagpt.utils.cost_manager:update_cost:40",
            "Total running cost: $0.002 | Max budget: $10.000 | Current cost: $0.002, 12, 7",
        )
    )
    (call,), ctx = read_with(LOG_READER, path)
    assert ctx.skips == []
    assert call.usage is not None and (call.usage.input_tokens, call.usage.output_tokens) == (12, 7)
    assert call.metadata["cost_usd"] == 0.002
    assert call.latency_ms == pytest.approx(1500.0)
    assert call.caller.label() is None


def test_log_malformed_records_are_skipped_with_reasons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import slmscout.traces.textlog as textlog

    monkeypatch.setattr(textlog, "MAX_LINE_BYTES", 20000)
    aask = "metagpt.provider.base_llm:aask:149"
    path = tmp_path / "20250516.txt"
    path.write_bytes(
        (
            HEAD
            + line("10:00:01.000", "DEBUG", "metagpt.actions.action_node:_aask_v1:440", "llm raw output:\norphan")
            + line("10:00:02.000", "DEBUG", aask, "[{'role': 'user', 'content': Message(content='x')}]")
            + line("10:00:03.000", "DEBUG", aask, "{'role': 'user', 'content': 'not a list'}")
            + line("10:00:04.000", "DEBUG", aask, "[{'content': 'no role'}]")
            + line("10:00:05.000", "DEBUG", aask, "[" * 5000 + "]" * 5000)
            + line("10:00:06.000", "DEBUG", aask, "[{'role': 'user', 'content': '" + "x" * 25000 + "'}]")
            + line("10:00:07.000", "DEBUG", aask, "[{'role': 'user', 'content': 'caf\\xe9 ok'}]")
        ).encode()
        + b"2025-05-16 10:00:08.000 | DEBUG    | metagpt.provider.base_llm:aask:149 - "
        + b"[{'role': 'user', 'content': '\xff'}]\n"
    )
    calls, ctx = read_with(LOG_READER, path)
    assert [c.messages[0].content for c in calls] == ["caf\u00e9 ok", "\ufffd"]
    assert ctx.skips == [
        ("raw output without a logged prompt", "2"),
        ("prompt is not a Python literal", "4"),
        ("prompt is not a message list", "5"),
        ("a message has no role", "6"),
        ("prompt is not a Python literal", "7"),
        ("line longer than 20000 bytes", "8"),
    ]


def test_prompt_repr_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import slmscout.traces.metagpt as metagpt

    monkeypatch.setattr(metagpt, "MAX_PROMPT_REPR_CHARS", 100)
    path = tmp_path / "log.txt"
    path.write_text(
        HEAD
        + line(
            "10:00:01.000",
            "DEBUG",
            "metagpt.provider.base_llm:aask:1",
            f"[{{'role': 'user', 'content': '{'y' * 200}'}}]",
        )
    )
    calls, ctx = read_with(LOG_READER, path)
    assert calls == [] and ctx.skips == [("prompt repr too large to parse", "2")]


def test_binary_and_garbage_never_crash(tmp_path: Path) -> None:
    path = tmp_path / "garbage.txt"
    path.write_bytes(HEAD.encode() + bytes(range(256)) * 50 + b"\n" + HEAD.encode())
    calls, ctx = read_with(LOG_READER, path)
    assert calls == [] and ctx.skips == []


def test_cache_calls_fields() -> None:
    calls, ctx = read_with(CACHE_READER, CACHE)
    assert ctx.skips == []
    keys = list(json.loads(CACHE.read_text()))
    assert [c.call_id for c in calls] == [cache_call_id(k) for k in keys]
    assert all(c.call_id.startswith("rsp-cache-") and len(c.call_id) == 26 for c in calls)
    text, system, code, joined = calls

    assert [m.role for m in text.messages] == ["user"] and text.messages[0].content == keys[0]
    assert text.response is not None and text.response.startswith("[CONTENT]")
    assert text.source.position == "key 0" and text.metadata["cache_key_kind"] == "text"

    assert [(m.role, m.content) for m in system.messages] == [
        ("system", "You are a Architect, named Bob."),
        ("system", "Answer in English."),
        ("user", "Write a design for the todo app."),
    ]
    assert [(m.role, m.content) for m in code.messages] == [
        ("system", "You are a helpful assistant."),
        ("user", "Write a python hello world"),
    ]
    assert code.response is not None and json.loads(code.response) == {
        "language": "python",
        "code": "print('Hello, World!')",
    }
    assert code.metadata == {"cache_key_kind": "json-messages", "response_kind": "function-arguments"}
    assert [m.content for m in joined.messages] == ["Summarise the plan in one line.", "Now translate it to French."]
    assert joined.response == "Plan : une application de tâches."
    assert all(c.model is None and c.usage is None and c.latency_ms is None for c in calls)


def test_cache_bad_values_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "rsp_cache_new.json"
    path.write_text(json.dumps({"line one\nline two": "ok", "a list\nanswer": [1, 2], "number\nanswer": 3}, indent=4))
    calls, ctx = read_with(CACHE_READER, path)
    assert [c.response for c in calls] == ["ok"]
    assert ctx.skips == [
        ("cached response is neither text nor an object", "key 1"),
        ("cached response is neither text nor an object", "key 2"),
    ]


def test_detection() -> None:
    log_reader, cache_reader = MetaGPTLogReader(), MetaGPTCacheReader()
    assert log_reader.claims(sample_file(LOG))
    assert cache_reader.claims(sample_file(CACHE))
    assert not log_reader.claims(sample_file(CACHE))
    assert not cache_reader.claims(sample_file(LOG))
    assert earlier_claimants(log_reader, sample_file(LOG)) == []
    assert earlier_claimants(cache_reader, sample_file(CACHE)) == []
    # other formats' files are not taken for a cache or a log
    for other in (FIXTURES / "chat_messages.jsonl", FIXTURES / "openai_pairs.jsonl"):
        assert not cache_reader.claims(sample_file(other))
        assert not log_reader.claims(sample_file(other))


def test_cache_detection_is_strict(tmp_path: Path) -> None:
    reader = MetaGPTCacheReader()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model": "gpt-4o", "api key": "x"}))
    words = tmp_path / "words.json"
    words.write_text(json.dumps({"good morning": "bonjour"}))  # no prompt-like key
    summary = tmp_path / "act_summary.json"
    summary.write_text(json.dumps({"act_summary": [{"LLM_input_file": "a.txt"}]}))
    assert not any(reader.claims(sample_file(p)) for p in (config, words, summary))


def test_large_cache_is_detected_from_its_head(tmp_path: Path) -> None:
    from slmscout.traces.source import FileSample

    head = json.dumps({"\n## context\nbig": "x"}, indent=4).encode()[:40]
    assert MetaGPTCacheReader().claims(FileSample(path=tmp_path / "c.json", head=head))
    assert not MetaGPTCacheReader().claims(FileSample(path=tmp_path / "c.json", head=b'{\n    "id": "x"'))


def test_end_to_end_through_ingest() -> None:
    calls, summary = ingest(METAGPT)
    assert summary.calls_by_format() == {"metagpt-log": 4, "metagpt-cache": 4}
    assert summary.records_skipped == 0 and summary.files_unrecognised == []
    assert len({c.call_id for c in calls}) == 8
