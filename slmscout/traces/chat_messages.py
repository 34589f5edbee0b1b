"""The chat "messages" layout: ``{"id", "messages": [...], "model"?, "tools"?}``, last assistant turn = response."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slmscout.traces.content import (
    MalformedRecord,
    openai_messages,
    openai_tool_definitions,
    optional_str,
)
from slmscout.traces.reader import RecordReader, record_id
from slmscout.traces.record import LLMCall, SourceRef


class ChatMessagesReader(RecordReader):
    name = "chat-messages"
    priority = 900  # the most generic shape: every more specific reader is asked first
    description = (
        'Chat "messages" layout, one call a record: {"id", "messages": [...], "model"?, "tools"?}; '
        "the last assistant turn is the response (JSON Lines or a JSON array)."
    )

    def matches(self, record: Mapping[str, Any]) -> bool:
        return isinstance(record.get("messages"), list)

    def convert(self, record: Mapping[str, Any], source: SourceRef) -> LLMCall:
        if not isinstance(record, Mapping):
            raise MalformedRecord("record is not a JSON object")
        if "messages" not in record:
            raise MalformedRecord("record has no messages")
        messages = openai_messages(record["messages"])
        if not messages:
            raise MalformedRecord("messages is empty")
        prompt, response = messages, None
        response_tool_calls: tuple[Any, ...] = ()
        last = messages[-1]
        if last.role == "assistant":
            prompt = messages[:-1]
            response = last.content
            response_tool_calls = last.tool_calls
        return LLMCall(
            call_id=record_id(record, source, "id", "call_id"),
            source=source,
            messages=prompt,
            response=response,
            response_tool_calls=response_tool_calls,
            tools=openai_tool_definitions(record.get("tools")),
            model=optional_str(record.get("model")),
        )
