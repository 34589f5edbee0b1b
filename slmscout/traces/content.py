"""Turning provider message content into plain text, with binary parts replaced by a placeholder and a hash; the
OpenAI and Anthropic message, tool and usage shapes; and the value helpers every reader uses to read a record's
fields (``optional_str``, ``first_text``, ``loads_if_json_text``, ``as_mapping``, ``value_text``...)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from slmscout.traces.record import Message, ToolCall, ToolDefinition, Usage

MAX_EMBEDDED_JSON_CHARS = 64 * 1024 * 1024


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


def arguments_text(arguments: Any) -> str:
    """Tool-call arguments as text: kept when they are text, JSON otherwise, "" when absent."""
    if arguments is None:
        return ""
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, sort_keys=True, ensure_ascii=False)


def value_text(value: Any) -> str:
    """Any value as text: kept when it is text, JSON otherwise (a value JSON cannot hold, such as a datetime, as its
    ``str``), "" for None: the lenient sibling of ``arguments_text``, for values from Parquet or OTLP attributes."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def schema_text(schema: Any) -> str:
    """A JSON schema as canonical JSON text, "" when absent."""
    return json.dumps(schema, sort_keys=True) if schema is not None else ""


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
                arguments=arguments_text(function.get("arguments")),
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
                parameters=schema_text(parameters),
            )
        )
    return tuple(tools)


# Role names other vocabularies use for the same turn: Gemini's history calls the assistant "model".
ROLE_ALIASES = {"model": "assistant"}


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
        role=ROLE_ALIASES.get(role, role),
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


def optional_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def first_str(record: Mapping[str, Any], *keys: str) -> str | None:
    """The value of the first of ``keys`` that holds text (or a whole number), as ``optional_str`` reads it."""
    for key in keys:
        value = optional_str(record.get(key))
        if value:
            return value
    return None


def first_text(sources: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> str | None:
    """``first_str`` over several mappings, the first mapping that has one of ``keys`` winning."""
    for source in sources:
        value = first_str(source, *keys)
        if value:
            return value
    return None


def loads_if_json_text(value: Any) -> Any:
    """A value that may be JSON encoded as a string (common in exports): decoded when it is, as is otherwise."""
    if isinstance(value, str) and value[:1] in ("{", "[") and len(value) <= MAX_EMBEDDED_JSON_CHARS:
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def as_mapping(value: Any) -> Mapping[str, Any]:
    """A mapping, also from JSON text or a list of key/value pairs (a Parquet map); empty otherwise."""
    value = loads_if_json_text(value)
    if isinstance(value, Mapping):
        return value
    if isinstance(value, list) and value and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in value):
        return {str(k): v for k, v in value}
    return {}


# --- Anthropic Messages -------------------------------------------------------------------------------------


def _anthropic_block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    if not isinstance(block, Mapping):
        return ""
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        return text if isinstance(text, str) else ""
    if kind in ("image", "document"):
        return binary_placeholder(str(kind), json.dumps(block.get("source"), sort_keys=True, default=str))
    if kind == "tool_result":
        inner = block.get("content")
        body = anthropic_content_text(inner) if isinstance(inner, list) else content_text(inner)
        return f"[tool result {block.get('tool_use_id', '')}]\n{body}".rstrip()
    if kind == "tool_use":
        arguments = json.dumps(block.get("input"), sort_keys=True, ensure_ascii=False)
        return f"[tool call {block.get('name', '')}] {arguments}"
    return ""


def anthropic_content_text(content: Any) -> str:
    """Plain text of Anthropic content: a string or a list of blocks (text, image, tool_use, tool_result)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "\n".join(t for t in (_anthropic_block_text(b) for b in content) if t)
    raise MalformedRecord("message content is neither text nor a list of blocks")


def anthropic_tool_calls(content: Any) -> tuple[ToolCall, ...]:
    """``tool_use`` blocks of Anthropic content, as tool calls."""
    if not isinstance(content, Sequence) or isinstance(content, str):
        return ()
    calls = []
    for block in content:
        if isinstance(block, Mapping) and block.get("type") == "tool_use" and isinstance(block.get("name"), str):
            block_id = block.get("id")
            calls.append(
                ToolCall(
                    name=block["name"],
                    arguments=arguments_text(block.get("input")),
                    id=block_id if isinstance(block_id, str) else None,
                )
            )
    return tuple(calls)


def anthropic_messages(system: Any, messages: Any) -> tuple[Message, ...]:
    """Prompt messages of an Anthropic request: ``system`` (text or blocks) first, then the turns."""
    out: list[Message] = []
    if system:
        out.append(Message("system", anthropic_content_text(system)))
    if not isinstance(messages, Sequence) or isinstance(messages, str):
        raise MalformedRecord("messages is not a list")
    for raw in messages:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("role"), str):
            raise MalformedRecord("a message has no role")
        content = raw.get("content")
        out.append(Message(raw["role"], anthropic_content_text(content), tool_calls=anthropic_tool_calls(content)))
    return tuple(out)


def anthropic_tool_definitions(raw: Any) -> tuple[ToolDefinition, ...]:
    """Anthropic tools: ``[{name, description, input_schema}]``."""
    if not raw:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise MalformedRecord("tools is not a list")
    tools = []
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise MalformedRecord("a tool definition has no name")
        description = item.get("description")
        schema = item.get("input_schema")
        tools.append(
            ToolDefinition(
                name=item["name"],
                description=description if isinstance(description, str) else "",
                parameters=schema_text(schema),
            )
        )
    return tuple(tools)


def anthropic_usage(raw: Any) -> Usage | None:
    """Anthropic usage, normalised so that ``input_tokens`` includes cache reads and writes (OTel semantics:
    Anthropic reports them apart from ``input_tokens``)."""
    if not isinstance(raw, Mapping):
        return None
    plain = optional_int(raw.get("input_tokens"))
    read = optional_int(raw.get("cache_read_input_tokens"))
    write = optional_int(raw.get("cache_creation_input_tokens"))
    total = None if plain is None else plain + (read or 0) + (write or 0)
    return Usage(
        input_tokens=total,
        output_tokens=optional_int(raw.get("output_tokens")),
        cache_read_tokens=read,
        cache_write_tokens=write,
    )
