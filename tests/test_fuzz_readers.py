"""Property-based tests: every registered reader survives malformed input and accounts for every record.

Thousands of generated inputs (random bytes, random JSON values, mutated real records) are written to files and
read with each reader forced (--format), and with detection. Nothing may raise but the one "nothing readable"
error; for record readers, calls read plus records skipped must equal the records offered.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slmscout.errors import InputError
from slmscout.traces import ReadSummary, read_traces
from slmscout.traces.reader import RecordReader
from slmscout.traces.registry import all_readers
from tests.conftest import FIXTURES, OPENHANDS_SAMPLE

READERS = [reader.name for reader in all_readers()]
RECORD_READERS = [reader.name for reader in all_readers() if isinstance(reader, RecordReader)]
EXAMPLES = 350  # per reader and per test: over a thousand generated inputs for every reader

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)
KEYS = [
    "id",
    "messages",
    "role",
    "content",
    "request",
    "response",
    "choices",
    "message",
    "model",
    "usage",
    "tools",
    "tool_calls",
    "prompt",
    "completion",
    "conversations",
    "from",
    "value",
    "resourceSpans",
    "type",
    "input",
    "output",
    "run_type",
    "inputs",
    "outputs",
    "custom_id",
    "body",
    "parentUuid",
    "uuid",
]
shaped = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS), children, max_size=6),
    max_leaves=30,
)


def _real_lines() -> list[str]:
    lines = OPENHANDS_SAMPLE.read_text(encoding="utf-8").splitlines()[:5]
    for fixture in sorted(FIXTURES.rglob("*.jsonl")):
        lines += fixture.read_text(encoding="utf-8", errors="replace").splitlines()[:3]
    return [line for line in lines if line.strip()]


REAL_LINES = _real_lines()


def _mutate(line: str, rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0 and line:
        cut = rng.randrange(len(line))
        return line[:cut]
    if kind == 1:
        record = json.loads(line)
        if isinstance(record, dict) and record:
            record.pop(rng.choice(sorted(record)))
        return json.dumps(record)
    if kind == 2:
        record = json.loads(line)
        if isinstance(record, dict) and record:
            record[rng.choice(sorted(record))] = rng.choice([None, 7, "x", [], {}, [1, {"a": None}]])
        return json.dumps(record)
    if kind == 3:
        return line.replace('"', "'", rng.randrange(1, 4))
    return line + rng.choice(["}", "{", "\x00", "\udcff"])


def _read(path: Path, format_name: str | None) -> tuple[int, ReadSummary]:
    summary = ReadSummary()
    try:
        count = sum(1 for _ in read_traces([path], summary, format_name))
    except InputError:
        count = 0
    return count, summary


def _write_lines(lines: list[str]) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="slmscout-fuzz-"))
    path = folder / "input.jsonl"
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + b"\n")
    return path


fuzz_settings = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@pytest.mark.parametrize("format_name", READERS)
@fuzz_settings
@given(data=st.binary(max_size=2000))
def test_any_bytes_never_crash(format_name: str, data: bytes) -> None:
    folder = Path(tempfile.mkdtemp(prefix="slmscout-fuzz-"))
    path = folder / "input.bin"
    path.write_bytes(data)
    _read(path, format_name)
    _read(path, None)


@pytest.mark.parametrize("format_name", READERS)
@fuzz_settings
@given(values=st.lists(st.one_of(json_values, shaped), min_size=1, max_size=8))
def test_any_json_lines_never_crash(format_name: str, values: list[Any]) -> None:
    path = _write_lines([json.dumps(v) for v in values])
    _read(path, format_name)
    _read(path, None)


@pytest.mark.parametrize("format_name", RECORD_READERS)
@fuzz_settings
@given(seed=st.integers(0, 10**9), count=st.integers(1, 12))
def test_record_readers_account_for_every_record(format_name: str, seed: int, count: int) -> None:
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        line = rng.choice(REAL_LINES)
        lines.append(_mutate(line, rng) if rng.random() < 0.7 else line)
    offered = sum(1 for line in lines if line.strip())
    path = _write_lines(lines)
    read, summary = _read(path, format_name)
    assert read + summary.records_skipped == offered


def test_deep_nesting_and_huge_values_never_crash(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    wide = json.dumps({"id": "w", "messages": [{"role": "user", "content": "x" * 5_000_000}]})
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join([deep, '{"messages": ' + deep + "}", wide]) + "\n")
    for name in [*READERS, None]:
        _read(path, name)
