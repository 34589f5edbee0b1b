"""Hostile input: decompression bombs, deep nesting and huge lines end a file with a reason, never the run."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from slmscout.cli.app import app
from slmscout.traces import source
from slmscout.traces.ingest import ReadSummary, read_traces
from tests.conftest import HashingEmbedder

LINE = b'{"messages":[{"role":"user","content":"hi"}],"response":"ok"}\n'


def test_a_gzip_bomb_is_cut_off_at_the_expansion_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "MIN_GZIP_ALLOWANCE", 1 << 20)
    with gzip.open(tmp_path / "bomb.jsonl.gz", "wb", compresslevel=9) as handle:
        handle.write(LINE * (64 * 1024 * 1024 // len(LINE)))  # 64 MB of one line: ~1000x
    assert (tmp_path / "bomb.jsonl.gz").stat().st_size * 200 < 64 * 1024 * 1024
    summary = ReadSummary()
    calls = sum(1 for _ in read_traces([tmp_path], summary))
    (reason,) = summary.skips
    assert "expands beyond" in reason
    limit = source.gzip_limit((tmp_path / "bomb.jsonl.gz").stat().st_size)
    assert calls * len(LINE) <= limit + (1 << 20)


def test_an_ordinary_gzip_log_reads_whole(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "calls.jsonl.gz", "wb") as handle:
        for i in range(500):
            handle.write(json.dumps({"messages": [{"role": "user", "content": f"q {i}"}], "response": "a"}).encode())
            handle.write(b"\n")
    summary = ReadSummary()
    assert sum(1 for _ in read_traces([tmp_path], summary)) == 500
    assert not summary.skips


def test_deep_nesting_and_a_huge_line_are_skipped_with_reasons(tmp_path: Path) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    huge = b'{"messages":[{"role":"user","content":"' + b"x" * (source.MAX_LINE_BYTES + 1) + b'"}],"response":"a"}'
    good = LINE.strip()
    (tmp_path / "mixed.jsonl").write_bytes(b"\n".join([good, deep, huge, good]) + b"\n")
    summary = ReadSummary()
    calls = list(read_traces([tmp_path], summary))
    assert len(calls) == 2
    assert summary.records_skipped == 2
    assert any("67108864 bytes" in reason for reason in summary.skips), summary.skips


def test_a_corpus_over_the_memory_budget_stops_with_a_message(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    traces = tmp_path / "traces"
    traces.mkdir()
    for part in range(3):  # 1,200 calls: their digests pass 2 MB whether held in memory or in shards on disk
        (traces / f"part{part}.jsonl").write_bytes(
            b"".join(
                json.dumps({"id": f"{part}-{i}", "messages": [{"role": "user", "content": "x" * 5000}]}).encode()
                + b"\n"
                for i in range(400)
            )
        )
    result = CliRunner().invoke(app, ["analyze", str(traces), "--memory-budget", "0.002", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "memory budget of 0.002 GB" in result.stderr and "--memory-budget" in result.stderr
    assert not (tmp_path / "r").exists()
    assert CliRunner().invoke(app, ["analyze", str(traces), "--no-save", "-q"]).exit_code == 0
