"""LiteLLM ``StandardLoggingPayload``: one JSON object per call, as the s3/GCS bucket loggers and custom callbacks
write it (``kwargs["standard_logging_object"]``), JSON Lines or a JSON array.

Fields (``litellm/types/utils.py``): ``id, trace_id, call_id, call_type, stream, status: "success"|"failure",
custom_llm_provider, model, model_id, model_group, api_base, messages (str | list | dict), response (a
ModelResponse dict, a string, or {} on failure), model_parameters, prompt_tokens, completion_tokens,
total_tokens, response_cost, startTime/endTime/completionStartTime`` (epoch float seconds, camelCase),
``response_time, metadata{user_api_key_*, requester_metadata, spend_logs_metadata, ...}, request_tags,
end_user, cache_hit, error_str, error_information{error_class, error_code, ...}``.

A record that wraps the payload under ``standard_logging_object`` is unwrapped. The OpenAI-shaped response
helpers here are shared with the Helicone and AutoGen readers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slmscout.traces.content import (
    MalformedRecord,
    anthropic_content_text,
    anthropic_tool_calls,
    anthropic_usage,
    content_text,
    loads_if_json_text,
    openai_message,
    openai_tool_calls,
    openai_tool_definitions,
    optional_float,
    optional_int,
    optional_str,
)
from slmscout.traces.reader import RecordReader, record_id
from slmscout.traces.record import Caller, JsonScalar, LLMCall, Message, SourceRef, ToolCall, Usage
from slmscout.traces.timestamps import iso_utc, latency_ms

# --- OpenAI-shaped responses (Chat Completions, legacy completions, Responses API) ---------------------------


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


def error_type(raw: Any) -> str | None:
    """A short error type from an ``error`` value: its ``type`` or ``code``, never its message."""
    if isinstance(raw, Mapping):
        return optional_str(raw.get("type")) or optional_str(raw.get("code")) or "error"
    if raw:
        return "error"
    return None


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
        error=error_type(response.get("error")),
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
        error=error_type(response.get("error")),
    )


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


# --- caller and session from user metadata ----------------------------------------------------------------

AGENT_KEYS = ("agent", "agent_name", "agent_id", "assistant_name")
ROLE_KEYS = ("role", "agent_role")
MODULE_KEYS = ("module", "node", "step", "task", "generation_name", "trace_name")
SESSION_KEYS = ("session_id", "litellm_session_id", "thread_id", "conversation_id")


def first_text(sources: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> str | None:
    for source in sources:
        for key in keys:
            value = optional_str(source.get(key))
            if value:
                return value
    return None


def caller_from(sources: Sequence[Mapping[str, Any]]) -> Caller:
    return Caller(
        agent=first_text(sources, AGENT_KEYS),
        role=first_text(sources, ROLE_KEYS),
        module=first_text(sources, MODULE_KEYS),
    )


def scalar_metadata(pairs: Mapping[str, Any]) -> dict[str, JsonScalar]:
    """The entries that are JSON scalars (lists of scalars joined with commas), Nones and empties left out."""
    out: dict[str, JsonScalar] = {}
    for key, value in pairs.items():
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, (str, int, float, bool)):
            out[key] = value
        elif isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
            out[key] = ",".join(str(v) for v in value)
    return out


# --- the reader --------------------------------------------------------------------------------------------

PAYLOAD_KEY = "standard_logging_object"
_DISTINCTIVE = ("response_cost", "call_type")  # with camelCase startTime: LiteLLM, not a Langfuse observation
# call types that produce no text generation: embeddings, images, audio, moderation, reranking, files, batches
_NOT_GENERATION = ("embedding", "image", "transcription", "speech", "moderation", "rerank", "file", "batch")


def _payload(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    wrapped = record.get(PAYLOAD_KEY)
    if isinstance(wrapped, Mapping):
        return wrapped
    if (
        "startTime" in record
        and any(key in record for key in _DISTINCTIVE)
        and ("messages" in record or "response" in record)
    ):
        return record
    return None


def _sources(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Where user-supplied identity may sit: requester metadata, spend-logs metadata, the metadata itself."""
    metadata = loads_if_json_text(payload.get("metadata"))
    if not isinstance(metadata, Mapping):
        return []
    sources: list[Mapping[str, Any]] = []
    for key in ("requester_metadata", "spend_logs_metadata"):
        nested = metadata.get(key)
        if isinstance(nested, Mapping):
            sources.append(nested)
    sources.append(metadata)
    return sources


class LiteLLMReader(RecordReader):
    name = "litellm"
    priority = 150  # before openai-chat (200) and chat-messages (900): a payload also carries ``messages``
    description = (
        "LiteLLM StandardLoggingPayload, one call a record (bucket logs, callback dumps; JSON Lines or a JSON "
        'array; also {"standard_logging_object": {...}}): messages, response, model, tokens, startTime/endTime.'
    )

    def matches(self, record: Mapping[str, Any]) -> bool:
        return _payload(record) is not None

    def convert(self, record: Mapping[str, Any], source: SourceRef) -> LLMCall:
        payload = _payload(record)
        if payload is None:
            raise MalformedRecord("record is not a LiteLLM payload")
        call_type = optional_str(payload.get("call_type")) or ""
        if any(kind in call_type.lower() for kind in _NOT_GENERATION):
            raise MalformedRecord("call is not a text generation")
        messages = prompt_messages(payload.get("messages"))
        response = loads_if_json_text(payload.get("response"))
        parts = CompletionParts()
        if isinstance(response, Mapping):
            parts = chat_completion_parts(response)
        elif isinstance(response, str):
            parts = CompletionParts(text=response)
        failed = payload.get("status") == "failure" or parts.error is not None
        usage = self._usage(payload, parts.usage, failed)
        parameters = loads_if_json_text(payload.get("model_parameters"))
        tools = openai_tool_definitions(parameters.get("tools")) if isinstance(parameters, Mapping) else ()
        sources = _sources(payload)
        start, end = payload.get("startTime"), payload.get("endTime")
        latency = latency_ms(start, end)
        if latency is None:
            seconds = optional_float(payload.get("response_time"))
            latency = seconds * 1000.0 if seconds is not None and seconds >= 0 else None
        return LLMCall(
            call_id=record_id(payload, source, "id", "call_id", "litellm_call_id", "request_id"),
            source=source,
            messages=messages,
            response=None if failed and not parts.text else parts.text,
            response_tool_calls=parts.tool_calls,
            tools=tools,
            model=parts.model or optional_str(payload.get("model")),
            caller=caller_from(sources),
            session_id=first_text([*sources, payload], SESSION_KEYS),
            usage=usage,
            latency_ms=latency,
            started_at=iso_utc(start),
            ended_at=iso_utc(end),
            status="error" if failed else "ok",
            error=self._error(payload, parts) if failed else None,
            metadata=scalar_metadata(
                {
                    "trace_id": payload.get("trace_id"),
                    "call_type": call_type,
                    "provider": payload.get("custom_llm_provider"),
                    "model_requested": payload.get("model"),
                    "model_group": payload.get("model_group"),
                    "cost_usd": optional_float(payload.get("response_cost")),
                    "cache_hit": payload.get("cache_hit") if isinstance(payload.get("cache_hit"), bool) else None,
                    "stream": payload.get("stream") if isinstance(payload.get("stream"), bool) else None,
                    "end_user": payload.get("end_user"),
                    "tags": payload.get("request_tags"),
                }
            ),
        )

    @staticmethod
    def _usage(payload: Mapping[str, Any], reported: Usage | None, failed: bool) -> Usage | None:
        prompt = optional_int(payload.get("prompt_tokens"))
        completion = optional_int(payload.get("completion_tokens"))
        if failed and not prompt and not completion:
            return reported  # a failure logs 0/0: no count was reported
        if prompt is None and completion is None:
            return reported
        return Usage(
            input_tokens=prompt,
            output_tokens=completion,
            cache_read_tokens=reported.cache_read_tokens if reported else None,
            cache_write_tokens=reported.cache_write_tokens if reported else None,
        )

    @staticmethod
    def _error(payload: Mapping[str, Any], parts: CompletionParts) -> str:
        information = payload.get("error_information")
        if isinstance(information, Mapping):
            kind = optional_str(information.get("error_class")) or optional_str(information.get("error_code"))
            if kind:
                return kind
        return parts.error or "failure"
