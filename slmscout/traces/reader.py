"""The reader seam: what a trace reader is.

A reader claims files by their content (``claims``) and turns the files it claimed into ``LLMCall`` records
(``read``). Three shapes cover the formats:

- ``RecordReader``: one call per JSON / JSON Lines / CSV / Parquet record (``matches`` + ``convert``);
- ``FileReader``: a file read as a whole (text logs, SQLite databases, transcripts whose calls span records);
- ``TraceReader`` itself: readers that need several files at once (an OpenAI Batch input file joined with its
  output file), which receive every file they claimed in one call to ``read``.

Readers are registered through the ``slmscout.readers`` entry-point group (see ``registry``), built-ins the same
way as third-party ones. A reader never raises for bad data: it reports a skip through ``ReadContext`` and goes on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from slmscout.traces.content import MalformedRecord
from slmscout.traces.record import LLMCall, SourceRef
from slmscout.traces.source import FileSample, RawRecord, iter_records

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
        for item in iter_records(path):
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
            except MalformedRecord as exc:
                ctx.skip(str(exc), path, item.position)
            except DATA_ERRORS as exc:
                ctx.skip(f"unexpected record shape ({type(exc).__name__})", path, item.position)


def record_id(record: Mapping[str, Any], source: SourceRef, *keys: str) -> str:
    """The id the record carries under the first of ``keys`` present, else ``file:position``."""
    for key in keys:
        value = record.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return fallback_id(source)


def fallback_id(source: SourceRef) -> str:
    """An id for a call whose record carries none: its file name and position, stable across runs."""
    return f"{Path(source.path).name}:{source.position}"
