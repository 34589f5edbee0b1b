"""Langfuse exports: one call per ``GENERATION`` observation.

Two dialects of the same observation, each a reader of its own:

- ``langfuse`` (``LangfuseReader``): the public API, the SDKs and the UI export, in camelCase: ``{id, traceId,
  type, name, startTime, endTime, completionStartTime, model | providedModelName, modelParameters, input, output,
  usageDetails, usage (deprecated), costDetails, metadata, level, statusMessage, parentObservationId, promptName,
  promptVersion, ...}``, as JSON Lines, a JSON array, an API page ``{"data": [...], "meta": {...}}``, a trace with
  its ``observations``, or the UI's CSV (nested values as JSON text). API v2 returns ``input``/``output`` as JSON
  text and adds ``sessionId``, ``traceName``; ``latency`` is in seconds.
- ``langfuse-blob`` (``LangfuseBlobReader``): the scheduled blob-storage export (``observations_v2/`` enriched or
  legacy ``observations/``), in snake_case, as JSON Lines, JSON, CSV or Parquet: ``{id, trace_id, project_id,
  type, parent_observation_id ("" at the root), start_time "YYYY-MM-DD HH:MM:SS.ffffff" (UTC, no zone),
  provided_model_name, model_parameters (JSON text), input/output (JSON text), usage_details, cost_details,
  tool_calls (JSON texts), tool_definitions, session_id, trace_name, ...}``. Its ``latency`` is seconds or
  milliseconds depending on when the export was set up, so latency comes from the timestamps only.

Usage: Langfuse splits details out of ``input`` (``input_cached_tokens``, ``cache_read_input_tokens``...) and
counts every usage type whose name contains "input" as input; so does this reader, which gives input tokens that
include cache reads and writes.

Non-generation observations (spans, agents, tools, events) give no call: they name the caller. The caller's agent
is the nearest ``AGENT`` ancestor, else ``metadata`` (agent, langgraph_node), else the nearest span ancestor, else
the trace name; its module is the generation's own name. A file is read twice: first the id, parent, type and name
of every observation, then the generations.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slmscout.traces.content import (
    anthropic_tool_calls,
    as_mapping,
    loads_if_json_text,
    optional_float,
    optional_int,
    optional_str,
)
from slmscout.traces.messages import (
    looks_like_message,
    loose_content,
    loose_message,
    loose_messages,
    loose_tool_calls,
    loose_tool_definitions,
)
from slmscout.traces.reader import DATA_ERRORS, FileReader, ReadContext, fallback_id, skip_reason
from slmscout.traces.record import Caller, JsonScalar, LLMCall, Message, SourceRef, ToolCall, ToolDefinition, Usage
from slmscout.traces.responses import exception_type
from slmscout.traces.source import FileSample, RawRecord, Skip, iter_records
from slmscout.traces.timestamps import as_time, iso_utc, latency_ms

OBSERVATION_TYPES = frozenset(
    {"GENERATION", "SPAN", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR", "EMBEDDING", "GUARDRAIL"}
)
_AGENT_METADATA_KEYS = ("agent", "agent_name", "agentName", "langgraph_node")
MAX_NESTING = 32  # parent links walked at most this deep


@dataclass(frozen=True, slots=True)
class _Fields:
    """The names one dialect gives an observation's fields."""

    trace_id: str
    start: str
    end: str
    completion_start: str
    parent: str
    models: tuple[str, ...]
    model_parameters: str
    usage_details: str
    cost_details: str
    total_costs: tuple[str, ...]
    status_message: str
    prompt_name: str
    prompt_version: str
    session: str
    trace_name: str
    tool_calls: str
    tool_definitions: str
    distinctive: tuple[str, ...]  # one of these must be present besides id, trace id, type and start


CAMEL = _Fields(
    trace_id="traceId",
    start="startTime",
    end="endTime",
    completion_start="completionStartTime",
    parent="parentObservationId",
    models=("model", "providedModelName"),
    model_parameters="modelParameters",
    usage_details="usageDetails",
    cost_details="costDetails",
    total_costs=("calculatedTotalCost", "totalCost"),
    status_message="statusMessage",
    prompt_name="promptName",
    prompt_version="promptVersion",
    session="sessionId",
    trace_name="traceName",
    tool_calls="toolCalls",
    tool_definitions="toolDefinitions",
    distinctive=("startTime",),
)
SNAKE = _Fields(
    trace_id="trace_id",
    start="start_time",
    end="end_time",
    completion_start="completion_start_time",
    parent="parent_observation_id",
    models=("provided_model_name",),
    model_parameters="model_parameters",
    usage_details="usage_details",
    cost_details="cost_details",
    total_costs=("total_cost",),
    status_message="status_message",
    prompt_name="prompt_name",
    prompt_version="prompt_version",
    session="session_id",
    trace_name="trace_name",
    tool_calls="tool_calls",
    tool_definitions="tool_definitions",
    distinctive=("project_id", "parent_observation_id", "provided_model_name"),
)


@dataclass(frozen=True, slots=True)
class _Node:
    """What the caller chain needs of an observation: its parent, type and name."""

    parent: str | None
    type: str
    name: str | None


@dataclass(frozen=True, slots=True)
class _Trace:
    """Trace-level context of observations nested in a trace object (``GET /api/public/traces/{id}``)."""

    name: str | None = None
    session_id: str | None = None


_NO_TRACE = _Trace()


def observation_type(record: Mapping[str, Any]) -> str | None:
    kind = record.get("type")
    if isinstance(kind, str) and kind.upper() in OBSERVATION_TYPES:
        return kind.upper()
    return None


def _int(value: Any) -> int | None:
    """A count, also from the text a CSV export holds (``"2"``)."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return optional_int(value)


def _usage_from_details(raw: Any) -> Usage | None:
    """``usageDetails``: every usage type whose name contains "input" is input (Langfuse's own rule), so cache
    reads and writes, which Langfuse keeps apart from ``input``, are added back."""
    counts = {k: n for k, v in as_mapping(raw).items() if isinstance(k, str) and (n := _int(v)) is not None}
    if not counts:
        return None
    if not any("input" in k or "output" in k for k in counts) and "prompt_tokens" in counts:
        return Usage(input_tokens=counts.get("prompt_tokens"), output_tokens=counts.get("completion_tokens"))

    def total(keep: Callable[[str], bool]) -> int | None:
        parts = [n for k, n in counts.items() if keep(k.lower())]
        return sum(parts) if parts else None

    usage = Usage(
        input_tokens=total(lambda k: "input" in k),
        output_tokens=total(lambda k: "output" in k),
        cache_read_tokens=total(lambda k: "cache" in k and ("read" in k or "cached" in k)),
        cache_write_tokens=total(lambda k: "cache" in k and ("creation" in k or "write" in k)),
    )
    return usage if usage.input_tokens is not None or usage.output_tokens is not None else None


def _usage(record: Mapping[str, Any], fields: _Fields) -> Usage | None:
    usage = _usage_from_details(record.get(fields.usage_details))
    if usage:
        return usage
    legacy = as_mapping(record.get("usage"))  # deprecated {input, output, total, unit}
    if legacy and legacy.get("unit") in (None, "", "TOKENS"):
        found = Usage(
            input_tokens=_int(legacy.get("input", legacy.get("promptTokens"))),
            output_tokens=_int(legacy.get("output", legacy.get("completionTokens"))),
        )
        if found.input_tokens is not None or found.output_tokens is not None:
            return found
    for input_key, output_key in (("inputUsage", "outputUsage"), ("promptTokens", "completionTokens")):
        found = Usage(
            input_tokens=_int(record.get(input_key)),
            output_tokens=_int(record.get(output_key)),
        )
        if found.input_tokens or found.output_tokens:
            return found
    return None


def _cost(record: Mapping[str, Any], fields: _Fields) -> float | None:
    details = as_mapping(record.get(fields.cost_details))
    if "total" in details:
        return optional_float(details["total"])
    for key in fields.total_costs:
        cost = optional_float(record.get(key))
        if cost is not None:
            return cost
    return None


def _prompt(raw: Any) -> tuple[tuple[Message, ...], tuple[ToolDefinition, ...]]:
    """The prompt of a generation's ``input``: a message list, ``{messages, tools, system}``, one message, a
    string prompt, or any other JSON (kept as one user turn). A generation logged without input is still a
    call: its prompt is empty, as in the other readers."""
    raw = loads_if_json_text(raw)
    if raw is None or raw == "" or raw == [] or raw == {}:
        return (), ()
    if isinstance(raw, str):
        return (Message("user", raw),), ()
    if isinstance(raw, list):
        if any(looks_like_message(item) for item in raw):
            return loose_messages([m for m in raw if m is not None]), ()
        return (Message("user", loose_content(raw)),), ()
    if isinstance(raw, Mapping):
        if "messages" in raw:
            messages = loose_messages(raw["messages"])
            system = raw.get("system")
            if system:
                messages = (Message("system", loose_content(system)), *messages)
            return messages, loose_tool_definitions(raw.get("tools") or raw.get("functions"))
        if looks_like_message(raw):
            return (loose_message(raw),), ()
        for key in ("prompt", "input", "query"):
            if isinstance(raw.get(key), str):
                return (Message("user", raw[key]),), ()
        return (Message("user", json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)),), ()
    return (Message("user", json.dumps(raw)),), ()


def _completion(raw: Any) -> tuple[str | None, tuple[ToolCall, ...]]:
    """The response in a generation's ``output``: a string, an assistant message, a provider response (``choices``)
    or a list of messages or content blocks; other JSON (structured output) is kept as JSON text."""
    raw = loads_if_json_text(raw)
    if raw is None or raw == "":
        return None, ()
    if isinstance(raw, str):
        return raw, ()
    if isinstance(raw, Mapping):
        choices = raw.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
            message = choices[0].get("message")
            if isinstance(message, Mapping):
                return _completion(message)
            text = choices[0].get("text")
            return (text if isinstance(text, str) else None), ()
        if looks_like_message(raw) or any(k in raw for k in ("content", "tool_calls", "function_call")):
            message = loose_message(raw if looks_like_message(raw) else {"role": "assistant", **raw})
            return message.content, message.tool_calls
        for key in ("text", "output", "completion"):
            if isinstance(raw.get(key), str):
                return raw[key], ()
    if isinstance(raw, list):
        messages = [m for m in raw if looks_like_message(m)]
        if messages:
            message = loose_message(messages[-1])
            return message.content, message.tool_calls
        calls = anthropic_tool_calls(raw) or loose_tool_calls([p for p in raw if isinstance(p, Mapping)])
        text = loose_content(raw)
        if text or calls:
            return text, calls
    return json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str), ()


def _column_tool_calls(raw: Any) -> tuple[ToolCall, ...]:
    """The blob export's ``tool_calls``: an array of JSON texts ``{id, name, arguments, type, index}``."""
    raw = loads_if_json_text(raw)
    return loose_tool_calls([loads_if_json_text(item) for item in raw]) if isinstance(raw, list) else ()


class _LangfuseReader(FileReader):
    """The two dialects share everything but field names and detection."""

    fields: _Fields = CAMEL
    latency_unit_ms: float | None = 1000.0  # the log's own ``latency`` figure, when timestamps miss: seconds

    def matches(self, record: Any) -> bool:
        f = self.fields
        return (
            isinstance(record, Mapping)
            and observation_type(record) is not None
            and f.trace_id in record
            and f.start in record
            and "run_type" not in record
            and any(key in record for key in f.distinctive)
        )

    def _observations(self, value: Any, position: str, trace: _Trace, depth: int = 0) -> Iterator[Any]:
        """The observations a record holds: itself, the items of an API page ``{"data": [...]}``, or the
        ``observations`` of a trace object."""
        if not isinstance(value, Mapping) or self.matches(value) or depth > 2:
            yield position, value, trace
            return
        data = value.get("data")
        if isinstance(data, list):
            for index, item in enumerate(data):
                yield from self._observations(item, f"{position} data {index}", trace, depth + 1)
            return
        observations = value.get("observations")
        if isinstance(observations, list) and any(isinstance(o, Mapping) for o in observations):
            nested = _Trace(name=optional_str(value.get("name")), session_id=optional_str(value.get("sessionId")))
            for index, item in enumerate(observations):
                yield from self._observations(item, f"{position} observation {index}", nested, depth + 1)
            return
        yield position, value, trace

    def _iter(self, path: Path) -> Iterator[tuple[str, Any, _Trace] | Skip]:
        for item in iter_records(path):
            if isinstance(item, RawRecord):
                yield from self._observations(item.value, item.position, _NO_TRACE)
            else:
                yield item

    def claims(self, sample: FileSample) -> bool:
        return any(
            self.matches(value)
            for record in sample.records
            for _, value, _ in self._observations(record, "", _NO_TRACE)
        )

    def _index(self, path: Path) -> dict[str, _Node]:
        nodes: dict[str, _Node] = {}
        for item in self._iter(path):
            if isinstance(item, Skip) or not self.matches(item[1]):
                continue
            record = item[1]
            obs_id = optional_str(record.get("id"))
            kind = observation_type(record)
            if obs_id and kind:
                name = optional_str(record.get("name"))
                nodes[obs_id] = _Node(optional_str(record.get(self.fields.parent)), kind, name and name[:200])
        return nodes

    def read_file(self, path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        nodes = self._index(path)
        for item in self._iter(path):
            if isinstance(item, Skip):
                ctx.skip(item.reason, path, item.position)
                continue
            position, record, trace = item
            if not isinstance(record, Mapping):
                ctx.skip("record is not a JSON object", path, position)
                continue
            if not self.matches(record):
                ctx.skip(f"record is not a {self.name} observation", path, position)
                continue
            if observation_type(record) != "GENERATION":
                continue  # spans, agents, tools, events: context for the caller, not calls
            try:
                yield self.convert(record, SourceRef(str(path), position, self.name), nodes, trace)
            except DATA_ERRORS as exc:
                ctx.skip(skip_reason(exc), path, position)

    def _caller(self, record: Mapping[str, Any], nodes: Mapping[str, _Node], trace_name: str | None) -> Caller:
        agent = nearest_span = None
        parent = optional_str(record.get(self.fields.parent))
        seen: set[str] = set()
        for _ in range(MAX_NESTING):
            node = nodes.get(parent) if parent and parent not in seen else None
            if node is None:
                break
            seen.add(parent or "")
            if node.type == "AGENT" and node.name:
                agent = node.name
                break
            if node.type != "GENERATION" and node.name and nearest_span is None:
                nearest_span = node.name
            parent = node.parent
        metadata = as_mapping(record.get("metadata"))
        from_metadata = next((optional_str(metadata.get(k)) for k in _AGENT_METADATA_KEYS if metadata.get(k)), None)
        return Caller(
            agent=agent or from_metadata or nearest_span or trace_name,
            module=optional_str(record.get("name")),
        )

    def convert(
        self, record: Mapping[str, Any], source: SourceRef, nodes: Mapping[str, _Node], trace: _Trace
    ) -> LLMCall:
        f = self.fields
        messages, tools = _prompt(record.get("input"))
        response, tool_calls = _completion(record.get("output"))
        tool_calls = tool_calls or _column_tool_calls(record.get(f.tool_calls))
        tools = tools or loose_tool_definitions(record.get(f.tool_definitions))
        start, end = as_time(record.get(f.start)), as_time(record.get(f.end))
        completion_start = as_time(record.get(f.completion_start))
        latency = latency_ms(start, end)
        if latency is None and self.latency_unit_ms is not None:
            seconds = optional_float(loads_if_json_text(record.get("latency")))
            latency = seconds * self.latency_unit_ms if seconds is not None and seconds >= 0 else None
        level = optional_str(record.get("level"))
        failed = level is not None and level.upper() == "ERROR"
        trace_name = optional_str(record.get(f.trace_name)) or trace.name
        parameters = as_mapping(record.get(f.model_parameters))
        facts: dict[str, JsonScalar] = {
            "trace_id": optional_str(record.get(f.trace_id)),
            "parent_observation_id": optional_str(record.get(f.parent)),
            "trace_name": trace_name,
            "prompt_name": optional_str(record.get(f.prompt_name)),
            "prompt_version": _int(record.get(f.prompt_version)),
            "environment": optional_str(record.get("environment")),
            "level": level if level and level.upper() != "DEFAULT" else None,
            "cost_usd": _cost(record, f),
            "ttft_ms": latency_ms(start, completion_start) if completion_start else None,
            "temperature": optional_float(parameters.get("temperature")),
        }
        return LLMCall(
            call_id=optional_str(record.get("id")) or fallback_id(source),
            source=source,
            messages=messages,
            response=response,
            response_tool_calls=tool_calls,
            tools=tools,
            model=next((m for m in (optional_str(record.get(k)) for k in f.models) if m), None),
            caller=self._caller(record, nodes, trace_name),
            session_id=optional_str(record.get(f.session)) or trace.session_id,
            usage=_usage(record, f),
            latency_ms=latency,
            started_at=iso_utc(start),
            ended_at=iso_utc(end),
            status="error" if failed else "ok",
            error=exception_type(record.get(f.status_message)) if failed else None,
            metadata={k: v for k, v in facts.items() if v is not None},
        )


class LangfuseReader(_LangfuseReader):
    name = "langfuse"
    priority = 140  # before LiteLLM (150), whose startTime + completionStartTime test also fits an observation
    description = (
        "Langfuse observations from the API, SDKs or UI export (camelCase: traceId, startTime, usageDetails), as "
        'JSON Lines, a JSON array, an API page {"data": [...]}, a trace with observations, or CSV: one call per '
        "GENERATION; the caller from AGENT/span ancestors, metadata or the trace name."
    )
    fields = CAMEL
    latency_unit_ms = 1000.0


class LangfuseBlobReader(_LangfuseReader):
    name = "langfuse-blob"
    priority = 140  # trace_id + observation type + project/parent columns: asked before the generic readers
    description = (
        "Langfuse blob-storage export (snake_case: trace_id, start_time, provided_model_name, input/output as JSON "
        "text), observations_v2/ or observations/, as JSON Lines, JSON, CSV or Parquet: one call per GENERATION."
    )
    fields = SNAKE
    latency_unit_ms = None  # seconds or milliseconds depending on the export's age: timestamps only
