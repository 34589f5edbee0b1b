"""Per-call facts: everything the analysis needs from one call, worked out once, in whichever process reads it.

A call's text is large; what clustering, evidence and economics need from it is small: ids, token counts, the
prompt's fingerprint, its candidate template pieces (hashed), and a few figures about its response. ``call_facts``
computes them from one call; ``facts_table`` lays a batch of calls out as an Arrow table with the call itself
(redacted JSON) beside its facts, which is what the on-disk call store holds (``calltable``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa

from slmscout.analyzers.pieces import call_pieces, piece_hash, prompt_fingerprint
from slmscout.analyzers.response_shape import MULTI_STEP_LINES, STEP_LINE, holds_code, json_schema, parse_json_output
from slmscout.analyzers.tokens import TokenSource, call_tokens
from slmscout.traces.codec import to_jsonable
from slmscout.traces.record import LLMCall
from slmscout.traces.timestamps import parse_timestamp

FACTS_VERSION = 1  # bump when what a fact means changes: cached call stores of another version are not reused


def call_group(call: LLMCall) -> str:
    """Who made the call, for roll-ups: the caller agent the log names, else the file it came from."""
    return call.caller.agent or call.caller.role or _file_name(call.source.path)


@functools.lru_cache(maxsize=1024)
def _file_name(path: str) -> str:
    return Path(path).name  # remembered: a path object costs microseconds, and a file's calls share its name


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the analysis knows of one call once its text is put away."""

    call_id: str
    path: str
    position: str
    format: str
    group: str
    model: str | None
    started_at: float | None  # POSIX seconds, UTC
    error: bool
    cost_usd: float | None  # the log's own cost of the call
    input_tokens: int
    output_tokens: int
    token_source: TokenSource
    fingerprint: bytes  # identity of the full prompt (messages and tool names)
    turns: int
    history: bool  # the prompt holds earlier assistant turns
    tools_offered: bool
    tool_call: bool  # the response calls a tool
    answered: bool  # a text response or a tool call was logged
    text_response: bool
    json_schema: str | None  # shape of the response's JSON value, None when it is not JSON
    code: bool  # the text response holds code
    output_key: bytes  # identity of the text response, whitespace and case folded (empty without one)
    multi_step: bool
    redactions: tuple[str, ...] = ()  # deferred redaction placeholders, in order of first appearance

    @property
    def source(self) -> str:
        return f"{self.path}:{self.position}"

    @property
    def order_key(self) -> tuple[str, str, str]:
        """The canonical order of calls: by id, then file and position."""
        return (self.call_id, self.path, self.position)


def _cost(call: LLMCall) -> float | None:
    logged = call.metadata.get("cost_usd")
    if isinstance(logged, int | float) and not isinstance(logged, bool) and math.isfinite(logged):
        return float(logged)
    return None


def call_facts(call: LLMCall, redactions: tuple[str, ...] = ()) -> CallFacts:
    tokens = call_tokens(call, deferred_placeholders=bool(redactions))
    text = call.response.strip() if call.response else ""
    parsed = parse_json_output(text) if text else None
    when = parse_timestamp(call.started_at)
    return CallFacts(
        call_id=call.call_id,
        path=call.source.path,
        position=call.source.position,
        format=call.source.format,
        group=call_group(call),
        model=call.model,
        started_at=when.timestamp() if when is not None else None,
        error=call.status == "error",
        cost_usd=_cost(call),
        input_tokens=tokens.input,
        output_tokens=tokens.output,
        token_source=tokens.source,
        fingerprint=bytes.fromhex(prompt_fingerprint(call)),
        turns=len(call.messages),
        history=any(m.role == "assistant" for m in call.messages),
        tools_offered=bool(call.tools),
        tool_call=bool(call.response_tool_calls),
        answered=bool(text) or bool(call.response_tool_calls),
        text_response=bool(text),
        json_schema=json_schema(parsed) if parsed is not None else None,
        code=bool(text) and holds_code(text, parsed),
        output_key=hashlib.blake2b(" ".join(text.lower().split()).encode(), digest_size=16).digest() if text else b"",
        multi_step=bool(text) and len(STEP_LINE.findall(text)) >= MULTI_STEP_LINES,
        redactions=redactions,
    )


FACT_FIELDS = tuple(CallFacts.__dataclass_fields__)
_FACT_VALUES = operator.attrgetter(*FACT_FIELDS)  # a record's fields as a tuple, in order
CALL_COLUMN = "call"  # the call itself, as the JSON line the run folder's calls.jsonl holds
PIECES_COLUMN = "pieces"  # candidate template pieces, masked text
PIECE_HASHES_COLUMN = "piece_hashes"

FACTS_SCHEMA = pa.schema(
    [
        ("call_id", pa.string()),
        ("path", pa.string()),
        ("position", pa.string()),
        ("format", pa.string()),
        ("group", pa.string()),
        ("model", pa.string()),
        ("started_at", pa.float64()),
        ("error", pa.bool_()),
        ("cost_usd", pa.float64()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("token_source", pa.string()),
        ("fingerprint", pa.binary(16)),
        ("turns", pa.int32()),
        ("history", pa.bool_()),
        ("tools_offered", pa.bool_()),
        ("tool_call", pa.bool_()),
        ("answered", pa.bool_()),
        ("text_response", pa.bool_()),
        ("json_schema", pa.string()),
        ("code", pa.bool_()),
        ("output_key", pa.binary()),
        ("multi_step", pa.bool_()),
        ("redactions", pa.list_(pa.string())),
        (PIECE_HASHES_COLUMN, pa.list_(pa.int64())),
        (PIECES_COLUMN, pa.list_(pa.string())),
        (CALL_COLUMN, pa.string()),
    ],
    metadata={"slmscout.facts_version": str(FACTS_VERSION)},
)


def call_json(call: LLMCall) -> str:
    """A call as one compact JSON line. orjson writes the record's fields in order, several times faster than the
    json module; what it refuses (an integer past 64 bits, a lone surrogate, a mapping that is not a dict) goes
    through the json module, in the same compact form."""
    try:
        return orjson.dumps(call).decode()
    except orjson.JSONEncodeError:
        return json.dumps(to_jsonable(call), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def facts_table(calls: Sequence[LLMCall], redactions: Sequence[tuple[str, ...]] | None = None) -> pa.Table:
    """A batch of calls as one Arrow table: each call's facts, candidate pieces and its JSON."""
    redactions = redactions if redactions is not None else [()] * len(calls)
    facts = [_FACT_VALUES(call_facts(call, found)) for call, found in zip(calls, redactions, strict=True)]
    pieces = [call_pieces(call) for call in calls]
    by_field = zip(*facts, strict=True) if facts else ((),) * len(FACT_FIELDS)  # the facts, column by column
    columns: dict[str, Sequence[object]] = dict(zip(FACT_FIELDS, by_field, strict=True))
    columns[PIECE_HASHES_COLUMN] = [list(map(piece_hash, of_call)) for of_call in pieces]
    columns[PIECES_COLUMN] = pieces
    columns[CALL_COLUMN] = [call_json(call) for call in calls]
    return pa.table({name: columns[name] for name in FACTS_SCHEMA.names}, schema=FACTS_SCHEMA)


def facts_of(table: pa.Table) -> list[CallFacts]:
    """The facts of every row of a facts table, in row order."""
    columns = {name: table.column(name).to_pylist() for name in FACT_FIELDS}
    columns["redactions"] = [tuple(r) if r else () for r in columns["redactions"]]
    return [CallFacts(*row) for row in zip(*(columns[name] for name in FACT_FIELDS), strict=True)]
