"""The facts of every call of a run, column by column: what evidence, economics and the assignments read.

One numpy array per fact, in the run's canonical call order, instead of an object per call: a million calls hold
tens of bytes of facts each, and a cluster's figures are computed over the index array of its calls. Text facts
that take few values (file, format, caller group, model, token source, response JSON shape) are held as codes
into a table of the distinct values (``Categorical``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from slmscout.analyzers.facts import CallFacts

Index = NDArray[np.int64]
KEY_BYTES = 16  # fingerprints and output keys: 16-byte digests (an empty output key is 16 zero bytes)
NO_KEY = bytes(KEY_BYTES)


@dataclass(frozen=True)
class Categorical:
    """Codes into ``names``; -1 stands for a missing value (None)."""

    codes: NDArray[np.int32]
    names: tuple[str, ...]

    @classmethod
    def of(cls, column: pa.Array | pa.ChunkedArray) -> Categorical:
        encoded = pc.dictionary_encode(column)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks() if encoded.num_chunks else pa.array([], pa.string()).dictionary_encode()
        codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int32)
        return cls(codes, tuple(str(name) for name in encoded.dictionary.to_pylist()))

    @classmethod
    def of_values(cls, values: Iterable[str | None]) -> Categorical:
        return cls.of(pa.array(list(values), pa.string()))

    def value(self, i: int) -> str | None:
        code = int(self.codes[i])
        return self.names[code] if code >= 0 else None

    def values(self, idx: Index | None = None) -> list[str | None]:
        codes = self.codes if idx is None else self.codes[idx]
        lookup: list[str | None] = [*self.names, None]  # code -1 reads the last entry
        return [lookup[code] for code in codes.tolist()]

    def take(self, idx: Index) -> Categorical:
        return Categorical(self.codes[idx], self.names)

    @staticmethod
    def concat(parts: Sequence[Categorical]) -> Categorical:
        """One column from several, their value tables merged."""
        names: dict[str, int] = {}
        codes = []
        for part in parts:
            remap = np.array([names.setdefault(name, len(names)) for name in part.names] + [-1], dtype=np.int32)
            codes.append(remap[part.codes])  # -1 indexes the appended -1
        return Categorical(np.concatenate(codes) if codes else np.zeros(0, dtype=np.int32), tuple(names))


def _keys(values: Iterable[bytes]) -> NDArray[np.void]:
    return np.array([v or NO_KEY for v in values], dtype=f"V{KEY_BYTES}")


@dataclass(frozen=True)
class CallColumns:
    """Facts of calls, one array per fact (see ``CallFacts`` for what each means)."""

    call_id: NDArray[np.object_]
    path: Categorical
    position: NDArray[np.object_]
    format: Categorical
    group: Categorical
    model: Categorical
    started_at: NDArray[np.float64]  # NaN: no timestamp
    error: NDArray[np.bool_]
    cost_usd: NDArray[np.float64]  # NaN: the log gave no cost
    input_tokens: NDArray[np.int64]
    output_tokens: NDArray[np.int64]
    token_source: Categorical
    fingerprint: NDArray[np.void]
    turns: NDArray[np.int32]
    history: NDArray[np.bool_]
    tools_offered: NDArray[np.bool_]
    tool_call: NDArray[np.bool_]
    answered: NDArray[np.bool_]
    text_response: NDArray[np.bool_]
    json_schema: Categorical
    code: NDArray[np.bool_]
    output_key: NDArray[np.void]
    multi_step: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.call_id)

    @classmethod
    def of_table(cls, table: pa.Table) -> CallColumns:
        """The facts columns of a digested shard (``facts_table``), in row order."""

        def floats(name: str) -> NDArray[np.float64]:
            column = table.column(name)
            return np.asarray(column.fill_null(np.nan).to_numpy(), dtype=np.float64)

        def array(name: str, dtype: type) -> NDArray[Any]:
            return np.asarray(table.column(name).to_numpy(), dtype=dtype)

        def strings(name: str) -> NDArray[np.object_]:
            return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=object)

        def keys(name: str) -> NDArray[np.void]:
            return _keys(table.column(name).to_pylist())

        return cls(
            call_id=strings("call_id"),
            path=Categorical.of(table.column("path")),
            position=strings("position"),
            format=Categorical.of(table.column("format")),
            group=Categorical.of(table.column("group")),
            model=Categorical.of(table.column("model")),
            started_at=floats("started_at"),
            error=array("error", np.bool_),
            cost_usd=floats("cost_usd"),
            input_tokens=array("input_tokens", np.int64),
            output_tokens=array("output_tokens", np.int64),
            token_source=Categorical.of(table.column("token_source")),
            fingerprint=keys("fingerprint"),
            turns=array("turns", np.int32),
            history=array("history", np.bool_),
            tools_offered=array("tools_offered", np.bool_),
            tool_call=array("tool_call", np.bool_),
            answered=array("answered", np.bool_),
            text_response=array("text_response", np.bool_),
            json_schema=Categorical.of(table.column("json_schema")),
            code=array("code", np.bool_),
            output_key=keys("output_key"),
            multi_step=array("multi_step", np.bool_),
        )

    @classmethod
    def of_facts(cls, facts: Sequence[CallFacts]) -> CallColumns:
        """Columns of facts held as records (tests, and calls analysed in memory)."""
        from slmscout.analyzers.facts import FACTS_SCHEMA

        names = [f.name for f in fields(CallFacts)]
        rows = {name: [getattr(f, name) for f in facts] for name in names}
        rows["redactions"] = [list(r) for r in rows["redactions"]]
        schema = pa.schema([FACTS_SCHEMA.field(name) for name in names])
        return cls.of_table(pa.table(rows, schema=schema))

    @staticmethod
    def concat(parts: Sequence[CallColumns]) -> CallColumns:
        values: dict[str, object] = {}
        for f in fields(CallColumns):
            pieces = [getattr(part, f.name) for part in parts]
            if pieces and isinstance(pieces[0], Categorical):
                values[f.name] = Categorical.concat(pieces)
            else:
                values[f.name] = np.concatenate(pieces) if pieces else np.zeros(0)
        return CallColumns(**values)  # type: ignore[arg-type]

    def take(self, idx: Index) -> CallColumns:
        values: dict[str, object] = {}
        for f in fields(CallColumns):
            column = getattr(self, f.name)
            values[f.name] = column.take(idx) if isinstance(column, Categorical) else column[idx]
        return CallColumns(**values)  # type: ignore[arg-type]

    def records(self) -> list[CallFacts]:
        """Every call's facts as a record (for tests and single-call views; not for a whole large run)."""
        return facts_of_columns(self, range(len(self)))


def facts_of_columns(columns: CallColumns, rows: Sequence[int]) -> list[CallFacts]:
    out = []
    for i in rows:
        started = float(columns.started_at[i])
        cost = float(columns.cost_usd[i])
        key = bytes(columns.output_key[i])
        out.append(
            CallFacts(
                call_id=str(columns.call_id[i]),
                path=columns.path.value(i) or "",
                position=str(columns.position[i]),
                format=columns.format.value(i) or "",
                group=columns.group.value(i) or "",
                model=columns.model.value(i),
                started_at=None if np.isnan(started) else started,
                error=bool(columns.error[i]),
                cost_usd=None if np.isnan(cost) else cost,
                input_tokens=int(columns.input_tokens[i]),
                output_tokens=int(columns.output_tokens[i]),
                token_source=columns.token_source.value(i) or "counted",  # type: ignore[arg-type]
                fingerprint=bytes(columns.fingerprint[i]),
                turns=int(columns.turns[i]),
                history=bool(columns.history[i]),
                tools_offered=bool(columns.tools_offered[i]),
                tool_call=bool(columns.tool_call[i]),
                answered=bool(columns.answered[i]),
                text_response=bool(columns.text_response[i]),
                json_schema=columns.json_schema.value(i),
                code=bool(columns.code[i]),
                output_key=b"" if key == NO_KEY and not columns.text_response[i] else key,
                multi_step=bool(columns.multi_step[i]),
            )
        )
    return out
