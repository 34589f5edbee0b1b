"""Saved runs through the CLI: analyze writes a run; show and export read it back without the traces or the model;
nothing sensitive from a trace reaches any output."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from datasets import load_dataset, load_from_disk
from numpy.typing import NDArray
from typer.testing import CliRunner

from slmscout.cli.app import app
from tests.conftest import OPENHANDS_SAMPLE, HashingEmbedder

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def run_dir(fake_model: HashingEmbedder, tmp_path: Path) -> Path:
    traces = tmp_path / "traces"
    traces.mkdir()
    shutil.copy(OPENHANDS_SAMPLE, traces / "calls.jsonl")
    result = runner.invoke(app, ["analyze", str(traces), "--out", str(tmp_path / "run"), "-q"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    shutil.rmtree(traces)  # show and export must not need the traces again
    return tmp_path / "run"


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(model: str | None = None) -> None:
        raise AssertionError("a saved run must not load the embedding model")

    monkeypatch.setattr("slmscout.analyzers.embed.load_embedder", refuse)


def test_analyze_saves_a_complete_run_under_reports(
    fake_model: HashingEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "--top", "3"])
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "reports").iterdir()
    assert f"Saved run {run.name} in reports/{run.name}/" in result.stdout
    names = {p.name for p in run.iterdir()}
    assert names == {
        "manifest.json",
        "report.json",
        "calls.jsonl",
        "clusters.csv",
        "calls.csv",
        "report.md",
        "report.html",
    }
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["run_id"] == run.name and manifest["redaction"]["enabled"] is True
    assert set(manifest["files"]) == names - {"manifest.json"}


def test_no_save_writes_no_run(fake_model: HashingEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "--no-save", "-q"]).exit_code == 0
    assert list(tmp_path.iterdir()) == []


def test_the_map_is_laid_out_only_for_outputs_that_show_it(
    fake_model: HashingEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """t-SNE takes seconds on a large run: a run that writes neither a saved run nor the JSON report skips it, and
    its clusters and per-call figures are the same."""
    from slmscout.analyzers import pipeline
    from slmscout.analyzers.projection import map_coordinates

    laid_out: list[int] = []
    real = map_coordinates

    def counting(*args: object, **kwargs: object) -> list[tuple[float, float]]:
        laid_out.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "map_coordinates", counting)
    plain, shown = tmp_path / "plain.csv", tmp_path / "shown.csv"
    result = runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "--no-save", "-q", "--calls-csv", str(plain)])
    assert result.exit_code == 0, result.output
    assert laid_out == []
    result = runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "--no-save", "--json", "--calls-csv", str(shown)])
    assert result.exit_code == 0, result.output
    assert laid_out == [1]
    document = json.loads(result.stdout)
    assert document["manifest"]["parameters"]["map"]["method"].startswith("t-SNE")
    assert any(a["x"] or a["y"] for a in document["analysis"]["assignments"])
    assert plain.read_bytes() == shown.read_bytes()
    result = runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "-q", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert laid_out == [1, 1]


def test_analyze_json_is_pure_json_that_fits_the_schema(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    result = runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "--json", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    schema = json.loads((ROOT / "docs" / "report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    assert len(document["analysis"]["assignments"]) == 66
    assert "Saved run" in result.stderr


def test_show_prints_what_analyze_printed(
    fake_model: HashingEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyzed = runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "--out", str(tmp_path / "run"), "--top", "0"])
    assert analyzed.exit_code == 0, analyzed.output
    monkeypatch.setattr("slmscout.analyzers.embed.load_embedder", None)  # show must not need a model
    shown = runner.invoke(app, ["show", str(tmp_path / "run"), "--top", "0"])
    assert shown.exit_code == 0, shown.output
    report = analyzed.stdout[: analyzed.stdout.index("Saved run")]
    assert shown.stdout == report
    assert "Read 66 calls from 1 file(s)" in shown.stdout and "Replaceable by an SLM:" in shown.stdout


def test_show_cluster_drill_down(run_dir: Path, no_model: None) -> None:
    report = json.loads((run_dir / "report.json").read_text())
    cluster = report["analysis"]["clusters"][0]
    result = runner.invoke(app, ["show", str(run_dir), "0"])
    assert result.exit_code == 0, result.output
    for expected in ("#0", "verdict:", "evidence:", "representative calls", cluster["example_call_ids"][0]):
        assert expected in result.stdout
    as_json = json.loads(runner.invoke(app, ["show", str(run_dir), "0", "--json"]).stdout)
    assert as_json["cluster"]["cluster_id"] == 0
    assert [c["call_id"] for c in as_json["examples"]] == cluster["example_call_ids"]


def test_show_renders_every_format(run_dir: Path, no_model: None, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--html", str(out / "r.html"), "--markdown", str(out / "r.md")]
    args += ["--csv", str(out / "c.csv"), "--calls-csv", str(out / "k.csv"), "-q"]
    result = runner.invoke(app, ["show", str(run_dir), *args])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert (out / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert (out / "r.md").read_text().startswith("# slmscout report")
    assert (out / "c.csv").read_text() == (run_dir / "clusters.csv").read_text()
    assert (out / "k.csv").read_text() == (run_dir / "calls.csv").read_text()
    as_json = json.loads(runner.invoke(app, ["show", str(run_dir), "--json"]).stdout)
    assert as_json["analysis"] == json.loads((run_dir / "report.json").read_text())["analysis"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "/no/such/run"], "no saved run"),
        (["show", "RUN", "999"], "no cluster 999"),
        (["export", "RUN", "999", "--out", "OUT"], "999"),
    ],
)
def test_run_errors_are_one_line(run_dir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    args = [str(run_dir) if a == "RUN" else str(tmp_path / "ds") if a == "OUT" else a for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output


def test_export_writes_loadable_datasets(run_dir: Path, no_model: None, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    result = runner.invoke(app, ["export", str(run_dir), "0", "1", "--out", str(out), "--eval-share", "0.2"])
    assert result.exit_code == 0, result.output
    assert "Exported" in result.stdout
    on_disk = load_from_disk(str(out / "dataset"))
    as_json = load_dataset("json", data_files={"train": str(out / "train.jsonl"), "eval": str(out / "eval.jsonl")})
    assert on_disk["train"].num_rows == as_json["train"].num_rows > 0
    assert on_disk["eval"].num_rows == as_json["eval"].num_rows
    ids = {row["metadata"]["call_id"] for split in ("train", "eval") for row in on_disk[split]}
    report = json.loads((run_dir / "report.json").read_text())
    chosen = {a["call_id"] for a in report["analysis"]["assignments"] if a["cluster_id"] in (0, 1)}
    assert ids <= chosen
    again = runner.invoke(app, ["export", str(run_dir), "0", "--out", str(out)])
    assert again.exit_code == 4 and ("not empty" in again.stderr or "exists" in again.stderr), again.output


PLANTED = {
    "openai": "sk-proj-Zq8vT2mXc4LbN7pR1sK9dF3hJ6wY0uAeQgVtBnMx",
    "anthropic": "sk-ant-api03-R7xK2mP9qL4vN8tB1cW6zJ3hF5dS0gYaEuQoIiTe-Kq2LmN8AA",
    "aws": "AKIAZ7Q3X9M2P4R8T6WV",
    "email": "jane.roe@acme-widgets.com",
    "card": "4539 1488 0343 6467",
}


def _planted_trace(path: Path) -> None:
    records = []
    for i in range(12):
        records.append(
            {
                "id": f"c{i}",
                "messages": [
                    {"role": "system", "content": f"You are the billing agent. Use key {PLANTED['openai']} for calls."},
                    {
                        "role": "user",
                        "content": f"Customer {PLANTED['email']} paid with card {PLANTED['card']}; "
                        f"refund order {1000 + i}.",
                    },
                    {
                        "role": "assistant",
                        "content": f"Refund issued. AWS id {PLANTED['aws']} and {PLANTED['anthropic']} logged.",
                    },
                ],
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _everything_written(*roots: Path) -> str:
    parts = []
    for root in roots:
        for file in sorted(root.rglob("*")):
            if file.is_file():
                parts.append(file.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def test_a_planted_key_appears_in_no_output(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    trace = tmp_path / "in" / "calls.jsonl"
    trace.parent.mkdir()
    _planted_trace(trace)
    run, out = tmp_path / "run", tmp_path / "out"
    outputs = [runner.invoke(app, ["analyze", str(trace), "--out", str(run), "--details", "--top", "0"])]
    outputs.append(runner.invoke(app, ["analyze", str(trace), "--no-save", "--json"]))
    outputs.append(runner.invoke(app, ["show", str(run), "--details", "--html", str(out / "r.html")]))
    outputs.append(runner.invoke(app, ["show", str(run), "0", "--markdown", str(out / "r.md")]))
    outputs.append(runner.invoke(app, ["show", str(run), "0", "--json"]))
    outputs.append(runner.invoke(app, ["export", str(run), "0", "--out", str(out / "ds")]))
    assert all(r.exit_code == 0 for r in outputs), [r.output for r in outputs]
    written = _everything_written(run, out, Path(os.environ["SLMSCOUT_CACHE_DIR"]))
    shown = "\n".join(r.stdout + r.stderr for r in outputs)
    for kind, value in PLANTED.items():
        assert value not in written, f"{kind} leaked into a file"
        assert value not in shown, f"{kind} leaked onto the terminal"
        assert value.replace(" ", "") not in written.replace(" ", "")
    assert "<EMAIL_1>" in written and "<API_KEY_1>" in written
    # the test can fail: without redaction the same outputs hold the planted values
    plain = runner.invoke(app, ["analyze", str(trace), "--no-redact", "--out", str(tmp_path / "plain"), "-q"])
    assert plain.exit_code == 0
    assert PLANTED["openai"] in _everything_written(tmp_path / "plain")


def test_the_embedder_only_ever_sees_redacted_text(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    seen: list[str] = []
    original = fake_model.embed

    def spy(texts: Sequence[str]) -> NDArray[np.float32]:
        seen.extend(texts)
        return original(texts)

    fake_model.embed = spy  # type: ignore[method-assign]
    trace = tmp_path / "calls.jsonl"
    _planted_trace(trace)
    assert runner.invoke(app, ["analyze", str(trace), "--no-save", "-q", "--no-cache"]).exit_code == 0
    assert seen and not any(value in text for text in seen for value in PLANTED.values())


def test_ctrl_c_leaves_no_run_and_a_usable_cache(
    fake_model: HashingEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from slmscout.reports import save
    from slmscout.reports.markdown import render_markdown

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    original = render_markdown
    monkeypatch.setattr(save, "render_markdown", interrupted)
    cache = tmp_path / "cache"
    args = ["analyze", str(OPENHANDS_SAMPLE), "--out", str(tmp_path / "run"), "--cache-dir", str(cache)]
    result = runner.invoke(app, args)
    assert result.exit_code == 130 and "interrupted" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]
    monkeypatch.setattr(save, "render_markdown", original)
    fake_model.calls.clear()
    assert runner.invoke(app, [*args, "-q"]).exit_code == 0
    assert sum(fake_model.calls) == 0, "the second run found every vector in the cache the interrupted run wrote"
    assert (tmp_path / "run" / "manifest.json").is_file()
