"""The reader seam: what a trace reader is.

A reader claims files by their content (``claims``) and turns the files it claimed into ``LLMCall`` records
(``read``). Three shapes cover the formats:

- ``RecordReader``: one call per JSON / JSON Lines / CSV / Parquet record (``matches`` + ``convert``);
- ``FileReader``: a file read as a whole (text logs, SQLite databases, transcripts whose calls span records);
- ``TraceReader`` itself: readers that need several files at once (an OpenAI Batch input file joined with its
  output file), which receive every file they claimed in one call to ``read``.

Readers are registered through the ``slmscout.readers`` entry-point group (see ``registry``), built-ins the same
way as third-party ones. A reader never raises for bad data: it reports a skip through ``ReadContext`` and goes on.

The helpers at the end are what readers share to build a call's fields from a record (its id, timing, caller and
metadata) and to word a skip.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from slmscout.traces.content import MalformedRecord, first_str, first_text, optional_float
from slmscout.traces.record import Caller, JsonScalar, LLMCall, SourceRef
from slmscout.traces.source import FileSample, RawRecord, Skip, connect_read_only, iter_records
from slmscout.traces.timestamps import iso_utc, latency_ms

# The errors a reader may meet in data it does not control; anything raised from these becomes a skip.
DATA_ERRORS: tuple[type[BaseException], ...] = (
    MalformedRecord,
    RecursionError,
    TypeError,
    ValueError,
    AttributeError,
    KeyError,
    IndexError,
    OverflowError,
    UnicodeError,
)


class ReadContext(Protocol):
    """What a reader reports besides calls: records skipped, and files it read on behalf of another."""

    def skip(self, reason: str, path: Path, position: str) -> None:
        """A record at ``path:position`` could not be read, for ``reason`` (a short phrase, no trace content)."""
        ...

    def consumed(self, path: Path) -> None:
        """``path`` was read as part of another file's calls (a sibling file), so it is accounted for."""
        ...


class TraceReader(ABC):
    """A trace format: which files it claims, and how they become calls."""

    name: str = ""
    description: str = ""
    priority: int = 100  # lower goes first in detection: specific shapes before generic ones

    @abstractmethod
    def claims(self, sample: FileSample) -> bool:
        """Whether this reader reads the sampled file (detection by content, never by file name alone)."""

    @abstractmethod
    def read(self, files: Sequence[Path], ctx: ReadContext) -> Iterator[LLMCall]:
        """The calls of every file this reader claimed, in a stable order."""


class FileReader(TraceReader):
    """A reader that reads each claimed file on its own."""

    def read(self, files: Sequence[Path], ctx: ReadContext) -> Iterator[LLMCall]:
        for path in files:
            yield from self.read_file(path, ctx)

    @abstractmethod
    def read_file(self, path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        """The calls of one file."""


class RecordReader(FileReader):
    """One call per record of a JSON, JSON Lines, CSV or Parquet file."""

    record_ids: tuple[str, ...] = ("id",)  # keys that hold the id the record carries, first found wins

    @abstractmethod
    def matches(self, record: Mapping[str, Any]) -> bool:
        """True when the record is in this reader's shape."""

    @abstractmethod
    def convert(self, record: Mapping[str, Any], source: SourceRef) -> LLMCall:
        """The call the record holds; raises ``MalformedRecord`` (or a data error) when it cannot."""

    def claims(self, sample: FileSample) -> bool:
        return any(isinstance(record, Mapping) and self.matches(record) for record in sample.records)

    def read_file(self, path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        return self.read_records(iter_records(path), path, ctx)

    def read_records(self, items: Iterable[RawRecord | Skip], path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        """The calls of records read from ``path`` (all of them, or a batch of its lines), skips reported."""
        for item in items:
            if not isinstance(item, RawRecord):
                ctx.skip(item.reason, path, item.position)
                continue
            if not isinstance(item.value, Mapping):
                ctx.skip("record is not a JSON object", path, item.position)
                continue
            if not self.matches(item.value):
                ctx.skip(f"record is not in the {self.name} shape", path, item.position)
                continue
            try:
                yield self.convert(item.value, SourceRef(str(path), item.position, self.name))
            except DATA_ERRORS as exc:
                ctx.skip(skip_reason(exc), path, item.position)


# --- what readers share ------------------------------------------------------------------------------------


def skip_reason(exc: BaseException, what: str = "record") -> str:
    """How a record whose conversion raised one of ``DATA_ERRORS`` is reported: a ``MalformedRecord``'s own reason,
    else the kind of error met (``unexpected record shape (KeyError)``), never the data itself."""
    if isinstance(exc, MalformedRecord):
        return str(exc)
    return f"unexpected {what} shape ({type(exc).__name__})"


def open_database(path: Path, ctx: ReadContext) -> sqlite3.Connection | None:
    """A read-only connection to a SQLite file; None, reported, when it cannot be opened."""
    try:
        return connect_read_only(path)
    except sqlite3.Error:
        ctx.skip("database cannot be opened", path, "1")
        return None


def record_id(record: Mapping[str, Any], source: SourceRef, *keys: str) -> str:
    """The id the record carries under the first of ``keys`` present, else ``file:position``."""
    return first_str(record, *keys) or fallback_id(source)


def record_call_id(record: Mapping[str, Any], source: SourceRef, response_id: str | None) -> str:
    """The id of a request/response pair: the record's own ``id`` (or ``custom_id``), else the response id, else
    file name and position."""
    return first_str(record, "id", "custom_id") or response_id or fallback_id(source)


def fallback_id(source: SourceRef) -> str:
    """An id for a call whose record carries none: its file name and position, stable across runs."""
    return f"{Path(source.path).name}:{source.position}"


@dataclass(frozen=True, slots=True)
class Timing:
    """When a call started and ended (ISO 8601) and how long it took."""

    started_at: str | None = None
    ended_at: str | None = None
    latency_ms: float | None = None


NO_TIMING = Timing()


def record_timing(record: Mapping[str, Any]) -> Timing:
    """Start, end and latency a request/response dump may carry beside the two bodies."""
    start = next((record[k] for k in ("started_at", "start_time", "timestamp") if record.get(k) is not None), None)
    end = next((record[k] for k in ("ended_at", "end_time") if record.get(k) is not None), None)
    latency = next(
        (optional_float(record[k]) for k in ("latency_ms", "duration_ms") if record.get(k) is not None), None
    )
    if latency is not None and latency < 0:
        latency = None
    if latency is None:
        latency = latency_ms(start, end)
    return Timing(iso_utc(start), iso_utc(end), latency)


# Keys of user-supplied metadata (proxy metadata, request properties) that name the calling agent and its role.
AGENT_KEYS = ("agent", "agent_name", "agent_id", "assistant_name")
ROLE_KEYS = ("role", "agent_role")


def caller_from(sources: Sequence[Mapping[str, Any]], module_keys: Sequence[str]) -> Caller:
    """The caller user-supplied metadata names: agent and role under the usual keys, module under ``module_keys``."""
    return Caller(
        agent=first_text(sources, AGENT_KEYS),
        role=first_text(sources, ROLE_KEYS),
        module=first_text(sources, module_keys),
    )


def scalar_metadata(pairs: Mapping[str, Any]) -> dict[str, JsonScalar]:
    """The entries that are JSON scalars (lists of scalars joined with commas), Nones and empties left out."""
    out: dict[str, JsonScalar] = {}
    for key, value in pairs.items():
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, (str, int, float, bool)):
            out[key] = value
        elif isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
            out[key] = ",".join(str(v) for v in value)
    return out
