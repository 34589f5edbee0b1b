"""What the reader tests share: a ``ReadContext`` that records what a reader reports, reading files with one reader
or through ingest, writing JSON Lines, and the detection checks."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from slmscout.traces import ReadSummary, read_traces
from slmscout.traces.reader import TraceReader
from slmscout.traces.record import LLMCall
from slmscout.traces.registry import all_readers
from slmscout.traces.source import FileSample, sample_file
from tests.conftest import FIXTURES


class Recorder:
    """A ``ReadContext`` that keeps what a reader reports: its skips and the sibling files it consumed.

    With ``siblings=False``, a reader that says it consumed a sibling file fails the test at once: for readers
    that read one file at a time."""

    def __init__(self, *, siblings: bool = True) -> None:
        self.siblings = siblings
        self.reported: list[tuple[str, Path, str]] = []
        self.consumed_paths: list[Path] = []

    def skip(self, reason: str, path: Path, position: str) -> None:
        self.reported.append((reason, Path(path), position))

    def consumed(self, path: Path) -> None:
        if not self.siblings:
            raise AssertionError("the reader reads no sibling files")
        self.consumed_paths.append(path)

    @property
    def skips(self) -> list[tuple[str, str]]:
        """Every skip as (reason, position)."""
        return [(reason, position) for reason, _, position in self.reported]

    @property
    def file_skips(self) -> list[tuple[str, str, str]]:
        """Every skip as (reason, file name, position): for readers given several files at once."""
        return [(reason, path.name, position) for reason, path, position in self.reported]

    @property
    def consumed_names(self) -> list[str]:
        return [path.name for path in self.consumed_paths]


def read_with(reader: TraceReader, *paths: Path, siblings: bool = True) -> tuple[list[LLMCall], Recorder]:
    """The calls ``reader`` reads from ``paths`` (handed to it together, as ingest does), and what it reported."""
    ctx = Recorder(siblings=siblings)
    return list(reader.read(list(paths), ctx)), ctx


def by_id(calls: Sequence[LLMCall], *, distinct: bool = False) -> dict[str, LLMCall]:
    """The calls by ``call_id``; with ``distinct``, no two calls may share one."""
    found = {c.call_id: c for c in calls}
    if distinct:
        assert len(found) == len(calls), "two calls share an id"
    return found


def read_by_id(reader: TraceReader, *paths: Path, distinct: bool = True) -> tuple[dict[str, LLMCall], Recorder]:
    """``read_with``, the calls by ``call_id`` (distinct unless told otherwise)."""
    calls, ctx = read_with(reader, *paths)
    return by_id(calls, distinct=distinct), ctx


def ingest(*paths: Path, format_name: str | None = None) -> tuple[list[LLMCall], ReadSummary]:
    """The calls ``read_traces`` reads from ``paths`` (detection, or ``format_name`` forced), and its summary."""
    summary = ReadSummary()
    return list(read_traces(list(paths), summary, format_name)), summary


def write_jsonl(path: Path, records: Sequence[object]) -> Path:
    """A JSON Lines file of ``records`` (strings are written as they are: broken lines on purpose)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


# --- detection ---------------------------------------------------------------------------------------------------


def earlier_claimants(reader: TraceReader, sample: FileSample, *, ties: bool = False) -> list[str]:
    """The other registered readers asked before ``reader`` that claim the sample; with ``ties``, also those of
    the same priority, which may be asked first."""
    return [
        other.name
        for other in all_readers()
        if other.name != reader.name
        and (other.priority <= reader.priority if ties else other.priority < reader.priority)
        and other.claims(sample)
    ]


def first_claimant(sample: FileSample) -> str | None:
    """The reader detection gives the sample to: the first registered reader that claims it."""
    return next((r.name for r in all_readers() if r.claims(sample)), None)


def assert_detected(reader: TraceReader, path: Path) -> None:
    """``reader`` claims the file, no reader asked before it or alongside it does, so detection picks it."""
    sample = sample_file(path)
    assert reader.claims(sample), path
    assert earlier_claimants(reader, sample, ties=True) == [], path
    assert first_claimant(sample) == reader.name, path


def claimed(reader: TraceReader, paths: Iterable[Path]) -> list[Path]:
    """The files among ``paths`` that ``reader`` claims."""
    return [path for path in paths if reader.claims(sample_file(path))]


def fixture_files(*, excluding: Collection[str] = ()) -> list[Path]:
    """Every fixture file but the fixture builders (``.py``), leaving out the fixture folders named in
    ``excluding``."""
    return [
        path
        for path in sorted(FIXTURES.rglob("*"))
        if path.is_file() and path.suffix != ".py" and path.relative_to(FIXTURES).parts[0] not in excluding
    ]
