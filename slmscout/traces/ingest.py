"""Ingest: walk the paths a user named, detect each file's format, stream out calls, account for every record."""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from slmscout.errors import InputError, UsageError
from slmscout.traces.content import MalformedRecord
from slmscout.traces.reader import RecordReader, builtin_readers, reader_by_name
from slmscout.traces.record import LLMCall, SourceRef
from slmscout.traces.source import RawRecord, Skip, iter_json_records

DETECTION_SAMPLE = 50
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
        return [f for f in self.files if f.format is None]

    def calls_by_format(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.files:
            if f.format is not None:
                counts[f.format] = counts.get(f.format, 0) + f.calls
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


def _detect(records: Sequence[RawRecord | Skip], readers: Sequence[RecordReader]) -> RecordReader | None:
    for item in records:
        if isinstance(item, RawRecord) and isinstance(item.value, Mapping):
            for reader in readers:
                if reader.matches(item.value):
                    return reader
    return None


def _read_file(path: Path, forced: RecordReader | None, summary: ReadSummary) -> Iterator[LLMCall]:
    readers = [forced] if forced else builtin_readers()
    entry = FileRead(path=str(path), format=None)
    summary.files.append(entry)
    stream = iter_json_records(path)
    head: list[RawRecord | Skip] = []
    for item in stream:
        head.append(item)
        if len(head) >= DETECTION_SAMPLE:
            break
    reader = forced or _detect(head, readers)
    if reader is None:
        entry.note = "no reader recognises its content"
        return
    entry.format = reader.name

    def replay() -> Iterator[RawRecord | Skip]:
        yield from head
        yield from stream

    for item in replay():
        location = f"{path}:{item.position}"
        if isinstance(item, Skip):
            reason = item.reason
        elif not isinstance(item.value, Mapping):
            reason = "record is not a JSON object"
        elif not reader.matches(item.value):
            reason = f"record is not in the {reader.name} shape"
        else:
            try:
                call = reader.convert(item.value, SourceRef(str(path), item.position, reader.name))
            except MalformedRecord as exc:
                reason = str(exc)
            except (RecursionError, TypeError, ValueError, AttributeError, KeyError) as exc:
                reason = f"unexpected record shape ({type(exc).__name__})"
            else:
                entry.calls += 1
                yield call
                continue
        entry.skipped += 1
        summary.skip(reason, location)


def read_traces(paths: Sequence[Path], summary: ReadSummary, format_name: str | None = None) -> Iterator[LLMCall]:
    """Stream the calls of every trace file under ``paths``, recording what was read and skipped in ``summary``.

    Raises ``InputError`` for a missing path, an empty directory, or when nothing at all could be read.
    """
    forced = None
    if format_name is not None:
        forced = reader_by_name(format_name)
        if forced is None:
            names = ", ".join(r.name for r in builtin_readers())
            raise UsageError(f"unknown format {format_name!r}; known formats: {names}")
    files = [(path, f) for path in paths for f in trace_files(path)]
    for given, file in files:
        try:
            yield from _read_file(file, forced, summary)
        except (OSError, EOFError, zlib.error) as exc:
            problem = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            entry = summary.files[-1]
            if given == file and not entry.calls:
                raise InputError(f"cannot read {file}: {problem}") from None
            if entry.format is None:
                entry.note = f"cannot be read ({problem})"
            else:
                entry.skipped += 1
                summary.skip(f"file cannot be read to its end ({problem})", str(file))
    if summary.calls_read == 0:
        where = ", ".join(str(p) for p in paths)
        reasons = sorted({f.note for f in summary.files if f.note} | set(summary.skips))
        detail = "; ".join(reasons[:3])
        raise InputError(f"no LLM calls could be read from {where} ({detail})")
