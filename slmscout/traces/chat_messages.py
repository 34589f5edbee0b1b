"""The chat "messages" layout: ``{"id", "messages": [...], "model"?, "tools"?}``, last assistant turn = response.

The same record shape comes as JSON Lines, a JSON array, CSV or Parquet. In CSV (and in many Hub datasets) the
``messages`` and ``tools`` columns hold JSON text, which is decoded here. TRL tool-calling rows are read too:
assistant ``tool_calls`` (``arguments`` as JSON text or an object), ``{"role": "tool"}`` turns and a ``tools``
column of JSON-schema function definitions (a list, a JSON string, or a list of JSON strings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slmscout.traces.content import (
    MalformedRecord,
    loads_if_json_text,
    openai_messages,
    openai_tool_definitions,
    optional_str,
)
from slmscout.traces.reader import RecordReader, record_id
from slmscout.traces.record import LLMCall, Message, SourceRef, ToolCall, ToolDefinition


def message_list(value: Any) -> list[Any] | None:
    """A list (of messages), decoded from JSON text when the column holds text (CSV); None otherwise."""
    decoded = loads_if_json_text(value)
    if isinstance(decoded, Sequence) and not isinstance(decoded, (str, bytes, bytearray)):
        return list(decoded)
    return None


def looks_like_message_list(value: Any) -> bool:
    """A cheap check for ``matches``: a list, or text that starts like a JSON array (decoded in ``convert``)."""
    if isinstance(value, str):
        return value.lstrip()[:1] == "["
    return isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray))


def tool_definitions(value: Any) -> tuple[ToolDefinition, ...]:
    """The ``tools`` column: a list of definitions, JSON text of one, or a list of JSON texts (Hub datasets)."""
    decoded = loads_if_json_text(value)
    if isinstance(decoded, str):
        if decoded.strip():
            raise MalformedRecord("tools is not a list")
        return ()
    if isinstance(decoded, Sequence) and not isinstance(decoded, (bytes, bytearray)):
        decoded = [loads_if_json_text(item) for item in decoded]
    return openai_tool_definitions(decoded)


def split_response(
    messages: Sequence[Message],
) -> tuple[tuple[Message, ...], str | None, tuple[ToolCall, ...]]:
    """Prompt, response text and response tool calls: the last turn is the response when the assistant spoke it."""
    if messages and messages[-1].role == "assistant":
        last = messages[-1]
        return tuple(messages[:-1]), last.content, last.tool_calls
    return tuple(messages), None, ()


def dataset_call(record: Mapping[str, Any], source: SourceRef, messages: Sequence[Message], *id_keys: str) -> LLMCall:
    """The call of a chat-dataset record: the last assistant turn is the response, the rest the prompt; the id under
    the first of ``id_keys``, tools and model from the record's own columns."""
    prompt, response, response_tool_calls = split_response(messages)
    return LLMCall(
        call_id=record_id(record, source, *id_keys),
        source=source,
        messages=prompt,
        response=response,
        response_tool_calls=response_tool_calls,
        tools=tool_definitions(record.get("tools")),
        model=optional_str(record.get("model")),
    )


class ChatMessagesReader(RecordReader):
    name = "chat-messages"
    priority = 900  # the most generic shape: every more specific reader is asked first
    description = (
        'Chat "messages" layout, one call a record: {"id", "messages": [...], "model"?, "tools"?}; '
        "the last assistant turn is the response (JSON Lines, a JSON array, CSV with JSON-text columns, "
        "Parquet; TRL tool-calling rows included)."
    )

    def matches(self, record: Mapping[str, Any]) -> bool:
        return looks_like_message_list(record.get("messages"))

    def convert(self, record: Mapping[str, Any], source: SourceRef) -> LLMCall:
        if not isinstance(record, Mapping):
            raise MalformedRecord("record is not a JSON object")
        if "messages" not in record:
            raise MalformedRecord("record has no messages")
        raw = message_list(record["messages"])
        if raw is None:
            raise MalformedRecord("messages is not a list")
        messages = openai_messages(raw)
        if not messages:
            raise MalformedRecord("messages is empty")
        return dataset_call(record, source, messages, "id", "call_id", "prompt_id")
