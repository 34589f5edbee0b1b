"""LiteLLM ``StandardLoggingPayload``: one JSON object per call, as the s3/GCS bucket loggers and custom callbacks
write it (``kwargs["standard_logging_object"]``), JSON Lines or a JSON array.

Fields (``litellm/types/utils.py``): ``id, trace_id, call_id, call_type, stream, status: "success"|"failure",
custom_llm_provider, model, model_id, model_group, api_base, messages (str | list | dict), response (a
ModelResponse dict, a string, or {} on failure), model_parameters, prompt_tokens, completion_tokens,
total_tokens, response_cost, startTime/endTime/completionStartTime`` (epoch float seconds, camelCase),
``response_time, metadata{user_api_key_*, requester_metadata, spend_logs_metadata, ...}, request_tags,
end_user, cache_hit, error_str, error_information{error_class, error_code, ...}``.

A record that wraps the payload under ``standard_logging_object`` is unwrapped. The caller and session come from
the user metadata (``requester_metadata``, ``spend_logs_metadata``, the metadata itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slmscout.traces.content import (
    MalformedRecord,
    first_text,
    loads_if_json_text,
    openai_tool_definitions,
    optional_float,
    optional_int,
    optional_str,
)
from slmscout.traces.messages import prompt_messages
from slmscout.traces.reader import RecordReader, caller_from, record_id, scalar_metadata
from slmscout.traces.record import LLMCall, SourceRef, Usage
from slmscout.traces.responses import CompletionParts, chat_completion_parts
from slmscout.traces.timestamps import iso_utc, latency_ms

PAYLOAD_KEY = "standard_logging_object"
_DISTINCTIVE = ("response_cost", "call_type")  # with camelCase startTime: LiteLLM, not a Langfuse observation
# call types that produce no text generation: embeddings, images, audio, moderation, reranking, files, batches
_NOT_GENERATION = ("embedding", "image", "transcription", "speech", "moderation", "rerank", "file", "batch")
# user-metadata keys naming the module and the session (agent and role: the shared ``AGENT_KEYS``/``ROLE_KEYS``)
MODULE_KEYS = ("module", "node", "step", "task", "generation_name", "trace_name")
SESSION_KEYS = ("session_id", "litellm_session_id", "thread_id", "conversation_id")


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
            caller=caller_from(sources, MODULE_KEYS),
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
