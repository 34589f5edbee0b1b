"""Reading JSON records out of trace files, streaming, with limits.

A JSON Lines file is read line by line: memory stays flat whatever the file's size. A file holding one JSON
document (an object or an array of records) is read whole, up to ``max_document_bytes``. ``.gz`` files are
decompressed on the fly. Every record comes out either parsed or as a skip with its reason and position.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

MAX_LINE_BYTES = 64 * 1024 * 1024
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A parsed JSON value and where it stood ("12" for line 12, "item 3" inside a JSON array)."""

    position: str
    value: Any


@dataclass(frozen=True, slots=True)
class Skip:
    """A record that could not be read, and why."""

    position: str
    reason: str


def open_binary(path: Path) -> IO[bytes]:
    """Open a file for reading bytes, decompressing ``.gz`` transparently."""
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _parse(data: bytes) -> Any:
    return json.loads(data.decode("utf-8", errors="replace"))


def _iter_lines(stream: IO[bytes], max_line_bytes: int) -> Iterator[tuple[int, bytes | None]]:
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


def _first_significant_byte(path: Path) -> bytes:
    with open_binary(path) as stream:
        while True:
            block = stream.read(4096)
            if not block:
                return b""
            stripped = block.lstrip()
            if stripped:
                return stripped[:1]


def _looks_like_one_document(path: Path, max_line_bytes: int) -> bool:
    """A JSON document spread over lines, rather than JSON Lines: its first line does not parse alone."""
    first = _first_significant_byte(path)
    if first == b"[":
        return True
    if first != b"{":
        return False
    with open_binary(path) as stream:
        for _number, line in _iter_lines(stream, max_line_bytes):
            if line is None:
                return False
            if not line.strip():
                continue
            try:
                _parse(line)
            except ValueError:
                return True
            return False
    return False


def iter_json_records(
    path: Path,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_document_bytes: int = MAX_DOCUMENT_BYTES,
) -> Iterator[RawRecord | Skip]:
    """Every JSON record of a file, JSON Lines or one JSON document, in file order."""
    if _looks_like_one_document(path, max_line_bytes):
        yield from _iter_document(path, max_document_bytes)
        return
    with open_binary(path) as stream:
        for number, line in _iter_lines(stream, max_line_bytes):
            position = str(number)
            if line is None:
                yield Skip(position, f"line longer than {max_line_bytes} bytes")
                continue
            if not line.strip():
                continue
            try:
                yield RawRecord(position, _parse(line))
            except (ValueError, RecursionError):
                yield Skip(position, "invalid JSON")


def _iter_document(path: Path, max_document_bytes: int) -> Iterator[RawRecord | Skip]:
    with open_binary(path) as stream:
        data = stream.read(max_document_bytes + 1)
    if len(data) > max_document_bytes:
        yield Skip("1", f"JSON document larger than {max_document_bytes} bytes")
        return
    try:
        document = _parse(data)
    except (ValueError, RecursionError):
        yield Skip("1", "invalid JSON")
        return
    if isinstance(document, list):
        for index, item in enumerate(document):
            yield RawRecord(f"item {index}", item)
    else:
        yield RawRecord("1", document)
