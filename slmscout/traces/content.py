"""Turning provider message content into plain text, with binary parts replaced by a placeholder and a hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from slmscout.traces.record import Message, ToolCall, ToolDefinition


class MalformedRecord(ValueError):
    """A record that is not in the shape its reader expects; the reason is counted, the run goes on."""


def binary_placeholder(kind: str, payload: str) -> str:
    """A stand-in for an image or other binary part: its kind and a short hash, never its bytes."""
    digest = hashlib.sha256(payload.encode("utf-8", "replace")).hexdigest()[:16]
    return f"[{kind} sha256:{digest}]"


def _part_text(part: Any) -> str:
    if isinstance(part, str):
        return part
    if not isinstance(part, Mapping):
        return ""
    kind = part.get("type")
    if kind in ("text", "input_text", "output_text") or (kind is None and "text" in part):
        text = part.get("text")
        return text if isinstance(text, str) else ""
    if kind in ("image_url", "input_image", "image"):
        url = part.get("image_url")
        if isinstance(url, Mapping):
            url = url.get("url")
        return binary_placeholder("image", json.dumps(url if url is not None else part, sort_keys=True))
    if kind in ("input_audio", "audio", "file", "input_file", "document"):
        return binary_placeholder(str(kind), json.dumps(part, sort_keys=True, default=str))
    return ""


def content_text(content: Any) -> str:
    """Plain text of a message's content: a string, a list of parts, or None."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence) and not isinstance(content, (bytes, bytearray)):
        return "\n".join(t for t in (_part_text(p) for p in content) if t)
    if isinstance(content, Mapping):
        return _part_text(content)
    raise MalformedRecord("message content is neither text nor a list of parts")


def _arguments_text(arguments: Any) -> str:
    if arguments is None:
        return ""
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, sort_keys=True, ensure_ascii=False)


def _function_part(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``function`` object of an OpenAI tool entry, or the entry itself in the flat shape."""
    function = item.get("function")
    return function if isinstance(function, Mapping) else item


def openai_tool_calls(raw: Any) -> tuple[ToolCall, ...]:
    """Tool calls in the OpenAI shape: ``[{id, type: function, function: {name, arguments}}]``."""
    if not raw:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise MalformedRecord("tool_calls is not a list")
    calls = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise MalformedRecord("a tool call is not an object")
        function = _function_part(item)
        name = function.get("name")
        if not isinstance(name, str):
            raise MalformedRecord("a tool call has no name")
        call_id = item.get("id")
        calls.append(
            ToolCall(
                name=name,
                arguments=_arguments_text(function.get("arguments")),
                id=call_id if isinstance(call_id, str) else None,
            )
        )
    return tuple(calls)


def openai_tool_definitions(raw: Any) -> tuple[ToolDefinition, ...]:
    """Tool definitions in the OpenAI shape ``[{type: function, function: {name, description, parameters}}]``."""
    if not raw:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise MalformedRecord("tools is not a list")
    tools = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise MalformedRecord("a tool definition is not an object")
        function = _function_part(item)
        name = function.get("name")
        if not isinstance(name, str):
            raise MalformedRecord("a tool definition has no name")
        description = function.get("description")
        parameters = function.get("parameters")
        tools.append(
            ToolDefinition(
                name=name,
                description=description if isinstance(description, str) else "",
                parameters=json.dumps(parameters, sort_keys=True) if parameters is not None else "",
            )
        )
    return tuple(tools)


def openai_message(raw: Any) -> Message:
    """One message in the OpenAI chat shape ``{role, content, tool_calls?, name?, tool_call_id?}``."""
    if not isinstance(raw, Mapping):
        raise MalformedRecord("a message is not an object")
    role = raw.get("role")
    if not isinstance(role, str) or not role:
        raise MalformedRecord("a message has no role")
    name = raw.get("name")
    tool_call_id = raw.get("tool_call_id")
    return Message(
        role=role,
        content=content_text(raw.get("content")),
        tool_calls=openai_tool_calls(raw.get("tool_calls")),
        name=name if isinstance(name, str) else None,
        tool_call_id=tool_call_id if isinstance(tool_call_id, str) else None,
    )


def openai_messages(raw: Any) -> tuple[Message, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise MalformedRecord("messages is not a list")
    return tuple(openai_message(m) for m in raw)


def optional_str(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def optional_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, float) and value >= 0 and value.is_integer():
        return int(value)
    return None
