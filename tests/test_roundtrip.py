"""Round trip: the three real corpora, converted into formats 1, 3, 4 and 5 and read back, give the same calls
(same ids, messages and responses) as reading the originals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from slmscout.traces import LLMCall, ReadSummary, read_traces
from tests.roundtrip.writers import WRITERS, span_id

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
CORPORA = sorted(p.parent for p in REAL.glob("*/calls.jsonl"))

pytestmark = pytest.mark.skipif(not CORPORA, reason="../shared/data/real is not beside the project")


def records(corpus: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (corpus / "calls.jsonl").read_text(encoding="utf-8").splitlines()]


def essence(call: LLMCall) -> tuple[tuple[tuple[str, str], ...], str]:
    """What must survive every format: the prompt turns (role, text) and the response text."""
    return tuple((m.role, m.content) for m in call.messages), call.response or ""


def read(folder: Path) -> tuple[dict[str, LLMCall], ReadSummary]:
    summary = ReadSummary()
    calls: dict[str, LLMCall] = {}
    for call in read_traces([folder], summary):
        assert call.call_id not in calls, f"call {call.call_id} read twice"
        calls[call.call_id] = call
    return calls, summary


@pytest.fixture(scope="module", params=[c.name for c in CORPORA])
def original(request: pytest.FixtureRequest) -> tuple[list[dict[str, Any]], dict[str, LLMCall]]:
    corpus = REAL / request.param
    calls, summary = read_traces_file(corpus / "calls.jsonl")
    assert summary.records_skipped == 0
    return records(corpus), calls


def read_traces_file(path: Path) -> tuple[dict[str, LLMCall], ReadSummary]:
    summary = ReadSummary()
    return {c.call_id: c for c in read_traces([path], summary)}, summary


@pytest.mark.parametrize("format_name", sorted(WRITERS))
def test_round_trip(
    format_name: str, original: tuple[list[dict[str, Any]], dict[str, LLMCall]], tmp_path: Path
) -> None:
    rows, expected = original
    WRITERS[format_name](rows, tmp_path)
    calls, summary = read(tmp_path)
    assert summary.records_skipped == 0, summary.skips
    assert not summary.files_unrecognised, [(f.path, f.note) for f in summary.files_unrecognised]
    if format_name == "otlp":  # spans carry no call id of the source: the writer derives the span id from it
        calls = {original_id: calls[span_id(original_id)] for original_id in expected if span_id(original_id) in calls}
    assert sorted(calls) == sorted(expected)
    mismatched = [i for i in expected if essence(calls[i]) != essence(expected[i])]
    assert not mismatched, f"{len(mismatched)} calls differ, first {mismatched[0]}"
