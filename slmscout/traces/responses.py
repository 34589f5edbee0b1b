"""The answer side of a call: what a provider response says (OpenAI Chat Completions, legacy completions and
Responses API objects, Anthropic messages) as logging payloads carry it, and the short error types readers report
instead of an error's message.

``chat_completion_parts`` is the lenient reading the log and proxy readers share (LiteLLM, Helicone, AutoGen); the
OpenAI Chat Completions format itself, whose responses are read strictly and in more detail, is in ``openai_chat``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slmscout.traces.content import (
    MalformedRecord,
    anthropic_content_text,
    anthropic_tool_calls,
    anthropic_usage,
    content_text,
    openai_tool_calls,
    optional_int,
    optional_str,
)
from slmscout.traces.record import ToolCall, Usage

_HTTP_STATUS_TEXT = re.compile(r"(?:Error code|status(?: code)?)[:= ]\s*([1-5]\d\d)\b", re.IGNORECASE)
MAX_ERROR_TYPE_CHARS = 64
_EXCEPTION_NAME = re.compile(r"\s*([A-Za-z_][\w.]{0,120})\s*[(:]")

# --- error types --------------------------------------------------------------------------------------------------


def _short(text: str) -> str:
    return text[:MAX_ERROR_TYPE_CHARS]


def error_type(error: Any) -> str:
    """A short error type, never a message body: ``code`` or ``type`` of an error object, the HTTP status named in
    an error text, else ``"error"``."""
    if isinstance(error, Mapping):
        for key in ("code", "type"):
            value = error.get(key)
            if isinstance(value, str) and value:
                return _short(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return f"http_{value}" if 100 <= value <= 599 else str(value)
        inner = error.get("error")
        if isinstance(inner, Mapping):
            return error_type(inner)
    if isinstance(error, str):
        match = _HTTP_STATUS_TEXT.search(error[:200])
        if match:
            return f"http_{match.group(1)}"
    return "error"


def exception_type(text: Any) -> str:
    """A short error type from an exception's text (``"RateLimitError('...')"`` → ``RateLimitError``), never its
    body; ``"error"`` when the text names no exception."""
    if isinstance(text, str):
        match = _EXCEPTION_NAME.match(text)
        if match and re.search(r"(Error|Exception|Exceeded|Timeout|Interrupt|Cancelled)$", match.group(1)):
            return match.group(1).rsplit(".", 1)[-1]
    return "error"


def _reported_error(raw: Any) -> str | None:
    """The error type of a response's ``error`` value: its ``type`` or ``code``, never its message; None when the
    response reports no error."""
    if isinstance(raw, Mapping):
        return optional_str(raw.get("type")) or optional_str(raw.get("code")) or "error"
    if raw:
        return "error"
    return None


# --- OpenAI-shaped and Anthropic responses ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompletionParts:
    """What a provider response says: text, tool calls, the model that answered, usage, an error type."""

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    model: str | None = None
    usage: Usage | None = None
    response_id: str | None = None
    error: str | None = None


def openai_usage(raw: Any) -> Usage | None:
    """OpenAI usage (``prompt_tokens`` already includes cached tokens), also the Responses API names and the
    ``cache_read_input_tokens`` / ``cache_creation_input_tokens`` keys LiteLLM adds for Anthropic models."""
    if not isinstance(raw, Mapping):
        return None
    prompt = optional_int(raw.get("prompt_tokens"))
    completion = optional_int(raw.get("completion_tokens"))
    details = raw.get("prompt_tokens_details")
    if prompt is None and completion is None:  # Responses API
        prompt = optional_int(raw.get("input_tokens"))
        completion = optional_int(raw.get("output_tokens"))
        details = raw.get("input_tokens_details")
    if prompt is None and completion is None:
        return None
    cached = optional_int(details.get("cached_tokens")) if isinstance(details, Mapping) else None
    if cached is None:
        cached = optional_int(raw.get("cache_read_input_tokens"))
    return Usage(
        input_tokens=prompt,
        output_tokens=completion,
        cache_read_tokens=cached,
        cache_write_tokens=optional_int(raw.get("cache_creation_input_tokens")),
    )


def _legacy_function_call(message: Mapping[str, Any]) -> tuple[ToolCall, ...]:
    call = message.get("function_call")
    if isinstance(call, Mapping) and isinstance(call.get("name"), str):
        arguments = call.get("arguments")
        return (ToolCall(name=call["name"], arguments=arguments if isinstance(arguments, str) else ""),)
    return ()


def _responses_output(output: Sequence[Any]) -> tuple[str | None, tuple[ToolCall, ...]]:
    """Text and function calls of a Responses API ``output`` list."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for item in output:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        if kind == "message":
            texts.append(content_text(item.get("content")))
        elif kind == "function_call" and isinstance(item.get("name"), str):
            arguments = item.get("arguments")
            calls.append(
                ToolCall(
                    name=item["name"],
                    arguments=arguments if isinstance(arguments, str) else json.dumps(arguments, sort_keys=True),
                    id=optional_str(item.get("call_id")) or optional_str(item.get("id")),
                )
            )
    text = "\n".join(t for t in texts if t) if texts else None
    return text, tuple(calls)


def chat_completion_parts(response: Mapping[str, Any]) -> CompletionParts:
    """The parts of an OpenAI-shaped response object (choices, Responses API output, or an error body)."""
    text: str | None = None
    calls: tuple[ToolCall, ...] = ()
    choices = response.get("choices")
    output = response.get("output")
    if isinstance(choices, list) and choices:
        first = choices[0]
        if not isinstance(first, Mapping):
            raise MalformedRecord("response choice is not an object")
        message = first.get("message")
        if isinstance(message, Mapping):
            text = content_text(message.get("content"))
            calls = openai_tool_calls(message.get("tool_calls")) or _legacy_function_call(message)
        elif isinstance(first.get("text"), str):  # legacy completions
            text = first["text"]
        else:
            raise MalformedRecord("response choice has no message")
    elif isinstance(output, list):
        text, calls = _responses_output(output)
        if text is None and isinstance(response.get("output_text"), str):
            text = response["output_text"]
    return CompletionParts(
        text=text,
        tool_calls=calls,
        model=optional_str(response.get("model")),
        usage=openai_usage(response.get("usage")),
        response_id=optional_str(response.get("id")),
        error=_reported_error(response.get("error")),
    )


def anthropic_response_parts(response: Mapping[str, Any]) -> CompletionParts:
    """The parts of an Anthropic Messages response ``{type: message, content: [blocks], model, usage}``."""
    content = response.get("content")
    text_blocks = (
        [b for b in content if isinstance(b, Mapping) and b.get("type") == "text"]
        if isinstance(content, list)
        else content
    )
    return CompletionParts(
        text=anthropic_content_text(text_blocks) if content is not None else None,
        tool_calls=anthropic_tool_calls(content),
        model=optional_str(response.get("model")),
        usage=anthropic_usage(response.get("usage")),
        response_id=optional_str(response.get("id")),
        error=_reported_error(response.get("error")),
    )
