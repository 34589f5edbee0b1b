"""Regenerate the README's example output from today's program, or check that it is current.

    python scripts/update_readme.py          # rewrite the blocks
    python scripts/update_readme.py --check  # exit 1 when a block differs (run by the test suite)

Each block sits between ``<!-- example: NAME -->`` and ``<!-- /example -->`` and holds the output of one command,
run in a temporary folder with the bundled model.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from slmscout.cli.app import app

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"(<!-- example: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /example -->)", re.S)


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(app, args, env={"COLUMNS": "160"})
    if result.exit_code != 0:
        raise SystemExit(f"slmscout {' '.join(args)} failed: {result.output}")
    return result.stdout


def _demo_report(workdir: Path) -> str:
    out = _run(["analyze", "--demo", "--top", "12", "--no-save"])
    return f"```console\n$ slmscout analyze --demo --top 12 --no-save\n{out.rstrip()}\n```\n"


def _demo_csv(workdir: Path) -> str:
    clusters, calls = workdir / "clusters.csv", workdir / "calls.csv"
    _run(["analyze", "--demo", "--quiet", "--no-save", "--csv", str(clusters), "--calls-csv", str(calls)])
    cluster_lines = clusters.read_text(encoding="utf-8").splitlines()[:4]
    call_lines = [
        re.sub(r",[^,]*metagpt_calls\.jsonl:", ",.../metagpt_calls.jsonl:", line)
        for line in calls.read_text(encoding="utf-8").splitlines()[:4]
    ]
    return (
        "```console\n$ slmscout analyze --demo -q --no-save --csv clusters.csv --calls-csv calls.csv\n"
        "$ head -4 clusters.csv\n" + "\n".join(cluster_lines) + "\n"
        "$ head -4 calls.csv\n" + "\n".join(call_lines) + "\n```\n"
    )


SHOWN_CLUSTER = "6"
DEMO_PATH = re.compile(r"[^\s(]*metagpt_calls\.jsonl")
SHOWN_LINES = 40


def _demo_run(workdir: Path) -> Path:
    run = workdir / "demo-run"
    if not run.exists():
        _run(["analyze", "--demo", "--quiet", "--out", str(run)])
    return run


def _show_cluster(workdir: Path) -> str:
    _demo_run(workdir)
    lines = DEMO_PATH.sub(".../metagpt_calls.jsonl", _run(["show", "demo-run", SHOWN_CLUSTER])).splitlines()
    out = "\n".join(lines[:SHOWN_LINES])
    if len(lines) > SHOWN_LINES:
        out += f"\n[... {len(lines) - SHOWN_LINES} more lines: the rest of the three representative calls ...]"
    return (
        "```console\n$ slmscout analyze --demo --out demo-run -q\n"
        f"$ slmscout show demo-run {SHOWN_CLUSTER}\n{out.rstrip()}\n```\n"
    )


def _export(workdir: Path) -> str:
    _demo_run(workdir)
    out = _run(["export", "demo-run", "3", SHOWN_CLUSTER, "--out", "finetune"])
    first = json.loads((workdir / "finetune" / "train.jsonl").read_text(encoding="utf-8").splitlines()[0])
    for message in first["messages"]:
        if isinstance(message.get("content"), str) and len(message["content"]) > 160:
            message["content"] = message["content"][:160] + "..."
    row = json.dumps(first, indent=1, ensure_ascii=False)
    return (
        f"```console\n$ slmscout export demo-run 3 {SHOWN_CLUSTER} --out finetune\n{out.rstrip()}\n"
        f"$ head -1 finetune/train.jsonl   # shortened here\n{row}\n```\n"
    )


def _formats(workdir: Path) -> str:
    from slmscout.traces.registry import all_readers

    rows = ["| format (`--format`) | what it reads |", "|---|---|"]
    for reader in all_readers():
        description = reader.description.replace("|", "\\|").replace("<", "&lt;")
        rows.append(f"| `{reader.name}` | {description} |")
    return "\n".join(rows) + "\n"


EXAMPLES: dict[str, Callable[[Path], str]] = {
    "demo-report": _demo_report,
    "demo-csv": _demo_csv,
    "formats": _formats,
    "show-cluster": _show_cluster,
    "export": _export,
}


def rendered(text: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        here = Path.cwd()
        os.chdir(workdir)  # runs are saved relative to the working folder: keep them out of the repository

        def replace(match: re.Match[str]) -> str:
            body = EXAMPLES[match.group("name")](workdir)
            return match.group(1) + body + match.group(4)

        try:
            return BLOCK.sub(replace, text)
        finally:
            os.chdir(here)


def main() -> int:
    current = README.read_text(encoding="utf-8")
    fresh = rendered(current)
    if "--check" in sys.argv:
        return 0 if fresh == current else 1
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
