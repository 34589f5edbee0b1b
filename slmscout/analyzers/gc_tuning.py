"""How often Python's cyclic garbage collector runs in slmscout's processes.

A run makes millions of small container objects that live long (memo entries of distinct lines and paragraphs,
per-call records) and next to no reference cycles. With CPython's default thresholds (700, 10, 10) the collector
walks that growing heap again and again and finds nothing: about a tenth of the digest's CPU time at 50,000 calls,
and 0.9 s of a 12 s warm run at 100,000 (measured; see docs/scaling.md). Collecting the young generation every
50,000 allocations instead of every 700 keeps cycles collected and drops most of the walking; mypy, a tool with
the same shape of heap, raises its thresholds the same way.

Only processes slmscout owns are tuned: its command's process (``cli.app.main``) and its digest workers. A program
that imports slmscout as a library keeps its own settings.
"""

from __future__ import annotations

import gc

# Young-generation allocations between collections; then how many young (resp. middle) collections between the
# next older generation's (on Python 3.14's incremental collector, the second is how slowly the old generation
# is scanned and the third is ignored).
THRESHOLDS = (50_000, 20, 20)


def collect_cycles_less_often() -> None:
    """Set this process's collector thresholds to ``THRESHOLDS``."""
    gc.set_threshold(*THRESHOLDS)
