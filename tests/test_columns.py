"""Facts as columns (``CallColumns``, ``Categorical``): laid out from records or from a digested table, joined, and
taken by index, they read back as exactly the facts of each call, missing values (no model, no cost, no JSON, no
timestamp) included."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest

from slmscout.analyzers.columns import NO_KEY, CallColumns, Categorical
from slmscout.analyzers.facts import CallFacts, call_facts, facts_table
from slmscout.traces.record import Caller, JsonScalar, LLMCall, Message, SourceRef, ToolCall, ToolDefinition, Usage

RESPONSES = [
    None,
    "",
    "   ",
    "billing",
    "Billing ",
    '{"queue": "billing", "priority": 2}',
    '```json\n{"queue": "shipping"}\n```',
    "[1, 2, 3]",
    "Here is the fix:\n```python\ndef f():\n    return 1\n```",
    "1. Read the ticket\n2. Pick a queue\n3. Reply\n4. Close it",
]
TIMESTAMPS = [None, "2024-05-01T10:00:00Z", "2024-05-01T10:00:00.250+02:00", "not a time", "1717000000"]
COSTS: list[JsonScalar] = [None, 0.0, 0.0125, 3, float("nan"), True, "0.5"]


def _call(rnd: random.Random, n: int) -> LLMCall:
    messages = [Message("system", f"You route tickets, variant {rnd.randint(0, 2)}.")]
    if rnd.random() < 0.3:
        messages += [Message("user", "earlier question"), Message("assistant", "earlier answer")]
    messages.append(Message("user", f"Ticket {rnd.randint(0, 4)}: {rnd.choice(['refund', 'late parcel', 'password'])}"))
    tools = (ToolDefinition("route", "Route a ticket", '{"type": "object"}'),) if rnd.random() < 0.3 else ()
    tool_calls = (ToolCall("route", '{"queue": "billing"}', "t1"),) if tools and rnd.random() < 0.5 else ()
    cost = rnd.choice(COSTS)
    usage = Usage(rnd.randint(1, 999), rnd.randint(0, 99)) if rnd.random() < 0.4 else None
    return LLMCall(
        call_id=f"c{rnd.randint(0, 30)}",
        source=SourceRef(f"logs/{rnd.choice(['a', 'b', 'c'])}.jsonl", str(n), rnd.choice(["chat-messages", "otlp"])),
        messages=tuple(messages),
        response=rnd.choice(RESPONSES),
        response_tool_calls=tool_calls,
        tools=tools,
        model=rnd.choice([None, "gpt-4o", "gpt-4o-mini", ""]),
        caller=rnd.choice([Caller(), Caller(agent="planner"), Caller(role="coder")]),
        usage=usage,
        started_at=rnd.choice(TIMESTAMPS),
        status=rnd.choice(["ok", "ok", "error"]),
        metadata={} if cost is None else {"cost_usd": cost},
    )


def _facts(n: int, seed: int) -> list[CallFacts]:
    rnd = random.Random(seed)
    return [call_facts(_call(rnd, i)) for i in range(n)]


def test_facts_are_varied() -> None:
    """The facts these tests round-trip take every kind of value, missing ones included."""
    facts = _facts(300, 0)
    assert {f.model for f in facts} == {None, "", "gpt-4o", "gpt-4o-mini"}
    assert {f.cost_usd is None for f in facts} == {True, False}
    assert {f.started_at is None for f in facts} == {True, False}
    assert {f.json_schema is None for f in facts} == {True, False} and len({f.json_schema for f in facts}) >= 3
    assert {f.text_response for f in facts} == {True, False}
    assert {f.output_key for f in facts if not f.text_response} == {b""}
    assert {f.token_source for f in facts} == {"reported", "counted"}
    for name in ("error", "history", "tools_offered", "tool_call", "code", "multi_step", "answered"):
        assert {getattr(f, name) for f in facts} == {True, False}, name
    assert len({f.fingerprint for f in facts}) < len(facts)  # repeated prompts


@pytest.mark.parametrize("seed", range(5))
def test_records_round_trip(seed: int) -> None:
    """Facts laid out as columns and read back as records are the facts given."""
    facts = _facts(120, seed)
    assert CallColumns.of_facts(facts).records() == facts


def test_columns_of_a_digested_table_are_its_facts() -> None:
    """The facts columns of ``facts_table``, even spread over several chunks whose value tables differ, read back as
    each call's facts."""
    rnd = random.Random(3)
    calls = [_call(rnd, i) for i in range(90)]
    expected = [call_facts(call) for call in calls]
    assert CallColumns.of_table(facts_table(calls)).records() == expected
    chunked = pa.concat_tables([facts_table(calls[:10]), facts_table(calls[10:11]), facts_table(calls[11:])])
    assert chunked.column("model").num_chunks == 3
    assert CallColumns.of_table(chunked).records() == expected
    assert len(CallColumns.of_table(facts_table([]))) == 0


def test_concat_and_take_keep_every_fact() -> None:
    """Columns joined from parts (one of them empty, one with no model at all) and then taken by any index array
    (repeats, reverse order) hold the facts of the rows picked."""
    parts = [_facts(40, 1), [], _facts(1, 2), _facts(25, 3)]
    parts.append([replace(f, model=None) for f in _facts(3, 4)])
    facts = [f for part in parts for f in part]
    joined = CallColumns.concat([CallColumns.of_facts(part) for part in parts])
    assert len(joined) == len(facts)
    assert joined.records() == facts
    rnd = np.random.default_rng(0)
    for idx in [np.arange(len(facts))[::-1], rnd.integers(0, len(facts), 200), np.zeros(0, dtype=np.int64)]:
        taken = joined.take(idx.astype(np.int64))
        assert taken.records() == [facts[i] for i in idx.tolist()]
        assert taken.model.names == joined.model.names


def test_facts_without_text_keep_an_empty_output_key() -> None:
    """A call with no text response has no output key; one with a response keeps its key (never the empty one)."""
    facts = _facts(200, 5)
    columns = CallColumns.of_facts(facts)
    for fact, key in zip(facts, columns.output_key.tolist(), strict=True):
        assert (key == NO_KEY) == (not fact.text_response)
    assert [r.output_key for r in columns.records()] == [f.output_key for f in facts]


def test_records_do_not_carry_redactions() -> None:
    """Columns hold no placeholders: records come back with none (the call table keeps them apart)."""
    fact = _facts(1, 6)[0]
    with_placeholders = replace(fact, redactions=("<EMAIL_123>",))
    (back,) = CallColumns.of_facts([with_placeholders]).records()
    assert back == fact and back.redactions == ()


def _values(rnd: random.Random, n: int, alphabet: list[str | None]) -> list[str | None]:
    return [rnd.choice(alphabet) for _ in range(n)]


def test_categorical_concat_merges_value_tables() -> None:
    """Joined categoricals read the values of their parts in order, missing ones included, with one entry per
    distinct value in the merged table."""
    rnd = random.Random(7)
    alphabets: list[list[str | None]] = [["a", "b", None], ["c", "a"], [None], ["b", "d", "é", ""], ["z"]]
    for _ in range(50):
        parts = [_values(rnd, rnd.randint(0, 12), rnd.choice(alphabets)) for _ in range(rnd.randint(1, 5))]
        joined = Categorical.concat([Categorical.of_values(part) for part in parts])
        flat = [v for part in parts for v in part]
        assert joined.values() == flat
        assert [joined.value(i) for i in range(len(flat))] == flat
        assert sorted(joined.names) == sorted({v for v in flat if v is not None})
        assert len(set(joined.names)) == len(joined.names)
        assert joined.codes.dtype == np.int32
        assert ((joined.codes == -1) == np.array([v is None for v in flat], dtype=bool)).all()
    assert Categorical.concat([]).values() == []


def test_categorical_take_reads_the_values_taken() -> None:
    """A categorical taken by index, and read through an index, gives the values at those rows."""
    rnd = random.Random(8)
    values = _values(rnd, 60, ["x", "y", None, "w"])
    column = Categorical.of_values(values)
    idx = np.array([rnd.randrange(60) for _ in range(100)], dtype=np.int64)
    assert column.take(idx).values() == [values[i] for i in idx.tolist()]
    assert column.values(idx) == [values[i] for i in idx.tolist()]
    assert column.take(idx).names == column.names


def test_categorical_of_a_chunked_column() -> None:
    """A column in chunks with different values per chunk (and a chunk of nothing but missing values) is read in
    order; so is a column of no chunks at all."""
    chunks = [pa.array(["a", None, "b"]), pa.array([None, None], pa.string()), pa.array(["c", "a"])]
    column = Categorical.of(pa.chunked_array(chunks))
    assert column.values() == ["a", None, "b", None, None, "c", "a"]
    assert Categorical.of(pa.chunked_array([], pa.string())).values() == []


def test_json_schema_column_holds_the_shapes() -> None:
    """The response shape is a categorical of the facts' JSON shapes, one table entry per distinct shape."""
    facts = _facts(100, 9)
    columns = CallColumns.of_facts(facts)
    assert columns.json_schema.values() == [f.json_schema for f in facts]
    assert sorted(columns.json_schema.names) == sorted({f.json_schema for f in facts if f.json_schema is not None})
