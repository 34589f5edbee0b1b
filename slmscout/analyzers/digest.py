"""The map step over calls: read, redact and work out each call's facts, in worker processes, into Arrow shards.

The input comes as read units (``traces.ingest.plan_reads``). A JSON Lines file read by a record reader is cut into
batches of lines (spans of the file, which the process given a batch reads itself, unless the file is compressed),
and each batch is parsed, converted, redacted and digested where it is worked on, so with several workers every
step after finding where the lines lie runs in parallel. Other units are read here, as a stream of
calls cut into batches that never span two files. Each batch becomes one shard: an Arrow table of the redacted calls
and their facts (``facts_table``). With more than one worker, batches go to a pool of processes that write their
shards to files, so memory holds the batches in flight, not the corpus.

Redaction in the workers defers placeholder numbers (``Redactor(deferred_key=...)``), so the result does not depend
on which process saw which call; the call table numbers them in canonical order. What reading found (calls per
file, records skipped with their reasons and first locations) is gathered per unit in the order of the file, as if
read in one process, and added to the run's summary.

With a ``DigestStore``, a unit already digested by an earlier run is taken from the store instead of being read
again, and a unit digested now is kept there. Its files are hashed for its key first when the store holds an entry
kept for them in their present state (size, modification time, inode: ``DigestStore.hinted``), and otherwise while
the unit is read, in a thread, so that a first run does not wait for the hash of gigabytes of logs.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import secrets
import shutil
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import pyarrow as pa

from slmscout.analyzers.calltable import ShardSource, write_shard
from slmscout.analyzers.digest_store import DigestStore
from slmscout.analyzers.facts import facts_table
from slmscout.analyzers.gc_tuning import collect_cycles_less_often
from slmscout.analyzers.progress import NoProgress, Progress
from slmscout.errors import cache_folder_error
from slmscout.traces.budget import MemoryBudget
from slmscout.traces.ingest import (
    Accounting,
    FileRead,
    LineBatch,
    LineSpan,
    ReadSummary,
    ReadUnit,
    line_batches,
    read_line_batch,
)
from slmscout.traces.reader import FileReader
from slmscout.traces.record import LLMCall
from slmscout.traces.redaction import Redactor, deferred_placeholders, text_fields
from slmscout.traces.source import file_digest

BATCH_CALLS = 1000
BATCH_BYTES = 4 << 20  # raw JSON Lines per batch (at most BATCH_CALLS lines)
PARALLEL_ABOVE_BYTES = 32 << 20  # inputs smaller than this are digested in the calling process


def _exit_with_parent() -> None:
    """Wait for the process that started this worker to end, then end this one. A run stopped by a signal it does
    not turn into cleanup (SIGKILL; SIGTERM, which Python does not catch by default) would otherwise leave its
    workers waiting for batches forever, each holding its memos: hundreds of megabytes."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        multiprocessing.connection.wait([parent.sentinel])  # ready once the parent has exited, however it ended
        os._exit(1)


def _start_worker() -> None:
    collect_cycles_less_often()
    threading.Thread(target=_exit_with_parent, name="slmscout-parent-watch", daemon=True).start()


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """Fresh processes (spawned: no copy of this process's memory or threads) for digesting batches, each with the
    collector tuned for the many long-lived memo entries it builds, and each ending when this process ends."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_start_worker)


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


@dataclass(frozen=True)
class Digested:
    """What one batch gave: its shard (a table, or the file it was written to), calls per file, skips in order."""

    table: pa.Table | None
    rows: int
    calls: dict[str, int]
    skips: list[tuple[str, str, str]]  # (reason, path, position)


def _digest(work: LineBatch | LineSpan | list[LLMCall], redaction_key: bytes | None, shard: Path | None) -> Digested:
    """One batch, in whichever process gets it. Raw lines are read into calls first, and the calls per file and
    the skips met are returned (calls read elsewhere were counted where they were read)."""
    skips: list[tuple[str, str, str]] = []
    counts: dict[str, int] = {}
    if isinstance(work, LineBatch | LineSpan):
        calls, log = read_line_batch(work)
        skips = log.skips
        for call in calls:
            counts[call.source.path] = counts.get(call.source.path, 0) + 1
    else:
        calls = work
    table = digest_batch(calls, redaction_key)
    if shard is None:
        return Digested(table, table.num_rows, counts, skips)
    try:
        write_shard(table, shard)
    except OSError as exc:  # a full disk, most often: the user's to fix, not a fault of slmscout's
        raise cache_folder_error("cannot write the digested calls", shard.parent, exc) from None
    return Digested(None, table.num_rows, counts, skips)


class _Hashing:
    """The size and SHA-256 of files, worked out in a thread from the moment this is made (hashing releases the
    GIL), so that a unit can be read while its files are hashed."""

    def __init__(self, files: Sequence[Path]) -> None:
        self._files = files
        self._digests: list[tuple[int, str]] | None = None
        self._thread = threading.Thread(target=self._hash, name="slmscout-hash", daemon=True)
        self._thread.start()

    def _hash(self) -> None:
        try:
            self._digests = [file_digest(path) for path in self._files]
        except OSError:  # gone or unreadable since it was planned: reading it will say so, uncached
            self._digests = None

    def result(self) -> list[tuple[int, str]] | None:
        """The digests, in file order; None when a file could not be hashed."""
        self._thread.join()
        return self._digests


def _file_states(files: Sequence[Path]) -> list[tuple[int, int, int]]:
    """Size, modification time and inode of each file: what changes when a file is rewritten."""
    states = []
    for path in files:
        info = path.stat()
        states.append((info.st_size, info.st_mtime_ns, info.st_ino))
    return states


def _unchanged(unit: ReadUnit, summary: ReadSummary, before: list[tuple[int, int, int]] | None) -> bool:
    """Whether a unit's digest may be kept under the key its files were hashed for: reading touched no file but
    its own (a reader that opened a sibling file would be served stale when only that file changes) and no file
    changed while it was hashed and read."""
    own = {str(path) for path in unit.files}
    if before is None or any(entry.path not in own or entry.consumed for entry in summary.files):
        return False
    try:
        return _file_states(unit.files) == before
    except OSError:
        return False


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


class Digester:
    """Digests read units into shards, in this process or in a pool of ``workers`` processes (shards then go to
    files in ``work_dir``), taking units the ``store`` has already digested from it."""

    def __init__(
        self,
        redaction_key: bytes | None,
        *,
        workers: int = 1,
        work_dir: Path | None = None,
        store: DigestStore | None = None,
        budget: MemoryBudget | None = None,
        progress: Progress | None = None,
    ) -> None:
        if (workers > 1 or store is not None) and work_dir is None:
            raise ValueError("digesting in worker processes or into the store needs a work folder")
        self.redaction_key = redaction_key
        self.workers = workers
        self.work_dir = work_dir
        self.store = store
        self.budget = budget or MemoryBudget(None)
        self.progress = progress or NoProgress()
        self._pool: Executor | None = None
        self._staged = 0
        self._keys: list[str] = []  # the store entries this run uses

    def __enter__(self) -> Digester:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        # After a whole digest, workers are not waited for: each takes about a second to tear down its memos after
        # its last batch, and every shard is written by then (the interpreter joins them at exit). After an error,
        # batches still running are waited for, so none writes into a work folder being removed.
        if self._pool is not None:
            self._pool.shutdown(wait=exc_type is not None, cancel_futures=True)

    def _submit(self, work: LineBatch | LineSpan | list[LLMCall], shard: Path | None) -> Future[Digested] | Digested:
        if self.workers <= 1:
            return _digest(work, self.redaction_key, shard)
        if self._pool is None:
            self._pool = worker_pool(self.workers)
        return self._pool.submit(_digest, work, self.redaction_key, shard)

    def digest(self, units: Sequence[ReadUnit], summary: ReadSummary) -> list[ShardSource]:
        """Every unit's shards (files, or tables in memory), in unit order; what reading found goes into
        ``summary``."""
        shards: list[ShardSource] = []
        for unit in units:
            shards += self._unit(unit, summary)
        if self.store is not None:
            self.store.prune(keep=self._keys)
        return shards

    def _unit(self, unit: ReadUnit, summary: ReadSummary) -> list[ShardSource]:
        key = state_key = None
        before: list[tuple[int, int, int]] | None = None
        hashing: _Hashing | None = None
        if self.store is not None and isinstance(unit.reader, FileReader):
            with contextlib.suppress(OSError):  # gone or unreadable since it was planned: read uncached, if at all
                before = _file_states(unit.files)
            if before is not None:
                state_key = self.store.state_key(unit, before)
                hashing = _Hashing(unit.files)
                if self.store.hinted(state_key):  # probably kept by an earlier run: hashed first, to look it up
                    key = self._key(unit, hashing, summary)
                    stored = self.store.find(key) if key is not None else None
                    if stored is not None:
                        self.budget.charge(stored.calls)
                        self.progress.advance(stored.calls)
                        summary.merge(stored.summary)
                        return stored.paths()
                # else probably new: read while it is hashed
        local = ReadSummary(files=[FileRead(str(path), unit.reader.name) for path in unit.files])
        staged = None
        if self.work_dir is not None and (self.workers > 1 or self.store is not None):
            self._staged += 1
            staged = self.work_dir / f"unit-{self._staged:06d}"
            try:
                staged.mkdir(mode=0o700)
            except OSError as exc:
                raise cache_folder_error("cannot write the digested calls", self.work_dir, exc) from None
        names, shards, calls = self._run(unit, Accounting(local), staged)
        if hashing is not None and key is None:
            key = self._key(unit, hashing, summary)
        if self.store is not None and staged is not None and key is not None and _unchanged(unit, local, before):
            stored = self.store.keep(key, staged, names, local, calls)
            if stored is not None:
                shards = list(stored.paths())
                if state_key is not None:
                    self.store.remember(state_key, key)
        elif staged is not None and not names:
            shutil.rmtree(staged, ignore_errors=True)
        summary.merge(local)
        return shards

    def _key(self, unit: ReadUnit, hashing: _Hashing, summary: ReadSummary) -> str | None:
        """The store key of a unit, once its files are hashed; their sizes and SHA-256 go into ``summary``. None
        when a file could not be hashed (the unit is then not kept)."""
        digests = hashing.result()
        if digests is None:
            return None
        assert self.store is not None
        for path, (size, sha) in zip(unit.files, digests, strict=True):
            entry = summary.entry(str(path))
            entry.size, entry.sha256 = size, sha
        key = self.store.entry_key(unit, digests)
        self._keys.append(key)
        return key

    def _run(self, unit: ReadUnit, ctx: Accounting, staged: Path | None) -> tuple[list[str], list[ShardSource], int]:
        """Digest one unit; the shard file names (in ``staged``, when given), the shards, in file order, and the
        number of calls."""
        work: Iterator[LineBatch | LineSpan | list[LLMCall]]
        work = line_batches(unit, ctx, BATCH_BYTES, BATCH_CALLS) if unit.in_lines else batches(unit.calls(ctx))
        names: list[str] = []
        shards: list[ShardSource] = []
        pending: list[tuple[Future[Digested] | Digested, Path | None]] = []
        calls = 0

        def collect() -> None:
            nonlocal calls
            result, shard = pending.pop(0)
            done = result if isinstance(result, Digested) else result.result()
            for path, count in done.calls.items():
                ctx.entry(path).calls += count
            for reason, path, position in done.skips:
                ctx.skip(reason, Path(path), position)
            shards.append(done.table if done.table is not None else shard)
            calls += done.rows
            self.budget.charge(done.rows, done.table.nbytes if done.table is not None else 0)
            self.progress.advance(done.rows)

        for item in work:
            shard = None
            if staged is not None:
                names.append(f"shard-{len(names):06d}.arrow")
                shard = staged / names[-1]
            pending.append((self._submit(item, shard), shard))
            while pending and (len(pending) > 2 * self.workers or isinstance(pending[0][0], Digested)):
                collect()
        while pending:
            collect()
        return names, shards, calls


def digest_calls(
    calls: Iterable[LLMCall],
    redaction_key: bytes | None,
    *,
    workers: int = 1,
    work_dir: Path | None = None,
    progress: Progress | None = None,
) -> list[ShardSource]:
    """Calls already read (held in memory), digested into shards in the order given."""
    with Digester(redaction_key, workers=workers, work_dir=work_dir, progress=progress) as digester:
        results = []
        for n, batch in enumerate(batches(calls)):
            shard = work_dir / f"shard-{n:06d}.arrow" if workers > 1 and work_dir is not None else None
            results.append((digester._submit(batch, shard), shard))
        shards: list[ShardSource] = []
        for result, shard in results:
            done = result if isinstance(result, Digested) else result.result()
            shards.append(done.table if done.table is not None else shard)
            digester.progress.advance(done.rows)
        return shards
