"""OpenTelemetry traces: OTLP JSON files and the Python SDK's ConsoleSpanExporter output.

Two readers share this module:

- ``OtlpReader`` (``otlp``): OTLP JSON, as the OTLP File Exporter and the Collector's file exporter write it: JSON
  Lines, one ``TracesData`` (``{"resourceSpans": [{resource, scopeSpans: [{scope, spans}]}]}``) a line, or one
  such document (or an array of them). Attribute values are ``AnyValue`` objects (``intValue`` is a string);
  ids are hex as the OTLP/JSON encoding says, or base64 as generic protobuf-JSON writers emit them.
- ``OtelConsoleReader`` (``otel-console``): ``ReadableSpan.to_json()`` objects as ``ConsoleSpanExporter`` prints
  them: pretty-printed JSON objects one after another (not JSON Lines), ``context.trace_id``/``span_id`` as
  ``0x``-prefixed hex, flat attribute maps, ISO timestamps. Single-line and JSON-array variants are read too.

One call per LLM span; agent, chain, task, workflow and tool spans only give context. Three attribute dialects are
told apart per span by the attribute keys present: OpenInference (``openinference.span.kind``, ``llm.*``),
OpenLLMetry/Traceloop (indexed ``gen_ai.prompt.{i}.*``, ``llm.request.type``, ``traceloop.*``) and the OTel GenAI
semantic conventions (``gen_ai.operation.name``, ``gen_ai.input.messages``, and the older content events).

Caller and session come from ancestor spans, which may stand on other lines or later in the file. Each file is
therefore read twice: the first pass keeps, for every span, only its parent key, whether it is an agent or a
task/chain/workflow span, that span's name and its session id (a few short strings per span, so memory grows with
the number of spans in the file, never with their content: about 0.4 KB a span, some 40 MB for 100,000 spans);
the second pass converts the LLM spans one at a time with the ancestors resolved from that index. JSON Lines are
read a line at a time; a file that is one pretty-printed document is held whole while it is parsed (up to
``MAX_DOCUMENT_BYTES``, as for any JSON document). ``call_id`` is the span id as lower-case hex.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slmscout.traces.content import (
    MalformedRecord,
    anthropic_content_text,
    binary_placeholder,
    content_text,
    first_str,
    loads_if_json_text,
    optional_str,
    value_text,
)
from slmscout.traces.reader import DATA_ERRORS, FileReader, ReadContext, skip_reason
from slmscout.traces.record import Caller, JsonScalar, LLMCall, Message, SourceRef, ToolCall, ToolDefinition, Usage
from slmscout.traces.source import (
    MAX_DOCUMENT_BYTES,
    MAX_LINE_BYTES,
    FileSample,
    RawRecord,
    Skip,
    iter_json_records,
    iter_lines,
    open_binary,
    read_head,
)
from slmscout.traces.timestamps import iso_utc, latency_ms

MAX_VALUE_DEPTH = 32  # AnyValue / attribute nesting deeper than this is not trace data
MAX_ANCESTORS = 10_000  # parent walk bound (cycles in broken files end here too)
MAX_INDEX = 1_000_000  # highest message/part index read from flattened attributes
MAX_CONSOLE_OBJECT_BYTES = MAX_LINE_BYTES
BOM = b"\xef\xbb\xbf"  # the OTel file-serialization draft asks for a UTF-8 byte order mark

# gen_ai.operation.name values that are a model call, and those that are not
LLM_OPERATIONS = frozenset(
    {"chat", "text_completion", "generate_content", "completion", "chat.completions", "text.completions"}
)
NON_LLM_OPERATIONS = frozenset(
    {
        "embeddings",
        "embedding",
        "execute_tool",
        "invoke_agent",
        "create_agent",
        "invoke_workflow",
        "retrieval",
        "create_conversation",
    }
)
CONTENT_EVENTS = frozenset(
    {
        "gen_ai.client.inference.operation.details",
        "gen_ai.system.message",
        "gen_ai.user.message",
        "gen_ai.assistant.message",
        "gen_ai.tool.message",
        "gen_ai.choice",
        "gen_ai.content.prompt",
        "gen_ai.content.completion",
    }
)
EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
STRUCTURED_KEYS = frozenset(
    {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.tool.definitions"}
)
SESSION_KEYS = ("gen_ai.conversation.id", "session.id")
SESSION_PROPERTIES = ("session_id", "sessionId", "session", "conversation_id", "thread_id")
ASSOCIATION = "traceloop.association.properties."
# attributes the first pass reads from every span (the rest of a non-LLM span is never decoded)
CONTEXT_KEYS = frozenset(
    {
        "gen_ai.operation.name",
        "openinference.span.kind",
        "traceloop.span.kind",
        "llm.request.type",
        "gen_ai.agent.name",
        "agent.name",
        "traceloop.entity.name",
        "traceloop.workflow.name",
        "gen_ai.workflow.name",
        "graph.node.name",
        *SESSION_KEYS,
    }
)
NESTED_ROOTS = frozenset({"llm", "gen_ai", "openinference", "traceloop", "session", "agent", "graph"})
PARAMETERS = ("temperature", "max_tokens", "max_completion_tokens", "top_p", "top_k", "seed")

_HEX = re.compile(r"[0-9a-fA-F]+")
_ROLE_NONE, _ROLE_AGENT, _ROLE_MODULE, _ROLE_WORKFLOW = 0, 1, 2, 3


# --- values, ids, times ------------------------------------------------------------------------------------


def any_value(value: Any, depth: int = 0) -> Any:
    """A Python value from an OTLP ``AnyValue`` (``{"stringValue": ...}``, ``{"intValue": "812"}``, ...)."""
    if not isinstance(value, Mapping):
        return value
    if depth > MAX_VALUE_DEPTH:
        raise MalformedRecord("attribute value nested too deeply")
    for key, kind in _ANY_VALUE_KEYS:
        if key not in value:
            continue
        raw = value[key]
        if kind == "string":
            return raw if isinstance(raw, str) else optional_str(raw)
        if kind == "int":
            return _integer(raw)
        if kind == "double":
            return _double(raw)
        if kind == "bool":
            return raw if isinstance(raw, bool) else None
        if kind == "bytes":
            return binary_placeholder("bytes", str(raw))
        inner = raw.get("values") if isinstance(raw, Mapping) else None
        items = inner if isinstance(inner, list) else []
        if kind == "array":
            return [any_value(item, depth + 1) for item in items]
        return {
            item["key"]: any_value(item.get("value"), depth + 1)
            for item in items
            if isinstance(item, Mapping) and isinstance(item.get("key"), str)
        }
    return None


_ANY_VALUE_KEYS = (
    ("stringValue", "string"),
    ("string_value", "string"),
    ("intValue", "int"),
    ("int_value", "int"),
    ("doubleValue", "double"),
    ("double_value", "double"),
    ("boolValue", "bool"),
    ("bool_value", "bool"),
    ("arrayValue", "array"),
    ("array_value", "array"),
    ("kvlistValue", "kvlist"),
    ("kvlist_value", "kvlist"),
    ("bytesValue", "bytes"),
    ("bytes_value", "bytes"),
)


def _integer(value: Any) -> int | None:
    """An int from an int, an integral float or a decimal string (OTLP/JSON writes 64-bit ints as strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and 0 < len(value) <= 24:
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return None


def _double(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and len(value) <= 64:
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _count(value: Any) -> int | None:
    number = _integer(value)
    return number if number is not None and number >= 0 else None


def normalize_id(value: Any) -> str | None:
    """A trace or span id as lower-case hex: from hex (32/16 characters, ``0x`` prefix allowed) or from the
    base64 that generic protobuf-JSON writers emit (24/12 characters). All-zero and empty ids are no id."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    if not text or len(text) > 128:
        return None
    hexed: str | None = None
    if len(text) in (32, 16) and _HEX.fullmatch(text):
        hexed = text.lower()
    else:
        try:
            raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) in (16, 8):
            hexed = raw.hex()
        elif _HEX.fullmatch(text):
            hexed = text.lower()
        else:
            return text
    return None if not hexed.strip("0") else hexed


def _nanos(value: Any) -> int | None:
    """Nanoseconds since the epoch: a decimal string or number, or the ``{low, high}`` 32-bit halves some
    JavaScript serializers write for 64-bit values."""
    if isinstance(value, Mapping):
        low, high = _integer(value.get("low")), _integer(value.get("high"))
        value = ((high & 0xFFFFFFFF) << 32) | (low & 0xFFFFFFFF) if low is not None and high is not None else None
    number = _integer(value)
    return number if number is not None and number > 0 else None


# --- one span, as read from either shape ---------------------------------------------------------------------


Wanted = Callable[[str], bool]


@dataclass(slots=True)
class Span:
    """One span of either shape, its attributes and events still raw (decoded only when asked for)."""

    position: str
    span_id: str
    trace_id: str | None
    parent_id: str | None
    name: str
    start: Any  # nanoseconds (OTLP) or ISO text (console)
    end: Any
    error: bool
    raw_attributes: Any
    raw_events: Any
    console: bool
    service: str | None = None
    scope: str | None = None

    @property
    def key(self) -> str:
        return f"{self.trace_id}:{self.span_id}"

    @property
    def parent_key(self) -> str | None:
        return f"{self.trace_id}:{self.parent_id}" if self.parent_id else None

    def attribute_keys(self) -> list[str]:
        raw = self.raw_attributes
        if isinstance(raw, Mapping):
            return [k for k in raw if isinstance(k, str)]
        if isinstance(raw, list):
            return [i["key"] for i in raw if isinstance(i, Mapping) and isinstance(i.get("key"), str)]
        return []

    def attributes(self, wanted: Wanted | None = None) -> dict[str, Any]:
        return _attributes(self.raw_attributes, self.console, wanted)

    def event_names(self) -> list[str]:
        raw = self.raw_events
        if not isinstance(raw, list):
            return []
        return [e["name"] for e in raw if isinstance(e, Mapping) and isinstance(e.get("name"), str)]

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        raw = self.raw_events
        if not isinstance(raw, list):
            return []
        out = []
        for event in raw:
            if isinstance(event, Mapping) and isinstance(event.get("name"), str):
                out.append((event["name"], _attributes(event.get("attributes"), self.console, None)))
        return out

    def start_iso(self) -> str | None:
        return iso_utc(self.start)

    def end_iso(self) -> str | None:
        return iso_utc(self.end)

    def latency(self) -> float | None:
        if isinstance(self.start, int) and isinstance(self.end, int):
            return (self.end - self.start) / 1e6 if self.end >= self.start else None
        return latency_ms(self.start, self.end)


def _attributes(raw: Any, console: bool, wanted: Wanted | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(raw, Mapping):  # the console shape, and writers that emit a plain map
        for key, value in raw.items():
            if isinstance(key, str) and (wanted is None or wanted(key)):
                out[key] = value if console else _maybe_any_value(value)
    elif isinstance(raw, list):
        for item in raw:
            if not isinstance(item, Mapping):
                continue
            key = item.get("key")
            if isinstance(key, str) and (wanted is None or wanted(key)):
                out[key] = any_value(item.get("value"))
    return out


def _maybe_any_value(value: Any) -> Any:
    if isinstance(value, Mapping) and any(k in value for k, _ in _ANY_VALUE_KEYS):
        return any_value(value)
    return value


def _otlp_error(status: Any) -> bool:
    if not isinstance(status, Mapping):
        return False
    code = status.get("code")
    return code in (2, "2", "STATUS_CODE_ERROR", "ERROR")


def _console_error(record: Mapping[str, Any]) -> bool:
    status = record.get("status")
    code = status.get("status_code") if isinstance(status, Mapping) else record.get("status_code")
    return isinstance(code, str) and code.upper().endswith("ERROR")


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in mapping:
            return mapping[key]
    return None


def is_traces_data(record: Any) -> bool:
    return isinstance(record, Mapping) and isinstance(_first(record, "resourceSpans", "resource_spans"), list)


def _otlp_spans(record: Any, position: str, report: Callable[[str, str], None]) -> Iterator[Span]:
    """The spans of one OTLP ``TracesData`` record; structural problems are reported, not raised."""
    if not isinstance(record, Mapping):
        report("record is not a JSON object", position)
        return
    resource_spans = _first(record, "resourceSpans", "resource_spans")
    if not isinstance(resource_spans, list):
        report("record has no resourceSpans list", position)
        return
    for resource_index, entry in enumerate(resource_spans):
        if not isinstance(entry, Mapping):
            report("resourceSpans entry is not an object", f"{position} resource {resource_index}")
            continue
        resource = entry.get("resource")
        resource_attrs = _attributes(resource.get("attributes"), False, None) if isinstance(resource, Mapping) else {}
        service = optional_str(resource_attrs.get("service.name"))
        scopes = _first(entry, "scopeSpans", "scope_spans", "instrumentationLibrarySpans")
        if not isinstance(scopes, list):
            continue
        for scope_entry in scopes:
            if not isinstance(scope_entry, Mapping):
                report("scopeSpans entry is not an object", f"{position} resource {resource_index}")
                continue
            scope = _first(scope_entry, "scope", "instrumentationLibrary")
            scope_name = optional_str(scope.get("name")) if isinstance(scope, Mapping) else None
            spans = scope_entry.get("spans")
            if not isinstance(spans, list):
                continue
            for span_index, raw in enumerate(spans):
                span = _otlp_span(raw, position, span_index, service, scope_name)
                if isinstance(span, Span):
                    yield span
                else:
                    report(span, f"{position} span #{span_index}")


def _otlp_span(raw: Any, position: str, index: int, service: str | None, scope: str | None) -> Span | str:
    if not isinstance(raw, Mapping):
        return "span is not an object"
    span_id = normalize_id(_first(raw, "spanId", "span_id"))
    if span_id is None:
        return "span has no span id"
    name = raw.get("name")
    return Span(
        position=f"{position} span {span_id}",
        span_id=span_id,
        trace_id=normalize_id(_first(raw, "traceId", "trace_id")),
        parent_id=normalize_id(_first(raw, "parentSpanId", "parent_span_id")),
        name=name if isinstance(name, str) else "",
        start=_nanos(_first(raw, "startTimeUnixNano", "start_time_unix_nano")),
        end=_nanos(_first(raw, "endTimeUnixNano", "end_time_unix_nano")),
        error=_otlp_error(raw.get("status")),
        raw_attributes=raw.get("attributes"),
        raw_events=raw.get("events"),
        console=False,
        service=service,
        scope=scope,
    )


def is_console_span(record: Any) -> bool:
    """The ``ReadableSpan.to_json()`` shape: a name, ``context.span_id`` and an attributes map (or null)."""
    if not isinstance(record, Mapping) or not isinstance(record.get("name"), str):
        return False
    context = record.get("context")
    attributes = record.get("attributes", {})
    return (
        isinstance(context, Mapping)
        and isinstance(context.get("span_id"), str)
        and (attributes is None or isinstance(attributes, Mapping))
        and "attributes" in record
    )


def _console_spans(record: Any, position: str, report: Callable[[str, str], None]) -> Iterator[Span]:
    if not is_console_span(record):
        report("record is not a console-exporter span", position)
        return
    context = record["context"]
    span_id = normalize_id(context.get("span_id"))
    if span_id is None:
        report("span has no span id", position)
        return
    resource = record.get("resource")
    resource_attrs = resource.get("attributes") if isinstance(resource, Mapping) else None
    service = optional_str(resource_attrs.get("service.name")) if isinstance(resource_attrs, Mapping) else None
    yield Span(
        position=f"{position} span {span_id}",
        span_id=span_id,
        trace_id=normalize_id(context.get("trace_id")),
        parent_id=normalize_id(record.get("parent_id")),
        name=record["name"],
        start=record.get("start_time"),
        end=record.get("end_time"),
        error=_console_error(record),
        raw_attributes=record.get("attributes"),
        raw_events=record.get("events"),
        console=True,
        service=service,
    )


# --- reading console-exporter files ------------------------------------------------------------------------


def iter_object_records(path: Path, max_object_bytes: int = MAX_CONSOLE_OBJECT_BYTES) -> Iterator[RawRecord | Skip]:
    """The JSON objects of a file holding them one after another, pretty-printed or one a line, streamed.

    This is how ConsoleSpanExporter writes (``to_json()`` indents, and spans follow each other with no separator)
    and it covers OTLP JSON Lines and a pretty-printed OTLP document too. An object starts with a line that begins
    with ``{`` and ends with a line that is ``}`` at column 0 (nested braces are indented; JSON strings hold no raw
    newlines); a line that parses alone is an object by itself. Text between objects (other program output on the
    same stream) is reported once per run of lines; an object over ``max_object_bytes`` is read past, never held.
    A file that opens with ``[`` is one JSON array, read by ``iter_json_records``.
    """
    if read_head(path, 4096).removeprefix(BOM).lstrip()[:1] == b"[":
        yield from iter_json_records(path)
        return
    block: list[bytes] = []
    size = 0
    start = 0
    dropping = False  # inside an object too large to hold, until its closing line
    in_noise = False
    with open_binary(path) as stream:
        for number, line in iter_lines(stream, max_object_bytes):
            if line is None:
                if block:
                    yield Skip(str(start), f"line longer than {max_object_bytes} bytes")
                    dropping, block, size = True, [], 0
                elif not dropping:
                    yield Skip(str(number), f"line longer than {max_object_bytes} bytes")
                continue
            if number == 1:
                line = line.removeprefix(BOM)
            at_column_0 = line.startswith(b"{")  # inside an object only the top level starts at column 0
            closes = line.rstrip(b"\r\n") == b"}"
            if dropping:
                if closes or at_column_0:
                    dropping = False
                if not at_column_0:
                    continue
            if block and at_column_0:  # a new object before the previous one closed
                yield Skip(str(start), "invalid JSON")
                block, size = [], 0
            if block:
                block.append(line)
                size += len(line)
                if size > max_object_bytes:
                    yield Skip(str(start), f"JSON object larger than {max_object_bytes} bytes")
                    block, size, dropping = [], 0, True
                elif closes:
                    yield _parsed(block, start)
                    block, size = [], 0
                continue
            stripped = line.strip()
            if not stripped:
                continue
            if not stripped.startswith(b"{"):
                if not in_noise:
                    yield Skip(str(number), "text outside a JSON object")
                in_noise = True
                continue
            in_noise = False
            parsed = _parse_json(stripped)
            if parsed is not _INVALID:
                yield RawRecord(str(number), parsed)
            else:
                block, size, start = [line], len(line), number
    if block:
        yield _parsed(block, start)


def _parsed(block: list[bytes], start: int) -> RawRecord | Skip:
    parsed = _parse_json(b"".join(block))
    return Skip(str(start), "invalid JSON") if parsed is _INVALID else RawRecord(str(start), parsed)


_INVALID = object()


def _parse_json(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return _INVALID


_CONSOLE_HEAD = re.compile(
    rb'^(?:\xef\xbb\xbf)?\s*\{\s*"name":\s*"(?:[^"\\]|\\.)*",\s*"context":\s*\{\s*"trace_id":\s*"0x[0-9a-f]{32}",'
    rb'\s*"span_id":\s*"0x[0-9a-f]{16}"'
)


_OTLP_HEAD = re.compile(rb'^(?:\xef\xbb\xbf)?\s*\{\s*"resource_?[sS]pans"\s*:\s*\[')


def _head_console_object(head: bytes) -> Any:
    """The first object of a console file's head, when it fits in the head."""
    text = head.removeprefix(BOM).decode("utf-8", errors="replace").lstrip()
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except (ValueError, RecursionError):
        return None
    return value


# --- the index of every span's context (first pass) --------------------------------------------------------


@dataclass(slots=True)
class SpanContext:
    """What the first pass keeps of a span: enough to resolve callers, modules and sessions of its descendants."""

    parent: str | None
    role: int
    name: str | None
    session: str | None
    is_llm: bool
    dialect: str


@dataclass
class SpanIndex:
    """Every span of one file by ``trace:span`` key, and which spans have an LLM span as a child."""

    spans: dict[str, SpanContext] = field(default_factory=dict)
    llm_parents: set[str] = field(default_factory=set)

    def add(self, span: Span) -> None:
        context = span_context(span)
        self.spans[span.key] = context
        if context.is_llm and context.parent:
            self.llm_parents.add(context.parent)

    def ancestors(self, start: str | None) -> Iterator[SpanContext]:
        seen: set[str] = set()
        key = start
        while key is not None and key not in seen and len(seen) < MAX_ANCESTORS:
            seen.add(key)
            context = self.spans.get(key)
            if context is None:
                return
            yield context
            key = context.parent


def _wanted_context(key: str) -> bool:
    return key in CONTEXT_KEYS or key.startswith(ASSOCIATION) or key in NESTED_ROOTS


def span_context(span: Span) -> SpanContext:
    attrs = flat_view(span.attributes(_wanted_context))
    is_llm, dialect = classify(attrs, span.attribute_keys(), span.event_names())
    role, name = _role(attrs, span.name)
    return SpanContext(span.parent_key, role, name, session_of(attrs), is_llm, dialect)


def _role(attrs: Mapping[str, Any], span_name: str) -> tuple[int, str | None]:
    operation = first_str(attrs, "gen_ai.operation.name")
    openinference = (first_str(attrs, "openinference.span.kind") or "").upper()
    traceloop = (first_str(attrs, "traceloop.span.kind") or "").lower()
    if operation == "invoke_agent" or openinference == "AGENT" or traceloop == "agent":
        name = first_str(attrs, "gen_ai.agent.name", "agent.name", "traceloop.entity.name")
        if name is None and span_name:
            name = span_name.removeprefix("invoke_agent ").strip() or span_name
        return _ROLE_AGENT, name
    if openinference == "CHAIN" or traceloop == "task":
        return _ROLE_MODULE, first_str(attrs, "graph.node.name", "traceloop.entity.name") or span_name or None
    if traceloop == "workflow" or operation == "invoke_workflow":
        name = first_str(attrs, "traceloop.entity.name", "traceloop.workflow.name", "gen_ai.workflow.name")
        return _ROLE_WORKFLOW, name or span_name or None
    return _ROLE_NONE, None


def session_of(attrs: Mapping[str, Any]) -> str | None:
    found = first_str(attrs, *SESSION_KEYS)
    if found:
        return found
    return first_str(attrs, *(ASSOCIATION + name for name in SESSION_PROPERTIES))


def _has_prefix(keys: Sequence[str], *prefixes: str) -> bool:
    return any(key.startswith(prefixes) for key in keys)


def classify(attrs: Mapping[str, Any], keys: Sequence[str], events: Sequence[str]) -> tuple[bool, str]:
    """Whether a span is an LLM call, and its attribute dialect (openinference, openllmetry or genai)."""
    operation = first_str(attrs, "gen_ai.operation.name")
    kind = first_str(attrs, "openinference.span.kind")
    if kind is not None:
        return kind.upper() == "LLM", "openinference"
    indexed = _has_prefix(keys, "gen_ai.prompt.", "gen_ai.completion.")
    request_type = first_str(attrs, "llm.request.type")
    traceloop = first_str(attrs, "traceloop.span.kind")
    if indexed or request_type is not None or traceloop is not None:
        if traceloop in ("workflow", "task", "agent", "tool") or request_type in ("embedding", "rerank"):
            return False, "openllmetry"
        if operation in NON_LLM_OPERATIONS:
            return False, "openllmetry"
        return indexed or request_type in ("chat", "completion") or operation in LLM_OPERATIONS, "openllmetry"
    if _has_prefix(keys, "llm.input_messages", "llm.output_messages", "llm.model_name", "llm.token_count."):
        return True, "openinference"
    if operation in LLM_OPERATIONS:
        return True, "genai"
    if operation in NON_LLM_OPERATIONS:
        return False, "genai"
    evidence = any(k in keys for k in ("gen_ai.request.model", "gen_ai.input.messages", "gen_ai.output.messages"))
    return evidence or any(e in CONTENT_EVENTS for e in events), "genai"


# --- content: the pieces every dialect produces ------------------------------------------------------------


@dataclass
class Content:
    """What a span says was sent and received; ``system`` is kept apart until the end (instructions given
    separately from the chat history)."""

    system: str | None = None
    messages: list[Message] = field(default_factory=list)
    response: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tools: tuple[ToolDefinition, ...] = ()
    finish_reason: str | None = None

    @property
    def has_input(self) -> bool:
        return bool(self.messages)

    @property
    def has_output(self) -> bool:
        return self.response is not None or bool(self.tool_calls)

    def fill_from(self, other: Content) -> None:
        if not self.has_input:
            self.messages = other.messages
        if not self.has_output:
            self.response, self.tool_calls = other.response, other.tool_calls
        self.system = self.system or other.system
        self.tools = self.tools or other.tools
        self.finish_reason = self.finish_reason or other.finish_reason

    def prompt(self) -> tuple[Message, ...]:
        system = [Message("system", self.system)] if self.system else []
        return (*system, *self.messages)


def json_value(value: Any) -> Any:
    """A value that may be JSON text (attributes often are, white space around it allowed): decoded when it is,
    as is otherwise."""
    if isinstance(value, str):
        decoded = loads_if_json_text(value.strip())
        if not isinstance(decoded, str):
            return decoded
    return value


_ANTHROPIC_BLOCKS = frozenset({"tool_use", "tool_result", "document"})


def flexible_text(content: Any, depth: int = 0) -> str:
    """Plain text of message content in any of the shapes traces carry: text, JSON text of a parts list,
    OpenAI or Anthropic parts (binary ones replaced by a placeholder), or ``{"text": {"value": ...}}``."""
    if content is None or depth > MAX_VALUE_DEPTH:
        return ""
    if isinstance(content, str):
        parsed = json_value(content)
        if parsed is content or not _parts_like(parsed):
            return content
        content = parsed
    if isinstance(content, Mapping):
        content = [content]
    if isinstance(content, list):
        pieces = []
        for part in content:
            if isinstance(part, str):
                pieces.append(part)
            elif isinstance(part, Mapping):
                pieces.append(_part_text(part, depth))
        return "\n".join(p for p in pieces if p)
    return value_text(content)


def _parts_like(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    return bool(items) and all(isinstance(i, Mapping) and ("type" in i or "text" in i) for i in items)


def _part_text(part: Mapping[str, Any], depth: int) -> str:
    kind = part.get("type")
    if kind in _ANTHROPIC_BLOCKS or (kind == "image" and "source" in part):
        return anthropic_content_text([part])
    if kind in ("blob", "file_data", "uri", "file"):
        return _binary_part(part)
    text = part.get("text")
    if isinstance(text, str):
        return text
    if isinstance(text, Mapping):  # Azure AI agents: {"text": {"value": ...}}
        return flexible_text(text.get("value"), depth + 1)
    if kind in (None, "text", "input_text", "output_text") and "content" in part:  # GenAI text parts
        return flexible_text(part.get("content"), depth + 1)
    try:
        return content_text([dict(part)])
    except MalformedRecord:
        return ""


def _binary_part(part: Mapping[str, Any]) -> str:
    kind = optional_str(part.get("modality")) or optional_str(part.get("type")) or "blob"
    payload = part.get("content")
    if not isinstance(payload, str):
        payload = _first(part, "uri", "file_id")
    if not isinstance(payload, str):
        payload = json.dumps(part, sort_keys=True, default=str)
    return binary_placeholder(kind, payload)


def tool_calls_from(raw: Any) -> tuple[ToolCall, ...]:
    """Tool calls in the OpenAI shape (``[{id, function: {name, arguments}}]``) or flat ``[{id, name,
    arguments}]``, possibly as JSON text; entries without a name are left out."""
    raw = json_value(raw)
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        return ()
    calls = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        function = item.get("function")
        body = function if isinstance(function, Mapping) else item
        name = optional_str(body.get("name"))
        if name:
            arguments = _first(body, "arguments", "input")
            calls.append(ToolCall(name, value_text(arguments), optional_str(item.get("id"))))
    return tuple(calls)


def tool_definitions_from(raw: Any) -> tuple[ToolDefinition, ...]:
    """Tool definitions as OpenAI (``{type, function: {...}}``), flat ``{name, description, parameters}`` or
    Anthropic ``{name, description, input_schema}`` objects, a list or JSON text; nameless entries left out."""
    raw = json_value(raw)
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        return ()
    tools = []
    for item in raw:
        item = json_value(item)
        if not isinstance(item, Mapping):
            continue
        function = item.get("function")
        body = function if isinstance(function, Mapping) else item
        name = optional_str(body.get("name"))
        if not name:
            continue
        description = optional_str(body.get("description")) or ""
        schema = json_value(_first(body, "parameters", "input_schema"))
        if schema is None:
            parameters = ""
        elif isinstance(schema, str):
            parameters = schema
        else:
            parameters = json.dumps(schema, sort_keys=True, default=str)
        tools.append(ToolDefinition(name, description, parameters))
    return tuple(tools)


def indexed(flat: Mapping[str, Any], prefix: str) -> list[tuple[int, dict[str, Any]]]:
    """Flattened list attributes ``{prefix}.{i}.{rest}`` grouped by index: ``[(i, {rest: value})]``, sorted."""
    marker = prefix + "."
    groups: dict[int, dict[str, Any]] = {}
    for key, value in flat.items():
        if not key.startswith(marker):
            continue
        head, _, rest = key[len(marker) :].partition(".")
        if rest and head.isdigit() and len(head) <= 7 and int(head) <= MAX_INDEX:
            groups.setdefault(int(head), {})[rest] = value
    return sorted(groups.items())


def flat_view(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes with nested maps and lists of maps flattened to dotted keys (``llm.input_messages`` as a list of
    ``{"message.role": ...}`` maps, as Phoenix re-nests them, becomes ``llm.input_messages.0.message.role``).
    The GenAI structured content attributes stay whole."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if key in STRUCTURED_KEYS or not _nested(value):
            out[key] = value
        else:
            _flatten_into(out, key, value, 0)
    return out


def _nested(value: Any) -> bool:
    return isinstance(value, Mapping) or (isinstance(value, list) and any(isinstance(v, Mapping) for v in value))


def _flatten_into(out: dict[str, Any], prefix: str, value: Any, depth: int) -> None:
    if depth > MAX_VALUE_DEPTH or not _nested(value):
        out[prefix] = value
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten_into(out, f"{prefix}.{key}", inner, depth + 1)
    else:
        for index, inner in enumerate(value):
            if isinstance(inner, Mapping):
                _flatten_into(out, f"{prefix}.{index}", inner, depth + 1)


# --- the OTel GenAI semantic conventions ---------------------------------------------------------------------


def parts_message(raw: Any) -> Message:
    """A GenAI ``{role, parts: [...]}`` message (text, tool_call, tool_call_response, blob, file_data, ...)."""
    if not isinstance(raw, Mapping):
        raise MalformedRecord("a message is not an object")
    role = optional_str(raw.get("role"))
    if role is None:
        raise MalformedRecord("a message has no role")
    texts, calls, response_ids = _parts(raw.get("parts", raw.get("content")))
    return Message(
        role=role,
        content="\n".join(t for t in texts if t),
        tool_calls=tuple(calls),
        name=optional_str(raw.get("name")),
        tool_call_id=response_ids[0] if response_ids else None,
    )


def _parts(parts: Any) -> tuple[list[str], list[ToolCall], list[str]]:
    texts: list[str] = []
    calls: list[ToolCall] = []
    response_ids: list[str] = []
    parts = json_value(parts)
    if isinstance(parts, str):
        return [parts], calls, response_ids
    if isinstance(parts, Mapping):
        parts = [parts]
    if not isinstance(parts, list):
        return texts, calls, response_ids
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind == "text":
            texts.append(value_text(_first(part, "content", "text")))
        elif kind == "tool_call":
            name = optional_str(part.get("name"))
            if name:
                calls.append(ToolCall(name, value_text(part.get("arguments")), optional_str(part.get("id"))))
        elif kind == "tool_call_response":
            texts.append(value_text(_first(part, "response", "result")))
            call_id = optional_str(part.get("id"))
            if call_id:
                response_ids.append(call_id.strip())
        elif kind in ("blob", "file_data", "uri", "file"):
            texts.append(_binary_part(part))
        elif kind not in ("reasoning", "thinking") and isinstance(part.get("content"), str):
            texts.append(part["content"])
    return texts, calls, response_ids


def _messages_list(raw: Any, what: str, default_role: str) -> list[Any]:
    value = json_value(raw)
    if value is None or value == "":
        return []
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, str):
        if value.lstrip()[:1] in ("[", "{"):  # JSON cut short, e.g. by an attribute length limit
            raise MalformedRecord(f"{what} is not valid JSON")
        return [{"role": default_role, "parts": [{"type": "text", "content": value}]}]
    if not isinstance(value, list):
        raise MalformedRecord(f"{what} is not a list of messages")
    return value


def genai_attribute_content(attrs: Mapping[str, Any]) -> Content:
    """Content from ``gen_ai.system_instructions`` / ``input.messages`` / ``output.messages`` /
    ``tool.definitions`` (structured values or JSON text), on the span or on the inference-details event."""
    content = Content()
    system = json_value(attrs.get("gen_ai.system_instructions"))
    if system:
        texts, _, _ = _parts(system)
        content.system = "\n".join(t for t in texts if t) or None
    for raw in _messages_list(attrs.get("gen_ai.input.messages"), "gen_ai.input.messages", "user"):
        content.messages.append(parts_message(raw))
    outputs = _messages_list(attrs.get("gen_ai.output.messages"), "gen_ai.output.messages", "assistant")
    if outputs:
        first = parts_message(outputs[0])
        content.response, content.tool_calls = first.content, first.tool_calls
        if isinstance(outputs[0], Mapping):
            content.finish_reason = optional_str(outputs[0].get("finish_reason"))
    content.tools = tool_definitions_from(attrs.get("gen_ai.tool.definitions"))
    return content


def _event_body(attrs: Mapping[str, Any]) -> dict[str, Any]:
    body = dict(attrs)
    inner = json_value(body.pop("gen_ai.event.content", None))
    if isinstance(inner, Mapping):
        body.update(inner)
    elif isinstance(inner, str):
        body.setdefault("content", inner)
    return body


def legacy_event_content(events: Sequence[tuple[str, Mapping[str, Any]]]) -> Content:
    """Content from the v1.28-1.36 span events (``gen_ai.{system,user,assistant,tool}.message``, ``gen_ai.choice``)
    and the pre-1.28 ones (``gen_ai.content.prompt`` / ``gen_ai.content.completion``)."""
    content = Content()
    choice_seen = False
    for name, attrs in events:
        role = EVENT_ROLES.get(name)
        if role is not None:
            body = _event_body(attrs)
            content.messages.append(
                Message(
                    role=optional_str(body.get("role")) or role,
                    content=flexible_text(body.get("content")),
                    tool_calls=tool_calls_from(body.get("tool_calls")),
                    tool_call_id=optional_str(body.get("id")) if role == "tool" else None,
                )
            )
        elif name == "gen_ai.choice" and not choice_seen:
            body = _event_body(attrs)
            if _integer(body.get("index")) not in (None, 0):
                continue
            choice_seen = True
            message = json_value(body.get("message"))
            if isinstance(message, Mapping):
                content.response = flexible_text(message.get("content"))
                content.tool_calls = tool_calls_from(message.get("tool_calls"))
            else:
                content.response = flexible_text(body.get("content")) if "content" in body else None
                content.tool_calls = tool_calls_from(body.get("tool_calls"))
            content.finish_reason = optional_str(body.get("finish_reason"))
        elif name == "gen_ai.content.prompt" and not content.messages:
            content.messages = _prompt_messages(json_value(attrs.get("gen_ai.prompt")))
        elif name == "gen_ai.content.completion" and not choice_seen:
            choice_seen = True
            _completion_into(content, json_value(attrs.get("gen_ai.completion")))
    return content


def _prompt_messages(prompt: Any) -> list[Message]:
    if isinstance(prompt, str):
        return [Message("user", prompt)] if prompt else []
    if isinstance(prompt, Mapping):
        prompt = prompt.get("messages", [prompt])
    if not isinstance(prompt, list):
        return []
    messages = []
    for item in prompt:
        if isinstance(item, str):
            messages.append(Message("user", item))
        elif isinstance(item, Mapping):
            messages.append(_plain_message(item, "user"))
    return messages


def _plain_message(item: Mapping[str, Any], default_role: str) -> Message:
    """An OpenAI-like ``{role, content, tool_calls?, name?, tool_call_id?}`` message, tolerant of odd content."""
    if "parts" in item:
        return parts_message({**item, "role": optional_str(item.get("role")) or default_role})
    return Message(
        role=optional_str(item.get("role")) or default_role,
        content=flexible_text(item.get("content")),
        tool_calls=tool_calls_from(item.get("tool_calls")),
        name=optional_str(item.get("name")),
        tool_call_id=optional_str(item.get("tool_call_id")),
    )


def _completion_into(content: Content, completion: Any) -> None:
    if isinstance(completion, list):
        items = [c for c in completion if isinstance(c, Mapping)]
        completion = items[0] if items else None
    if isinstance(completion, Mapping):
        message = completion.get("message")
        body = message if isinstance(message, Mapping) else completion
        content.response = flexible_text(body.get("content"))
        content.tool_calls = tool_calls_from(body.get("tool_calls"))
        content.finish_reason = optional_str(completion.get("finish_reason"))
    elif isinstance(completion, str):
        content.response = completion


def genai_content(attrs: Mapping[str, Any], events: Sequence[tuple[str, Mapping[str, Any]]]) -> Content:
    """GenAI content from the first source that has it: span attributes, the inference-details event, then the
    older span events."""
    content = genai_attribute_content(attrs)
    for name, event_attrs in events:
        if name == "gen_ai.client.inference.operation.details":
            content.fill_from(genai_attribute_content(event_attrs))
    if not (content.has_input and content.has_output):
        content.fill_from(legacy_event_content(events))
    return content


# --- OpenLLMetry / Traceloop ---------------------------------------------------------------------------------


def _indexed_tool_calls(fields: Mapping[str, Any]) -> tuple[ToolCall, ...]:
    calls = []
    for _, call in indexed(fields, "tool_calls"):
        name = optional_str(call.get("name"))
        if name:
            calls.append(ToolCall(name, value_text(json_value(call.get("arguments"))), optional_str(call.get("id"))))
    name = optional_str(fields.get("function_call.name"))  # the legacy OpenAI function_call
    if name:
        calls.append(ToolCall(name, value_text(fields.get("function_call.arguments"))))
    return tuple(calls)


def openllmetry_content(flat: Mapping[str, Any]) -> Content:
    """``gen_ai.prompt.{i}.role|content|tool_call_id|tool_calls.{j}.*``, ``gen_ai.completion.{i}.*`` (the first
    completion is the response) and ``llm.request.functions.{i}.name|description|parameters``."""
    content = Content()
    for _, fields in indexed(flat, "gen_ai.prompt"):
        content.messages.append(
            Message(
                role=optional_str(fields.get("role")) or "user",
                content=flexible_text(fields.get("content")),
                tool_calls=_indexed_tool_calls(fields),
                name=optional_str(fields.get("name")),
                tool_call_id=optional_str(fields.get("tool_call_id")),
            )
        )
    completions = indexed(flat, "gen_ai.completion")
    if completions:
        _, first = completions[0]
        content.response = flexible_text(first.get("content")) if "content" in first else None
        content.tool_calls = _indexed_tool_calls(first)
        if content.response is None and content.tool_calls:
            content.response = ""
        content.finish_reason = optional_str(first.get("finish_reason"))
    tools: list[dict[str, Any]] = []
    for _, fields in indexed(flat, "llm.request.functions"):
        tools.append({key: fields.get(key) for key in ("name", "description", "parameters")})
    content.tools = tool_definitions_from(tools)
    return content


# --- OpenInference -----------------------------------------------------------------------------------------


def _openinference_message(fields: Mapping[str, Any], default_role: str) -> Message:
    text = flexible_text(fields.get("message.content"))
    if not text:
        pieces = []
        for _, part in indexed(fields, "message.contents"):
            kind = part.get("message_content.type")
            if isinstance(part.get("message_content.text"), str):
                pieces.append(part["message_content.text"])
            url = part.get("message_content.image.image.url")
            if isinstance(url, str):
                pieces.append(binary_placeholder("image", url))
            elif kind in ("audio", "image", "file") or any(k.startswith("message_content.audio") for k in part):
                pieces.append(binary_placeholder(str(kind or "audio"), json.dumps(part, sort_keys=True, default=str)))
        text = "\n".join(pieces)
    calls = []
    for _, call in indexed(fields, "message.tool_calls"):
        name = optional_str(call.get("tool_call.function.name"))
        if name:
            arguments = value_text(json_value(call.get("tool_call.function.arguments")))
            calls.append(ToolCall(name, arguments, optional_str(call.get("tool_call.id"))))
    legacy = optional_str(fields.get("message.function_call_name"))
    if legacy:
        calls.append(ToolCall(legacy, value_text(fields.get("message.function_call_arguments_json"))))
    return Message(
        role=optional_str(fields.get("message.role")) or default_role,
        content=text,
        tool_calls=tuple(calls),
        name=optional_str(fields.get("message.name")),
        tool_call_id=optional_str(fields.get("message.tool_call_id")),
    )


def openinference_content(flat: Mapping[str, Any]) -> Content:
    """``llm.input_messages.{i}.message.*`` (contents and tool calls included), ``llm.output_messages`` (the first
    is the response), ``llm.tools.{i}.tool.json_schema``; ``llm.prompts``/``llm.choices`` and ``input.value`` /
    ``output.value`` when no messages were recorded (completions API, streaming)."""
    content = Content()
    content.messages = [_openinference_message(f, "user") for _, f in indexed(flat, "llm.input_messages")]
    outputs = indexed(flat, "llm.output_messages")
    if outputs:
        first = _openinference_message(outputs[0][1], "assistant")
        content.response, content.tool_calls = first.content, first.tool_calls
    if not content.messages:
        prompts = indexed(flat, "llm.prompts")
        if prompts:
            content.messages = [Message("user", value_text(p.get("prompt.text"))) for _, p in prompts]
        elif isinstance(flat.get("llm.prompts"), list):
            content.messages = [Message("user", value_text(p)) for p in flat["llm.prompts"]]
    if not content.has_output:
        choices = indexed(flat, "llm.choices")
        if choices:
            content.response = value_text(choices[0][1].get("completion.text"))
    if not content.messages:
        content.messages = _value_messages(flat.get("input.value"))
    if not content.has_output:
        _output_value_into(content, flat.get("output.value"))
    tools = []
    for _, fields in indexed(flat, "llm.tools"):
        schema = json_value(fields.get("tool.json_schema"))
        if schema is not None:
            tools.append(schema)
        elif "tool.name" in fields:
            tools.append(
                {
                    "name": fields.get("tool.name"),
                    "description": fields.get("tool.description"),
                    "parameters": fields.get("tool.parameters"),
                }
            )
    content.tools = tool_definitions_from(tools) or tool_definitions_from(flat.get("llm.tools"))
    return content


def _value_messages(value: Any) -> list[Message]:
    parsed = json_value(value)
    if isinstance(parsed, Mapping) and isinstance(parsed.get("messages"), list):
        return [_plain_message(m, "user") for m in parsed["messages"] if isinstance(m, Mapping)]
    if isinstance(parsed, str) and parsed:
        return [Message("user", parsed)]
    return []


def _output_value_into(content: Content, value: Any) -> None:
    parsed = json_value(value)
    if isinstance(parsed, Mapping):
        choices = parsed.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
            message = choices[0].get("message")
            if isinstance(message, Mapping):
                content.response = flexible_text(message.get("content"))
                content.tool_calls = tool_calls_from(message.get("tool_calls"))
                return
        if isinstance(parsed.get("content"), list):  # an Anthropic message
            content.response = anthropic_content_text(parsed["content"])
    elif isinstance(parsed, str) and parsed:
        content.response = parsed


# --- one LLM span to one call --------------------------------------------------------------------------------


def _usage(attrs: Mapping[str, Any], dialect: str) -> Usage | None:
    if dialect == "openinference":
        usage = Usage(
            input_tokens=_count(attrs.get("llm.token_count.prompt")),
            output_tokens=_count(attrs.get("llm.token_count.completion")),
            cache_read_tokens=_count(attrs.get("llm.token_count.prompt_details.cache_read")),
            cache_write_tokens=_count(attrs.get("llm.token_count.prompt_details.cache_write")),
        )
    else:
        usage = Usage(
            input_tokens=_first_count(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
            output_tokens=_first_count(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
            cache_read_tokens=_first_count(
                attrs, "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens"
            ),
            cache_write_tokens=_first_count(
                attrs, "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens"
            ),
        )
    if all(v is None for v in (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens)):
        return None if usage.cache_write_tokens is None else usage
    return usage


def _first_count(attrs: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = _count(attrs.get(key))
        if value is not None:
            return value
    return None


def _model(attrs: Mapping[str, Any], dialect: str) -> tuple[str | None, str | None]:
    """(responding model, requested model)."""
    if dialect == "openinference":
        requested = first_str(attrs, "llm.request.model_name", "llm.model_name", "gen_ai.request.model")
        return first_str(attrs, "llm.response.model_name", "llm.model_name", "gen_ai.response.model"), requested
    return first_str(attrs, "gen_ai.response.model"), first_str(attrs, "gen_ai.request.model")


def _exception_type(events: Sequence[tuple[str, Mapping[str, Any]]]) -> str | None:
    for name, event_attrs in events:
        if name == "exception":
            return first_str(event_attrs, "exception.type")
    return None


def _parameters(attrs: Mapping[str, Any]) -> dict[str, JsonScalar]:
    out: dict[str, JsonScalar] = {}
    invocation = json_value(attrs.get("llm.invocation_parameters"))
    for name in PARAMETERS:
        value = attrs.get(f"gen_ai.request.{name}")
        if value is None and isinstance(invocation, Mapping):
            value = invocation.get(name)
        if isinstance(value, (str, int, float, bool)):
            out[f"request.{name}"] = value
    return out


def convert_span(span: Span, context: SpanContext, index: SpanIndex, path: Path, reader: str) -> LLMCall:
    """The call one LLM span holds, its caller, module and session resolved through the span index."""
    attrs = span.attributes()
    events = span.events()
    flat = flat_view(attrs)
    dialect = context.dialect
    if dialect == "openinference":
        content = openinference_content(flat)
    elif dialect == "openllmetry":
        content = openllmetry_content(flat)
    else:
        content = Content()
    if not (content.has_input and content.has_output):
        content.fill_from(genai_content(attrs, events))
    responded, requested = _model(flat, dialect)

    agent = first_str(flat, "gen_ai.agent.name", "agent.name")
    module = None
    workflow = None
    session = context.session
    for ancestor in index.ancestors(context.parent):
        if ancestor.role == _ROLE_AGENT and agent is None:
            agent = ancestor.name
        elif ancestor.role == _ROLE_MODULE and module is None:
            module = ancestor.name
        elif ancestor.role == _ROLE_WORKFLOW and workflow is None:
            workflow = ancestor.name
        session = session or ancestor.session
        if agent and module and session:
            break
    module = module or workflow or first_str(flat, "traceloop.workflow.name")

    error = first_str(flat, "error.type")
    if span.error and error is None:
        error = _exception_type(events) or "error"
    metadata: dict[str, JsonScalar] = {
        "trace_id": span.trace_id,
        "parent_span_id": span.parent_id,
        "span_name": span.name or None,
        "otel_dialect": dialect,
        "provider": first_str(flat, "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"),
        "requested_model": requested,
        "finish_reason": content.finish_reason,
        "service_name": span.service,
        "scope": span.scope,
        "content_captured": content.has_input or content.has_output or content.system is not None,
    }
    metadata.update(_parameters(flat))
    if span.key in index.llm_parents:
        metadata["wraps_llm_span"] = True  # a framework span around an SDK span: the same call, seen twice
    return LLMCall(
        call_id=span.span_id,
        source=SourceRef(str(path), span.position, reader),
        messages=content.prompt(),
        response=content.response,
        response_tool_calls=content.tool_calls,
        tools=content.tools,
        model=responded or requested,
        caller=Caller(agent=agent, module=module),
        session_id=session,
        usage=_usage(flat, dialect),
        latency_ms=span.latency(),
        started_at=span.start_iso(),
        ended_at=span.end_iso(),
        status="error" if error else "ok",
        error=error,
        metadata={k: v for k, v in metadata.items() if v is not None},
    )


# --- the readers -------------------------------------------------------------------------------------------


class _SpanFileReader(FileReader):
    """Reads a file's spans twice: the first pass indexes every span's context, the second converts LLM spans."""

    @abstractmethod
    def _records(self, path: Path) -> Iterator[RawRecord | Skip]:
        """The file's JSON records."""

    @abstractmethod
    def _spans_of(self, record: Any, position: str, report: Callable[[str, str], None]) -> Iterator[Span]:
        """The spans of one record; problems go to ``report(reason, position)``."""

    def _spans(self, path: Path, report: Callable[[str, str], None]) -> Iterator[Span]:
        for item in self._records(path):
            if isinstance(item, Skip):
                report(item.reason, item.position)
            else:
                yield from self._spans_of(item.value, item.position, report)

    def read_file(self, path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        def report(reason: str, position: str) -> None:
            ctx.skip(reason, path, position)

        def ignore(reason: str, position: str) -> None:
            return None

        index = SpanIndex()
        for span in self._spans(path, report):
            try:
                index.add(span)
            except DATA_ERRORS as exc:
                report(f"span attributes unreadable ({type(exc).__name__})", span.position)
        converted: set[str] = set()
        for span in self._spans(path, ignore):
            context = index.spans.get(span.key)
            if context is None or not context.is_llm:
                continue
            if span.key in converted:
                report("duplicate span (same trace and span id)", span.position)
                continue
            converted.add(span.key)
            try:
                yield convert_span(span, context, index, path, self.name)
            except DATA_ERRORS as exc:
                report(skip_reason(exc, "span"), span.position)


class OtlpReader(_SpanFileReader):
    name = "otlp"
    priority = 120  # a record with resourceSpans is OTLP whatever else it holds
    description = (
        'OpenTelemetry OTLP JSON traces: JSON Lines of {"resourceSpans": [...]} (or one such document); one call '
        "per LLM span, in the OTel GenAI, OpenLLMetry/Traceloop or OpenInference attribute dialect."
    )

    def claims(self, sample: FileSample) -> bool:
        records = sample.records
        if any(is_traces_data(r) for r in records):
            return True
        if any(isinstance(r, Mapping) for r in records):
            return False
        # no object sampled: a document too large to sample, or pretty-printed documents one after another
        return _OTLP_HEAD.match(sample.head) is not None

    def _records(self, path: Path) -> Iterator[RawRecord | Skip]:
        return iter_object_records(path, MAX_DOCUMENT_BYTES)

    def _spans_of(self, record: Any, position: str, report: Callable[[str, str], None]) -> Iterator[Span]:
        return _otlp_spans(record, position, report)


class OtelConsoleReader(_SpanFileReader):
    name = "otel-console"
    priority = 125
    description = (
        "OpenTelemetry Python ConsoleSpanExporter output (span.to_json(): name, context.trace_id/span_id, "
        "parent_id, ISO times, flat attributes), pretty-printed objects one after another or one a line."
    )

    def claims(self, sample: FileSample) -> bool:
        records = sample.records
        if any(is_console_span(r) for r in records):
            return True
        if any(isinstance(r, Mapping) for r in records) or sample.head.removeprefix(BOM).lstrip()[:1] != b"{":
            return False
        # pretty-printed spans one after another parse as no object of their own: judge the head
        return is_console_span(_head_console_object(sample.head)) or _CONSOLE_HEAD.match(sample.head) is not None

    def _records(self, path: Path) -> Iterator[RawRecord | Skip]:
        return iter_object_records(path)

    def _spans_of(self, record: Any, position: str, report: Callable[[str, str], None]) -> Iterator[Span]:
        return _console_spans(record, position, report)
