"""Ingest: walk the paths a user named, detect each file's format, stream out calls, account for every record."""

from __future__ import annotations

import itertools
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slmscout.errors import InputError, StrictError
from slmscout.traces.reader import DATA_ERRORS, FileReader, RecordReader, TraceReader
from slmscout.traces.record import LLMCall
from slmscout.traces.registry import all_readers, reader_by_name
from slmscout.traces.source import (
    READ_BUFFER,
    FileSample,
    is_compressed,
    is_json_lines,
    iter_lines,
    json_line_record,
    open_binary,
    sample_file,
)

LOCATIONS_KEPT = 5


@dataclass
class SkipGroup:
    """Records skipped for one reason: how many, and where the first few stood."""

    reason: str
    count: int = 0
    locations: list[str] = field(default_factory=list)


@dataclass
class FileRead:
    """What came out of one file."""

    path: str
    format: str | None
    calls: int = 0
    skipped: int = 0
    note: str | None = None  # why nothing was read, for files no reader recognised or that could not be opened
    consumed: bool = False  # read as part of another file's calls (a sibling file that one refers to)
    size: int | None = None  # bytes and sha256 of the file, once worked out (``file_digest``)
    sha256: str | None = None


@dataclass
class ReadSummary:
    """Every file and record offered, accounted for: read, skipped with a reason, or not recognised."""

    files: list[FileRead] = field(default_factory=list)
    skips: dict[str, SkipGroup] = field(default_factory=dict)

    _entries: dict[str, FileRead] = field(default_factory=dict, repr=False, compare=False)
    _indexed: int = field(default=0, repr=False, compare=False)

    def _index(self) -> dict[str, FileRead]:
        """Path -> entry, brought up to date with entries appended since (files are only ever appended)."""
        if self._indexed < len(self.files):
            for entry in self.files[self._indexed :]:
                self._entries[entry.path] = entry  # as a dict of them all would: the last entry of a path
            self._indexed = len(self.files)
        return self._entries

    def entry(self, path: str) -> FileRead:
        """The entry of the file at ``path``, added (format unknown) when the summary has none yet."""
        entries = self._index()
        found = entries.get(path)
        if found is None:
            found = entries[path] = FileRead(path=path, format=None)
            self.files.append(found)
            self._indexed += 1
        return found

    def skip(self, reason: str, location: str) -> None:
        group = self.skips.setdefault(reason, SkipGroup(reason))
        group.count += 1
        if len(group.locations) < LOCATIONS_KEPT:
            group.locations.append(location)

    def merge(self, other: ReadSummary) -> None:
        """Add what ``other`` read (a part of the input read on its own) to this summary, as if read here."""
        for read in other.files:
            entry = self.entry(read.path)
            entry.calls += read.calls
            entry.skipped += read.skipped
            if read.consumed and not entry.consumed:
                entry.consumed = True
                if entry.format is None:
                    entry.note = "read together with the file that refers to it"
            if entry.note is None and entry.format is None and read.note is not None:
                entry.note = read.note
        for group in other.skips.values():
            mine = self.skips.setdefault(group.reason, SkipGroup(group.reason))
            mine.count += group.count
            mine.locations += group.locations[: LOCATIONS_KEPT - len(mine.locations)]

    def as_json(self) -> dict[str, object]:
        return {
            "files": [
                {"path": f.path, "calls": f.calls, "skipped": f.skipped, "consumed": f.consumed, "note": f.note}
                for f in self.files
            ],
            "skips": [{"reason": g.reason, "count": g.count, "locations": g.locations} for g in self.skips.values()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReadSummary:
        """What ``as_json`` wrote (files hold only what ``merge`` reads: counts, consumed, note)."""
        summary = cls()
        for f in data["files"]:
            summary.files.append(
                FileRead(
                    path=str(f["path"]),
                    format=None,
                    calls=int(f["calls"]),
                    skipped=int(f["skipped"]),
                    note=f["note"] if isinstance(f["note"], str) else None,
                    consumed=bool(f["consumed"]),
                )
            )
        for g in data["skips"]:
            summary.skips[str(g["reason"])] = SkipGroup(
                str(g["reason"]), int(g["count"]), [str(x) for x in g["locations"]]
            )
        return summary

    @property
    def calls_read(self) -> int:
        return sum(f.calls for f in self.files)

    @property
    def records_skipped(self) -> int:
        return sum(g.count for g in self.skips.values())

    @property
    def files_unrecognised(self) -> list[FileRead]:
        """Files that held no calls for any reader: not recognised, or not readable."""
        return [f for f in self.files if f.format is None and not f.consumed]

    def calls_by_format(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.files:
            if f.format is not None:
                counts[f.format] = counts.get(f.format, 0) + f.calls
        return counts

    def files_by_format(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.files:
            if f.format is not None:
                counts[f.format] = counts.get(f.format, 0) + 1
        return counts


def trace_files(path: Path) -> list[Path]:
    """The files under ``path`` (or ``path`` itself), recursively, hidden ones left out, in a stable order."""
    if not path.exists():
        raise InputError(f"no such file or directory: {path}")
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError(f"not a file or directory: {path}")
    found: list[Path] = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / name for name in sorted(files) if not name.startswith("."))
    if not found:
        raise InputError(f"no files in directory: {path}")
    return found


IO_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)


def _problem(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _unreadable(exc: BaseException) -> str:
    """The skip reason of a file that stopped being readable part way (where it is read whole or by batches)."""
    return f"file cannot be read to its end ({_problem(exc)})"


class Accounting:
    """The ``ReadContext`` ingest gives readers: skips and consumed files go into the summary."""

    def __init__(self, summary: ReadSummary) -> None:
        self.summary = summary

    def entry(self, path: str) -> FileRead:
        return self.summary.entry(path)

    def skip(self, reason: str, path: Path, position: str) -> None:
        self.entry(str(path)).skipped += 1
        self.summary.skip(reason, f"{path}:{position}")

    def consumed(self, path: Path) -> None:
        entry = self.entry(str(path))
        entry.consumed = True
        if entry.format is None:
            entry.note = "read together with the file that refers to it"

    def counted(self, calls: Iterator[LLMCall]) -> Iterator[LLMCall]:
        for call in calls:
            self.entry(call.source.path).calls += 1
            yield call


class SkipLog:
    """A ``ReadContext`` that only notes skips, in order: for reading done away from the summary (another process),
    whose notes are applied to the summary afterwards (``Accounting.skip``)."""

    def __init__(self) -> None:
        self.skips: list[tuple[str, str, str]] = []  # (reason, path, position)
        self.consumed_files: list[str] = []

    def skip(self, reason: str, path: Path, position: str) -> None:
        self.skips.append((reason, str(path), position))

    def consumed(self, path: Path) -> None:
        self.consumed_files.append(str(path))


def _claimant(sample: FileSample, readers: Sequence[TraceReader]) -> TraceReader | None:
    for reader in readers:
        try:
            if reader.claims(sample):
                return reader
        except DATA_ERRORS:  # a reader that cannot judge a strange file does not claim it
            continue
    return None


def _guarded(calls: Iterator[LLMCall], path: Path, ctx: Accounting, reader: TraceReader) -> Iterator[LLMCall]:
    """A reader's calls for one file; an I/O failure or a reader bug ends that file with a skip, not the run."""
    try:
        yield from calls
    except IO_ERRORS as exc:
        ctx.skip(_unreadable(exc), path, "end")
    except DATA_ERRORS as exc:
        ctx.skip(f"{reader.name} reader stopped on this file ({type(exc).__name__})", path, "end")


@dataclass(frozen=True)
class ReadUnit:
    """What one reader reads in one go: a file, for a ``FileReader``; every file it claimed, for other readers."""

    reader: TraceReader
    files: tuple[Path, ...]
    json_lines: bool  # the first file starts as JSON Lines does (``is_json_lines`` of its first bytes)

    @property
    def in_lines(self) -> bool:
        """One JSON Lines file read by a plain ``RecordReader``: its lines can be parsed and converted anywhere,
        batch by batch (``line_batches``, ``read_line_batch``), with the same result as reading it whole."""
        return (
            isinstance(self.reader, RecordReader)
            and type(self.reader).read_file is RecordReader.read_file
            and len(self.files) == 1
            and self.json_lines
        )

    def calls(self, ctx: Accounting) -> Iterator[LLMCall]:
        """The unit's calls, read here, counted in the summary."""
        if isinstance(self.reader, FileReader):
            for file in self.files:
                yield from ctx.counted(_guarded(self.reader.read_file(file, ctx), file, ctx, self.reader))
        else:
            yield from ctx.counted(_guarded(self.reader.read(self.files, ctx), self.files[0], ctx, self.reader))


def plan_reads(paths: Sequence[Path], summary: ReadSummary, format_name: str | None = None) -> list[ReadUnit]:
    """Detect the format of every trace file under ``paths``; the units to read, in a stable order. Every file is
    entered in ``summary`` (those no reader claims with a note saying why).

    Raises ``InputError`` for a missing path or an empty directory.
    """
    forced = reader_by_name(format_name) if format_name is not None else None
    readers = [forced] if forced else list(all_readers())
    claimed: dict[str, list[tuple[Path, bool]]] = {}
    for given in paths:
        for file in trace_files(given):
            entry = FileRead(path=str(file), format=None)
            summary.files.append(entry)
            try:
                sample = sample_file(file)
            except IO_ERRORS as exc:
                if given == file:
                    raise InputError(f"cannot read {file}: {_problem(exc)}") from None
                entry.note = f"cannot be read ({_problem(exc)})"
                continue
            reader = forced or _claimant(sample, readers)
            if reader is None:
                entry.note = "no reader recognises its content"
                continue
            entry.format = reader.name
            claimed.setdefault(reader.name, []).append((file, is_json_lines(sample.head)))
    units: list[ReadUnit] = []
    for reader in readers:
        files = claimed.get(reader.name, [])
        if isinstance(reader, FileReader):
            units += [ReadUnit(reader, (file,), json_lines) for file, json_lines in files]
        elif files:
            units.append(ReadUnit(reader, tuple(f for f, _ in files), files[0][1]))
    return units


def require_calls(paths: Sequence[Path], summary: ReadSummary) -> None:
    """Raise ``InputError`` when nothing at all could be read."""
    if summary.calls_read == 0:
        where = ", ".join(str(p) for p in paths)
        reasons = sorted({f.note for f in summary.files if f.note} | set(summary.skips))
        raise InputError(f"no LLM calls could be read from {where} ({'; '.join(reasons[:3])})")


def read_traces(paths: Sequence[Path], summary: ReadSummary, format_name: str | None = None) -> Iterator[LLMCall]:
    """Stream the calls of every trace file under ``paths``, recording what was read and skipped in ``summary``.

    Raises ``InputError`` for a missing path, an empty directory, or when nothing at all could be read.
    """
    units = plan_reads(paths, summary, format_name)
    ctx = Accounting(summary)
    for unit in units:
        yield from unit.calls(ctx)
    require_calls(paths, summary)


@dataclass(frozen=True)
class LineBatch:
    """Consecutive lines of a JSON Lines file, not parsed yet: what ``read_line_batch`` turns into calls."""

    reader: str  # the name of the reader that claimed the file
    path: str
    lines: tuple[tuple[int, bytes | None], ...]  # (line number, line; None for a line over the length limit)

    @property
    def size(self) -> int:
        return sum(len(line) for _, line in self.lines if line is not None)


@dataclass(frozen=True)
class LineSpan:
    """Consecutive lines of a JSON Lines file that is not compressed, by where they lie: ``count`` lines from byte
    ``start``, the first of them line ``first_line``. The process that reads the batch reads the lines from the file
    (``lines``), so a batch sent to a worker process is a few numbers, not megabytes of lines to copy through a
    pipe."""

    reader: str
    path: str
    start: int
    first_line: int
    count: int

    def lines(self) -> LineBatch:
        """The lines, read from the file as ``line_batches`` read them (a line over the length limit is read past,
        never held)."""
        with open(self.path, "rb", buffering=READ_BUFFER) as stream:
            stream.seek(self.start)
            found = itertools.islice(iter_lines(stream), self.count)
            lines = tuple((self.first_line + i, line) for i, (_, line) in enumerate(found))
        return LineBatch(self.reader, self.path, lines)


def line_batches(unit: ReadUnit, ctx: Accounting, batch_bytes: int, batch_lines: int) -> Iterator[LineBatch | LineSpan]:
    """The lines of a unit that reads ``in_lines``, in batches of about ``batch_bytes`` (at most ``batch_lines``
    lines): spans of the file, or the lines themselves for a compressed file (whose lines cannot be found again by
    their place). An I/O failure ends the file with a skip, as when the reader reads it."""
    path = unit.files[0]
    spans = not is_compressed(path)
    held: list[tuple[int, bytes | None]] = []  # the batch's lines, when they travel with it
    first = count = size = start = 0

    def batch() -> LineBatch | LineSpan:
        if spans:
            return LineSpan(unit.reader.name, str(path), start, first, count)
        return LineBatch(unit.reader.name, str(path), tuple(held))

    try:
        with open_binary(path) as stream:
            for number, line in iter_lines(stream):
                if not spans:
                    held.append((number, line))
                first = first if count else number
                count += 1
                size += len(line) if line is not None else 0
                if size >= batch_bytes or count >= batch_lines:
                    yield batch()
                    held, count, size = [], 0, 0
                    start = stream.tell() if spans else 0
    except IO_ERRORS as exc:
        ctx.skip(_unreadable(exc), path, "end")
    if count:
        yield batch()


def read_line_batch(batch: LineBatch | LineSpan) -> tuple[list[LLMCall], SkipLog]:
    """The calls of a batch of lines, as the reader reading the whole file yields them, and the skips met. A
    reader bug ends the batch with a skip, as it ends a file read whole, not the run; so does a file that can no
    longer be read where the batch lies."""
    log = SkipLog()
    if isinstance(batch, LineSpan):
        span = batch
        try:
            batch = span.lines()
        except IO_ERRORS as exc:
            log.skip(_unreadable(exc), Path(span.path), str(span.first_line))
            return [], log
    reader = reader_by_name(batch.reader)
    assert isinstance(reader, RecordReader)
    items = (json_line_record(number, line) for number, line in batch.lines)
    records = (item for item in items if item is not None)
    calls: list[LLMCall] = []
    try:
        calls.extend(reader.read_records(records, Path(batch.path), log))
    except DATA_ERRORS as exc:
        first = batch.lines[0][0] if batch.lines else 0
        reason = f"{reader.name} reader stopped on a batch of lines ({type(exc).__name__})"
        log.skip(reason, Path(batch.path), str(first))
    return calls, log


def check_strict(summary: ReadSummary) -> None:
    """For ``--strict``: fail when any record was skipped or any file was passed over."""
    problems = []
    if summary.records_skipped:
        first = min(summary.skips.values(), key=lambda g: (-g.count, g.reason))
        problems.append(
            f"{summary.records_skipped:,} record(s) skipped (first: {first.reason} at {first.locations[0]})"
        )
    passed_over = summary.files_unrecognised
    if passed_over:
        problems.append(
            f"{len(passed_over):,} file(s) passed over (first: {passed_over[0].path}: {passed_over[0].note})"
        )
    if problems:
        raise StrictError("--strict: " + "; ".join(problems))
