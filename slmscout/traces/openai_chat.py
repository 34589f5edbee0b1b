"""OpenAI Chat Completions request/response pairs: ``{"request": {...}, "response": {...}}`` per record.

The request is a Chat Completions request body (``model``, ``messages`` with ``system``/``developer``/``user``/
``assistant``/``tool`` roles and text or content-part content, ``tools``, ``max_tokens`` or
``max_completion_tokens``, ``response_format``...). The response is a chat completion (``choices[0].message`` with
``content``, ``refusal`` and ``tool_calls``; ``usage`` with ``prompt_tokens_details.cached_tokens`` and
``completion_tokens_details.reasoning_tokens``), an error body ``{"error": {...}}``, an error text (what
``str(exception)`` gives), or null when no response was logged.

Optional record keys beside ``request`` and ``response``: ``id`` (or ``custom_id``), ``session_id``, ``latency_ms``
(or ``duration_ms``), ``started_at`` (or ``start_time`` / ``timestamp``), ``ended_at`` (or ``end_time``), and
``error`` (a failure logged instead of a response).

``chat_request``, ``chat_response`` and ``chat_call`` are shared with the OpenAI Batch reader, whose lines carry the
same bodies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeGuard

from slmscout.traces.content import (
    MalformedRecord,
    arguments_text,
    content_text,
    loads_if_json_text,
    optional_int,
    optional_str,
    schema_text,
)
from slmscout.traces.messages import sampling_metadata
from slmscout.traces.reader import NO_TIMING, RecordReader, Timing, record_call_id, record_timing
from slmscout.traces.record import CallStatus, JsonScalar, LLMCall, Message, SourceRef, ToolCall, ToolDefinition, Usage
from slmscout.traces.responses import error_type
from slmscout.traces.timestamps import iso_utc

# --- request --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What a Chat Completions request body says: prompt messages, tools, model and a few parameters."""

    messages: tuple[Message, ...]
    tools: tuple[ToolDefinition, ...] = ()
    model: str | None = None
    metadata: Mapping[str, JsonScalar] = field(default_factory=dict)


def _is_list(value: Any) -> TypeGuard[Sequence[Any]]:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def _message_text(content: Any) -> str:
    """Text of message content; ``refusal`` parts (assistant turns sent back) count as text."""
    if _is_list(content):
        content = [
            {"type": "text", "text": part.get("refusal")}
            if isinstance(part, Mapping) and part.get("type") == "refusal"
            else part
            for part in content
        ]
    return content_text(content)


def chat_tool_calls(raw: Any, function_call: Any = None) -> tuple[ToolCall, ...]:
    """Tool calls of an assistant message: function calls ``{id, type: function, function: {name, arguments}}``,
    custom-tool calls ``{id, type: custom, custom: {name, input}}``, and the deprecated single ``function_call``."""
    calls: list[ToolCall] = []
    if raw:
        if not _is_list(raw):
            raise MalformedRecord("tool_calls is not a list")
        for item in raw:
            if not isinstance(item, Mapping):
                raise MalformedRecord("a tool call is not an object")
            call_id = item.get("id")
            custom = item.get("custom")
            if item.get("type") == "custom" and isinstance(custom, Mapping):
                name, arguments = custom.get("name"), custom.get("input")
            else:
                function = item.get("function")
                function = function if isinstance(function, Mapping) else item
                name, arguments = function.get("name"), function.get("arguments")
            if not isinstance(name, str) or not name:
                raise MalformedRecord("a tool call has no name")
            calls.append(ToolCall(name, arguments_text(arguments), call_id if isinstance(call_id, str) else None))
    if isinstance(function_call, Mapping) and isinstance(function_call.get("name"), str):
        calls.append(ToolCall(function_call["name"], arguments_text(function_call.get("arguments"))))
    return tuple(calls)


def chat_message(raw: Any) -> Message:
    """One request message ``{role, content, tool_calls?, function_call?, name?, tool_call_id?}``; the role is kept
    as sent (``developer`` stays ``developer``)."""
    if not isinstance(raw, Mapping):
        raise MalformedRecord("a message is not an object")
    role = raw.get("role")
    if not isinstance(role, str) or not role:
        raise MalformedRecord("a message has no role")
    name = raw.get("name")
    tool_call_id = raw.get("tool_call_id")
    return Message(
        role=role,
        content=_message_text(raw.get("content")),
        tool_calls=chat_tool_calls(raw.get("tool_calls"), raw.get("function_call")),
        name=name if isinstance(name, str) else None,
        tool_call_id=tool_call_id if isinstance(tool_call_id, str) else None,
    )


def chat_tool_definitions(tools: Any, functions: Any = None) -> tuple[ToolDefinition, ...]:
    """Tools of a request: ``{type: function, function: {name, description, parameters}}``, custom tools
    ``{type: custom, custom: {name, description, format}}``, and the deprecated ``functions`` list."""
    out: list[ToolDefinition] = []
    for raw in (tools, functions):
        if not raw:
            continue
        if not _is_list(raw):
            raise MalformedRecord("tools is not a list")
        for item in raw:
            if not isinstance(item, Mapping):
                raise MalformedRecord("a tool definition is not an object")
            custom = item.get("custom")
            if item.get("type") == "custom" and isinstance(custom, Mapping):
                spec, schema = custom, custom.get("format")
            else:
                function = item.get("function")
                spec = function if isinstance(function, Mapping) else item
                schema = spec.get("parameters")
            name, description = spec.get("name"), spec.get("description")
            if not isinstance(name, str) or not name:
                raise MalformedRecord("a tool definition has no name")
            out.append(ToolDefinition(name, description if isinstance(description, str) else "", schema_text(schema)))
    return tuple(out)


def _request_metadata(request: Mapping[str, Any]) -> dict[str, JsonScalar]:
    meta = sampling_metadata(request, ("max_completion_tokens", "max_tokens"))
    response_format = request.get("response_format")
    if isinstance(response_format, Mapping) and isinstance(response_format.get("type"), str):
        meta["response_format"] = response_format["type"]
        schema = response_format.get("json_schema")
        if isinstance(schema, Mapping) and isinstance(schema.get("name"), str):
            meta["response_schema"] = schema["name"]
    for key in ("reasoning_effort", "tool_choice"):
        if isinstance(request.get(key), str):
            meta[key] = request[key]
    return meta


def chat_request(request: Any) -> ChatRequest:
    """The prompt side of a Chat Completions request body."""
    if not isinstance(request, Mapping):
        raise MalformedRecord("record has no request object")
    raw_messages = request.get("messages")
    if not _is_list(raw_messages):
        raise MalformedRecord("messages is not a list")
    return ChatRequest(
        messages=tuple(chat_message(m) for m in raw_messages),
        tools=chat_tool_definitions(request.get("tools"), request.get("functions")),
        model=optional_str(request.get("model")),
        metadata=_request_metadata(request),
    )


# --- response -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChatResult:
    """What a chat completion (or the error that came instead) says."""

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    model: str | None = None
    usage: Usage | None = None
    status: CallStatus = "ok"
    error: str | None = None
    response_id: str | None = None
    started_at: str | None = None
    metadata: Mapping[str, JsonScalar] = field(default_factory=dict)


def chat_usage(raw: Any) -> tuple[Usage | None, int | None]:
    """Usage of a chat completion (``prompt_tokens`` already includes cached tokens) and its reasoning tokens."""
    if not isinstance(raw, Mapping):
        return None, None
    prompt_details = raw.get("prompt_tokens_details")
    completion_details = raw.get("completion_tokens_details")
    cached = optional_int(prompt_details.get("cached_tokens")) if isinstance(prompt_details, Mapping) else None
    reasoning = (
        optional_int(completion_details.get("reasoning_tokens")) if isinstance(completion_details, Mapping) else None
    )
    usage = Usage(
        input_tokens=optional_int(raw.get("prompt_tokens")),
        output_tokens=optional_int(raw.get("completion_tokens")),
        cache_read_tokens=cached,
    )
    return usage, reasoning


def chat_response(response: Any) -> ChatResult:
    """The answer side: a chat completion, an error body or error text, or None (no response logged).

    Raises ``MalformedRecord`` for a response that is neither.
    """
    response = loads_if_json_text(response)
    if response is None:
        return ChatResult()
    if isinstance(response, str):
        return ChatResult(status="error", error=error_type(response)) if response.strip() else ChatResult()
    if not isinstance(response, Mapping):
        raise MalformedRecord("response is not an object")
    meta: dict[str, JsonScalar] = {}
    response_id = optional_str(response.get("id"))
    if response_id:
        meta["response_id"] = response_id
    usage, reasoning = chat_usage(response.get("usage"))
    if reasoning is not None:
        meta["reasoning_tokens"] = reasoning
    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    choices = response.get("choices")
    if _is_list(choices) and choices:
        first = choices[0]
        if not isinstance(first, Mapping):
            raise MalformedRecord("response choice is not an object")
        message = first.get("message")
        if isinstance(message, Mapping):
            text = content_text(message.get("content"))
            tool_calls = chat_tool_calls(message.get("tool_calls"), message.get("function_call"))
            refusal = message.get("refusal")
            if isinstance(refusal, str) and refusal:
                meta["refusal"] = True
                text = text or refusal
        elif isinstance(first.get("text"), str):  # a legacy completion choice
            text = first["text"]
        else:
            raise MalformedRecord("response choice has no message")
        if isinstance(first.get("finish_reason"), str):
            meta["finish_reason"] = first["finish_reason"]
        if len(choices) > 1:
            meta["choices"] = len(choices)
    status: CallStatus = "ok"
    error = None
    if response.get("error") and text is None:
        status, error = "error", error_type(response["error"])
    return ChatResult(
        text=text,
        tool_calls=tool_calls,
        model=optional_str(response.get("model")),
        usage=usage,
        status=status,
        error=error,
        response_id=response_id,
        started_at=iso_utc(response.get("created")) if response.get("created") else None,
        metadata=meta,
    )


# --- request and response joined -----------------------------------------------------------------------------


def chat_call(
    request: ChatRequest,
    result: ChatResult,
    source: SourceRef,
    call_id: str,
    *,
    session_id: str | None = None,
    timing: Timing = NO_TIMING,
    extra: Mapping[str, JsonScalar] | None = None,
) -> LLMCall:
    """The call a request and its result make: the model that answered (the one asked for kept in metadata when
    it differs), request and result metadata, then ``extra``."""
    model = result.model or request.model
    metadata: dict[str, JsonScalar] = {**request.metadata, **result.metadata, **(extra or {})}
    if request.model and model != request.model:
        metadata["requested_model"] = request.model
    return LLMCall(
        call_id=call_id,
        source=source,
        messages=request.messages,
        response=result.text,
        response_tool_calls=result.tool_calls,
        tools=request.tools,
        model=model,
        session_id=session_id,
        usage=result.usage,
        latency_ms=timing.latency_ms,
        started_at=timing.started_at or result.started_at,
        ended_at=timing.ended_at,
        status=result.status,
        error=result.error,
        metadata=metadata,
    )


# --- the reader -----------------------------------------------------------------------------------------------


class OpenAIChatReader(RecordReader):
    name = "openai-chat"
    priority = 200
    description = (
        "OpenAI Chat Completions request/response pairs: "
        '{"id"?, "request": {model, messages, tools}, "response": {choices, usage, model} | error} per record.'
    )

    def matches(self, record: Mapping[str, Any]) -> bool:
        request = record.get("request")
        return isinstance(request, Mapping) and "messages" in request and "response" in record

    def convert(self, record: Mapping[str, Any], source: SourceRef) -> LLMCall:
        request = chat_request(record.get("request"))
        result = chat_response(record.get("response"))
        if result.status == "ok" and result.text is None and not result.tool_calls and record.get("error"):
            result = replace(result, status="error", error=error_type(record["error"]))
        return chat_call(
            request,
            result,
            source,
            record_call_id(record, source, result.response_id),
            session_id=optional_str(record.get("session_id")),
            timing=record_timing(record),
        )
