"""The prompt side of a call in the looser shapes logs and SDK exports write it: messages as LangChain serializes
or dumps them, OpenAI chat messages, Anthropic messages and Responses API input items; tool calls and tool
definitions in any of those shapes; and the sampling parameters of a provider request body.

These helpers never take a shape for another: a message without a role is malformed, entries without a name are
left out of tool calls and definitions. The strict OpenAI and Anthropic shapes they build on are in ``content``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from slmscout.traces.content import (
    MalformedRecord,
    anthropic_content_text,
    anthropic_tool_calls,
    content_text,
    loads_if_json_text,
    openai_message,
    optional_float,
    optional_int,
    optional_str,
    value_text,
)
from slmscout.traces.record import JsonScalar, Message, ToolCall, ToolDefinition

# --- messages, tool calls and tools in LangChain, OpenAI and Anthropic shapes --------------------------------------

# LangChain message classes (the last element of a serialized ``id``) and ``type`` values, as chat roles.
_LC_CLASS_ROLES = {
    "HumanMessage": "user",
    "SystemMessage": "system",
    "AIMessage": "assistant",
    "ToolMessage": "tool",
    "FunctionMessage": "function",
    "RemoveMessage": "remove",
}
_TYPE_ROLES = {
    "human": "user",
    "user": "user",
    "ai": "assistant",
    "assistant": "assistant",
    "system": "system",
    "developer": "developer",
    "tool": "tool",
    "function": "function",
}
_TOOL_CALL_PART_TYPES = ("tool_use", "tool-call", "tool_call")
_TOOL_RESULT_PART_TYPES = ("tool_result", "tool-result")


def looks_like_message(item: Any) -> bool:
    """A chat message in one of the shapes ``loose_message`` reads (not a content part such as ``{type: text}``)."""
    if not isinstance(item, Mapping):
        return False
    if item.get("lc") == 1 or isinstance(item.get("role"), str):
        return True
    return isinstance(item.get("type"), str) and item["type"] in _TYPE_ROLES and "content" in item


def lc_unwrap(raw: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """The class name and constructor kwargs of a LangChain-serialized object, or ``("", raw)`` for a plain dict."""
    if raw.get("lc") == 1 and raw.get("type") == "constructor" and isinstance(raw.get("kwargs"), Mapping):
        ident = raw.get("id")
        name = ident[-1] if isinstance(ident, list) and ident and isinstance(ident[-1], str) else ""
        return name, raw["kwargs"]
    return "", raw


def _role(class_name: str, body: Mapping[str, Any]) -> str:
    base = class_name.removesuffix("Chunk")
    if base in _LC_CLASS_ROLES:
        return _LC_CLASS_ROLES[base]
    role = body.get("role")
    if isinstance(role, str) and role:
        return role
    kind = body.get("type")
    if isinstance(kind, str) and kind in _TYPE_ROLES:
        return _TYPE_ROLES[kind]
    raise MalformedRecord("a message has no role")


def loose_content(content: Any) -> str:
    """Text of message content: a string, OpenAI parts, Anthropic blocks or LangChain content blocks. Tool-call
    parts are left out (they become tool calls); images and files become a placeholder and a hash."""
    if not isinstance(content, list):
        if isinstance(content, Mapping) and content.get("type") in _TOOL_CALL_PART_TYPES:
            return ""
        return content_text(content)
    texts = []
    for part in content:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind in _TOOL_CALL_PART_TYPES:
            continue
        text = anthropic_content_text([part]) if kind in _TOOL_RESULT_PART_TYPES else content_text([part])
        if text:
            texts.append(text)
    return "\n".join(texts)


def loose_tool_calls(raw: Any) -> tuple[ToolCall, ...]:
    """Tool calls in any common shape: OpenAI ``{id, function: {name, arguments}}``, LangChain ``{name, args, id}``,
    flat ``{name, arguments}``, Anthropic ``{type: tool_use, name, input}``; entries without a name are left out."""
    raw = loads_if_json_text(raw)
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        return ()
    calls = []
    for item in raw:
        item = loads_if_json_text(item)
        if not isinstance(item, Mapping):
            continue
        function = item.get("function")
        body = function if isinstance(function, Mapping) else item
        name = body.get("name") or item.get("toolName")
        if not isinstance(name, str) or not name:
            continue
        arguments = next((body[k] for k in ("arguments", "args", "input") if k in body), None)
        call_id = next((item[k] for k in ("id", "toolCallId", "call_id") if isinstance(item.get(k), str)), None)
        calls.append(ToolCall(name=name, arguments=value_text(arguments), id=call_id or None))
    return tuple(calls)


def _message_tool_calls(body: Mapping[str, Any]) -> tuple[ToolCall, ...]:
    calls = loose_tool_calls(body.get("tool_calls"))
    if not calls:
        extra = body.get("additional_kwargs")
        if isinstance(extra, Mapping):
            calls = loose_tool_calls(extra.get("tool_calls")) or loose_tool_calls(extra.get("function_call"))
    if not calls:
        calls = loose_tool_calls(body.get("function_call"))
    if not calls:
        calls = anthropic_tool_calls(body.get("content"))
    return calls


def loose_message(raw: Any) -> Message:
    """One message: LangChain-serialized, a LangChain message dump (``{type: "human", content}``), OpenAI
    ``{role, content, tool_calls}`` or Anthropic ``{role, content: [blocks]}``."""
    raw = loads_if_json_text(raw)
    if not isinstance(raw, Mapping):
        raise MalformedRecord("a message is not an object")
    class_name, body = lc_unwrap(raw)
    role = _role(class_name, body)
    name = body.get("name")
    tool_call_id = body.get("tool_call_id")
    return Message(
        role=role,
        content=loose_content(body.get("content")),
        tool_calls=_message_tool_calls(body),
        name=name if isinstance(name, str) and name else None,
        tool_call_id=tool_call_id if isinstance(tool_call_id, str) and tool_call_id else None,
    )


def loose_messages(raw: Any) -> tuple[Message, ...]:
    raw = loads_if_json_text(raw)
    if not isinstance(raw, list):
        raise MalformedRecord("messages is not a list")
    return tuple(loose_message(m) for m in raw)


def _schema_text(schema: Any) -> str:
    schema = loads_if_json_text(schema)
    if schema is None or schema == "":
        return ""
    if isinstance(schema, str):
        return schema
    return json.dumps(schema, sort_keys=True, default=str)


def _tool_definition(item: Any, name: Any = None) -> ToolDefinition | None:
    item = loads_if_json_text(item)
    if not isinstance(item, Mapping):
        return None
    function = item.get("function")
    body = function if isinstance(function, Mapping) else item
    name = body.get("name") or name
    if not isinstance(name, str) or not name:
        return None
    description = body.get("description")
    schema = next(
        (body[k] for k in ("parameters", "input_schema", "inputSchema", "parameters_json_schema") if k in body), None
    )
    return ToolDefinition(
        name=name, description=description if isinstance(description, str) else "", parameters=_schema_text(schema)
    )


def loose_tool_definitions(raw: Any) -> tuple[ToolDefinition, ...]:
    """Tools offered to the model: OpenAI ``[{type: function, function: {...}}]``, flat ``[{name, description,
    parameters}]``, Anthropic ``[{name, input_schema}]`` or a ``{name: definition}`` map; nameless entries are
    left out."""
    raw = loads_if_json_text(raw)
    if isinstance(raw, Mapping):
        found = (_tool_definition(v, k) for k, v in raw.items())
    elif isinstance(raw, list):
        found = (_tool_definition(v) for v in raw)
    else:
        return ()
    return tuple(t for t in found if t is not None)


# --- OpenAI chat messages and Responses API input items ------------------------------------------------------------


def input_item_message(raw: Any) -> Message:
    """One prompt item: an OpenAI chat message, or a Responses API input item (function call or its output)."""
    if isinstance(raw, str):
        return Message("user", raw)
    if isinstance(raw, Mapping) and "role" not in raw:
        kind = raw.get("type")
        if kind == "function_call_output":
            output = raw.get("output")
            return Message(
                "tool",
                output if isinstance(output, str) else content_text(output),
                tool_call_id=optional_str(raw.get("call_id")),
            )
        if kind == "function_call" and isinstance(raw.get("name"), str):
            arguments = raw.get("arguments")
            call = ToolCall(
                name=raw["name"],
                arguments=arguments if isinstance(arguments, str) else "",
                id=optional_str(raw.get("call_id")),
            )
            return Message("assistant", "", tool_calls=(call,))
    return openai_message(raw)


def prompt_messages(raw: Any) -> tuple[Message, ...]:
    """Prompt messages given as a list of chat messages / input items, a bare string, or an object holding
    ``messages``, ``input`` or ``prompt``."""
    raw = loads_if_json_text(raw)
    if isinstance(raw, str):
        return (Message("user", raw),)
    if isinstance(raw, Mapping):
        for key in ("messages", "input", "prompt"):
            if key in raw:
                return prompt_messages(raw[key])
        raise MalformedRecord("messages is not in a known shape")
    if isinstance(raw, Sequence) and not isinstance(raw, (bytes, bytearray)):
        return tuple(input_item_message(item) for item in raw)
    raise MalformedRecord("record has no messages")


# --- request parameters ----------------------------------------------------------------------------------------


def sampling_metadata(request: Mapping[str, Any], max_token_keys: Sequence[str]) -> dict[str, JsonScalar]:
    """``max_tokens`` (from the first of ``max_token_keys`` that holds a count) and ``temperature`` of a provider
    request body, as call metadata."""
    meta: dict[str, JsonScalar] = {}
    max_tokens = next((n for n in (optional_int(request.get(k)) for k in max_token_keys) if n is not None), None)
    if max_tokens is not None:
        meta["max_tokens"] = max_tokens
    temperature = request.get("temperature")
    if isinstance(temperature, (int, float)) and not isinstance(temperature, bool):
        meta["temperature"] = optional_float(temperature)
    return meta
