"""OpenAI Chat Completions request/response pairs: ``{"request": {...}, "response": {...}}`` per record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slmscout.traces.content import (
    MalformedRecord,
    content_text,
    openai_messages,
    openai_tool_calls,
    openai_tool_definitions,
    optional_int,
    optional_str,
)
from slmscout.traces.reader import RecordReader, record_id
from slmscout.traces.record import LLMCall, SourceRef, Usage


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, Mapping):
        return None
    details = raw.get("prompt_tokens_details")
    cached = optional_int(details.get("cached_tokens")) if isinstance(details, Mapping) else None
    return Usage(
        input_tokens=optional_int(raw.get("prompt_tokens")),
        output_tokens=optional_int(raw.get("completion_tokens")),
        cache_read_tokens=cached,
    )


class OpenAIChatReader(RecordReader):
    name = "openai-chat"
    priority = 200
    description = (
        "OpenAI Chat Completions request/response pairs: "
        '{"id"?, "request": {model, messages, tools}, "response": {choices, usage, model}} per record.'
    )

    def matches(self, record: Mapping[str, Any]) -> bool:
        request = record.get("request")
        return isinstance(request, Mapping) and "messages" in request and "response" in record

    def convert(self, record: Mapping[str, Any], source: SourceRef) -> LLMCall:
        request = record.get("request")
        if not isinstance(request, Mapping):
            raise MalformedRecord("record has no request object")
        messages = openai_messages(request.get("messages"))
        response = record.get("response")
        text: str | None = None
        tool_calls: tuple[Any, ...] = ()
        usage = None
        model = optional_str(request.get("model"))
        status = "ok"
        error = None
        response_id = None
        if isinstance(response, Mapping):
            response_id = optional_str(response.get("id"))
            model = optional_str(response.get("model")) or model
            usage = _usage(response.get("usage"))
            choices = response.get("choices")
            if isinstance(choices, list) and choices:
                first = choices[0]
                message = first.get("message") if isinstance(first, Mapping) else None
                if not isinstance(message, Mapping):
                    raise MalformedRecord("response choice has no message")
                text = content_text(message.get("content"))
                tool_calls = openai_tool_calls(message.get("tool_calls"))
            if isinstance(response.get("error"), Mapping):
                status, error = "error", optional_str(response["error"].get("type")) or "error"
        elif response is not None:
            raise MalformedRecord("response is not an object")
        call_id = record_id(record, source, "id", "custom_id")
        if call_id.startswith(source.path.rsplit("/", 1)[-1] + ":") and response_id:
            call_id = response_id
        return LLMCall(
            call_id=call_id,
            source=source,
            messages=messages,
            response=text,
            response_tool_calls=tool_calls,
            tools=openai_tool_definitions(request.get("tools")),
            model=model,
            usage=usage,
            status="error" if status == "error" else "ok",
            error=error,
        )
