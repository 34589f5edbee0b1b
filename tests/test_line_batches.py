"""JSON Lines read batch by batch (``line_batches`` + ``read_line_batch``, as worker processes read them) give exactly
what reading each file whole gives: the same calls at the same positions, and the same account of every record
skipped. Read summaries of parts merged (also through their JSON form, as the digest store keeps them) equal the
summary of reading everything in one go."""

from __future__ import annotations

import gzip
import json
import pickle
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slmscout.analyzers import digest
from slmscout.analyzers.calltable import CallTable
from slmscout.analyzers.digest import Digester
from slmscout.analyzers.pipeline import canonical_order
from slmscout.traces import ingest, source
from slmscout.traces.chat_messages import ChatMessagesReader
from slmscout.traces.ingest import (
    LOCATIONS_KEPT,
    Accounting,
    FileRead,
    LineBatch,
    LineSpan,
    ReadSummary,
    ReadUnit,
    line_batches,
    plan_reads,
    read_line_batch,
    read_traces,
)
from slmscout.traces.reader import ReadContext
from slmscout.traces.record import LLMCall
from tests.conftest import FIXTURES, OPENHANDS_SAMPLE

LIMIT = 400  # bytes a line may hold in these tests (the real limit is 64 MiB)


@pytest.fixture
def short_lines(monkeypatch: pytest.MonkeyPatch) -> int:
    """A small line limit. ``MAX_LINE_BYTES`` is read when the functions are defined (as default arguments), so it
    is their defaults that are changed."""
    monkeypatch.setattr(source.iter_lines, "__defaults__", (LIMIT,))
    monkeypatch.setattr(source.json_line_record, "__defaults__", (LIMIT,))
    monkeypatch.setattr(source.iter_json_records, "__defaults__", (LIMIT, source.MAX_DOCUMENT_BYTES))
    return LIMIT


def _record(rnd: random.Random, n: int) -> dict[str, Any]:
    record: dict[str, Any] = {
        "messages": [
            {"role": "system", "content": f"Route tickets, rule {rnd.randint(0, 3)}."},
            {"role": "user", "content": f"Ticket {n}: {rnd.choice(['refund', 'late parcel', 'new password'])}"},
        ]
    }
    if rnd.random() < 0.8:
        record["id"] = f"id-{rnd.randint(0, 40)}"  # ids repeat: calls are told apart by their position
    if rnd.random() < 0.6:
        record["messages"].append({"role": "assistant", "content": rnd.choice(["billing", "shipping", "account"])})
    if rnd.random() < 0.3:
        record["model"] = rnd.choice(["gpt-4o", "gpt-4o-mini"])
    return record


def _line(rnd: random.Random, n: int) -> str:
    """One line of a JSON Lines file, of any of the kinds real files hold (no newline)."""
    kind = rnd.choices(
        ["call", "invalid", "blank", "not-object", "other-shape", "no-messages", "too-long", "crlf"],
        weights=[10, 2, 1, 2, 1, 2, 1, 1],
    )[0]
    if kind == "call":
        return json.dumps(_record(rnd, n))
    if kind == "invalid":
        return rnd.choice(['{"id": "x", "messages": [', "{broken", "nul\x00l", '{"a": 1}}'])
    if kind == "blank":
        return rnd.choice(["", "   ", "\t"])
    if kind == "not-object":
        return rnd.choice(["[1, 2]", '"text"', "42", "null", "true"])
    if kind == "other-shape":
        return json.dumps({"id": f"o{n}", "prompt_text": "not a chat record"})
    if kind == "no-messages":
        return json.dumps({"id": f"e{n}", "messages": rnd.choice([[], "[not json", [{"role": "user"}]])})
    if kind == "too-long":
        record = _record(rnd, n)
        record["messages"][0]["content"] = "long " * (LIMIT // 4)
        return json.dumps(record)
    return json.dumps(_record(rnd, n)) + "\r"


def _write(path: Path, lines: list[str], trailing_newline: bool = True) -> Path:
    text = "\n".join(lines) + ("\n" if trailing_newline else "")
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _random_file(path: Path, seed: int) -> Path:
    rnd = random.Random(seed)
    first = json.dumps(_record(rnd, 0) | {"id": "first"})  # a first line that parses: read as JSON Lines
    lines = [first] + [_line(rnd, n) for n in range(1, rnd.randint(1, 60))]
    return _write(path, lines, trailing_newline=rnd.random() < 0.8)


def _whole(paths: list[Path]) -> tuple[list[LLMCall], ReadSummary]:
    summary = ReadSummary()
    return list(read_traces(paths, summary)), summary


def _batched(paths: list[Path], batch_bytes: int, batch_lines: int) -> tuple[list[LLMCall], ReadSummary]:
    """Every unit read batch by batch, what each batch found applied to the summary as the digest step applies it."""
    summary = ReadSummary()
    units = plan_reads(paths, summary)
    ctx = Accounting(summary)
    calls: list[LLMCall] = []
    for unit in units:
        assert unit.in_lines, unit.files
        for batch in line_batches(unit, ctx, batch_bytes, batch_lines):
            found, log = read_line_batch(batch)
            for call in found:
                ctx.entry(call.source.path).calls += 1
            for reason, path, position in log.skips:
                ctx.skip(reason, Path(path), position)
            calls += found
    return calls, summary


def _skips(summary: ReadSummary) -> list[tuple[str, int, list[str]]]:
    return [(g.reason, g.count, g.locations) for g in summary.skips.values()]


@pytest.mark.parametrize("seed", range(12))
def test_batches_read_what_the_whole_file_reads(tmp_path: Path, short_lines: int, seed: int) -> None:
    """Calls (ids, positions, content) and the summary (calls and skips per file, skip reasons in the order met,
    their counts and first locations) are the same in batches of one line, of a few lines, by bytes, and whole."""
    paths = [
        _random_file(tmp_path / "a.jsonl", seed),
        _random_file(tmp_path / "b.jsonl.gz", seed + 100),
        _random_file(tmp_path / "c.jsonl", seed + 200),
    ]
    whole_calls, whole = _whole(paths)
    assert whole_calls
    for batch_bytes, batch_lines in [(1 << 20, 1), (1 << 20, 3), (500, 1000), (1, 1000)]:
        calls, summary = _batched(paths, batch_bytes, batch_lines)
        assert calls == whole_calls, (batch_bytes, batch_lines)
        assert summary == whole
        assert _skips(summary) == _skips(whole)
        assert summary.as_json() == whole.as_json()


def test_the_random_files_hold_every_kind_of_line(tmp_path: Path, short_lines: int) -> None:
    """The files the test above reads do hold each problem it is meant to meet (so its equalities are not vacuous)."""
    reasons: set[str] = set()
    fallback_ids = 0
    for seed in range(12):
        calls, summary = _whole([_random_file(tmp_path / f"r{seed}.jsonl", seed)])
        reasons |= set(summary.skips)
        fallback_ids += sum(1 for c in calls if c.call_id.startswith(f"r{seed}.jsonl:"))
    assert reasons >= {
        "invalid JSON",
        "record is not a JSON object",
        "record is not in the chat-messages shape",
        f"line longer than {LIMIT} bytes",
        "messages is empty",
        "messages is not a list",
    }
    assert fallback_ids > 0


def test_every_kind_of_line_is_accounted_for(tmp_path: Path, short_lines: int) -> None:
    """A file with one line of each kind: what reading whole reports, and the same in batches of one and two lines."""
    call = {"id": "c", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    too_long = {"id": "big", "messages": [{"role": "user", "content": "x" * LIMIT}]}
    lines = [
        json.dumps(call),
        "{broken",
        "",
        "[1, 2]",
        json.dumps({"id": "s", "prompt_text": "other shape"}),
        json.dumps(too_long),
        json.dumps({"messages": []}),
        json.dumps(call | {"id": "d"}),
        json.dumps({"messages": [{"role": "user", "content": "no id"}]}),
    ]
    path = _write(tmp_path / "kinds.jsonl", lines, trailing_newline=False)
    whole_calls, whole = _whole([path])
    assert [(c.call_id, c.source.position) for c in whole_calls] == [
        ("c", "1"),
        ("d", "8"),
        ("kinds.jsonl:9", "9"),
    ]
    assert whole.files == [FileRead(str(path), "chat-messages", calls=3, skipped=5)]
    assert _skips(whole) == [
        ("invalid JSON", 1, [f"{path}:2"]),
        ("record is not a JSON object", 1, [f"{path}:4"]),
        ("record is not in the chat-messages shape", 1, [f"{path}:5"]),
        (f"line longer than {LIMIT} bytes", 1, [f"{path}:6"]),
        ("messages is empty", 1, [f"{path}:7"]),
    ]
    for batch_lines in (1, 2):
        calls, summary = _batched([path], 1 << 20, batch_lines)
        assert calls == whole_calls
        assert summary == whole and _skips(summary) == _skips(whole)


def test_an_over_long_line_at_the_end_of_a_file(tmp_path: Path, short_lines: int) -> None:
    """A last line over the limit and with no newline is one skip, whole or in batches."""
    path = _write(tmp_path / "tail.jsonl", [json.dumps({"messages": []}), "y" * (3 * LIMIT)], trailing_newline=False)
    path.write_bytes(
        json.dumps({"id": "a", "messages": [{"role": "user", "content": "q"}]}).encode() + b"\n" + path.read_bytes()
    )
    whole_calls, whole = _whole([path])
    assert [c.call_id for c in whole_calls] == ["a"]
    assert _skips(whole) == [
        ("messages is empty", 1, [f"{path}:2"]),
        (f"line longer than {LIMIT} bytes", 1, [f"{path}:3"]),
    ]
    assert _batched([path], 1 << 20, 1) == (whole_calls, whole)


def _held(batch: LineBatch | LineSpan) -> LineBatch:
    """A batch with its lines, read from the file for a span."""
    return batch.lines() if isinstance(batch, LineSpan) else batch


@pytest.mark.parametrize("name", ["plain.jsonl", "packed.jsonl.gz"])
def test_batches_are_cut_by_lines_and_bytes(tmp_path: Path, name: str) -> None:
    """Batches hold at most ``batch_lines`` lines and close as soon as they reach ``batch_bytes``; together they hold
    every line once, in order. A file that is not compressed is cut into spans (where the lines lie), a compressed
    one into the lines themselves."""
    raw = OPENHANDS_SAMPLE.read_bytes().splitlines(keepends=True)
    path = _write(tmp_path / name, [line.decode().rstrip("\n") for line in raw])
    summary = ReadSummary()
    (unit,) = plan_reads([path], summary)
    for batch_bytes, batch_lines in [(1 << 30, 1), (1 << 30, 7), (20_000, 1000), (1, 1000)]:
        found = list(line_batches(unit, Accounting(summary), batch_bytes, batch_lines))
        assert all(isinstance(b, LineBatch if name.endswith(".gz") else LineSpan) for b in found)
        batches = [_held(b) for b in found]
        assert [line for b in batches for line in b.lines] == list(enumerate(raw, start=1))
        for batch in batches:
            assert len(batch.lines) <= batch_lines
            assert batch.size - len(batch.lines[-1][1] or b"") < batch_bytes
            assert batch.size == sum(len(line or b"") for _, line in batch.lines)
        for batch in batches[:-1]:
            assert len(batch.lines) == batch_lines or batch.size >= batch_bytes
        assert {(b.reader, b.path) for b in batches} == {("chat-messages", str(path))}


def test_a_batch_reads_the_same_in_any_process(tmp_path: Path) -> None:
    """A batch carries everything reading it needs (reader name, path, where its lines lie): read twice, or after a
    round trip through pickle (as it travels to a worker), it gives the same calls and skips."""
    path = _random_file(tmp_path / "p.jsonl", 7)
    (unit,) = plan_reads([path], ReadSummary())
    for batch in line_batches(unit, Accounting(ReadSummary()), 1 << 20, 4):
        calls, log = read_line_batch(batch)
        again, log_again = read_line_batch(pickle.loads(pickle.dumps(batch)))
        assert (calls, log.skips) == (again, log_again.skips)
        numbers = {n for n, _ in _held(batch).lines}
        assert all(int(c.source.position) in numbers for c in calls)
        assert all(int(position) in numbers for _, _, position in log.skips)


def test_a_span_sends_its_place_not_its_lines(tmp_path: Path) -> None:
    """What travels to a worker for a batch of a plain file is its place in the file: a few hundred bytes of pickle
    for a batch of a megabyte."""
    line = json.dumps({"id": "a", "messages": [{"role": "user", "content": "q" * 10_000}]})
    path = _write(tmp_path / "big.jsonl", [line] * 100)
    (unit,) = plan_reads([path], ReadSummary())
    (batch,) = line_batches(unit, Accounting(ReadSummary()), 1 << 30, 1000)
    assert _held(batch).size > 1_000_000
    assert len(pickle.dumps(batch)) < 500


def test_an_over_long_line_in_a_span_is_read_past(tmp_path: Path, short_lines: int) -> None:
    """Reading a span does not hold a line over the limit, as reading the file whole does not."""
    lines = [json.dumps({"id": "a", "messages": [{"role": "user", "content": "q"}]}), "y" * (5 * LIMIT), "{}"]
    path = _write(tmp_path / "long.jsonl", lines)
    (unit,) = plan_reads([path], ReadSummary())
    (batch,) = line_batches(unit, Accounting(ReadSummary()), 1 << 20, 1000)
    assert isinstance(batch, LineSpan)
    assert [(n, line is None) for n, line in batch.lines().lines] == [(1, False), (2, True), (3, False)]


def test_a_span_whose_file_is_gone_is_a_skip(tmp_path: Path) -> None:
    """A file removed between finding its batches and reading one: the batch ends with a skip at its first line, not
    a crash of the worker."""
    path = _random_file(tmp_path / "gone.jsonl", 3)
    (unit,) = plan_reads([path], ReadSummary())
    batches = list(line_batches(unit, Accounting(ReadSummary()), 1 << 20, 2))
    path.unlink()
    calls, log = read_line_batch(batches[1])
    assert calls == []
    assert [(reason.split(" (")[0], position) for reason, _, position in log.skips] == [
        ("file cannot be read to its end", "3")
    ]


class _OwnReadFile(ChatMessagesReader):
    """A record reader that reads its files its own way."""

    name = "own-read-file"

    def read_file(self, path: Path, ctx: ReadContext) -> Iterator[LLMCall]:
        return iter(())


def test_in_lines_only_for_json_lines_read_by_a_plain_record_reader(tmp_path: Path) -> None:
    """Only a JSON Lines file read by a ``RecordReader`` that does not override ``read_file`` can be read in batches:
    not a JSON array, a CSV file, a reader with its own ``read_file``, nor a unit of several files."""
    records = [json.loads(line) for line in (FIXTURES / "chat_messages.jsonl").read_text().splitlines()]
    jsonl = FIXTURES / "chat_messages.jsonl"
    array = tmp_path / "array.json"
    array.write_text(json.dumps(records), encoding="utf-8")
    csv = FIXTURES / "chat_datasets" / "messages.csv"

    units = {unit.files[0].name: unit for unit in plan_reads([jsonl, array, csv], ReadSummary())}
    assert {name: unit.reader.name for name, unit in units.items()} == {
        "chat_messages.jsonl": "chat-messages",
        "array.json": "chat-messages",
        "messages.csv": "chat-messages",
    }
    assert units["chat_messages.jsonl"].in_lines
    assert not units["array.json"].in_lines
    assert not units["messages.csv"].in_lines

    assert units["chat_messages.jsonl"].json_lines
    assert not units["array.json"].json_lines
    assert ReadUnit(ChatMessagesReader(), (jsonl,), True).in_lines
    assert not ReadUnit(ChatMessagesReader(), (jsonl,), False).in_lines
    assert not ReadUnit(_OwnReadFile(), (jsonl,), True).in_lines
    assert not ReadUnit(ChatMessagesReader(), (jsonl, jsonl), True).in_lines

    # Read whole or in batches, the JSON array file and the JSON Lines file give the same calls (at other positions).
    from_array, _ = _whole([array])
    from_lines, _ = _batched([jsonl], 1 << 20, 1)
    assert len(from_lines) == 3
    assert [(c.messages, c.response, c.tools) for c in from_array] == [
        (c.messages, c.response, c.tools) for c in from_lines
    ]


def _parts(paths: list[Path]) -> tuple[ReadSummary, list[ReadSummary]]:
    """The summary ``plan_reads`` starts from, and each unit's own summary, read apart as the digest step reads it."""
    summary = ReadSummary()
    parts = []
    for unit in plan_reads(paths, summary):
        local = ReadSummary(files=[FileRead(str(path), unit.reader.name) for path in unit.files])
        for _ in unit.calls(Accounting(local)):
            pass
        parts.append(local)
    return summary, parts


def _through_json(summary: ReadSummary) -> ReadSummary:
    return ReadSummary.from_json(json.loads(json.dumps(summary.as_json())))


def test_merged_parts_equal_one_reading() -> None:
    """Every fixture folder (multi-file readers, consumed sibling files, files no reader claims, skips of many kinds)
    read unit by unit, the parts merged in order, equals reading it all at once; so does merging each part after a
    round trip through its JSON form."""
    _, whole = _whole([FIXTURES])
    assert whole.records_skipped > 0 and whole.files_unrecognised and any(f.consumed for f in whole.files)

    for convert in (lambda s: s, _through_json):
        summary, parts = _parts([FIXTURES])
        for part in parts:
            summary.merge(convert(part))
        assert summary == whole
        assert _skips(summary) == _skips(whole)


def test_merge_keeps_the_first_locations_across_parts(tmp_path: Path) -> None:
    """Skips of one reason spread over several parts: counts add up, and the locations kept are the first
    ``LOCATIONS_KEPT`` in reading order, as when read in one go."""
    paths = []
    for n in range(3):
        lines = [json.dumps({"id": f"{n}", "messages": [{"role": "user", "content": "hi"}]})] + ["{bad"] * 4
        paths.append(_write(tmp_path / f"f{n}.jsonl", lines))
    _, whole = _whole(paths)
    summary, parts = _parts(paths)
    assert [p.records_skipped for p in parts] == [4, 4, 4]
    for part in parts:
        summary.merge(_through_json(part))
    assert summary == whole
    (group,) = summary.skips.values()
    assert group.count == 12
    assert group.locations == [f"{paths[0]}:{n}" for n in range(2, 6)] + [f"{paths[1]}:2"]
    assert len(group.locations) == LOCATIONS_KEPT


def test_json_form_keeps_what_merge_reads() -> None:
    """``as_json`` then ``from_json`` keeps counts, notes, consumed files and skips (locations in order); the format,
    size and digest of each file are what the summary merged into already knows."""
    _, whole = _whole([FIXTURES])
    whole.files[0].size, whole.files[0].sha256 = 10, "ab"
    back = _through_json(whole)
    assert back.as_json() == whole.as_json()
    assert [(f.path, f.calls, f.skipped, f.note, f.consumed) for f in back.files] == [
        (f.path, f.calls, f.skipped, f.note, f.consumed) for f in whole.files
    ]
    assert all(f.format is None and f.size is None and f.sha256 is None for f in back.files)
    assert back.skips == whole.skips and list(back.skips) == list(whole.skips)
    assert back.calls_read == whole.calls_read and back.records_skipped == whole.records_skipped


def _sample_lines(seed: int) -> list[str]:
    rnd = random.Random(seed)
    return [json.dumps(_record(rnd, 0) | {"id": "first"})] + [_line(rnd, n) for n in range(1, 40)]


@pytest.mark.parametrize("batch_calls", [1, 3])
def test_digester_in_batches_reads_what_read_traces_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, short_lines: int, batch_calls: int
) -> None:
    """The digest step over JSON Lines cut into batches of a line or three, mixed with units read whole, gives the
    calls and the summary ``read_traces`` gives."""
    monkeypatch.setattr(digest, "BATCH_CALLS", batch_calls)
    traces = tmp_path / "traces"
    traces.mkdir()
    for n in range(3):
        _write(traces / f"part{n}.jsonl", _sample_lines(n))
    (traces / "array.json").write_text((FIXTURES / "chat_datasets" / "sharegpt.json").read_text(), encoding="utf-8")
    (traces / "notes.txt").write_text("no calls here\n", encoding="utf-8")
    whole_calls, whole = _whole([traces])

    summary = ReadSummary()
    units = plan_reads([traces], summary)
    assert sorted(u.in_lines for u in units) == [False, True, True, True]
    with Digester(None) as digester:
        table = CallTable(digester.digest(units, summary))
    assert summary == whole and _skips(summary) == _skips(whole)
    assert list(table.iter_calls()) == canonical_order(whole_calls)


class _BrokenMatches(ChatMessagesReader):
    """A record reader with a bug outside ``convert`` (where no record's try catches it)."""

    def matches(self, record: Any) -> bool:
        if record.get("id") == "boom":
            raise KeyError("bug")
        return super().matches(record)


def test_a_reader_bug_in_a_batch_is_a_skip_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader error that escapes record conversion ends the batch with a skip naming the reader, as it ends a
    file read whole, instead of ending the run; the calls before it are kept."""
    good = {"id": "a", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    lines = [json.dumps(good).encode(), json.dumps({"id": "boom", "messages": []}).encode()]
    monkeypatch.setattr(ingest, "reader_by_name", lambda name: _BrokenMatches())
    calls, log = read_line_batch(LineBatch("chat-messages", "x.jsonl", ((7, lines[0]), (8, lines[1]))))
    assert [call.call_id for call in calls] == ["a"]
    assert log.skips == [("chat-messages reader stopped on a batch of lines (KeyError)", "x.jsonl", "7")]
