"""Text logs as Python ``logging`` and loguru write them: a record starts at a header line (time, level, where it
was logged from, message) and runs over the continuation lines up to the next header.

``log_records`` cuts a file into records, streamed: a line over ``MAX_LINE_BYTES`` ends the record before it and is
reported, and a record that grows past its bound is cut (``cut``). A reader pairs the records into calls with a
``RecordPairing`` of its own, which reports what a record's pairing raises as a skip at the record's first line.
Log timestamps are local time without a zone, so they stay zone-less (``local_iso``).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from slmscout.traces.reader import DATA_ERRORS, ReadContext, skip_reason
from slmscout.traces.record import LLMCall, SourceRef
from slmscout.traces.source import MAX_LINE_BYTES, iter_lines, open_binary


@dataclass
class LogRecord:
    """One log record: its header fields and its message, continuation lines included."""

    line: int
    time: datetime | None
    level: str
    module: str = ""  # where the record was logged from, when the layout says (loguru's ``name:function``)
    function: str = ""
    parts: list[str] = field(default_factory=list)
    size: int = 0
    cut: bool = False  # grew past its bound: the rest of its lines were dropped

    @property
    def message(self) -> str:
        return "\n".join(self.parts)


def log_records(
    path: Path,
    ctx: ReadContext,
    header: re.Pattern[str],
    start: Callable[[int, re.Match[str]], LogRecord | None],
    *,
    max_record_chars: int,
    clean: Callable[[str], str] | None = None,
    keep_cut_head: bool = True,
) -> Iterator[LogRecord]:
    """The records of a log file, in file order.

    A line ``header`` matches starts a record, made by ``start(line number, match)``; None makes it a record that
    does not matter, read past with its continuation lines. ``clean`` is applied to every line before matching.
    A cut record keeps the lines read before its bound was passed unless ``keep_cut_head`` is false."""
    record: LogRecord | None = None
    with open_binary(path) as stream:
        for number, raw in iter_lines(stream, MAX_LINE_BYTES):
            if raw is None:
                # what the line was cannot be known: the record before it ends, the lines after it up to the
                # next header are read past
                if record is not None:
                    yield record
                record = None
                ctx.skip(f"line longer than {MAX_LINE_BYTES} bytes", path, str(number))
                continue
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if clean is not None:
                text = clean(text)
            match = header.match(text)
            if match is None:
                if record is not None and not record.cut:
                    record.size += len(text) + 1
                    if record.size > max_record_chars:
                        record.cut = True
                        if not keep_cut_head:
                            record.parts.clear()
                    else:
                        record.parts.append(text)
                continue
            if record is not None:
                yield record
            record = start(number, match)
    if record is not None:
        yield record


class RecordPairing(ABC):
    """The pairing state of one log file: records in, calls out once their parts are all read."""

    def __init__(self, reader: str, path: Path, ctx: ReadContext) -> None:
        self.reader = reader
        self.path = path
        self.ctx = ctx

    def calls(self, records: Iterable[LogRecord]) -> Iterator[LLMCall]:
        """The calls of a whole file's records; the call still open at the end is finished then."""
        for record in records:
            yield from self.take(record)
        yield from self.finish()

    def take(self, record: LogRecord) -> Iterator[LLMCall]:
        """The calls ``record`` completes; a record that cannot be paired is reported at its line."""
        try:
            yield from self._take(record)
        except DATA_ERRORS as exc:
            self.ctx.skip(skip_reason(exc), self.path, str(record.line))

    @abstractmethod
    def _take(self, record: LogRecord) -> Iterator[LLMCall]:
        """The calls ``record`` completes; raises ``MalformedRecord`` (or a data error) for a record out of place."""

    @abstractmethod
    def finish(self) -> Iterator[LLMCall]:
        """The call still open, if any, with what has been paired with it."""

    def source(self, line: int) -> SourceRef:
        return SourceRef(str(self.path), str(line), self.reader)


def local_time(text: str, layout: str) -> datetime | None:
    """A zone-less log timestamp (``layout`` as for ``strptime``), None when it is not one."""
    try:
        return datetime.strptime(text, layout)
    except ValueError:
        return None


def local_iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds") if moment else None


def elapsed_ms(start: datetime | None, end: datetime | None) -> float | None:
    """Milliseconds from ``start`` to ``end``; None when either is missing or the order is impossible."""
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds() * 1000.0
