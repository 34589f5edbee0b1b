"""The normalized LLM-call record: what every reader produces and everything downstream consumes.

Nothing after a reader knows which format a call came from; what a format could not tell is None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

JsonScalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool (function) call made by the model, arguments kept as the JSON text it produced."""

    name: str
    arguments: str = ""
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """A tool offered to the model in the request."""

    name: str
    description: str = ""
    parameters: str = ""  # JSON schema as canonical JSON text


@dataclass(frozen=True, slots=True)
class Message:
    """One prompt turn. Non-text parts (images, files) are already replaced by a placeholder and a hash."""

    role: str
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    name: str | None = None
    tool_call_id: str | None = None


@dataclass(frozen=True, slots=True)
class Caller:
    """Who in the agent made the call, when the log says so."""

    agent: str | None = None
    role: str | None = None
    module: str | None = None

    def label(self) -> str | None:
        parts = [p for p in (self.agent, self.role, self.module) if p]
        return " / ".join(parts) if parts else None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts the log itself reported (never estimated here; estimation is an analysis step)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a call came from: file, position in it (line number or locator) and the reader that read it."""

    path: str
    position: str
    format: str

    def __str__(self) -> str:
        return f"{self.path}:{self.position}"


CallStatus = Literal["ok", "error"]


@dataclass(frozen=True, slots=True)
class LLMCall:
    """One LLM call: the prompt messages that were sent and what came back."""

    call_id: str
    source: SourceRef
    messages: tuple[Message, ...]
    response: str | None = None
    response_tool_calls: tuple[ToolCall, ...] = ()
    tools: tuple[ToolDefinition, ...] = ()
    model: str | None = None
    caller: Caller = field(default_factory=Caller)
    session_id: str | None = None
    usage: Usage | None = None
    latency_ms: float | None = None
    started_at: str | None = None  # ISO 8601, UTC when the log says
    ended_at: str | None = None
    status: CallStatus = "ok"
    error: str | None = None
    metadata: Mapping[str, JsonScalar] = field(default_factory=dict)

    @property
    def prompt_text(self) -> str:
        return "\n".join(m.content for m in self.messages)
