"""The llm logs.db reader: one database per schema generation (built by fixtures/llm_logs/make_fixtures.py)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from slmscout.traces.llm_logs import LlmLogsReader
from slmscout.traces.source import SQLITE_MAGIC, sample_file
from tests.conftest import FIXTURES
from tests.reader_helpers import Recorder, assert_detected, claimed, fixture_files, ingest, read_with

HERE = FIXTURES / "llm_logs"
DATABASES = sorted(HERE.glob("*.db"))
READER = LlmLogsReader()
MINE = {"litellm", "helicone", "llm_logs", "autogen"}
STYLE = "House style: short sentences, no jargon."
REPORT = "Q3 report: revenue rose 4% on strong subscriptions."


def test_pre_migration_log_table() -> None:
    calls, ctx = read_with(READER, HERE / "v0_log.db")
    assert ctx.skips == []
    first, second = calls
    assert first.call_id == "1" and first.source.position == "log row 1"
    assert [(m.role, m.content) for m in first.messages] == [("user", "Ten names for a pet pelican")]
    assert first.response == "1. Pelly\n2. Beaky"
    assert first.model == "gpt-3.5-turbo"
    assert first.started_at == "2023-05-01T09:00:00.123456Z"  # ``timestamp``, zone-less UTC
    assert first.metadata["provider"] == "openai"
    assert first.session_id == second.session_id == "1"  # chat_id points at the first message
    assert first.usage is None and first.latency_ms is None


def test_logs_table_with_chat_ids() -> None:
    calls, _ = read_with(READER, HERE / "v1_logs.db")
    first, second = calls
    # prompt_json holds the messages sent
    assert [(m.role, m.content) for m in first.messages] == [
        ("system", "You answer in one word."),
        ("user", "Capital of France?"),
    ]
    assert first.latency_ms == 812.0
    assert first.started_at == "2023-07-01T10:00:00.000001Z"
    assert first.ended_at == "2023-07-01T10:00:00.812001Z"
    assert first.metadata["option_temperature"] == 0.2
    assert [(m.role, m.content) for m in second.messages] == [("user", "And of Spain?")]
    assert second.session_id == first.session_id == "1"
    assert second.metadata["reply_to_id"] == 1


def test_responses_without_token_columns_and_an_attachment() -> None:
    calls, _ = read_with(READER, HERE / "v2_responses.db")
    first, second = calls
    assert first.call_id == "01h8z3q7w5k2m4n6p8r0s2t4v7"
    assert first.messages[0].content == "You are a careful bookkeeper."
    assert first.messages[1].content.startswith("Describe this receipt\n[image sha256:")
    assert first.usage is None
    assert first.session_id == second.session_id == "01h8z3q7w5k2m4n6p8r0s2t4v6"  # conversation_id
    assert first.started_at == "2024-10-01T08:00:00Z" and first.latency_ms == 2310.0
    assert second.response == "0.82 EUR."


def test_token_columns_skips_and_invalid_utf8() -> None:
    calls, ctx = read_with(READER, HERE / "v3_tokens.db")
    assert ctx.skips == [("log row has no prompt", "responses row 2")]
    first, third = calls
    assert first.usage is not None
    assert (first.usage.input_tokens, first.usage.output_tokens, first.usage.cache_read_tokens) == (1200, 3, 1024)
    assert first.response == "billing"
    assert third.messages[0].content == "Cafe \ufffd !"


def test_latest_schema_fragments_tools_and_condensed_prompt_json() -> None:
    calls, ctx = read_with(READER, HERE / "v4_latest.db")
    assert ctx.skips == []
    first, second, third, fourth = calls
    # prompt_json references to fragments (f2 and f:2 forms) are resolved
    assert [(m.role, m.content) for m in first.messages] == [
        ("system", f"{STYLE}\n\nBe brief."),
        ("user", f"{REPORT}\nSummarise this."),
    ]
    assert first.model == "gpt-4.1-mini-2025-04-14"  # resolved_model
    assert first.metadata["model_requested"] == "gpt-4.1-mini"
    # the earlier response is referenced as r:<id> and restored
    assert [m.role for m in second.messages] == ["system", "user", "assistant", "user"]
    assert second.messages[2].content == first.response
    assert second.messages[1].content == f"{REPORT}\nSummarise this."
    assert [(t.name, json.loads(t.arguments), t.id) for t in second.response_tool_calls] == [
        ("convert_currency", {"amount": 100000, "currency": "EUR"}, "call_Q7x")
    ]
    assert [t.name for t in second.tools] == ["convert_currency"]
    assert json.loads(second.tools[0].parameters)["required"] == ["amount", "currency"]
    assert second.usage is not None and second.usage.input_tokens == 140
    # no prompt_json: system fragments + system, then the tool result, no empty user turn
    assert [(m.role, m.content, m.tool_call_id) for m in third.messages] == [
        ("system", f"{STYLE}\n\nBe brief.", None),
        ("tool", "108000.0", "call_Q7x"),
    ]
    # a reference to a response that is not in the database: read from the prompt columns instead
    assert [(m.role, m.content) for m in fourth.messages] == [("user", "Thanks!")]
    assert fourth.model == "gpt-4.1-mini"
    assert {c.session_id for c in calls} == {"01jz8m0a0000000000000000c1"}


def test_archive_table_and_message_store_note() -> None:
    calls, ctx = read_with(READER, HERE / "v5_archive.db")
    assert len(calls) == 4
    assert calls[0].source.position == "responses_archive row 1"
    assert calls[1].messages[2].content == calls[0].response  # r: references resolve in the archive table
    assert calls[1].response_tool_calls[0].name == "convert_currency"
    assert ctx.skips == [("llm message-store turns (llm 0.32+) are not read", "table turns")]


@pytest.mark.parametrize("path", DATABASES, ids=[p.name for p in DATABASES])
def test_databases_are_opened_read_only(path: Path) -> None:
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    read_with(READER, path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not Path(f"{path}-journal").exists() and not Path(f"{path}-wal").exists()


def test_reading_streams_row_by_row(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE conversations (id TEXT PRIMARY KEY, name TEXT, model TEXT)")
        db.execute(
            "CREATE TABLE responses (id TEXT PRIMARY KEY, model TEXT, prompt TEXT, system TEXT, prompt_json TEXT, "
            "options_json TEXT, response TEXT, response_json TEXT, conversation_id TEXT, duration_ms INTEGER, "
            "datetime_utc TEXT)"
        )
        db.executemany(
            "INSERT INTO responses VALUES (?, 'm', ?, NULL, NULL, '{}', 'r', NULL, 'c', 1, '2025-01-01T00:00:00')",
            [(f"id{i:06d}", f"prompt {i}") for i in range(3000)],
        )
    calls = READER.read_file(path, Recorder())
    first = next(calls)  # the first call comes out before the table is read to its end
    assert first.call_id == "id000000"
    assert sum(1 for _ in calls) == 2999


def test_broken_and_foreign_databases(tmp_path: Path) -> None:
    garbage = tmp_path / "broken.db"
    garbage.write_bytes(SQLITE_MAGIC + b"\x00" * 84 + b"not a database" * 100)
    assert not READER.claims(sample_file(garbage))
    calls, ctx = read_with(READER, garbage)
    assert calls == []
    assert len(ctx.skips) == 1
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:  # a ``responses`` table of some other tool
        db.execute("CREATE TABLE responses (id INTEGER PRIMARY KEY, survey TEXT, answer TEXT)")
    assert not READER.claims(sample_file(other))


def test_bad_values_in_rows(tmp_path: Path) -> None:
    path = tmp_path / "odd.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE _llm_migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
        db.execute(
            "CREATE TABLE responses (id TEXT PRIMARY KEY, model TEXT, prompt TEXT, system TEXT, prompt_json TEXT, "
            "options_json TEXT, response TEXT, conversation_id TEXT, duration_ms INTEGER, datetime_utc TEXT, "
            "input_tokens INTEGER, output_tokens INTEGER, token_details TEXT)"
        )
        db.executemany(
            "INSERT INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    "a",
                    7,
                    "hi",
                    None,
                    '{"messages": [{"role": 1}]}',
                    "not json",
                    None,
                    None,
                    -5,
                    "yesterday",
                    -1,
                    "x",
                    "[1",
                ),
                (
                    "b",
                    "m",
                    "deep",
                    None,
                    '{"messages": ' + "[" * 5000 + "]" * 5000 + "}",
                    None,
                    "ok",
                    "c",
                    None,
                    None,
                    None,
                    None,
                    None,
                ),
                ("c", "m", b"\x00\xffbinary", None, None, None, "ok", "c", 1, "2025-01-01", 1, 1, None),
            ],
        )
    calls, ctx = read_with(READER, path)
    by_id = {c.call_id: c for c in calls}
    assert by_id["a"].messages[0].content == "hi"  # unreadable prompt_json: the prompt column
    assert by_id["a"].model == "7"  # TEXT affinity
    assert by_id["a"].latency_ms is None and by_id["a"].started_at is None and by_id["a"].usage is None
    assert by_id["b"].messages[0].content == "deep"  # prompt_json nested too deeply: the prompt column
    assert ctx.skips == [("log row has no prompt", "responses row 3")]  # a BLOB prompt is not text


def test_detection_is_precise() -> None:
    for path in DATABASES:
        assert_detected(READER, path)
    assert claimed(READER, fixture_files(excluding=MINE)) == []


def test_end_to_end_read_traces() -> None:
    calls, summary = ingest(HERE)
    assert summary.calls_by_format() == {"llm-logs": 16}
    assert len(calls) == 16
    assert summary.records_skipped == 2
    assert [f.path for f in summary.files_unrecognised] == [str(HERE / "make_fixtures.py")]
