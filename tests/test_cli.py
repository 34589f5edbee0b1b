"""The CLI through typer's CliRunner: report, CSV exports, defaults, and every error case."""

from __future__ import annotations

import csv
import errno
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from slmscout import __version__
from slmscout.cli.app import app
from tests.conftest import FIXTURES, OPENHANDS_SAMPLE, HashingEmbedder

runner = CliRunner()


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def input_ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()]


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"slmscout {__version__}"


def test_help_text_is_shown_as_written() -> None:
    """Help is rich markup: a literal [table] must be escaped, and each command's one-line summary fits one row."""
    analyze_help = runner.invoke(app, ["analyze", "--help"], env={"COLUMNS": "200"})
    assert analyze_help.exit_code == 0
    assert "TOML file with [assumptions] and [rules] tables" in analyze_help.stdout
    listing = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    rows = [line for line in listing.stdout.splitlines() if line.startswith("│ ")]
    commands = [row.split()[1] for row in rows if len(row.split()) > 1 and not row.split()[1].startswith("-")]
    assert commands == ["analyze", "show", "export", "formats", "models"]


def test_analyze_prints_report(fake_model: HashingEmbedder) -> None:
    result = runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "Read 66 calls from 1 file(s) (chat-messages: 66 from 1 file(s))." in result.stdout
    assert "task clusters" in result.stdout and "Replaceable by an SLM:" in result.stdout
    assert "verdict" in result.stdout
    assert result.stderr == ""


def test_csv_exports(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    clusters_csv, calls_csv = tmp_path / "clusters.csv", tmp_path / "out" / "calls.csv"
    result = runner.invoke(
        app,
        ["analyze", str(OPENHANDS_SAMPLE), "--csv", str(clusters_csv), "--calls-csv", str(calls_csv), "-q"],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    call_rows = rows(calls_csv)
    assert sorted(r["call_id"] for r in call_rows) == sorted(input_ids(OPENHANDS_SAMPLE))
    cluster_rows = rows(clusters_csv)
    names = {r["cluster_id"]: r["cluster_name"] for r in cluster_rows}
    assert all(names[r["cluster_id"]] == r["cluster_name"] for r in call_rows)
    assert sum(int(r["calls"]) for r in cluster_rows) == 66
    assert {r["verdict"] for r in cluster_rows} <= {"prompted-slm", "finetuned-slm", "keep-llm"}
    assert all(r["reasons"] for r in cluster_rows)
    assert not list(tmp_path.glob("**/.*.tmp"))  # atomic writes leave no temporary files


def test_same_input_same_output_in_any_order(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    lines = OPENHANDS_SAMPLE.read_text().splitlines()
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text("\n".join(reversed(lines)) + "\n")
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "--calls-csv", str(a), "-q"]).exit_code == 0
    assert runner.invoke(app, ["analyze", str(shuffled), "--calls-csv", str(b), "-q"]).exit_code == 0
    where = {"source", "group"}  # the file name differs; everything else must not
    strip = [{k: v for k, v in r.items() if k not in where} for r in rows(a)]
    assert strip == [{k: v for k, v in r.items() if k not in where} for r in rows(b)]


def test_default_path_is_traces_folder(
    fake_model: HashingEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "pairs.jsonl").write_bytes((FIXTURES / "openai_pairs.jsonl").read_bytes())
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["analyze"])
    assert result.exit_code == 0, result.output
    assert "Read 2 calls from 1 file(s) (openai-chat: 2 from 1 file(s))." in result.stdout
    assert "Token counts are the ones the logs reported." in result.stdout


def test_demo_reads_bundled_metagpt(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    calls_csv = tmp_path / "calls.csv"
    result = runner.invoke(app, ["analyze", "--demo", "--calls-csv", str(calls_csv), "--top", "5"])
    assert result.exit_code == 0, result.output
    assert "Read 810 calls from 1 file(s) (chat-messages: 810 from 1 file(s))." in result.stdout
    assert "smaller clusters not shown" in result.stdout
    assert len(rows(calls_csv)) == 810


def test_trace_text_is_not_rich_markup(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    record = {
        "id": "m",
        "messages": [
            {"role": "user", "content": "[bold red]x[/bold red] [CONTENT] tag"},
            {"role": "assistant", "content": "ok"},
        ],
    }
    path = tmp_path / "markup.jsonl"
    path.write_text(json.dumps(record) + "\n")
    result = runner.invoke(app, ["analyze", str(path)])
    assert result.exit_code == 0, result.output
    assert "bold" in result.stdout  # the words are shown as text, not swallowed as styling


def test_distance_threshold_sets_how_broad_a_cluster_is(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    """A larger threshold gives fewer, broader clusters; the threshold in force is recorded in the saved run."""
    clusters = {}
    for threshold in ("0.05", "0.9"):
        run, table = tmp_path / threshold, tmp_path / f"{threshold}.csv"
        args = ["analyze", str(OPENHANDS_SAMPLE), "--distance-threshold", threshold, "--csv", str(table), "-q"]
        result = runner.invoke(app, [*args, "--out", str(run)])
        assert result.exit_code == 0, result.output
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["parameters"]["clustering"]["distance_threshold"] == float(threshold)
        clusters[threshold] = len(rows(table))
    assert clusters["0.9"] < clusters["0.05"]
    refused = runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "--distance-threshold", "0", "--no-save"])
    assert refused.exit_code == 2 and "Traceback" not in refused.output


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["analyze", "/no/such/dir"], "slmscout: error: no such file or directory: /no/such/dir", 2),
        (["analyze", "--demo", str(FIXTURES)], "give either --demo or paths, not both", 2),
        (["analyze", str(FIXTURES), "--format", "nope"], "unknown format 'nope'", 2),
    ],
)
def test_errors_are_one_line_without_traceback(
    fake_model: HashingEmbedder, args: list[str], message: str, code: int
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == code
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_empty_directory_error(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    result = runner.invoke(app, ["analyze", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"slmscout: error: no files in directory: {tmp_path}"


def test_nothing_readable_error(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("just text\n")
    result = runner.invoke(app, ["analyze", str(tmp_path)])
    assert result.exit_code == 2
    assert "no LLM calls could be read from" in result.stderr
    assert "no reader recognises its content" in result.stderr


def test_missing_default_traces_folder(
    fake_model: HashingEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["analyze"])
    assert result.exit_code == 2
    assert "./traces/ does not exist" in result.stderr


def test_unreadable_file_error(fake_model: HashingEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import slmscout.traces.source as source

    path = tmp_path / "locked.jsonl"
    path.write_bytes((FIXTURES / "chat_messages.jsonl").read_bytes())

    def deny(p: Path):  # type: ignore[no-untyped-def]
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(source, "open_binary", deny)
    result = runner.invoke(app, ["analyze", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"slmscout: error: cannot read {path}: Permission denied"


def test_malformed_line_is_reported_and_run_goes_on(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    good = (FIXTURES / "chat_messages.jsonl").read_text().splitlines()
    path.write_text("\n".join([good[0], "{oops", good[1]]) + "\n")
    result = runner.invoke(app, ["analyze", str(path)])
    assert result.exit_code == 0, result.output
    assert "Skipped 1 record(s):" in result.stdout
    assert f"1 x invalid JSON: {path}:2" in result.stdout


def test_unwritable_csv_is_an_error(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "--csv", str(blocker / "out.csv"), "-q"])
    assert result.exit_code == 4
    assert result.stderr.startswith(f"slmscout: error: cannot write {blocker / 'out.csv'}")


def test_a_full_disk_is_an_error(fake_model: HashingEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No room for the digested calls: one line naming the folder and the reason, the output error's exit code."""

    def full(table: object, path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("slmscout.analyzers.digest.write_shard", full)
    cache = tmp_path / "cache"
    result = runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "-q", "--cache-dir", str(cache)])
    assert result.exit_code == 4
    assert result.stderr.startswith(f"slmscout: error: cannot write the digested calls in {cache / 'work'}")
    assert result.stderr.rstrip().endswith(": No space left on device; free space there or choose another --cache-dir")
    assert list((cache / "work").iterdir()) == []  # the run's work folder is gone with it


def test_an_unusable_cache_folder_is_an_error(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "-q", "--cache-dir", str(blocker / "cache")])
    assert result.exit_code == 4
    assert result.stderr.strip() == (
        f"slmscout: error: cannot make a work folder in {blocker / 'cache' / 'work'}: Not a directory; free space "
        "there or choose another --cache-dir"
    )


def test_internal_errors_hide_the_traceback(fake_model: HashingEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret prompt text")

    monkeypatch.setattr("slmscout.reports.workflow.analyze_table", boom)
    result = runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE)])
    assert result.exit_code == 70
    assert result.stderr.strip() == "slmscout: internal error (RuntimeError); please report it"
    assert "secret prompt text" not in result.output


def test_run_summary_lists_files_and_formats(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes((FIXTURES / "chat_messages.jsonl").read_bytes())
    (tmp_path / "b.jsonl").write_bytes((FIXTURES / "openai_pairs.jsonl").read_bytes() + b"{broken\n")
    result = runner.invoke(app, ["analyze", str(tmp_path), "--top", "0"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Read 5 calls from 2 file(s) (chat-messages: 3 from 1 file(s), openai-chat: 2 from 1 file(s))." in out
    assert f"{tmp_path / 'a.jsonl'}: 3 calls (chat-messages)" in out
    assert f"{tmp_path / 'b.jsonl'}: 2 calls (openai-chat, 1 skipped)" in out
    assert f"1 x invalid JSON: {tmp_path / 'b.jsonl'}:3" in out


def test_strict_fails_on_any_skip(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_bytes((FIXTURES / "chat_messages.jsonl").read_bytes() + b"{broken\n")
    assert runner.invoke(app, ["analyze", str(path), "-q"]).exit_code == 0
    result = runner.invoke(app, ["analyze", str(path), "-q", "--strict"])
    assert result.exit_code == 5
    assert result.stderr.strip() == (
        f"slmscout: error: --strict: 1 record(s) skipped (first: invalid JSON at {path}:4)"
    )


def test_formats_lists_every_reader() -> None:
    from slmscout.traces.registry import all_readers

    result = runner.invoke(app, ["formats"])
    assert result.exit_code == 0
    for reader in all_readers():
        assert reader.name in result.stdout


def test_report_prints_economics_and_every_assumption(fake_model: HashingEmbedder) -> None:
    result = runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "--top", "3"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Cost of these calls:" in out and "expected after replacement" in out
    assert "Assumptions (change with --assume KEY=VALUE" in out
    for key in ("success_rate_prompted_slm=", "max_slm_attempts=", "datacenter_pue=", "rules.long_output_tokens="):
        assert key in out
    assert "Current cost: all priced from the LLM price table" in out


def test_assume_and_config_change_the_figures(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    base, cheap, cfg = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    args = ["analyze", str(OPENHANDS_SAMPLE), "-q"]
    assert runner.invoke(app, [*args, "--csv", str(base)]).exit_code == 0
    result = runner.invoke(app, [*args, "--csv", str(cheap), "--assume", "rules.long_output_tokens=1"])
    assert result.exit_code == 0, result.output
    assert {r["verdict"] for r in rows(cheap)} == {"keep-llm"}  # every cluster now counts as long generation
    config = tmp_path / "slmscout.toml"
    config.write_text("[rules]\nlong_output_tokens = 1\n")
    assert runner.invoke(app, [*args, "--csv", str(cfg), "--config", str(config)]).exit_code == 0
    assert rows(cfg) == rows(cheap)
    assert rows(base) != rows(cheap)


def test_bad_assumption_is_a_one_line_error(fake_model: HashingEmbedder) -> None:
    result = runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "--assume", "nonsense=1"])
    assert result.exit_code == 2
    assert result.stderr.startswith("slmscout: error: --assume: unknown setting 'nonsense'")


def test_models_lists_the_catalog() -> None:
    from slmscout.analyzers.catalog import load_catalog

    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    for model in load_catalog():
        assert model.name[:12] in result.stdout


def test_demo_compares_with_the_paper(fake_model: HashingEmbedder) -> None:
    result = runner.invoke(app, ["analyze", "--demo", "--top", "1"])
    assert result.exit_code == 0, result.output
    assert "The paper (arXiv 2506.02153, Appendix B) estimates ~60% of metagpt's calls" in result.stdout
