"""Readers: trace files in, normalized ``LLMCall`` records out. Imports nothing from the other parts."""

from slmscout.traces.ingest import ReadSummary, read_traces
from slmscout.traces.record import Caller, LLMCall, Message, SourceRef, ToolCall, ToolDefinition, Usage

__all__ = [
    "Caller",
    "LLMCall",
    "Message",
    "ReadSummary",
    "SourceRef",
    "ToolCall",
    "ToolDefinition",
    "Usage",
    "read_traces",
]
