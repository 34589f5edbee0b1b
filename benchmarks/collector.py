"""Collector benchmark: the digest of one corpus with Python's default garbage-collector thresholds and with
slmscout's (``slmscout.analyzers.gc_tuning``), side by side in one run, alternating, on this machine's cores.

    python benchmarks/collector.py                                  # the generated 20k corpus, 2 rounds
    python benchmarks/collector.py --corpus FILE --rounds 3 --workers 2

Each arm reads, redacts and digests every call in fresh worker processes, exactly as a cold ``slmscout analyze``
does (no digest store), and prints wall seconds and the workers' CPU seconds. A report, not a test: it exits 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from slmscout.analyzers import digest  # noqa: E402
from slmscout.analyzers.gc_tuning import THRESHOLDS  # noqa: E402
from slmscout.traces.ingest import ReadSummary, plan_reads  # noqa: E402

DEFAULT_CORPUS = REPO_ROOT / "benchmarks" / ".data" / "corpus-20000-seed0" / "calls.jsonl"


def default_pool(workers: int) -> ProcessPoolExecutor:
    """Workers left with Python's default thresholds."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))


def digest_once(corpus: Path, workers: int, tuned: bool) -> tuple[float, float, int]:
    """Wall seconds, the workers' CPU seconds and the calls digested."""
    tuned_pool = digest.worker_pool
    digest.worker_pool = tuned_pool if tuned else default_pool
    try:
        before = os.times()
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as work:
            summary = ReadSummary()
            units = plan_reads([corpus], summary)
            with digest.Digester(digest.new_redaction_key(), workers=workers, work_dir=Path(work)) as digester:
                digester.digest(units, summary)
        wall = time.perf_counter() - start
        after = os.times()
    finally:
        digest.worker_pool = tuned_pool
    cpu = after.children_user + after.children_system - before.children_user - before.children_system
    return wall, cpu, sum(entry.calls for entry in summary.files)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help=f"JSON Lines calls (default {DEFAULT_CORPUS})"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of (default, tuned) runs (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="digest worker processes (default 2)")
    args = parser.parse_args(argv)
    if not args.corpus.is_file():
        print(f"no corpus at {args.corpus}: run benchmarks/generate_corpus.py or pass --corpus", file=sys.stderr)
        return 0
    print(f"corpus {args.corpus}, {args.workers} workers, thresholds default {(700, 10, 10)} vs tuned {THRESHOLDS}")
    walls: dict[bool, list[float]] = {False: [], True: []}
    for round_number in range(1, args.rounds + 1):
        for tuned in (False, True):
            wall, cpu, calls = digest_once(args.corpus, args.workers, tuned)
            walls[tuned].append(wall)
            arm = "tuned  " if tuned else "default"
            print(f"round {round_number} {arm}: {calls:,} calls, {wall:6.1f} s wall, {cpu:6.1f} s worker CPU")
    default, tuned_wall = statistics.median(walls[False]), statistics.median(walls[True])
    print(f"median wall: default {default:.1f} s, tuned {tuned_wall:.1f} s; tuned/default {tuned_wall / default:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
