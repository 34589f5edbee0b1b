"""Token counts per call: the log's own usage figures when it has them, an estimate otherwise, marked which."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from slmscout.traces.record import LLMCall

CHARS_PER_TOKEN = 4.0  # OpenAI's rule of thumb for English text; used only when the log reports no usage

TokenSource = Literal["reported", "estimated"]


@dataclass(frozen=True, slots=True)
class CallTokens:
    input: int
    output: int
    source: TokenSource


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def _prompt_text(call: LLMCall) -> str:
    parts = [m.content for m in call.messages]
    parts.extend(f"{t.name} {t.description} {t.parameters}" for t in call.tools)
    return "\n".join(parts)


def _output_text(call: LLMCall) -> str:
    parts = [call.response or ""]
    parts.extend(f"{t.name} {t.arguments}" for t in call.response_tool_calls)
    return "\n".join(p for p in parts if p)


def call_tokens(call: LLMCall) -> CallTokens:
    usage = call.usage
    if usage is not None and usage.input_tokens is not None and usage.output_tokens is not None:
        return CallTokens(usage.input_tokens, usage.output_tokens, "reported")
    return CallTokens(estimate_tokens(_prompt_text(call)), estimate_tokens(_output_text(call)), "estimated")
