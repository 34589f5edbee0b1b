"""A memory budget for the calls an analysis holds: a corpus too large for this machine stops the run early with a
clear message, instead of the operating system killing it (or the machine swapping) halfway through.

A small input is analysed with every call it read in memory, and more derived from them (facts, pieces, the
call table). Each call is then charged its text (Python keeps ASCII text at one byte a character, other text at two or
four) times an overhead factor, plus a fixed cost per call and message: on the three real corpora that charges
1.8-2.4 times what the read calls occupy (tracemalloc), room for what the analysis derives from them. A large input
is digested into shards on disk as it is read, and memory holds only each call's facts: ``DIGESTED_CALL_BYTES``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

from slmscout.errors import InputError
from slmscout.traces.record import LLMCall

TEXT_OVERHEAD = 2.0
BYTES_PER_CALL = 3000
BYTES_PER_MESSAGE = 400
DIGESTED_CALL_BYTES = 2500  # estimate (not measured per call): its facts, piece hashes and assignment, text in a shard
DEFAULT_SHARE = 0.5  # of physical memory: the rest is for embeddings, clustering, the model and the OS


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def default_budget() -> int | None:
    total = physical_memory()
    return int(total * DEFAULT_SHARE) if total else None


def _text_cost(text: str | None) -> int:
    if not text:
        return 0
    return len(text) if text.isascii() else len(text) * 2


def call_cost(call: LLMCall) -> int:
    text = sum(_text_cost(m.content) + sum(_text_cost(t.arguments) for t in m.tool_calls) for m in call.messages)
    text += _text_cost(call.response) + sum(_text_cost(t.arguments) for t in call.response_tool_calls)
    text += sum(_text_cost(t.description) + _text_cost(t.parameters) for t in call.tools)
    return int(text * TEXT_OVERHEAD) + BYTES_PER_CALL + BYTES_PER_MESSAGE * len(call.messages)


def within_budget(
    calls: Iterable[LLMCall], budget: int | None, cost: Callable[[LLMCall], int] = call_cost
) -> Iterator[LLMCall]:
    """Pass the calls through; stop with InputError once holding them would pass ``budget`` bytes."""
    held = 0
    for count, call in enumerate(calls, 1):
        held += cost(call)
        if budget is not None and held > budget:
            raise InputError(
                f"the traces hold more calls than fit in the memory budget of {budget / 2**30:.3g} GB "
                f"(stopped after {count:,} calls, about {held / 2**30:.1f} GB): analyse the folders one at a time, "
                "or raise the budget with --memory-budget GB"
            )
        yield call
