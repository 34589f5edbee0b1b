"""Helicone request exports (``npx @helicone/export --format jsonl --include-body``): one ``HeliconeRequest`` a
record, as the ``/v1/request/query-clickhouse`` API returns it with the bodies filled in.

Fields: ``request_id, request_created_at, request_path, request_body (provider JSON), request_model,
request_user_id, request_properties, response_id, response_created_at, response_status, response_body,
response_model, model, provider, delay_ms, time_to_first_token, prompt_tokens, completion_tokens,
prompt_cache_read_tokens?, prompt_cache_write_tokens?, total_tokens, cost | costUSD, properties, scores,
target_url``. Bodies may be objects or JSON text; the provider shape (OpenAI or Anthropic) is told from the
bodies. Sessions arrive as the ``Helicone-Session-Id`` / ``-Path`` / ``-Name`` properties; custom properties
may keep their ``Helicone-Property-`` prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slmscout.traces.content import (
    MalformedRecord,
    anthropic_messages,
    anthropic_tool_definitions,
    first_text,
    loads_if_json_text,
    openai_tool_definitions,
    optional_float,
    optional_int,
    optional_str,
)
from slmscout.traces.messages import prompt_messages
from slmscout.traces.reader import RecordReader, caller_from, record_id, scalar_metadata
from slmscout.traces.record import LLMCall, Message, SourceRef, ToolDefinition, Usage
from slmscout.traces.responses import CompletionParts, anthropic_response_parts, chat_completion_parts
from slmscout.traces.timestamps import iso_utc

SESSION_ID = "helicone-session-id"
SESSION_PATH = "helicone-session-path"
SESSION_NAME = "helicone-session-name"
PROPERTY_PREFIX = "helicone-property-"


def _properties(record: Mapping[str, Any]) -> dict[str, Any]:
    """Request properties merged with ``properties``, keys lower-cased, ``Helicone-Property-`` prefix removed."""
    merged: dict[str, Any] = {}
    for key in ("properties", "request_properties"):
        raw = loads_if_json_text(record.get(key))
        if isinstance(raw, Mapping):
            for name, value in raw.items():
                if isinstance(name, str):
                    lowered = name.lower()
                    merged[lowered.removeprefix(PROPERTY_PREFIX)] = value
    return merged


def _is_anthropic(request: Any, response: Any, record: Mapping[str, Any]) -> bool:
    if isinstance(response, Mapping):
        if response.get("type") == "message" or "stop_reason" in response:
            return True
        if "choices" in response:
            return False
    if isinstance(request, Mapping):
        if "system" in request:
            return True
        tools = request.get("tools")
        if isinstance(tools, list) and any(isinstance(t, Mapping) and "input_schema" in t for t in tools):
            return True
    path = optional_str(record.get("request_path")) or optional_str(record.get("target_url")) or ""
    return path.rstrip("/").endswith("/messages")


class HeliconeReader(RecordReader):
    name = "helicone"
    priority = 150  # request_body/response_body are provider JSON: read them before any generic reader
    description = (
        "Helicone request export (JSON Lines, JSON or CSV from @helicone/export): request_body/response_body "
        "in the OpenAI or Anthropic shape, tokens, delay_ms, Helicone-Session-* properties."
    )

    def matches(self, record: Mapping[str, Any]) -> bool:
        return (
            "request_body" in record
            and "request_created_at" in record
            and ("response_status" in record or "response_id" in record)
        )

    def convert(self, record: Mapping[str, Any], source: SourceRef) -> LLMCall:
        request = loads_if_json_text(record.get("request_body"))
        response = loads_if_json_text(record.get("response_body"))
        if not isinstance(request, Mapping):
            raise MalformedRecord("request body is not an object")
        if "helicone_message" in request:
            raise MalformedRecord("request body was not stored by Helicone")
        messages: tuple[Message, ...]
        tools: tuple[ToolDefinition, ...]
        parts = CompletionParts()
        if _is_anthropic(request, response, record):
            messages = anthropic_messages(request.get("system"), request.get("messages"))
            tools = anthropic_tool_definitions(request.get("tools"))
            if isinstance(response, Mapping):
                parts = anthropic_response_parts(response)
        else:
            if "messages" in request:
                messages = prompt_messages(request["messages"])
            elif "input" in request or "prompt" in request:
                messages = prompt_messages(request)
            else:
                raise MalformedRecord("request body has no messages")
            tools = openai_tool_definitions(request.get("tools"))
            if isinstance(response, Mapping):
                parts = chat_completion_parts(response)
        status = optional_int(record.get("response_status"))
        error = parts.error
        if error is None and status is not None and not 200 <= status < 300:
            error = f"http {status}"
        properties = _properties(record)
        return LLMCall(
            call_id=record_id(record, source, "request_id", "response_id"),
            source=source,
            messages=messages,
            response=parts.text,
            response_tool_calls=parts.tool_calls,
            tools=tools,
            model=(
                optional_str(record.get("response_model"))
                or parts.model
                or optional_str(record.get("model"))
                or optional_str(record.get("request_model"))
                or optional_str(request.get("model"))
            ),
            caller=caller_from([properties], (SESSION_PATH, "module", "node", "step")),
            session_id=first_text([properties], (SESSION_ID, "session_id", "session")),
            usage=parts.usage or self._usage(record),
            latency_ms=optional_float(record.get("delay_ms")) or optional_float(record.get("latency")),
            started_at=iso_utc(record.get("request_created_at")),
            ended_at=iso_utc(record.get("response_created_at")),
            status="error" if error else "ok",
            error=error,
            metadata=scalar_metadata(
                {
                    "provider": record.get("provider"),
                    "model_requested": record.get("request_model") or request.get("model"),
                    "session_name": properties.get(SESSION_NAME),
                    "user": record.get("request_user_id"),
                    "cost_usd": self._cost(record),
                    "ttft_ms": optional_float(record.get("time_to_first_token")),
                    "request_path": record.get("request_path"),
                    **{
                        f"property_{key}": value for key, value in properties.items() if not key.startswith("helicone-")
                    },
                }
            ),
        )

    @staticmethod
    def _usage(record: Mapping[str, Any]) -> Usage | None:
        prompt = optional_int(record.get("prompt_tokens"))
        completion = optional_int(record.get("completion_tokens"))
        if prompt is None and completion is None:
            prompt = optional_int(_number(record.get("prompt_tokens")))
            completion = optional_int(_number(record.get("completion_tokens")))
        if prompt is None and completion is None:
            return None
        return Usage(
            input_tokens=prompt,
            output_tokens=completion,
            cache_read_tokens=optional_int(record.get("prompt_cache_read_tokens")),
            cache_write_tokens=optional_int(record.get("prompt_cache_write_tokens")),
        )

    @staticmethod
    def _cost(record: Mapping[str, Any]) -> float | None:
        for key in ("costUSD", "cost", "cost_usd"):
            value = optional_float(record.get(key))
            if value is not None:
                return value
        return None


def _number(value: Any) -> float | None:
    """A count written as text (CSV exports)."""
    if isinstance(value, str):
        return optional_float(value)
    return None
