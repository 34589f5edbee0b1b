"""Ingest: walk the paths a user named, detect each file's format, stream out calls, account for every record."""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from slmscout.errors import InputError, StrictError
from slmscout.traces.reader import DATA_ERRORS, FileReader, TraceReader
from slmscout.traces.record import LLMCall
from slmscout.traces.registry import all_readers, reader_by_name
from slmscout.traces.source import FileSample, sample_file

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


@dataclass
class ReadSummary:
    """Every file and record offered, accounted for: read, skipped with a reason, or not recognised."""

    files: list[FileRead] = field(default_factory=list)
    skips: dict[str, SkipGroup] = field(default_factory=dict)

    def skip(self, reason: str, location: str) -> None:
        group = self.skips.setdefault(reason, SkipGroup(reason))
        group.count += 1
        if len(group.locations) < LOCATIONS_KEPT:
            group.locations.append(location)

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


class _Accounting:
    """The ``ReadContext`` ingest gives readers: skips and consumed files go into the summary."""

    def __init__(self, summary: ReadSummary) -> None:
        self.summary = summary
        self.entries = {entry.path: entry for entry in summary.files}

    def entry(self, path: str) -> FileRead:
        if path not in self.entries:
            self.entries[path] = FileRead(path=path, format=None)
            self.summary.files.append(self.entries[path])
        return self.entries[path]

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


def _claimant(sample: FileSample, readers: Sequence[TraceReader]) -> TraceReader | None:
    for reader in readers:
        try:
            if reader.claims(sample):
                return reader
        except DATA_ERRORS:  # a reader that cannot judge a strange file does not claim it
            continue
    return None


def _guarded(calls: Iterator[LLMCall], path: Path, ctx: _Accounting, reader: TraceReader) -> Iterator[LLMCall]:
    """A reader's calls for one file; an I/O failure or a reader bug ends that file with a skip, not the run."""
    try:
        yield from calls
    except IO_ERRORS as exc:
        ctx.skip(f"file cannot be read to its end ({_problem(exc)})", path, "end")
    except DATA_ERRORS as exc:
        ctx.skip(f"{reader.name} reader stopped on this file ({type(exc).__name__})", path, "end")


def read_traces(paths: Sequence[Path], summary: ReadSummary, format_name: str | None = None) -> Iterator[LLMCall]:
    """Stream the calls of every trace file under ``paths``, recording what was read and skipped in ``summary``.

    Raises ``InputError`` for a missing path, an empty directory, or when nothing at all could be read.
    """
    forced = reader_by_name(format_name) if format_name is not None else None
    readers = [forced] if forced else list(all_readers())
    claimed: dict[str, list[Path]] = {}
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
            claimed.setdefault(reader.name, []).append(file)
    ctx = _Accounting(summary)
    for reader in readers:
        files = claimed.get(reader.name, [])
        if isinstance(reader, FileReader):
            for file in files:
                yield from ctx.counted(_guarded(reader.read_file(file, ctx), file, ctx, reader))
        elif files:
            yield from ctx.counted(_guarded(reader.read(files, ctx), files[0], ctx, reader))
    if summary.calls_read == 0:
        where = ", ".join(str(p) for p in paths)
        reasons = sorted({f.note for f in summary.files if f.note} | set(summary.skips))
        raise InputError(f"no LLM calls could be read from {where} ({'; '.join(reasons[:3])})")


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
