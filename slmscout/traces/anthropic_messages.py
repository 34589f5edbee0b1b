"""Anthropic Messages request/response pairs: ``{"id"?, "request": {...}, "response": {...}}`` per record.

Request: ``{model, max_tokens, system: str | [text blocks], messages: [{role: user|assistant, content: str |
[text | image | document | tool_use | tool_result | thinking | redacted_thinking blocks]}], tools: [{name,
description, input_schema} | server tools {type, name}], thinking?, temperature?, ...}``.
Response: a Message ``{id, type: "message", role, model, content: [text | tool_use | server_tool_use | thinking |
redacted_thinking | *_tool_result blocks], stop_reason, usage: {input_tokens, output_tokens,
cache_creation_input_tokens, cache_read_input_tokens}}``, an error ``{"type": "error", "error": {type, message}}``,
an error text, or null.

Normalisation: the system prompt becomes the first (``system``) message; the response text is the text blocks
only (thinking is reasoning, kept in metadata as a character count, never as text); ``tool_use`` and
``server_tool_use`` blocks are the response tool calls; usage input tokens include cache reads and writes (Anthropic
reports them apart). Optional record keys as for openai-chat: ``session_id``, ``latency_ms``/``duration_ms``,
``started_at``/``start_time``/``timestamp``, ``ended_at``/``end_time``, ``error``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from slmscout.traces.content import (
    MalformedRecord,
    anthropic_messages,
    anthropic_tool_definitions,
    anthropic_usage,
    loads_if_json_text,
    optional_int,
    optional_str,
)
from slmscout.traces.messages import sampling_metadata
from slmscout.traces.reader import RecordReader, record_call_id, record_timing
from slmscout.traces.record import CallStatus, JsonScalar, LLMCall, SourceRef, ToolCall, ToolDefinition, Usage
from slmscout.traces.responses import error_type

# Content block types no OpenAI chat message has.
_ANTHROPIC_BLOCKS = frozenset(
    {"tool_use", "tool_result", "thinking", "redacted_thinking", "server_tool_use", "document", "search_result"}
)
_CACHE_USAGE_KEYS = ("cache_creation_input_tokens", "cache_read_input_tokens")
_TOOL_CALL_BLOCKS = ("tool_use", "server_tool_use")


def _blocks(content: Any) -> Sequence[Any]:
    return content if isinstance(content, Sequence) and not isinstance(content, (str, bytes, bytearray)) else ()


def _has_anthropic_blocks(messages: Any) -> bool:
    for message in _blocks(messages):
        if not isinstance(message, Mapping):
            continue
        for block in _blocks(message.get("content")):
            if not isinstance(block, Mapping):
                continue
            kind = block.get("type")
            if kind in _ANTHROPIC_BLOCKS or (kind == "image" and isinstance(block.get("source"), Mapping)):
                return True
    return False


def is_anthropic_pair(request: Mapping[str, Any], response: Any) -> bool:
    """Whether a request/response pair is Anthropic Messages rather than OpenAI Chat Completions: a Message or an
    Anthropic error as response, Anthropic usage keys, a top-level ``system``, ``input_schema`` tools, or content
    blocks OpenAI does not have."""
    if isinstance(response, Mapping):
        kind = response.get("type")
        if kind == "message" or (kind == "error" and isinstance(response.get("error"), Mapping)):
            return True
        usage = response.get("usage")
        if isinstance(usage, Mapping) and any(key in usage for key in _CACHE_USAGE_KEYS):
            return True
        if "stop_reason" in response and isinstance(response.get("content"), list):
            return True
    if "system" in request:
        return True
    if any(isinstance(tool, Mapping) and "input_schema" in tool for tool in _blocks(request.get("tools"))):
        return True
    return _has_anthropic_blocks(request.get("messages"))


def _tools(raw: Any) -> tuple[ToolDefinition, ...]:
    """Tool definitions; entries without a name (none are documented) are left out rather than failing the call."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise MalformedRecord("tools is not a list")
    return anthropic_tool_definitions([t for t in raw if isinstance(t, Mapping) and isinstance(t.get("name"), str)])


def _request_metadata(request: Mapping[str, Any]) -> dict[str, JsonScalar]:
    meta = sampling_metadata(request, ("max_tokens",))
    thinking = request.get("thinking")
    if isinstance(thinking, Mapping):
        budget = optional_int(thinking.get("budget_tokens"))
        if budget is not None:
            meta["thinking_budget"] = budget
    tool_choice = request.get("tool_choice")
    if isinstance(tool_choice, Mapping) and isinstance(tool_choice.get("type"), str):
        meta["tool_choice"] = tool_choice["type"]
    return meta


def _tool_calls(content: Sequence[Any]) -> tuple[ToolCall, ...]:
    calls = []
    for block in content:
        if isinstance(block, Mapping) and block.get("type") in _TOOL_CALL_BLOCKS:
            name, block_id = block.get("name"), block.get("id")
            if not isinstance(name, str) or not name:
                raise MalformedRecord("a tool_use block has no name")
            arguments = block.get("input")
            calls.append(
                ToolCall(
                    name=name,
                    arguments=arguments
                    if isinstance(arguments, str)
                    else json.dumps(arguments, sort_keys=True, ensure_ascii=False),
                    id=block_id if isinstance(block_id, str) else None,
                )
            )
    return tuple(calls)


class AnthropicMessagesReader(RecordReader):
    name = "anthropic-messages"
    priority = 150  # before openai-chat (200), which would take any request.messages + response record
    description = (
        'Anthropic Messages request/response pairs: {"id"?, "request": {model, system, messages, tools}, '
        '"response": {type: "message", content blocks, stop_reason, usage} | error} per record.'
    )

    def matches(self, record: Mapping[str, Any]) -> bool:
        request = record.get("request")
        return (
            isinstance(request, Mapping)
            and isinstance(request.get("messages"), list)
            and "response" in record
            and is_anthropic_pair(request, loads_if_json_text(record["response"]))
        )

    def convert(self, record: Mapping[str, Any], source: SourceRef) -> LLMCall:
        request = record.get("request")
        if not isinstance(request, Mapping):
            raise MalformedRecord("record has no request object")
        messages = anthropic_messages(request.get("system"), request.get("messages"))
        requested_model = optional_str(request.get("model"))
        metadata = _request_metadata(request)
        response = loads_if_json_text(record.get("response"))
        text: str | None = None
        tool_calls: tuple[ToolCall, ...] = ()
        usage: Usage | None = None
        model = requested_model
        status: CallStatus = "ok"
        error: str | None = None
        response_id: str | None = None
        if isinstance(response, Mapping):
            response_id = optional_str(response.get("id"))
            if response.get("type") == "error" or ("error" in response and "content" not in response):
                status, error = "error", error_type(response.get("error"))
            else:
                content = response.get("content")
                if not isinstance(content, list):
                    raise MalformedRecord("response has no content blocks")
                text = "\n".join(
                    b["text"]
                    for b in content
                    if isinstance(b, Mapping) and b.get("type") == "text" and isinstance(b.get("text"), str)
                )
                tool_calls = _tool_calls(content)
                thinking = [b for b in content if isinstance(b, Mapping) and b.get("type") == "thinking"]
                if thinking:
                    metadata["thinking_chars"] = sum(
                        len(b["thinking"]) for b in thinking if isinstance(b.get("thinking"), str)
                    )
                redacted = sum(1 for b in content if isinstance(b, Mapping) and b.get("type") == "redacted_thinking")
                if redacted:
                    metadata["redacted_thinking_blocks"] = redacted
                if isinstance(response.get("stop_reason"), str):
                    metadata["stop_reason"] = response["stop_reason"]
                usage = anthropic_usage(response.get("usage"))
                model = optional_str(response.get("model")) or requested_model
            if response_id:
                metadata["response_id"] = response_id
        elif isinstance(response, str) and response.strip():
            status, error = "error", error_type(response)
        elif response is not None and not isinstance(response, str):
            raise MalformedRecord("response is not an object")
        if status == "ok" and text is None and record.get("error"):
            status, error = "error", error_type(record["error"])
        if requested_model and model != requested_model:
            metadata["requested_model"] = requested_model
        timing = record_timing(record)
        return LLMCall(
            call_id=record_call_id(record, source, response_id),
            source=source,
            messages=messages,
            response=text,
            response_tool_calls=tool_calls,
            tools=_tools(request.get("tools")),
            model=model,
            session_id=optional_str(record.get("session_id")),
            usage=usage,
            latency_ms=timing.latency_ms,
            started_at=timing.started_at,
            ended_at=timing.ended_at,
            status=status,
            error=error,
            metadata=metadata,
        )
