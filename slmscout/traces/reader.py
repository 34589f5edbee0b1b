"""The reader seam: what a trace reader is, and the readers slmscout knows.

A record reader recognises one JSON record shape and converts it into an ``LLMCall``. Detection is by content:
the first records of a file are offered to each reader in turn, most specific first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from slmscout.traces.record import LLMCall, SourceRef


class RecordReader(Protocol):
    """Reads one JSON record shape."""

    name: str
    description: str

    def matches(self, record: Mapping[str, Any]) -> bool:
        """True when the record is in this reader's shape (used to detect a file's format)."""
        ...

    def convert(self, record: Mapping[str, Any], source: SourceRef) -> LLMCall:
        """The call the record holds; raises ``MalformedRecord`` with a reason when it cannot."""
        ...


def record_id(record: Mapping[str, Any], source: SourceRef, *keys: str) -> str:
    """The id the record carries under the first of ``keys`` present, else ``file:position``."""
    for key in keys:
        value = record.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    name = source.path.rsplit("/", 1)[-1]
    return f"{name}:{source.position}"


def builtin_readers() -> list[RecordReader]:
    """The built-in readers, most specific shape first."""
    from slmscout.traces.chat_messages import ChatMessagesReader
    from slmscout.traces.openai_chat import OpenAIChatReader

    return [OpenAIChatReader(), ChatMessagesReader()]


def reader_by_name(name: str) -> RecordReader | None:
    for reader in builtin_readers():
        if reader.name == name:
            return reader
    return None
