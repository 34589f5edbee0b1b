"""The calls of a run as one table: facts in memory, call text in Arrow shards (memory-mapped when on disk).

Shards come from ``digest`` in any order; the table puts the calls in canonical order (by id, file, position),
numbers the deferred redaction placeholders in that order, and hands out what later steps need: the facts of
every call, the candidate pieces as hashes, the text of the pieces asked for, and whole calls by position,
each with its placeholders numbered. The text of the calls stays in the shards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from slmscout.analyzers.facts import (
    CALL_COLUMN,
    FACTS_SCHEMA,
    PIECE_HASHES_COLUMN,
    PIECES_COLUMN,
    CallFacts,
    facts_of,
    facts_table,
)
from slmscout.analyzers.signature import CallPieces
from slmscout.traces.codec import from_jsonable
from slmscout.traces.record import LLMCall
from slmscout.traces.redaction import PlaceholderNumbering

WRITE_CHUNK = 4096  # calls decoded at a time when the table is written out
PROMPT_CHUNK = 256  # calls decoded at a time for their prompt text (prompts can be long)


def read_shard(path: Path) -> pa.Table:
    """A shard file (Arrow IPC stream, the format ``datasets`` caches in), memory-mapped."""
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_stream(source).read_all()


def write_shard(table: pa.Table, path: Path) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, FACTS_SCHEMA) as writer:
        writer.write_table(table)


def _flat_values(column: pa.ChunkedArray) -> list[pa.Array]:
    """The flattened values of a list column, chunk by chunk (memory-mapped chunks are not copied)."""
    return [chunk.flatten() for chunk in column.chunks]


def _lengths(column: pa.ChunkedArray) -> NDArray[np.int64]:
    return np.concatenate(
        [np.diff(np.asarray(chunk.offsets, dtype=np.int64)) for chunk in column.chunks] or [np.zeros(0, np.int64)]
    )


class CallTable:
    """The run's calls, in canonical order."""

    def __init__(self, shards: Sequence[pa.Table]) -> None:
        self._table = pa.concat_tables(shards) if shards else FACTS_SCHEMA.empty_table()
        rows = facts_of(self._table)
        self.order: list[int] = sorted(range(len(rows)), key=lambda i: rows[i].order_key)
        self.facts: list[CallFacts] = [rows[i] for i in self.order]
        lengths = [len(chunk) for chunk in self._table.column(CALL_COLUMN).chunks]
        self._chunk_starts = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64)
        self.numbering = PlaceholderNumbering()
        for facts in self.facts:
            if facts.redactions:
                self.numbering.add(facts.redactions)

    @classmethod
    def of_calls(cls, calls: Sequence[LLMCall]) -> CallTable:
        """A table held in memory, for calls already read (and redacted, if they are to be)."""
        return cls([facts_table(calls)])

    def __len__(self) -> int:
        return len(self.facts)

    def pieces(self) -> CallPieces:
        """Every call's candidate pieces (hashes), in canonical order."""
        column = self._table.column(PIECE_HASHES_COLUMN)
        flat = np.concatenate(
            [np.asarray(v.to_numpy(zero_copy_only=False), dtype=np.int64) for v in _flat_values(column)]
            or [np.zeros(0, np.int64)]
        )
        row_lengths = _lengths(column)
        offsets = np.zeros(len(row_lengths) + 1, dtype=np.int64)
        np.cumsum(row_lengths, out=offsets[1:])
        order = np.asarray(self.order, dtype=np.int64)
        lengths = row_lengths[order]
        canonical = np.zeros(len(order) + 1, dtype=np.int64)
        np.cumsum(lengths, out=canonical[1:])
        gather = np.repeat(offsets[:-1][order] - canonical[:-1], lengths) + np.arange(canonical[-1], dtype=np.int64)
        return CallPieces(flat[gather], canonical, [f.fingerprint for f in self.facts])

    def piece_texts(self, wanted: NDArray[np.int64]) -> dict[int, str]:
        """The text of each wanted piece hash, read shard by shard."""
        found: dict[int, str] = {}
        if not len(wanted):
            return found
        hashes = _flat_values(self._table.column(PIECE_HASHES_COLUMN))
        texts = _flat_values(self._table.column(PIECES_COLUMN))
        for chunk_hashes, chunk_texts in zip(hashes, texts, strict=True):
            flat = np.asarray(chunk_hashes.to_numpy(zero_copy_only=False), dtype=np.int64)
            positions = np.flatnonzero(np.isin(flat, wanted))
            new, first = np.unique(flat[positions], return_index=True)
            keep = [j for j, h in enumerate(new.tolist()) if h not in found]
            if keep:
                picked = chunk_texts.take(pa.array(positions[first[keep]])).to_pylist()
                found.update(zip(new[keep].tolist(), picked, strict=True))
        return found

    def _lines(self, positions: Sequence[int]) -> list[str]:
        """The JSON lines of the calls at these canonical positions, read chunk by chunk: taking rows across a
        chunked column would first copy the whole column, and touch every page of the shards."""
        rows = np.asarray([self.order[i] for i in positions], dtype=np.int64)
        column = self._table.column(CALL_COLUMN)
        chunk_of = np.searchsorted(self._chunk_starts, rows, side="right") - 1
        lines: list[str] = [""] * len(rows)
        for chunk in np.unique(chunk_of).tolist():
            picked = np.flatnonzero(chunk_of == chunk)
            local = pa.array(rows[picked] - self._chunk_starts[chunk])
            for at, line in zip(picked.tolist(), column.chunk(chunk).take(local).to_pylist(), strict=True):
                lines[at] = self.numbering.apply(line)
        return lines

    def calls(self, positions: Sequence[int]) -> list[LLMCall]:
        """The calls at these canonical positions, placeholders numbered."""
        return [from_jsonable(LLMCall, json.loads(line)) for line in self._lines(positions)]

    def prompt_texts(self, positions: Sequence[int], chars: int | None = None) -> list[str]:
        """The prompt text of the calls at these positions (its first ``chars`` characters), a chunk at a time."""
        out: list[str] = []
        for start in range(0, len(positions), PROMPT_CHUNK):
            out += [call.prompt_text[:chars] for call in self.calls(positions[start : start + PROMPT_CHUNK])]
        return out

    def iter_calls(self) -> Iterator[LLMCall]:
        for start in range(0, len(self), WRITE_CHUNK):
            yield from self.calls(range(start, min(start + WRITE_CHUNK, len(self))))

    def write_jsonl(self, handle: TextIO) -> None:
        """Every call as one JSON line, in canonical order, placeholders numbered."""
        for start in range(0, len(self), WRITE_CHUNK):
            for line in self._lines(range(start, min(start + WRITE_CHUNK, len(self)))):
                handle.write(line)
                handle.write("\n")

    def by_id(self, call_ids: set[str]) -> dict[str, LLMCall]:
        positions = [i for i, facts in enumerate(self.facts) if facts.call_id in call_ids]
        return {call.call_id: call for call in self.calls(positions)}

    def placeholders(self) -> dict[str, int]:
        return self.numbering.counts
