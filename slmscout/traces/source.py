"""Reading records out of trace files, streaming, with limits, and sampling a file to detect its format.

A JSON Lines file is read line by line: memory stays flat whatever the file's size. A file holding one JSON
document (an object or an array of records) is read whole, up to ``MAX_DOCUMENT_BYTES``. CSV files are read row by
row and Parquet files batch by batch. ``.gz`` files are decompressed on the fly. Every record comes out either
parsed or as a ``Skip`` with its reason and position. SQLite databases are opened read-only and introspected.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

MAX_LINE_BYTES = 64 * 1024 * 1024
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
MAX_SAMPLED_DOCUMENT_BYTES = 16 * 1024 * 1024  # a larger JSON document is detected from its head text only
MAX_CSV_FIELD_BYTES = 64 * 1024 * 1024
HEAD_BYTES = 64 * 1024
# Real JSON logs compress 5-50x (repetitive agent prompts up to ~100x); decompression bombs reach 1000x and more.
MAX_GZIP_RATIO = 200
MIN_GZIP_ALLOWANCE = 256 * 1024 * 1024
SAMPLE_RECORDS = 20
PARQUET_MAGIC = b"PAR1"
SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A parsed record and where it stood ("12" for line 12, "item 3" inside a JSON array, "row 5")."""

    position: str
    value: Any


@dataclass(frozen=True, slots=True)
class Skip:
    """A record that could not be read, and why."""

    position: str
    reason: str


class DecompressionLimitError(OSError):
    """A compressed file expands far beyond what real logs do: a decompression bomb, or not a log."""


class _BoundedGzip(io.RawIOBase):
    """A gzip stream that stops with DecompressionLimitError past ``limit`` decompressed bytes."""

    def __init__(self, path: Path, limit: int) -> None:
        self._inner = gzip.open(path, "rb")  # noqa: SIM115 - closed by close(), this object is the context
        self._limit = limit
        self._read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._inner.readinto(buffer)
        self._read += count
        if self._read > self._limit:
            raise DecompressionLimitError(f"expands beyond {self._limit:,} bytes (over {MAX_GZIP_RATIO}x)")
        return count

    def close(self) -> None:
        self._inner.close()
        super().close()


def gzip_limit(compressed_bytes: int) -> int:
    return max(MIN_GZIP_ALLOWANCE, compressed_bytes * MAX_GZIP_RATIO)


READ_BUFFER = 1 << 20  # a read call per megabyte, not one per line or two of a log of long lines


def is_compressed(path: Path) -> bool:
    """Whether ``open_binary`` decompresses the file as it reads it."""
    return path.suffix == ".gz"


def open_binary(path: Path) -> IO[bytes]:
    """Open a file for reading bytes, decompressing ``.gz`` transparently, within a bound on how far it expands."""
    if is_compressed(path):
        raw = _BoundedGzip(path, gzip_limit(path.stat().st_size))
        return io.BufferedReader(raw, buffer_size=READ_BUFFER)
    return path.open("rb", buffering=READ_BUFFER)


def file_digest(path: Path) -> tuple[int, str]:
    """Size and sha256 of a file as it lies on disk (compressed files are not expanded), read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    with open_binary(path) as stream:
        return stream.read(size)


def _parse(data: bytes) -> Any:
    return json.loads(data.decode("utf-8", errors="replace"))


def iter_lines(stream: IO[bytes], max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes | None]]:
    """Yield (line number, bytes); ``None`` for a line over the limit, which is read past, never held."""
    number = 0
    while True:
        chunk = stream.readline(max_line_bytes + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > max_line_bytes and not chunk.endswith(b"\n"):
            while chunk and not chunk.endswith(b"\n"):
                chunk = stream.readline(max_line_bytes)
            yield number, None
            continue
        yield number, chunk


def _looks_like_one_document(head: bytes) -> bool:
    """A JSON document spread over lines rather than JSON Lines: an array, or an object whose first line
    does not parse alone."""
    stripped = head.lstrip()
    if stripped.startswith(b"["):
        return True
    if not stripped.startswith(b"{"):
        return False
    first_line = stripped.split(b"\n", 1)[0]
    try:
        _parse(first_line)
    except (ValueError, RecursionError):
        return True
    return False


def iter_json_records(
    path: Path,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_document_bytes: int = MAX_DOCUMENT_BYTES,
) -> Iterator[RawRecord | Skip]:
    """Every JSON record of a file, JSON Lines or one JSON document, in file order.

    A file that opens like one JSON document but does not parse as one is read as JSON Lines, so a JSON Lines file
    whose first line is broken loses that line only.
    """
    if _looks_like_one_document(read_head(path)):
        document = _read_document(path, max_document_bytes)
        if isinstance(document, Skip):
            yield document
            return
        if document is not _NOT_ONE_DOCUMENT:
            if isinstance(document, list):
                for index, item in enumerate(document):
                    yield RawRecord(f"item {index}", item)
            else:
                yield RawRecord("1", document)
            return
    with open_binary(path) as stream:
        for number, line in iter_lines(stream, max_line_bytes):
            record = json_line_record(number, line, max_line_bytes)
            if record is not None:
                yield record


def json_line_record(number: int, line: bytes | None, max_line_bytes: int = MAX_LINE_BYTES) -> RawRecord | Skip | None:
    """One line of a JSON Lines file (``None`` when it was over ``max_line_bytes``) as a record, a skip, or None
    for a blank line."""
    position = str(number)
    if line is None:
        return Skip(position, f"line longer than {max_line_bytes} bytes")
    if not line.strip():
        return None
    try:
        return RawRecord(position, _parse(line))
    except (ValueError, RecursionError):
        return Skip(position, "invalid JSON")


def is_json_lines(head: bytes) -> bool:
    """Whether a file with this head is read as JSON Lines (one record a line) by ``iter_records``."""
    return head.lstrip()[:1] == b"{" and not _looks_like_one_document(head)


_NOT_ONE_DOCUMENT = object()


def _read_document(path: Path, max_document_bytes: int) -> Any:
    """The parsed document; ``_NOT_ONE_DOCUMENT`` when the text is not one JSON value; a Skip when too large."""
    with open_binary(path) as stream:
        data = stream.read(max_document_bytes + 1)
    if len(data) > max_document_bytes:
        return Skip("1", f"JSON document larger than {max_document_bytes} bytes")
    try:
        return _parse(data)
    except (ValueError, RecursionError):
        return _NOT_ONE_DOCUMENT


def iter_csv_records(path: Path) -> Iterator[RawRecord | Skip]:
    """Rows of a CSV file with a header, as dicts; a row whose width differs from the header is skipped."""
    csv.field_size_limit(MAX_CSV_FIELD_BYTES)
    with open_binary(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
        reader = csv.reader(text)
        try:
            header = next(reader)
        except (StopIteration, csv.Error):
            return
        row_number = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row_number += 1
                yield Skip(f"row {row_number}", f"malformed CSV ({exc})")
                continue
            row_number += 1
            if not row:
                continue
            if len(row) != len(header):
                yield Skip(f"row {row_number}", "CSV row has a different number of fields than the header")
                continue
            yield RawRecord(f"row {row_number}", dict(zip(header, row, strict=True)))


def iter_parquet_records(path: Path, batch_rows: int = 1024) -> Iterator[RawRecord | Skip]:
    """Rows of a Parquet file as dicts, read batch by batch."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception:  # pyarrow raises several types for a broken file
        yield Skip("1", "unreadable Parquet file")
        return
    row_number = 0
    for batch in parquet.iter_batches(batch_size=batch_rows):
        for row in batch.to_pylist():
            row_number += 1
            yield RawRecord(f"row {row_number}", row)


def looks_like_csv(head: bytes) -> bool:
    """A header line of two or more plain column names, and no JSON."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.split("\n", 1)[0].strip()
    if not first or first[0] in "{[" or "," not in first:
        return False
    try:
        header = next(csv.reader([first]))
    except csv.Error:
        return False
    return len(header) >= 2 and all(0 < len(name) <= 64 and "\x00" not in name for name in header)


def iter_records(path: Path, head: bytes | None = None) -> Iterator[RawRecord | Skip]:
    """The records of a JSON, JSON Lines, CSV or Parquet file, chosen by its content."""
    head = read_head(path) if head is None else head
    if head.startswith(PARQUET_MAGIC):
        yield from iter_parquet_records(path)
    elif head.lstrip()[:1] in (b"{", b"["):
        yield from iter_json_records(path)
    elif looks_like_csv(head):
        yield from iter_csv_records(path)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection whose text never fails to decode (invalid UTF-8 is replaced)."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    db.text_factory = _text
    return db


def table_names(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def table_columns(db: sqlite3.Connection, table: str) -> list[str]:
    """Column names of ``table`` (a name taken from ``sqlite_master`` or a fixed list, quoted)."""
    quoted = table.replace('"', '""')
    return [str(row[1]) for row in db.execute(f'PRAGMA table_info("{quoted}")')]


@dataclass
class FileSample:
    """What format detection sees of a file: its head, and its first records when it holds records."""

    path: Path
    head: bytes
    records: list[Any] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.head.decode("utf-8", errors="replace")

    @property
    def is_sqlite(self) -> bool:
        return self.head.startswith(SQLITE_MAGIC)

    def sqlite_tables(self) -> set[str]:
        """Table names of a SQLite file, opened read-only; empty when it is not one."""
        if not self.is_sqlite:
            return set()
        try:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as db:
                return table_names(db)
        except sqlite3.Error:
            return set()


def sample_file(path: Path) -> FileSample:
    """The head of a file and up to ``SAMPLE_RECORDS`` of its first records."""
    head = read_head(path)
    sample = FileSample(path=path, head=head)
    if sample.is_sqlite:
        return sample
    too_big = path.suffix != ".gz" and path.stat().st_size > MAX_SAMPLED_DOCUMENT_BYTES
    if too_big and _looks_like_one_document(head):
        return sample
    for item in iter_records(path, head):
        if isinstance(item, RawRecord):
            sample.records.append(item.value)
        if len(sample.records) >= SAMPLE_RECORDS:
            break
    return sample
