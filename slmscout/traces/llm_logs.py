"""Simon Willison's ``llm`` CLI log database (``llm logs path``, ``logs.db``), every schema generation.

The calls live in one table, found by introspection (``PRAGMA table_info``), read row by row:

- ``responses`` (llm >= 0.5, migration m010): ``id`` (ULID), ``model``, ``prompt``, ``system``, ``prompt_json``,
  ``options_json``, ``response``, ``response_json``, ``conversation_id``, ``duration_ms``, ``datetime_utc``;
  later ``input_tokens``/``output_tokens``/``token_details`` (m013), ``schema_id`` (m014), ``resolved_model``
  (m019), with fragments (m015: ``prompt_fragments``/``system_fragments``), attachments (m012) and tools (m017:
  ``tools``/``tool_responses``/``tool_calls``/``tool_results``) in side tables keyed by ``response_id``;
- ``responses_archive``: the same columns under another name;
- ``logs`` (m007) and ``log`` (before migrations): ``model, prompt, system, response, chat_id, reply_to_id?,
  duration_ms?, datetime_utc | timestamp_utc | timestamp``.

Since fragments, ``prompt`` and ``system`` hold only the typed text: the fragments are joined back in the order
llm sends them. ``prompt_json`` (``{"messages": [...]}`` from the OpenAI plugins) is the full chat sent, condensed
with ``condense-json`` references to fragments and earlier responses, which are resolved here. Side tables are
merged in ``response_id`` order, so nothing is read into memory whole.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from slmscout.traces.content import (
    MalformedRecord,
    binary_placeholder,
    loads_if_json_text,
    optional_float,
    optional_int,
    optional_str,
)
from slmscout.traces.messages import prompt_messages
from slmscout.traces.reader import (
    DATA_ERRORS,
    FileReader,
    ReadContext,
    fallback_id,
    open_database,
    scalar_metadata,
    skip_reason,
)
from slmscout.traces.record import LLMCall, Message, SourceRef, ToolCall, ToolDefinition, Usage
from slmscout.traces.source import FileSample, connect_read_only, table_columns, table_names
from slmscout.traces.timestamps import iso_utc, parse_timestamp

LOG_TABLES = ("responses", "responses_archive", "logs", "log")
REQUIRED_COLUMNS = frozenset({"model", "prompt", "response"})
TIME_COLUMNS = ("datetime_utc", "timestamp_utc", "timestamp")
WANTED_COLUMNS = (
    "id",
    "model",
    "resolved_model",
    "prompt",
    "system",
    "prompt_json",
    "options_json",
    "response",
    "conversation_id",
    "chat_id",
    "reply_to_id",
    "duration_ms",
    "datetime_utc",
    "timestamp_utc",
    "timestamp",
    "input_tokens",
    "output_tokens",
    "token_details",
    "provider",
)
MAX_NESTING = 64
ROW_ERRORS: tuple[type[BaseException], ...] = (*DATA_ERRORS, sqlite3.Error)
REFERENCE_CACHE = 512

# Side tables of ``responses``, each ordered by response_id for the merge: (name, tables it needs, query).
SIDE_QUERIES = (
    (
        "prompt_fragments",
        ("prompt_fragments", "fragments"),
        "SELECT pf.response_id, f.content FROM prompt_fragments pf JOIN fragments f ON f.id = pf.fragment_id "
        'ORDER BY pf.response_id, pf."order"',
    ),
    (
        "system_fragments",
        ("system_fragments", "fragments"),
        "SELECT sf.response_id, f.content FROM system_fragments sf JOIN fragments f ON f.id = sf.fragment_id "
        'ORDER BY sf.response_id, sf."order"',
    ),
    (
        "attachments",
        ("prompt_attachments", "attachments"),
        "SELECT pa.response_id, a.id, a.type, a.url, a.path FROM prompt_attachments pa "
        'JOIN attachments a ON a.id = pa.attachment_id ORDER BY pa.response_id, pa."order"',
    ),
    (
        "tools",
        ("tool_responses", "tools"),
        "SELECT tr.response_id, t.name, t.description, t.input_schema FROM tool_responses tr "
        "JOIN tools t ON t.id = tr.tool_id ORDER BY tr.response_id, t.id",
    ),
    (
        "tool_calls",
        ("tool_calls",),
        "SELECT response_id, name, arguments, tool_call_id FROM tool_calls ORDER BY response_id, id",
    ),
    (
        "tool_results",
        ("tool_results",),
        "SELECT response_id, name, output, tool_call_id FROM tool_results ORDER BY response_id, id",
    ),
)


def _log_tables(db: sqlite3.Connection) -> tuple[set[str], list[tuple[str, list[str]]]]:
    names = table_names(db)
    found = []
    for table in LOG_TABLES:
        if table not in names:
            continue
        columns = table_columns(db, table)
        present = set(columns)
        if (
            present >= REQUIRED_COLUMNS
            and any(c in present for c in TIME_COLUMNS)
            and ("_llm_migrations" in names or "conversation_id" in present or "chat_id" in present)
        ):
            found.append((table, columns))
    return names, found


class _Merged:
    """An auxiliary query's rows, ordered by response id, handed out for each response in the same order."""

    def __init__(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self._rows = rows
        self._head = next(self._rows, None)

    def take(self, key: str) -> list[tuple[Any, ...]]:
        group: list[tuple[Any, ...]] = []
        while self._head is not None:
            head_key = self._head[0]
            if isinstance(head_key, str) and head_key > key:
                break
            if head_key == key:
                group.append(self._head)
            self._head = next(self._rows, None)
        return group


def _uncondense(value: Any, resolve: Callable[[Any], str], depth: int = 0) -> Any:
    """``condense-json`` undone: ``{"$": id}`` and ``{"$r": [text, {"$": id}, ...]}`` become text again."""
    if depth > MAX_NESTING:
        raise MalformedRecord("prompt_json is nested too deeply")
    if isinstance(value, Mapping):
        if len(value) == 1:
            if "$raw" in value:
                raw = value["$raw"]
                if isinstance(raw, Mapping):
                    return {k: _uncondense(v, resolve, depth + 1) for k, v in raw.items()}
                return _uncondense(raw, resolve, depth + 1)
            if "$" in value:
                return resolve(value["$"])
            if "$r" in value and isinstance(value["$r"], list):
                pieces = []
                for segment in value["$r"]:
                    if isinstance(segment, str):
                        pieces.append(segment)
                    elif isinstance(segment, Mapping) and len(segment) == 1 and "$" in segment:
                        pieces.append(resolve(segment["$"]))
                    else:
                        raise MalformedRecord("prompt_json has an invalid reference")
                return "".join(pieces)
        return {k: _uncondense(v, resolve, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_uncondense(v, resolve, depth + 1) for v in value]
    return value


def _attachment_kind(mime: Any) -> str:
    text = mime if isinstance(mime, str) else ""
    for kind in ("image", "audio", "video"):
        if text.startswith(kind + "/"):
            return kind
    return "file"


def _schema_text(raw: Any) -> str:
    parsed = loads_if_json_text(raw)
    if isinstance(parsed, (Mapping, list)):
        return json.dumps(parsed, sort_keys=True)
    return raw if isinstance(raw, str) else ""


class _Table:
    """One log table of one database, read row by row."""

    def __init__(self, db: sqlite3.Connection, names: set[str], table: str, columns: list[str], path: Path) -> None:
        self.db = db
        self.names = names
        self.table = table
        self.present = set(columns)
        self.path = path
        self.responses_era = table in ("responses", "responses_archive")
        self._references: dict[str, str] = {}

    def rows(self) -> Iterator[tuple[str, dict[str, Any], dict[str, list[tuple[Any, ...]]]]]:
        selected = [c for c in WANTED_COLUMNS if c in self.present]
        quoted_table = self.table.replace('"', '""')
        order = "id" if "id" in self.present else "rowid"
        cursor = self.db.execute(
            f'SELECT rowid, {", ".join(f"[{c}]" for c in selected)} FROM "{quoted_table}" ORDER BY {order}'
        )
        sides = self._side_tables() if self.responses_era and order == "id" else {}
        for raw in cursor:
            row = dict(zip(selected, raw[1:], strict=True))
            if order == "rowid":  # the pre-migration ``log`` table: its rowid is the id chat_id refers to
                row["id"] = raw[0]
            key = row.get("id")
            groups = {name: merged.take(key) for name, merged in sides.items()} if isinstance(key, str) else {}
            yield f"{self.table} row {raw[0]}", row, groups

    def _side_tables(self) -> dict[str, _Merged]:
        sides = {}
        for name, needs, query in SIDE_QUERIES:
            if all(table in self.names for table in needs):
                try:
                    sides[name] = _Merged(iter(self.db.execute(query)))
                except sqlite3.Error:  # an older or partial layout of that side table: read without it
                    continue
        return sides

    def resolve(self, reference: Any) -> str:
        """The text a ``condense-json`` reference stands for: ``r:<response id>`` or ``f:<fragment id>``."""
        if not isinstance(reference, str):
            raise MalformedRecord("prompt_json has an invalid reference")
        if reference in self._references:
            return self._references[reference]
        found: Any = None
        if reference.startswith("r:"):
            quoted = self.table.replace('"', '""')
            row = self.db.execute(f'SELECT response FROM "{quoted}" WHERE id = ?', (reference[2:],)).fetchone()
            found = row[0] if row else None
        elif reference.startswith("f") and "fragments" in self.names:
            fragment = reference[2:] if reference.startswith("f:") else reference[1:]
            row = self.db.execute("SELECT content FROM fragments WHERE id = ?", (fragment,)).fetchone()
            found = row[0] if row else None
        if not isinstance(found, str):
            raise MalformedRecord("prompt_json refers to a missing log entry")
        if len(self._references) >= REFERENCE_CACHE:
            self._references.clear()
        self._references[reference] = found
        return found

    def convert(
        self, row: Mapping[str, Any], groups: Mapping[str, list[tuple[Any, ...]]], source: SourceRef
    ) -> LLMCall:
        messages = self._messages(row, groups)
        if not messages:
            raise MalformedRecord("log row has no prompt")
        started = next((row[c] for c in TIME_COLUMNS if row.get(c)), None)
        duration = optional_float(row.get("duration_ms"))
        start_time = parse_timestamp(started)
        ended = (
            start_time + timedelta(milliseconds=duration) if start_time is not None and duration is not None else None
        )
        options = loads_if_json_text(row.get("options_json"))
        session = optional_str(row.get("conversation_id")) or optional_str(row.get("chat_id"))
        if session is None and not self.responses_era:
            session = optional_str(row.get("id"))  # the first message of an old-style chat starts it
        response = row.get("response")
        return LLMCall(
            call_id=optional_str(row.get("id")) or fallback_id(source),
            source=source,
            messages=messages,
            response=response if isinstance(response, str) else None,
            response_tool_calls=tuple(
                ToolCall(name=name, arguments=arguments if isinstance(arguments, str) else "", id=optional_str(call))
                for _, name, arguments, call in groups.get("tool_calls", ())
                if isinstance(name, str)
            ),
            tools=tuple(
                ToolDefinition(
                    name=name,
                    description=description if isinstance(description, str) else "",
                    parameters=_schema_text(schema),
                )
                for _, name, description, schema in groups.get("tools", ())
                if isinstance(name, str)
            ),
            model=optional_str(row.get("resolved_model")) or optional_str(row.get("model")),
            session_id=session,
            usage=self._usage(row),
            latency_ms=duration if duration is not None and duration >= 0 else None,
            started_at=iso_utc(started),
            ended_at=iso_utc(ended.timestamp()) if ended is not None else None,
            metadata=scalar_metadata(
                {
                    "model_requested": row.get("model"),
                    "provider": row.get("provider"),
                    "reply_to_id": row.get("reply_to_id"),
                    **(
                        {f"option_{k}": v for k, v in options.items() if isinstance(k, str)}
                        if isinstance(options, Mapping)
                        else {}
                    ),
                }
            ),
        )

    def _messages(self, row: Mapping[str, Any], groups: Mapping[str, list[tuple[Any, ...]]]) -> tuple[Message, ...]:
        prompt_json = loads_if_json_text(row.get("prompt_json"))
        if isinstance(prompt_json, Mapping) and isinstance(prompt_json.get("messages"), list):
            try:
                sent = prompt_messages(_uncondense(prompt_json["messages"], self.resolve))
            except ROW_ERRORS:
                sent = ()  # a prompt_json this reader cannot rebuild: fall back to the prompt columns
            if sent:
                return sent
        out: list[Message] = []
        system = self._system(row, groups)
        if system:
            out.append(Message("system", system))
        for _, name, output, call_id in groups.get("tool_results", ()):
            out.append(
                Message(
                    "tool",
                    output if isinstance(output, str) else "",
                    name=name if isinstance(name, str) else None,
                    tool_call_id=optional_str(call_id),
                )
            )
        fragments = [content for _, content in groups.get("prompt_fragments", ()) if isinstance(content, str)]
        prompt = row.get("prompt")
        text = "\n".join(fragments + ([prompt] if isinstance(prompt, str) and prompt else []))
        attachments = [
            binary_placeholder(_attachment_kind(mime), str(attachment_id or url or location))
            for _, attachment_id, mime, url, location in groups.get("attachments", ())
        ]
        user = "\n".join(t for t in (text, *attachments) if t)
        if user:
            out.append(Message("user", user))
        return tuple(out)

    @staticmethod
    def _system(row: Mapping[str, Any], groups: Mapping[str, list[tuple[Any, ...]]]) -> str:
        system = row.get("system")
        fragments = [content for _, content in groups.get("system_fragments", ()) if isinstance(content, str)]
        if not fragments:
            return system if isinstance(system, str) else ""
        bits = [bit.strip() for bit in [*fragments, system if isinstance(system, str) else ""] if bit.strip()]
        return "\n\n".join(bits)

    @staticmethod
    def _usage(row: Mapping[str, Any]) -> Usage | None:
        prompt = optional_int(row.get("input_tokens"))
        completion = optional_int(row.get("output_tokens"))
        if prompt is None and completion is None:
            return None
        details = loads_if_json_text(row.get("token_details"))
        cached = None
        if isinstance(details, Mapping):
            prompt_details = details.get("prompt_tokens_details")
            if isinstance(prompt_details, Mapping):
                cached = optional_int(prompt_details.get("cached_tokens"))
        return Usage(input_tokens=prompt, output_tokens=completion, cache_read_tokens=cached)


class LlmLogsReader(FileReader):
    name = "llm-logs"
    priority = 130
    description = (
        "Simon Willison's llm CLI logs.db (SQLite): the responses table of every schema generation "
        "(also responses_archive, logs and the pre-migration log table), fragments, attachments and tools."
    )

    def claims(self, sample: FileSample) -> bool:
        if not sample.is_sqlite or not (set(LOG_TABLES) & sample.sqlite_tables()):
            return False
        try:
            db = connect_read_only(sample.path)
        except sqlite3.Error:
            return False
        try:
            return bool(_log_tables(db)[1])
        except sqlite3.Error:
            return False
        finally:
            db.close()

    def read_file(self, path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        db = open_database(path, ctx)
        if db is None:
            return
        try:
            try:
                names, tables = _log_tables(db)
            except sqlite3.Error:
                ctx.skip("database cannot be read", path, "1")
                return
            for table, columns in tables:
                yield from self._read_table(_Table(db, names, table, columns, path), path, ctx)
            if "turns" in names:
                self._note_message_store(db, path, ctx)
        finally:
            db.close()

    def _read_table(self, table: _Table, path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        position = table.table
        try:
            for position, row, groups in table.rows():
                try:
                    yield table.convert(row, groups, SourceRef(str(path), position, self.name))
                except ROW_ERRORS as exc:
                    ctx.skip(skip_reason(exc, "row"), path, position)
        except sqlite3.Error:
            ctx.skip("database cannot be read to its end", path, position)

    @staticmethod
    def _note_message_store(db: sqlite3.Connection, path: Path, ctx: ReadContext) -> None:
        """llm >= 0.32 logs new calls to the message-store tables (``turns``, ``messages``, ``parts``), which
        this reader does not read yet: say so once instead of passing them over in silence."""
        try:
            row = db.execute("SELECT count(*) FROM turns").fetchone()
        except sqlite3.Error:
            return
        if row and row[0]:
            ctx.skip("llm message-store turns (llm 0.32+) are not read", path, "table turns")
