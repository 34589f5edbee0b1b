"""The map step over calls: redact each call and work out its facts, in worker processes, into Arrow shards.

Calls arrive as a stream (from the readers); they are cut into batches that never span two files, and each
batch becomes one shard: an Arrow table of the redacted calls and their facts (``facts_table``). With more than
one worker the batches go to a pool of processes that write their shards to a work folder, so memory holds the
batches in flight, not the corpus; with one worker the shards stay in memory. Redaction in the workers defers
placeholder numbers (``Redactor(deferred_key=...)``), so the result does not depend on which process saw which
call; the call table numbers them in canonical order.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pyarrow as pa

from slmscout.analyzers.calltable import read_shard, write_shard
from slmscout.analyzers.facts import facts_table
from slmscout.analyzers.progress import NoProgress, Progress
from slmscout.traces.record import LLMCall
from slmscout.traces.redaction import Redactor, deferred_placeholders, text_fields

BATCH_CALLS = 1000
PARALLEL_ABOVE_BYTES = 32 << 20  # inputs smaller than this are digested in the calling process


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def new_redaction_key() -> bytes:
    return secrets.token_bytes(32)


_REDACTORS: dict[bytes, Redactor] = {}  # one per process and key: its memo serves every batch the process gets


def _redactor(key: bytes) -> Redactor:
    redactor = _REDACTORS.get(key)
    if redactor is None:
        _REDACTORS.clear()
        redactor = _REDACTORS[key] = Redactor(deferred_key=key)
    return redactor


def digest_batch(calls: Sequence[LLMCall], redaction_key: bytes | None) -> pa.Table:
    """One shard: the calls (redacted when a key is given) and their facts."""
    if redaction_key is None:
        return facts_table(calls)
    redactor = _redactor(redaction_key)
    redacted = [redactor.call(call) for call in calls]
    return facts_table(redacted, [deferred_placeholders(text_fields(call)) for call in redacted])


def _digest_to_file(calls: Sequence[LLMCall], redaction_key: bytes | None, path: Path) -> int:
    table = digest_batch(calls, redaction_key)
    write_shard(table, path)
    return int(table.num_rows)


def batches(calls: Iterable[LLMCall], size: int = BATCH_CALLS) -> Iterator[list[LLMCall]]:
    """Calls in batches of at most ``size``, a new batch at each new file."""
    batch: list[LLMCall] = []
    for call in calls:
        if batch and (len(batch) >= size or call.source.path != batch[-1].source.path):
            yield batch
            batch = []
        batch.append(call)
    if batch:
        yield batch


def digest_calls(
    calls: Iterable[LLMCall],
    redaction_key: bytes | None,
    *,
    workers: int = 1,
    work_dir: Path | None = None,
    progress: Progress | None = None,
) -> list[pa.Table]:
    """Every call digested into shards, in the order read. ``workers`` > 1 needs ``work_dir`` for the shards."""
    progress = progress or NoProgress()
    if workers <= 1 or work_dir is None:
        shards = []
        for batch in batches(calls):
            shards.append(digest_batch(batch, redaction_key))
            progress.advance(len(batch))
        return shards
    paths: list[Path] = []
    pending: list[tuple[Future[int], int]] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        for batch in batches(calls):
            path = work_dir / f"shard-{len(paths):06d}.arrow"
            paths.append(path)
            pending.append((pool.submit(_digest_to_file, batch, redaction_key, path), len(batch)))
            while len(pending) >= 2 * workers:  # bounded: at most two batches per worker in flight
                future, size = pending.pop(0)
                future.result()
                progress.advance(size)
        for future, size in pending:
            future.result()
            progress.advance(size)
    return [read_shard(path) for path in paths]
