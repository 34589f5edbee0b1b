"""One end-to-end run with the real bundled all-MiniLM-L6-v2, offline."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from slmscout.analyzers.embed import load_embedder
from slmscout.cli.app import app
from tests.conftest import OPENHANDS_SAMPLE

pytestmark = pytest.mark.model


def test_bundled_model_loads_offline_and_embeds() -> None:
    embedder = load_embedder()
    vectors = embedder.embed(["classify this ticket", "classify this ticket", "write a poem"])
    assert vectors.shape == (3, 384)
    assert abs(float(vectors[0] @ vectors[0]) - 1.0) < 1e-5
    assert float(vectors[0] @ vectors[1]) > 0.999 > float(vectors[0] @ vectors[2])


def test_analyze_with_real_model(tmp_path: Path) -> None:
    calls_csv = tmp_path / "calls.csv"
    result = CliRunner().invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "--calls-csv", str(calls_csv)])
    assert result.exit_code == 0, result.output
    assert "all-MiniLM-L6-v2 (bundled)" in result.stdout
    with calls_csv.open() as handle:
        ids = [row["call_id"] for row in csv.DictReader(handle)]
    expected = [json.loads(line)["id"] for line in OPENHANDS_SAMPLE.read_text().splitlines()]
    assert sorted(ids) == sorted(expected)


def test_unknown_model_fails_offline_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "--model", str(tmp_path / "no-model")])
    assert result.exit_code == 3
    assert "cannot load embedding model" in result.stderr
