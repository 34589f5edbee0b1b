"""Commit comparison: a cold ``slmscout analyze`` of one corpus at two commits, side by side in one run, alternating.

    python benchmarks/compare_commits.py --base 85afb38                       # HEAD against 85afb38, 100k corpus
    python benchmarks/compare_commits.py --base v0.1 --head HEAD~2 --corpus FILE --rounds 3

This machine's speed drifts by up to a quarter within the hour, so a speed claim between two versions is measured
here: each commit is checked out into a temporary git worktree, and the two run in turn (base, head, base, head...),
each with an empty ``--cache-dir``, through the command a user runs (``--quiet --no-save --calls-csv``). It prints
every run's wall seconds, the medians and head/base; the two runs' cluster assignments are compared too (same
clusters, or not). A report, not a test: it exits 0 unless a run fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.scale import analyze_args, read_assignment  # noqa: E402

DEFAULT_CORPUS = REPO_ROOT / "benchmarks" / ".data" / "corpus-100000-seed0" / "calls.jsonl"
# Runs the slmscout package of the folder on PYTHONPATH (ahead of the installed one), as the `slmscout` command does.
RUN_CLI = "import sys; from slmscout.cli.app import main; sys.argv[0] = 'slmscout'; main()"


def worktree(commit: str, folder: Path) -> Path:
    """A checkout of ``commit`` in ``folder``, detached, sharing this repository's objects."""
    subprocess.run(
        ["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", "--quiet", str(folder), commit], check=True
    )
    return folder


def resolve(commit: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", commit], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def cold_run(code: Path, corpus: Path, scratch: Path) -> tuple[float, dict[str, str]]:
    """Wall seconds of one cold analyze with the code in ``code``, and each call's cluster id. Run in the empty
    cache folder, as benchmarks/scale.py runs it: no ./slmscout.toml of the repository applies."""
    cache = Path(tempfile.mkdtemp(dir=scratch))
    out_csv = cache / "calls.csv"
    env = dict(os.environ, PYTHONPATH=str(code))
    args = analyze_args(corpus.resolve(), out_csv, cache)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", RUN_CLI, *args], check=True, env=env, cwd=cache, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    clusters = read_assignment(out_csv)
    shutil.rmtree(cache)
    return seconds, clusters


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--head", default="HEAD", help="the commit measured (default HEAD)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="a JSON Lines file of calls")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each commit (default 2)")
    args = parser.parse_args(argv)
    if not args.corpus.is_file():
        print(f"no corpus at {args.corpus}: make one with benchmarks/generate_corpus.py or give --corpus")
        return 2
    names = {"base": resolve(args.base), "head": resolve(args.head)}
    times: dict[str, list[float]] = {"base": [], "head": []}
    assignments: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="slmscout-compare-") as tmp:
        scratch = Path(tmp)
        trees: dict[str, Path] = {}
        try:
            for arm in ("base", "head"):  # one folder per arm: the two may be the same commit
                trees[arm] = worktree(names[arm], scratch / arm)
            print(f"cold analyze of {args.corpus} ({args.corpus.stat().st_size / 1e6:,.0f} MB), alternating")
            for round_no in range(1, args.rounds + 1):
                for arm in ("base", "head"):
                    seconds, assignments[arm] = cold_run(trees[arm], args.corpus, scratch)
                    times[arm].append(seconds)
                    print(f"  round {round_no}  {arm} {names[arm]}  {seconds:7.1f} s", flush=True)
        finally:
            for tree in trees.values():
                subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    base, head = statistics.median(times["base"]), statistics.median(times["head"])
    same = "the same clusters" if assignments["base"] == assignments["head"] else "DIFFERENT clusters"
    print(f"median: base {names['base']} {base:.1f} s, head {names['head']} {head:.1f} s, head/base {head / base:.3f}")
    print(f"cluster ids per call: {same} in the last runs of each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
