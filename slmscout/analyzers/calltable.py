"""The calls of a run as one table: facts in memory as columns, call text left in the Arrow shards.

Shards come from ``digest`` in any order, as files (Arrow IPC streams) or, for small inputs, tables in memory. The
table puts the calls in canonical order (by id, file, position), numbers the deferred redaction placeholders in that
order, and hands out what later steps need: the facts of every call (``CallColumns``), the candidate pieces as
hashes, the text of the pieces asked for, and whole calls by position, each with its placeholders numbered.

A shard file is opened (memory-mapped) only while something is read from it, and a few at a time: memory holds
the facts and the piece hashes of every call, never the text of the corpus.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from slmscout.analyzers.columns import CallColumns
from slmscout.analyzers.facts import CALL_COLUMN, FACTS_SCHEMA, PIECE_HASHES_COLUMN, PIECES_COLUMN, facts_table
from slmscout.analyzers.signature import CallPieces, members_of
from slmscout.traces.codec import from_jsonable
from slmscout.traces.record import LLMCall
from slmscout.traces.redaction import PlaceholderNumbering

WRITE_CHUNK = 4096  # calls decoded at a time when the table is written out
PROMPT_CHUNK = 256  # calls decoded at a time for their prompt text (prompts can be long)
OPEN_SHARDS = 32  # shard files kept open (mapped) at once while calls are read out of them

ShardSource: TypeAlias = "Path | pa.Table"


def read_shard(path: Path) -> pa.Table:
    """A shard file (Arrow IPC stream, the format ``datasets`` caches in), memory-mapped."""
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_stream(source).read_all()


def write_shard(table: pa.Table, path: Path) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, FACTS_SCHEMA) as writer:
        writer.write_table(table)


def _flat_hashes(column: pa.ChunkedArray) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The values of a list<int64> column, flat, and each row's length."""
    empty: NDArray[np.int64] = np.zeros(0, np.int64)
    values = [np.asarray(chunk.flatten().to_numpy(zero_copy_only=False), dtype=np.int64) for chunk in column.chunks]
    lengths = [np.diff(np.asarray(c.offsets, dtype=np.int64)).astype(np.int64) for c in column.chunks]
    return np.concatenate(values or [empty]), np.concatenate(lengths or [empty])


class _Shards:
    """The shards, opened when read from (files stay mapped only while among the last ``OPEN_SHARDS`` used)."""

    def __init__(self, sources: Sequence[ShardSource]) -> None:
        self.sources = list(sources)
        self._open: OrderedDict[int, pa.Table] = OrderedDict()

    def __len__(self) -> int:
        return len(self.sources)

    def table(self, index: int) -> pa.Table:
        source = self.sources[index]
        if isinstance(source, pa.Table):
            return source
        table = self._open.pop(index, None)
        if table is None:
            table = read_shard(source)
        self._open[index] = table
        while len(self._open) > OPEN_SHARDS:
            self._open.popitem(last=False)
        return table

    def release(self) -> None:
        self._open.clear()


class CallTable:
    """The run's calls, in canonical order."""

    def __init__(self, shards: Sequence[ShardSource]) -> None:
        self._shards = _Shards(shards)
        columns: list[CallColumns] = []
        hashes: list[NDArray[np.int64]] = []
        lengths: list[NDArray[np.int64]] = []
        redactions: dict[int, tuple[str, ...]] = {}
        sizes = []
        start = 0
        for index in range(len(self._shards)):
            table = self._shards.table(index)
            columns.append(CallColumns.of_table(table))
            flat, rows = _flat_hashes(table.column(PIECE_HASHES_COLUMN))
            hashes.append(flat)
            lengths.append(rows)
            found = table.column("redactions")
            if pc.sum(pc.list_value_length(found)).as_py():
                for row, values in enumerate(found.to_pylist()):
                    if values:
                        redactions[start + row] = tuple(values)
            sizes.append(table.num_rows)
            start += table.num_rows
        self._shards.release()
        read = CallColumns.concat(columns) if columns else CallColumns.of_table(FACTS_SCHEMA.empty_table())
        self._shard_starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
        self.order: NDArray[np.int64] = _canonical_order(read)
        self.facts: CallColumns = read.take(self.order)
        self._hashes, self._offsets = _canonical_pieces(hashes, lengths, self.order)
        self.numbering = PlaceholderNumbering()
        for row in self.order[
            members_of(self.order, np.fromiter(sorted(redactions), np.int64, len(redactions)))
        ].tolist():
            self.numbering.add(redactions[row])

    @classmethod
    def of_calls(cls, calls: Sequence[LLMCall]) -> CallTable:
        """A table held in memory, for calls already read (and redacted, if they are to be)."""
        return cls([facts_table(calls)])

    def __len__(self) -> int:
        return len(self.order)

    def pieces(self) -> CallPieces:
        """Every call's candidate pieces (hashes), in canonical order."""
        return CallPieces(self._hashes, self._offsets, self.facts.fingerprint)

    def _by_shard(self, positions: NDArray[np.int64]) -> Iterator[tuple[int, NDArray[np.int64], NDArray[np.int64]]]:
        """Canonical positions grouped by the shard holding them: (shard, which of ``positions``, rows in it)."""
        rows = self.order[positions]
        shard_of = np.searchsorted(self._shard_starts, rows, side="right") - 1
        by_shard = np.argsort(shard_of, kind="stable")
        bounds = np.flatnonzero(np.diff(shard_of[by_shard])) + 1
        for group in np.split(by_shard, bounds) if len(by_shard) else []:
            shard = int(shard_of[group[0]])
            yield shard, group, rows[group] - self._shard_starts[shard]

    def piece_texts(self, positions: NDArray[np.int64], pieces: NDArray[np.int64]) -> list[str]:
        """The text of the piece at ``pieces[i]`` among the candidate pieces of the call at canonical position
        ``positions[i]``, each shard read once."""
        out: list[str] = [""] * len(positions)
        for shard, which, rows in self._by_shard(np.asarray(positions, dtype=np.int64)):
            column = self._shards.table(shard).column(PIECES_COLUMN)
            lists = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
            # only the pieces asked for are turned into Python strings, not the whole lists they sit in
            flat = lists.offsets.to_numpy()[rows] + pieces[which]
            for at, text in zip(which.tolist(), lists.values.take(pa.array(flat)).to_pylist(), strict=True):
                out[at] = text
        self._shards.release()
        return out

    def _lines(self, positions: Sequence[int]) -> list[str]:
        """The JSON lines of the calls at these canonical positions, read shard by shard, placeholders numbered."""
        lines: list[str] = [""] * len(positions)
        for shard, which, rows in self._by_shard(np.asarray(positions, dtype=np.int64)):
            column = self._shards.table(shard).column(CALL_COLUMN)
            for at, line in zip(which.tolist(), column.take(pa.array(rows)).to_pylist(), strict=True):
                lines[at] = self.numbering.apply(line)
        return lines

    def calls(self, positions: Sequence[int]) -> list[LLMCall]:
        """The calls at these canonical positions, placeholders numbered."""
        return [from_jsonable(LLMCall, json.loads(line)) for line in self._lines(positions)]

    def prompt_texts(self, positions: Sequence[int], chars: int | None = None) -> list[str]:
        """The prompt text of the calls at these positions (its first ``chars`` characters), a chunk at a time: what
        ``LLMCall.prompt_text`` holds, read off the JSON without decoding the whole call."""
        wanted = np.asarray(positions, dtype=np.int64)
        in_file_order = np.argsort(self.order[wanted], kind="stable")  # chunks of neighbouring calls: few shards each
        out: list[str] = [""] * len(wanted)
        for start in range(0, len(wanted), PROMPT_CHUNK):
            chunk = in_file_order[start : start + PROMPT_CHUNK]
            for at, line in zip(chunk.tolist(), self._lines(wanted[chunk].tolist()), strict=True):
                messages = json.loads(line)["messages"]
                out[at] = "\n".join(message["content"] for message in messages)[:chars]
        self._shards.release()
        return out

    def iter_calls(self) -> Iterator[LLMCall]:
        for start in range(0, len(self), WRITE_CHUNK):
            yield from self.calls(range(start, min(start + WRITE_CHUNK, len(self))))
        self._shards.release()

    def write_jsonl(self, handle: TextIO) -> None:
        """Every call as one JSON line, in canonical order, placeholders numbered."""
        for start in range(0, len(self), WRITE_CHUNK):
            for line in self._lines(range(start, min(start + WRITE_CHUNK, len(self)))):
                handle.write(line)
                handle.write("\n")
        self._shards.release()

    def by_id(self, call_ids: set[str]) -> dict[str, LLMCall]:
        positions = np.flatnonzero(np.isin(self.facts.call_id, np.array(sorted(call_ids), dtype=object)))
        found = {call.call_id: call for call in self.calls(positions.tolist())}
        self._shards.release()
        return found

    def placeholders(self) -> dict[str, int]:
        return self.numbering.counts


def _canonical_pieces(
    hashes: Sequence[NDArray[np.int64]], lengths: Sequence[NDArray[np.int64]], order: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The pieces of every call (given shard by shard, in read order) laid out in canonical order: the hashes, flat,
    and where each call's begin."""
    empty: NDArray[np.int64] = np.zeros(0, np.int64)
    read_lengths = np.concatenate(lengths) if lengths else empty
    offsets = np.zeros(len(read_lengths) + 1, dtype=np.int64)
    np.cumsum(read_lengths, out=offsets[1:])
    ordered = read_lengths[order]
    canonical = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(ordered, out=canonical[1:])
    gather = np.repeat(offsets[:-1][order] - canonical[:-1], ordered) + np.arange(canonical[-1], dtype=np.int64)
    return (np.concatenate(hashes) if hashes else empty)[gather], canonical


def _canonical_order(columns: CallColumns) -> NDArray[np.int64]:
    """Rows sorted by call id, then file, then position (code point order, as Python sorts strings)."""
    if not len(columns):
        return np.zeros(0, dtype=np.int64)
    keys = pa.table(
        {
            "call_id": pa.array(columns.call_id.tolist(), pa.string()),
            "path": pa.array(columns.path.values(), pa.string()),
            "position": pa.array(columns.position.tolist(), pa.string()),
        }
    )
    order = pc.sort_indices(keys, sort_keys=[(name, "ascending") for name in ("call_id", "path", "position")])
    return np.asarray(order.to_numpy(), dtype=np.int64)
