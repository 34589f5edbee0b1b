"""A memory budget for what an analysis holds: a corpus too large for this machine stops the run early with a clear
message, instead of the operating system killing it (or the machine swapping) halfway through.

Calls are digested batch by batch as they are read (``analyzers.digest``), so memory never holds the calls
themselves: it holds each call's facts (``DIGESTED_CALL_BYTES``, an upper estimate of the columns, piece hashes and
assignment the analysis keeps per call), and, for an input small enough to be digested in memory instead of into
shards on disk, the digested batches themselves (their Arrow buffers).
"""

from __future__ import annotations

import os

from slmscout.errors import InputError

DIGESTED_CALL_BYTES = 2500  # estimate (not measured per call): its facts, piece hashes and assignment
DEFAULT_SHARE = 0.5  # of physical memory: the rest is for embeddings, clustering, the model and the OS


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def default_budget() -> int | None:
    total = physical_memory()
    return int(total * DEFAULT_SHARE) if total else None


class MemoryBudget:
    """Counts what the run holds; raises ``InputError`` once it would pass ``limit`` bytes (None: no limit)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.held = 0
        self.calls = 0

    def charge(self, calls: int, in_memory_bytes: int = 0) -> None:
        """``calls`` more digested calls, and ``in_memory_bytes`` of their digest held in memory (not on disk)."""
        self.calls += calls
        self.held += calls * DIGESTED_CALL_BYTES + in_memory_bytes
        if self.limit is not None and self.held > self.limit:
            raise InputError(
                f"the traces hold more calls than fit in the memory budget of {self.limit / 2**30:.3g} GB "
                f"(stopped after {self.calls:,} calls, about {self.held / 2**30:.1f} GB): analyse the folders one at "
                "a time, or raise the budget with --memory-budget GB"
            )
