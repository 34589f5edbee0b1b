"""AutoGen / AG2 runtime logging (``autogen.runtime_logging.start()``) and AutoGen >= 0.4 ``autogen_core`` events.

- ``AutoGenSqliteReader``: the SQLite logger's ``logs.db``. ``chat_completions(id, invocation_id, client_id,
  wrapper_id, session_id, source_name?, request TEXT (JSON: messages, model, tools...), response TEXT (JSON of the
  ChatCompletion, or {"response": str} for a plain or failed response), is_cached, cost, start_time, end_time)``;
  pyautogen 0.2 has no ``source_name``, so the caller comes from ``agents`` joined on ``wrapper_id``.
- ``AutoGenFileReader``: the file logger's ``autogen_logs/runtime.log``. The first line of a session is plain
  text (``Started new session with Session ID: ...``), then one JSON object a line; in a chat completion line the
  ``response`` is ``str(ChatCompletion)``, a pydantic repr, not JSON: its fields are scanned out here without
  evaluating anything. The same reader reads ``autogen_core.events`` log lines holding an ``LLMCall`` event
  (``{"type": "LLMCall", "messages": [...], "response": {...}, "prompt_tokens", "completion_tokens",
  "agent_id": "planner/default"}``), and pairs ``LLMStreamStart``/``LLMStreamEnd`` events of one agent.

Timestamps are written by ``get_current_ts()``: UTC, ``%Y-%m-%d %H:%M:%S.%f`` without a zone.
"""

from __future__ import annotations

import ast
import json
import re
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slmscout.traces.content import (
    MalformedRecord,
    content_text,
    loads_if_json_text,
    openai_tool_definitions,
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
from slmscout.traces.record import Caller, LLMCall, SourceRef, ToolCall, ToolDefinition, Usage
from slmscout.traces.responses import CompletionParts, anthropic_response_parts, chat_completion_parts
from slmscout.traces.source import FileSample, iter_lines, open_binary, table_columns, table_names
from slmscout.traces.timestamps import iso_utc, latency_ms

MAX_LITERAL_CHARS = 16 * 1024 * 1024
MAX_REPR_CHARS = 64 * 1024 * 1024
MAX_AGENTS = 100_000
MAX_PENDING_STREAMS = 1_000
HEAD_LINES = 200

SESSION_HEADER = "Started new session with Session ID:"
ERROR_PREFIX = "error_code:"
LOGGER_FAILURE = "[file_logger] Failed"

# --- the call itself, whichever log it came from ----------------------------------------------------------


def _request(raw: Any) -> Mapping[str, Any]:
    request = loads_if_json_text(raw)
    if not isinstance(request, Mapping):
        raise MalformedRecord("request is not a JSON object")
    return request


def _tools(request: Mapping[str, Any]) -> tuple[ToolDefinition, ...]:
    return openai_tool_definitions(request.get("tools") or request.get("functions"))


def _create_result_parts(response: Mapping[str, Any]) -> CompletionParts:
    """autogen_core ``CreateResult.model_dump()``: ``content`` is text or a list of ``FunctionCall`` dicts."""
    content = response.get("content")
    calls: list[ToolCall] = []
    text: str | None = None
    if isinstance(content, list):
        for item in content:
            if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                arguments = item.get("arguments")
                calls.append(
                    ToolCall(
                        name=item["name"],
                        arguments=arguments if isinstance(arguments, str) else "",
                        id=optional_str(item.get("id")),
                    )
                )
        thought = response.get("thought")
        text = thought if isinstance(thought, str) else ""
    else:
        text = content_text(content)
    usage = response.get("usage")
    return CompletionParts(
        text=text,
        tool_calls=tuple(calls),
        usage=(
            Usage(
                input_tokens=optional_int(usage.get("prompt_tokens")),
                output_tokens=optional_int(usage.get("completion_tokens")),
            )
            if isinstance(usage, Mapping)
            else None
        ),
    )


def response_parts(response: Any) -> CompletionParts:
    """A logged response: a ChatCompletion dict, ``{"response": str | None}``, a CreateResult, an Anthropic
    message, or text (``str(ChatCompletion)`` in the file logger, an ``error_code:...`` line for a failure)."""
    if isinstance(response, Mapping):
        if "choices" in response:
            return chat_completion_parts(response)
        if response.get("type") == "message":
            return anthropic_response_parts(response)
        if "finish_reason" in response and "content" in response:
            return _create_result_parts(response)
        if "response" in response and len(response) == 1:
            return response_parts(response["response"])
        raise MalformedRecord("response is not in a known shape")
    if response is None:
        return CompletionParts()
    if isinstance(response, str):
        stripped = response.lstrip()
        if stripped.startswith(ERROR_PREFIX):
            code = stripped[len(ERROR_PREFIX) :].split(",", 1)[0].strip()
            return CompletionParts(error=code if code and code != "None" else "api_error")
        if _REPR_START.match(stripped):
            return repr_parts(stripped)
        return CompletionParts(text=response)
    raise MalformedRecord("response is not in a known shape")


# --- ``str(ChatCompletion)``: a pydantic repr, scanned, never evaluated -----------------------------------

_REPR_START = re.compile(r"(?:ChatCompletion\(|id=['\"])")
# the next string literal's opening quote or ``name=`` field key; a literal's body up to its closing quote
_REPR_NEXT = re.compile(r"""(?P<quote>['"])|\b(?P<key>[A-Za-z_]\w*)=(?!=)""")
_REPR_BODY = {q: re.compile(rf"(?:[^{q}\\\n]|\\.)*{q}") for q in "'\""}
_REPR_SCALAR = re.compile(r"None|True|False|-?\d+(?:\.\d+)?")
_TOOL_CALL_KEYS = frozenset({"id", "function", "arguments", "name", "type"})


@dataclass
class _Field:
    key: str
    value: Any  # str, int, float, bool, None, or _NESTED when the value is an object or a list
    literal: bool = False


_NESTED = object()


def _literal(token: str) -> str:
    if len(token) > MAX_LITERAL_CHARS:
        raise MalformedRecord("response repr has a string too long to read")
    try:
        value = ast.literal_eval(token)
    except (ValueError, SyntaxError, RecursionError, MemoryError) as exc:
        raise MalformedRecord("response repr has an unreadable string") from exc
    if not isinstance(value, str):
        raise MalformedRecord("response repr has an unreadable string")
    return value


def _repr_fields(text: str) -> list[_Field]:
    """Every ``key=value`` of a repr, in order, with string literals decoded and other scalars parsed.

    Linear in the text: each literal is matched once from its opening quote, and an unclosed literal (a cut or
    garbled repr) ends the scan."""
    if len(text) > MAX_REPR_CHARS:
        raise MalformedRecord("response repr is too long to read")
    fields: list[_Field] = []
    pending: _Field | None = None
    pending_end = -1
    position = 0
    while True:
        match = _REPR_NEXT.search(text, position)
        if match is None:
            break
        quote = match.group("quote")
        if quote is not None:
            body = _REPR_BODY[quote].match(text, match.end())
            if body is None:
                break
            if pending is not None and match.start() == pending_end:
                pending.value = _literal(text[match.start() : body.end()])
                pending.literal = True
                pending = None
            position = body.end()
            continue
        key, position = match.group("key"), match.end()
        scalar = _REPR_SCALAR.match(text, position)
        if scalar and (scalar.end() == len(text) or text[scalar.end()] in ",) ]"):
            word = scalar.group(0)
            value: Any = {"None": None, "True": True, "False": False}.get(word, word)
            if isinstance(value, str):
                value = float(value) if "." in value else int(value)
            fields.append(_Field(key, value))
        else:
            pending = _Field(key, _NESTED)
            pending_end = position
            fields.append(pending)
    return fields


def repr_parts(text: str) -> CompletionParts:
    """Text, tool calls, model and usage out of ``str(ChatCompletion)`` (either ``ChatCompletion(id=...)`` or the
    pydantic ``id=... choices=[...]`` form)."""
    fields = _repr_fields(text)
    model = next((f.value for f in fields if f.key == "model" and f.literal), None)
    response_id = next((f.value for f in fields if f.key == "id" and f.literal), None)
    content: str | None = None
    calls: list[ToolCall] = []
    seen_message = False
    for index, item in enumerate(fields):
        if item.key == "message":
            seen_message = True
        elif seen_message and item.key == "content" and content is None and (item.literal or item.value is None):
            content = item.value
        elif seen_message and item.key == "tool_calls" and item.value is _NESTED:
            calls = _repr_tool_calls(fields[index + 1 :])
            break
    prompt = next((f.value for f in fields if f.key == "prompt_tokens" and isinstance(f.value, int)), None)
    completion = next((f.value for f in fields if f.key == "completion_tokens" and isinstance(f.value, int)), None)
    cached = next((f.value for f in fields if f.key == "cached_tokens" and isinstance(f.value, int)), None)
    if not any(f.key == "choices" for f in fields):
        raise MalformedRecord("response repr has no choices")
    return CompletionParts(
        text=content,
        tool_calls=tuple(calls),
        model=model if isinstance(model, str) else None,
        usage=(
            Usage(input_tokens=prompt, output_tokens=completion, cache_read_tokens=cached)
            if prompt is not None or completion is not None
            else None
        ),
        response_id=response_id if isinstance(response_id, str) else None,
    )


def _repr_tool_calls(fields: list[_Field]) -> list[ToolCall]:
    """``[ChatCompletionMessageToolCall(id='call_1', function=Function(arguments='{...}', name='f'), ...)]``."""
    calls: list[ToolCall] = []
    current: dict[str, str] = {}

    def flush() -> None:
        if "name" in current:
            calls.append(ToolCall(name=current["name"], arguments=current.get("arguments", ""), id=current.get("id")))
        current.clear()

    for item in fields:
        if item.key not in _TOOL_CALL_KEYS:
            break
        if item.key == "id" and item.literal:
            flush()
            current["id"] = item.value
        elif item.key in ("arguments", "name") and item.literal:
            current[item.key] = item.value
    flush()
    return calls


# --- building the call ---------------------------------------------------------------------------------------


def completion_call(
    record: Mapping[str, Any],
    source: SourceRef,
    *,
    session_id: str | None,
    caller: str | None,
) -> LLMCall:
    """A chat completion as both AG2 loggers write it (``request``, ``response``, times, cost, is_cached)."""
    request = _request(record.get("request"))
    messages = prompt_messages(request.get("messages"))
    response = loads_if_json_text(record.get("response"))
    parts = response_parts(response)
    start, end = record.get("start_time"), record.get("end_time")
    is_cached = optional_int(record.get("is_cached"))
    return LLMCall(
        call_id=_completion_id(record, parts, source),
        source=source,
        messages=messages,
        response=parts.text,
        response_tool_calls=parts.tool_calls,
        tools=_tools(request),
        model=parts.model or optional_str(request.get("model")),
        caller=Caller(agent=caller),
        session_id=session_id,
        usage=parts.usage,
        latency_ms=latency_ms(start, end),
        started_at=iso_utc(start),
        ended_at=iso_utc(end),
        status="error" if parts.error else "ok",
        error=parts.error,
        metadata=scalar_metadata(
            {
                "model_requested": request.get("model"),
                "cost_usd": optional_float(record.get("cost")),
                "is_cached": bool(is_cached) if is_cached is not None else None,
                "client_id": record.get("client_id"),
                "wrapper_id": record.get("wrapper_id"),
            }
        ),
    )


def _completion_id(record: Mapping[str, Any], parts: CompletionParts, source: SourceRef) -> str:
    """``invocation_id``: one per ``create()``; a failed config and the retry that follows share it, so a failed
    attempt gets its position appended."""
    invocation = optional_str(record.get("invocation_id"))
    if invocation is None:
        return parts.response_id or fallback_id(source)
    return f"{invocation}:{source.position}" if parts.error else invocation


def event_call(event: Mapping[str, Any], source: SourceRef, *, messages_raw: Any = None) -> LLMCall:
    """An autogen_core ``LLMCall`` event (or a stream's start messages joined to its ``LLMStreamEnd``)."""
    messages = prompt_messages(event.get("messages") if messages_raw is None else messages_raw)
    parts = response_parts(event.get("response"))
    agent_id = optional_str(event.get("agent_id"))
    prompt = optional_int(event.get("prompt_tokens"))
    completion = optional_int(event.get("completion_tokens"))
    usage = parts.usage
    if prompt is not None or completion is not None:
        usage = Usage(
            input_tokens=prompt,
            output_tokens=completion,
            cache_read_tokens=usage.cache_read_tokens if usage else None,
        )
    return LLMCall(
        call_id=parts.response_id or fallback_id(source),
        source=source,
        messages=messages,
        response=parts.text,
        response_tool_calls=parts.tool_calls,
        tools=openai_tool_definitions(event.get("tools")),
        model=parts.model,
        caller=Caller(agent=agent_id.split("/", 1)[0] if agent_id else None),
        usage=usage,
        status="error" if parts.error else "ok",
        error=parts.error,
        metadata=scalar_metadata({"agent_id": agent_id, "event": event.get("type")}),
    )


# --- the SQLite logger ---------------------------------------------------------------------------------------

COMPLETION_COLUMNS = (
    "id",
    "invocation_id",
    "client_id",
    "wrapper_id",
    "session_id",
    "source_name",
    "request",
    "response",
    "is_cached",
    "cost",
    "start_time",
    "end_time",
)


def _agent_names(db: sqlite3.Connection, names: set[str]) -> dict[tuple[Any, Any], str | None]:
    """``(session_id, wrapper_id) -> agent name`` from ``agents``; None where two agents share a wrapper."""
    if "agents" not in names or not {"wrapper_id", "name", "session_id"} <= set(table_columns(db, "agents")):
        return {}
    found: dict[tuple[Any, Any], str | None] = {}
    for session, wrapper, name in db.execute(
        "SELECT session_id, wrapper_id, name FROM agents WHERE wrapper_id IS NOT NULL AND wrapper_id != '' "
        f"LIMIT {MAX_AGENTS}"
    ):
        key = (session, str(wrapper))
        if not isinstance(name, str) or not name:
            continue
        found[key] = name if found.get(key, name) == name else None
    return found


class AutoGenSqliteReader(FileReader):
    name = "autogen-sqlite"
    priority = 130
    description = (
        "AutoGen / AG2 runtime logging SQLite database (logs.db): chat_completions with JSON request and "
        "response, agents for the caller."
    )

    def claims(self, sample: FileSample) -> bool:
        if not sample.is_sqlite:
            return False
        tables = sample.sqlite_tables()
        return "chat_completions" in tables and bool({"agents", "oai_wrappers", "oai_clients"} & tables)

    def read_file(self, path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        db = open_database(path, ctx)
        if db is None:
            return
        position = "chat_completions"
        try:
            names = table_names(db)
            present = set(table_columns(db, "chat_completions"))
            if not {"request", "response"} <= present:
                ctx.skip("chat_completions has no request and response columns", path, position)
                return
            agents = _agent_names(db, names) if "source_name" not in present else {}
            selected = [c for c in COMPLETION_COLUMNS if c in present]
            order = "id" if "id" in present else "rowid"
            cursor = db.execute(
                f"SELECT rowid, {', '.join(selected)} FROM chat_completions ORDER BY {order}",
            )
            for raw in cursor:
                position = f"chat_completions row {raw[0]}"
                row = dict(zip(selected, raw[1:], strict=True))
                caller = optional_str(row.get("source_name"))
                if caller is None and agents:
                    caller = agents.get((row.get("session_id"), str(row.get("wrapper_id"))))
                try:
                    yield completion_call(
                        row,
                        SourceRef(str(path), position, self.name),
                        session_id=optional_str(row.get("session_id")),
                        caller=caller,
                    )
                except DATA_ERRORS as exc:
                    ctx.skip(skip_reason(exc, "row"), path, position)
        except sqlite3.Error:
            ctx.skip("database cannot be read to its end", path, position)
        finally:
            db.close()


# --- the file logger and autogen_core event lines ------------------------------------------------------------

_EVENT_MARK = re.compile(rb'"type":\s*"(?:LLMCall|LLMStreamStart|LLMStreamEnd)"')


def _head_has_event(head: bytes) -> bool:
    """A whole line of the head that holds an autogen_core LLM event as JSON (after any logging prefix)."""
    for raw in head.split(b"\n")[:-1][:HEAD_LINES]:
        if not _EVENT_MARK.search(raw):
            continue
        try:
            record = json.loads(raw[raw.index(b"{") :])
        except (ValueError, RecursionError):
            continue
        if isinstance(record, Mapping) and _is_event(record):
            return True
    return False


def _is_completion_line(record: Mapping[str, Any]) -> bool:
    return "invocation_id" in record and "request" in record and "response" in record and "wrapper_id" in record


def _is_event(record: Mapping[str, Any]) -> bool:
    return record.get("type") in ("LLMCall", "LLMStreamStart", "LLMStreamEnd") and (
        "messages" in record or "response" in record
    )


@dataclass
class _FileState:
    """What a runtime.log needs across lines: the current session, agent names, open streams."""

    session_id: str | None = None
    agents: dict[str, str] = field(default_factory=dict)
    streams: dict[str | None, Any] = field(default_factory=dict)


class AutoGenFileReader(FileReader):
    name = "autogen-file"
    priority = 140  # before openai-chat (200): a runtime.log line has ``request`` and ``response`` too
    description = (
        "AutoGen / AG2 file logger (autogen_logs/runtime.log: a session line, then JSON lines whose response is "
        "a pydantic repr) and autogen_core.events log lines holding LLMCall events."
    )

    def claims(self, sample: FileSample) -> bool:
        if sample.head.lstrip().startswith(SESSION_HEADER.encode()):
            return True
        if _head_has_event(sample.head):
            return True
        return any(isinstance(r, Mapping) and (_is_completion_line(r) or _is_event(r)) for r in sample.records)

    def read_file(self, path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        state = _FileState()
        with open_binary(path) as stream:
            for number, line in iter_lines(stream):
                position = str(number)
                if line is None:
                    ctx.skip("log line too long to read", path, position)
                    continue
                text = line.decode("utf-8", errors="replace").strip()
                if not text:
                    continue
                try:
                    call = self._line(text, state, SourceRef(str(path), position, self.name))
                except DATA_ERRORS as exc:
                    ctx.skip(skip_reason(exc), path, position)
                    continue
                if call is not None:
                    yield call

    def _line(self, text: str, state: _FileState, source: SourceRef) -> LLMCall | None:
        header = text.find(SESSION_HEADER)
        if header >= 0 and not text.startswith("{"):
            state.session_id = text[header + len(SESSION_HEADER) :].strip() or None
            state.streams.clear()
            state.agents.clear()  # python ids of a new process mean nothing in the old one
            return None
        if text.startswith(LOGGER_FAILURE):
            raise MalformedRecord("the AutoGen logger failed to write this record")
        brace = text.find("{")
        if brace < 0:
            return None  # other log lines (runtime start-up, warnings) hold no call
        try:
            record = json.loads(text[brace:])
        except (ValueError, RecursionError) as exc:
            raise MalformedRecord("invalid JSON") from exc
        if not isinstance(record, Mapping):
            raise MalformedRecord("log line is not a JSON object")
        if _is_completion_line(record):
            caller = optional_str(record.get("source_name"))
            if caller is None:
                caller = state.agents.get(str(record.get("wrapper_id")))
            return completion_call(record, source, session_id=state.session_id, caller=caller)
        if _is_event(record):
            return self._event(record, state, source)
        if "agent_name" in record and "wrapper_id" in record:  # a new agent: remember it for old logs
            name = optional_str(record.get("agent_name"))
            if name and len(state.agents) < MAX_AGENTS:
                state.agents[str(record.get("wrapper_id"))] = name
        return None  # events, wrappers, clients and function calls are not LLM calls

    @staticmethod
    def _event(record: Mapping[str, Any], state: _FileState, source: SourceRef) -> LLMCall | None:
        """An event line; a logging prefix's time is local and zone-less, so it is not taken as the start."""
        kind = record.get("type")
        agent = optional_str(record.get("agent_id"))
        if kind == "LLMStreamStart":
            if len(state.streams) >= MAX_PENDING_STREAMS:
                state.streams.clear()
            state.streams[agent] = record.get("messages")
            return None
        if kind == "LLMStreamEnd":
            messages = state.streams.pop(agent, None)
            if messages is None:
                raise MalformedRecord("stream end without its start")
            return event_call(record, source, messages_raw=messages)
        return event_call(record, source)
