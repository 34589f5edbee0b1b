"""LangSmith runs: one call per ``run_type: "llm"`` run of a JSON Lines file or a JSON array of runs.

A run (``langsmith.schemas.Run``) is ``{id, name, run_type, start_time, end_time, inputs, outputs, extra{
invocation_params, metadata}, error, parent_run_id, trace_id, dotted_order, session_id (the project),
prompt_tokens, completion_tokens, first_token_time, total_cost, ...}``. What an llm run holds depends on who
traced it:

- a LangChain chat model: ``inputs.messages`` is a list of batches of LangChain-serialized messages
  (``{"lc": 1, "type": "constructor", "id": [..., "HumanMessage"], "kwargs": {"content": ...}}``) or of plain
  ``{type|role, content}`` dicts, and ``outputs.generations[[{text, message}]]`` plus ``outputs.llm_output``;
- a LangChain completion LLM: ``inputs.prompts`` (strings) and ``generations[[{text}]]``;
- ``wrap_openai`` / ``@traceable``: ``inputs`` are the request kwargs (``messages``, ``model``, ``tools``) and
  ``outputs`` the provider response (``choices``) with ``usage_metadata{input_tokens, output_tokens}``.

Other runs (chains, tools, retrievers) give no call; they name the caller of the llm runs below them, so the
reader reads a file twice: first the id, name, type and parent of every run, then the llm runs.

Messages are read by the ``messages`` helpers (``loose_message`` and friends), which accept LangChain, OpenAI
and Anthropic shapes alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slmscout.traces.content import (
    MalformedRecord,
    anthropic_usage,
    as_mapping,
    first_str,
    loads_if_json_text,
    optional_float,
    optional_int,
    optional_str,
)
from slmscout.traces.messages import (
    lc_unwrap,
    loose_content,
    loose_message,
    loose_messages,
    loose_tool_calls,
    loose_tool_definitions,
)
from slmscout.traces.reader import DATA_ERRORS, FileReader, ReadContext, fallback_id, skip_reason
from slmscout.traces.record import Caller, JsonScalar, LLMCall, Message, SourceRef, ToolCall, Usage
from slmscout.traces.responses import exception_type
from slmscout.traces.source import FileSample, RawRecord, Skip, iter_records
from slmscout.traces.timestamps import as_time, iso_utc, latency_ms

MAX_NESTING = 32  # child_runs nesting followed, and parent links walked, at most this deep

# --- LangSmith runs ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RunNode:
    """What the caller chain needs of a run: its name, type and parent."""

    name: str | None
    run_type: str | None
    parent: str | None


def is_run(record: Any) -> bool:
    return (
        isinstance(record, Mapping)
        and isinstance(record.get("run_type"), str)
        and ("inputs" in record or "outputs" in record or "start_time" in record)
    )


def _dotted_parent(dotted_order: Any) -> str | None:
    """The parent run id from a ``dotted_order`` (``<time>Z<uuid>.<time>Z<uuid>...``): the second-last segment."""
    if not isinstance(dotted_order, str) or "." not in dotted_order:
        return None
    segment = dotted_order.rsplit(".", 2)[-2]
    _, _, run_id = segment.rpartition("Z")
    return run_id or None


def _parent_id(run: Mapping[str, Any]) -> str | None:
    return optional_str(run.get("parent_run_id")) or _dotted_parent(run.get("dotted_order"))


def _runs_of(value: Any, position: str, depth: int = 0) -> Iterator[tuple[str, Any]]:
    """The runs a record holds: the record itself, its ``child_runs`` (``read_run(load_child_runs=True)``), or the
    runs of a ``{"runs": [...]}`` query page."""
    if isinstance(value, Mapping) and not is_run(value) and isinstance(value.get("runs"), list):
        for index, run in enumerate(value["runs"]):
            yield from _runs_of(run, f"{position} run {index}", depth + 1)
        return
    yield position, value
    children = value.get("child_runs") if isinstance(value, Mapping) else None
    if isinstance(children, list) and depth < MAX_NESTING:
        for index, child in enumerate(children):
            yield from _runs_of(child, f"{position} child {index}", depth + 1)


def _iter_runs(path: Path) -> Iterator[tuple[str, Any] | Skip]:
    for item in iter_records(path):
        if isinstance(item, RawRecord):
            yield from _runs_of(item.value, item.position)
        else:
            yield item


def _usage_with_details(counts: Mapping[str, Any], input_key: str, output_key: str, details: Any) -> Usage:
    """Input and output counts, and the LangChain token details ``{cache_read, cache_creation}`` that are parts of
    the input count."""
    found = as_mapping(details)
    return Usage(
        input_tokens=optional_int(counts.get(input_key)),
        output_tokens=optional_int(counts.get(output_key)),
        cache_read_tokens=optional_int(found.get("cache_read")),
        cache_write_tokens=optional_int(found.get("cache_creation")),
    )


def _usage_metadata(raw: Any) -> Usage | None:
    """LangChain ``usage_metadata``: ``input_tokens`` is already the sum of all input token types (cache
    included); ``input_token_details{cache_read, cache_creation}`` are parts of it."""
    raw = as_mapping(raw)
    if not raw or not any(k in raw for k in ("input_tokens", "output_tokens")):
        return None
    return _usage_with_details(raw, "input_tokens", "output_tokens", raw.get("input_token_details"))


def _provider_usage(raw: Any) -> Usage | None:
    """Provider usage: OpenAI ``{prompt_tokens, completion_tokens, prompt_tokens_details}`` or Anthropic
    ``{input_tokens, cache_read_input_tokens, ...}`` (whose input excludes the cache, so it is added back)."""
    raw = as_mapping(raw)
    if "prompt_tokens" in raw or "completion_tokens" in raw:
        details = as_mapping(raw.get("prompt_tokens_details"))
        return Usage(
            input_tokens=optional_int(raw.get("prompt_tokens")),
            output_tokens=optional_int(raw.get("completion_tokens")),
            cache_read_tokens=optional_int(details.get("cached_tokens")),
        )
    if "cache_read_input_tokens" in raw or "cache_creation_input_tokens" in raw:
        return anthropic_usage(raw)
    return _usage_metadata(raw)


def _run_usage(run: Mapping[str, Any]) -> Usage | None:
    """The run's own token columns, filled by LangSmith from what was reported (or by its own count)."""
    if run.get("prompt_tokens") is None and run.get("completion_tokens") is None:
        return None
    return _usage_with_details(run, "prompt_tokens", "completion_tokens", run.get("prompt_token_details"))


@dataclass
class _Output:
    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    model: str | None = None
    usage: Usage | None = None


def _first(value: Any) -> Any:
    """The first element of a list (of a list): LangChain batches, generations and choices."""
    while isinstance(value, list):
        if not value:
            return None
        value = value[0]
    return value


def _message_output(raw: Any) -> _Output:
    """An AI message as output: LangChain-serialized or dumped (with ``usage_metadata``, ``response_metadata``) or
    an OpenAI/Anthropic message."""
    message = loose_message(raw)
    _, body = lc_unwrap(raw)
    metadata = as_mapping(body.get("response_metadata"))
    model = optional_str(metadata.get("model_name")) or optional_str(metadata.get("model"))
    usage = _usage_metadata(body.get("usage_metadata")) or _provider_usage(metadata.get("token_usage"))
    return _Output(message.content, message.tool_calls, model, usage or _provider_usage(metadata.get("usage")))


def _responses_output(items: list[Any]) -> _Output:
    """OpenAI Responses API ``output`` items: message text and function calls."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        if item.get("type") == "message":
            texts.append(loose_content(item.get("content")))
        elif item.get("type") == "function_call":
            calls.extend(loose_tool_calls([{**item, "id": item.get("call_id") or item.get("id")}]))
    return _Output("\n".join(t for t in texts if t), tuple(calls))


def _outputs(outputs: Mapping[str, Any]) -> _Output:
    generations = outputs.get("generations")
    if isinstance(generations, list):
        first = _first(generations)
        if not isinstance(first, Mapping):
            raise MalformedRecord("llm run generations hold no generation")
        message = first.get("message")
        out = _message_output(message) if isinstance(message, Mapping) else _Output(optional_str(first.get("text")))
        if out.text == "" and isinstance(first.get("text"), str):
            out.text = first["text"]
        llm_output = as_mapping(outputs.get("llm_output"))
        out.model = out.model or optional_str(llm_output.get("model_name")) or optional_str(llm_output.get("model"))
        out.usage = (
            out.usage or _provider_usage(llm_output.get("token_usage")) or _provider_usage(llm_output.get("usage"))
        )
        return out
    if isinstance(outputs.get("choices"), list):
        choice = _first(outputs["choices"])
        if not isinstance(choice, Mapping):
            raise MalformedRecord("llm run choices hold no choice")
        if isinstance(choice.get("message"), Mapping):
            out = _message_output(choice["message"])
        else:
            out = _Output(optional_str(choice.get("text")) or "")
    elif isinstance(outputs.get("output"), list):
        out = _responses_output(outputs["output"])
    elif "content" in outputs and ("role" in outputs or outputs.get("type") == "message"):
        out = _message_output({"role": "assistant", **outputs})
    elif isinstance(outputs.get("output"), (str, Mapping)):
        inner = outputs["output"]
        out = _message_output(inner) if isinstance(inner, Mapping) and "content" in inner else _Output()
        if isinstance(inner, str):
            out.text = inner
    else:
        out = _Output(json.dumps(outputs, sort_keys=True, ensure_ascii=False, default=str))
    out.model = out.model or optional_str(outputs.get("model"))
    out.usage = out.usage or _usage_metadata(outputs.get("usage_metadata")) or _provider_usage(outputs.get("usage"))
    return out


def _inputs(inputs: Mapping[str, Any]) -> tuple[Message, ...]:
    if "messages" in inputs:
        raw = loads_if_json_text(inputs["messages"])
        batch = raw[0] if isinstance(raw, list) and raw and isinstance(raw[0], list) else raw
        messages = loose_messages(batch)
        system = inputs.get("system")  # wrap_anthropic: system apart from the turns
        if system:
            messages = (Message("system", loose_content(system)), *messages)
        return messages
    if "prompts" in inputs:
        prompt = _first(loads_if_json_text(inputs["prompts"]))
        if not isinstance(prompt, str):
            raise MalformedRecord("llm run prompts hold no text")
        return (Message("user", prompt),)
    for key in ("prompt", "input"):
        value = inputs.get(key)
        if isinstance(value, str):
            return (Message("user", value),)
        if isinstance(value, list):  # Responses API input items; items without a role are not turns
            return tuple(loose_message(i) for i in value if isinstance(i, Mapping) and ("role" in i or "lc" in i))
    raise MalformedRecord("llm run has no messages or prompts")


def _caller(run: Mapping[str, Any], metadata: Mapping[str, Any], nodes: Mapping[str, _RunNode]) -> Caller:
    agent = optional_str(metadata.get("langgraph_node"))
    if agent is None:
        fallback = None
        parent = _parent_id(run)
        for _ in range(MAX_NESTING):
            node = nodes.get(parent) if parent else None
            if node is None:
                break
            if node.run_type in ("chain", "agent") and node.name:
                if not node.name.startswith("Runnable"):
                    agent = node.name
                    break
                fallback = fallback or node.name
            parent = node.parent
        agent = agent or fallback
    return Caller(agent=agent, module=optional_str(run.get("name")))


def _ttft_ms(run: Mapping[str, Any]) -> float | None:
    first = as_time(run.get("first_token_time"))
    return latency_ms(as_time(run.get("start_time")), first) if first else None


def convert_run(run: Mapping[str, Any], source: SourceRef, nodes: Mapping[str, _RunNode]) -> LLMCall:
    """The call an llm run holds; ``nodes`` are the file's runs by id, for the caller."""
    inputs = as_mapping(run.get("inputs"))
    outputs = as_mapping(run.get("outputs"))
    extra = as_mapping(run.get("extra"))
    metadata = as_mapping(extra.get("metadata"))
    invocation = as_mapping(extra.get("invocation_params"))
    messages = _inputs(inputs)
    out = _outputs(outputs) if outputs else _Output()
    start, end = as_time(run.get("start_time")), as_time(run.get("end_time"))
    requested = (
        optional_str(invocation.get("model"))
        or optional_str(invocation.get("model_name"))
        or optional_str(metadata.get("ls_model_name"))
        or optional_str(inputs.get("model"))
    )
    tools = loose_tool_definitions(inputs.get("tools") or invocation.get("tools") or invocation.get("functions"))
    failed = bool(run.get("error")) or run.get("status") == "error"
    session = first_str(metadata, "thread_id", "session_id", "conversation_id")
    facts: dict[str, JsonScalar] = {
        "trace_id": optional_str(run.get("trace_id")),
        "parent_run_id": _parent_id(run),
        "project_id": optional_str(run.get("session_id")),
        "provider": optional_str(metadata.get("ls_provider")),
        "langgraph_step": optional_int(metadata.get("langgraph_step")),
        "cost_usd": optional_float(run.get("total_cost")),
        "ttft_ms": _ttft_ms(run),
        "temperature": optional_float(invocation.get("temperature", metadata.get("ls_temperature"))),
    }
    return LLMCall(
        call_id=optional_str(run.get("id")) or fallback_id(source),
        source=source,
        messages=messages,
        response=out.text,
        response_tool_calls=out.tool_calls,
        tools=tools,
        model=out.model or requested,
        caller=_caller(run, metadata, nodes),
        session_id=session,
        usage=out.usage or _run_usage(run),
        latency_ms=latency_ms(start, end),
        started_at=iso_utc(start),
        ended_at=iso_utc(end),
        status="error" if failed else "ok",
        error=exception_type(run.get("error")) if failed else None,
        metadata={k: v for k, v in facts.items() if v is not None},
    )


class LangSmithReader(FileReader):
    name = "langsmith"
    priority = 140  # a run_type record is LangSmith; asked before the generic payload readers (150+)
    description = (
        'LangSmith runs (JSON Lines, a JSON array, or a runs query page): one call per run_type "llm" run, '
        "LangChain-serialized messages, wrap_openai requests and completion prompts; the caller from "
        "langgraph_node or the nearest chain run."
    )

    def claims(self, sample: FileSample) -> bool:
        return any(is_run(run) for record in sample.records for _, run in _runs_of(record, ""))

    def _index(self, path: Path) -> dict[str, _RunNode]:
        nodes: dict[str, _RunNode] = {}
        for item in _iter_runs(path):
            if isinstance(item, Skip) or not is_run(item[1]):
                continue
            run = item[1]
            run_id = optional_str(run.get("id"))
            if run_id:
                name, run_type = run.get("name"), run.get("run_type")
                nodes[run_id] = _RunNode(
                    name=name[:200] if isinstance(name, str) and name else None,
                    run_type=run_type if isinstance(run_type, str) else None,
                    parent=_parent_id(run),
                )
        return nodes

    def read_file(self, path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        nodes = self._index(path)
        for item in _iter_runs(path):
            if isinstance(item, Skip):
                ctx.skip(item.reason, path, item.position)
                continue
            position, run = item
            if not isinstance(run, Mapping):
                ctx.skip("record is not a JSON object", path, position)
                continue
            if not is_run(run):
                ctx.skip("record is not a LangSmith run", path, position)
                continue
            if run.get("run_type") != "llm":
                continue  # chains, tools, retrievers: context for the caller, not calls
            try:
                yield convert_run(run, SourceRef(str(path), position, self.name), nodes)
            except DATA_ERRORS as exc:
                ctx.skip(skip_reason(exc), path, position)
