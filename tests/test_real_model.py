"""End-to-end runs with the real models, offline: the default static model distilled from all-MiniLM-L6-v2, and
the bundled transformer itself."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from slmscout.analyzers.embed import TRANSFORMER_MODEL, load_embedder
from slmscout.cli.app import app
from tests.conftest import OPENHANDS_SAMPLE

pytestmark = pytest.mark.model


@pytest.mark.parametrize(("model", "dims", "threshold"), [(None, 256, 0.30), (TRANSFORMER_MODEL, 384, None)])
def test_models_load_offline_and_embed(model: str | None, dims: int, threshold: float | None) -> None:
    embedder = load_embedder(model)
    vectors = embedder.embed(["classify this ticket", "classify this ticket", "write a poem"])
    assert vectors.shape == (3, dims)
    assert abs(float(vectors[0] @ vectors[0]) - 1.0) < 1e-5
    assert float(vectors[0] @ vectors[1]) > 0.999 > float(vectors[0] @ vectors[2])
    assert getattr(embedder, "distance_threshold", None) == threshold


def test_analyze_with_real_model(tmp_path: Path) -> None:
    calls_csv = tmp_path / "calls.csv"
    args = ["analyze", str(OPENHANDS_SAMPLE), "--calls-csv", str(calls_csv), "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "all-MiniLM-L6-v2 static" in result.stdout
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["parameters"]["clustering"]["distance_threshold"] == 0.30
    with calls_csv.open() as handle:
        ids = [row["call_id"] for row in csv.DictReader(handle)]
    expected = [json.loads(line)["id"] for line in OPENHANDS_SAMPLE.read_text().splitlines()]
    assert sorted(ids) == sorted(expected)


def test_unknown_model_fails_offline_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "--model", str(tmp_path / "no-model")])
    assert result.exit_code == 3
    assert "cannot load embedding model" in result.stderr
