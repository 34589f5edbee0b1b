"""Scale benchmark: ``slmscout analyze`` on 20k, 100k and 1M generated calls, cold and warm cache; BERTopic on 20k.

Run it from the repository root, with the venv slmscout is installed in:

    python benchmarks/scale.py                                  # 20k, 100k and 1M calls, and BERTopic on 20k
    python benchmarks/scale.py --sizes 20000,100000 --timeout 900
    python benchmarks/scale.py --sizes 1M --skip-bertopic

Corpora come from benchmarks/generate_corpus.py (real calls of ../shared/data/real, recombined; see its docstring)
and are kept under benchmarks/.data/corpus-<calls>-seed<seed>/ (git-ignored), reused while the size, the seed and
the generator's source are the same.

Each size runs the installed CLI exactly as a user would, in a subprocess:

    slmscout analyze DIR/calls.jsonl --quiet --no-save --calls-csv OUT.csv --cache-dir CACHE

first with a fresh empty CACHE (cold), then the same command again on the same CACHE (warm), ``--warm-runs`` times
(default 3): the warm figure is the median run, and every warm time is printed (this shared machine's speed varies
by as much as 1.5x from hour to hour; a cold run is made once, a second would not be cold). For each run: wall
seconds of the whole subprocess (interpreter start, imports, model load, reading, analysis, writing the CSV) and
its peak memory, measured two ways: the kernel's peak resident set of the largest process of the child's tree
(``ru_maxrss`` from ``os.wait4`` on the child, which folds in every descendant it reaped), and the sampled sum of
the resident sets of every process in the child's session (``/proc/<pid>/stat``, every 0.1 s), which also counts
worker processes running side by side. The peak checked against the targets is the larger of the two. The clusters
in ``--calls-csv`` are scored against labels.csv (homogeneity, completeness, V-measure: scikit-learn). A run is
killed, and reported so, after ``--timeout`` seconds or when its process tree holds more than ``--max-rss-gb``
(default 60% of RAM: other work may share the machine, and a run that large has failed its target anyway).

BERTopic runs on the same 20k corpus, in this process, exactly as benchmarks/clustering.py runs it (its code is
imported: bundled MiniLM, offline, default BERTopic with a seeded default UMAP; load and embedding counted in its
seconds), after every slmscout run so that its memory does not sit beside them. The ratio is slmscout's cold
seconds over BERTopic's seconds.

A report, not a test: it exits 0 whatever the figures, and ends with PASS/FAIL lines for the targets:

    100k calls cold: <= 60 s and peak memory <= 2 GB;  100k warm: <= 15 s
    1M calls cold: <= 10 min and peak memory <= 4 GB
    20k calls: slmscout faster than BERTopic and a higher V-measure
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS.parent))

from benchmarks import clustering, generate_corpus  # noqa: E402

DATA_DIR = BENCHMARKS / ".data"
DEFAULT_SIZES = (20_000, 100_000, 1_000_000)
BERTOPIC_SIZE = 20_000
SAMPLE_SECONDS = 0.1
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
MB = 2**20
PHYSICAL_GB = PAGE_BYTES * os.sysconf("SC_PHYS_PAGES") / 2**30

# Targets: (calls, cache) -> (max seconds, max peak MB or None).
TARGETS: dict[tuple[int, str], tuple[float, float | None]] = {
    (100_000, "cold"): (60.0, 2048.0),
    (100_000, "warm"): (15.0, None),
    (1_000_000, "cold"): (600.0, 4096.0),
}


@dataclass(frozen=True)
class Measured:
    """One subprocess: wall seconds, exit code (None when the benchmark killed it), peak memory."""

    seconds: float
    exit_code: int | None
    stopped: str | None  # why the benchmark killed it (timeout, memory), None when it ended by itself
    maxrss_mb: float  # kernel peak RSS of the largest process in the tree (ru_maxrss via wait4)
    tree_peak_mb: float  # sampled peak of the summed RSS of every process in the child's session
    stderr_tail: str

    @property
    def peak_mb(self) -> float:
        return max(self.maxrss_mb, self.tree_peak_mb)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass
class SlmscoutRun:
    cache: str  # "cold" or "warm"
    measured: Measured | None  # None: not run
    score: clustering.Score | None = None
    assignment: dict[str, str] | None = None
    error: str | None = None


@dataclass
class SizeResult:
    calls: int
    folder: Path
    generation: dict[str, object]
    generated_now: bool
    cold: SlmscoutRun
    warm: SlmscoutRun  # the median of warm_runs (by seconds), or the first that failed
    warm_runs: list[SlmscoutRun]


def median_run(runs: Sequence[SlmscoutRun]) -> SlmscoutRun:
    """The run of median seconds (the lower middle of an even count); a failed run, if any, stands for them all."""
    failed = [run for run in runs if run.measured is None or not run.measured.ok or run.error]
    if failed:
        return failed[0]
    ranked = sorted(runs, key=lambda run: run.measured.seconds if run.measured else 0.0)
    return ranked[(len(ranked) - 1) // 2]


# --------------------------------------------------------------------------------------------------- corpora


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if factor > 1 else text
    try:
        value = int(float(number) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of calls: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"a size must be at least 1 call: {text!r}")
    return value


def corpus_folder(calls: int, seed: int) -> Path:
    return DATA_DIR / f"corpus-{calls}-seed{seed}"


def reusable(folder: Path, calls: int, seed: int) -> dict[str, object] | None:
    """The generation record of a complete corpus made by this generator with this size and seed, else None."""
    try:
        record = json.loads((folder / "generation.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    same = (
        record.get("calls") == calls
        and record.get("seed") == seed
        and record.get("generator_sha256") == generate_corpus.generator_sha256()
    )
    files = (folder / "calls.jsonl").is_file() and (folder / "labels.csv").is_file()
    return record if same and files and isinstance(record, dict) else None


class Source:
    """The real source calls, read once and only when a corpus has to be generated."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self._calls: list[generate_corpus.SourceCall] | None = None

    def calls(self) -> list[generate_corpus.SourceCall]:
        if self._calls is None:
            self._calls = generate_corpus.read_source(self.data)
        return self._calls


def ensure_corpus(calls: int, seed: int, source: Source) -> tuple[Path, dict[str, object], bool]:
    folder = corpus_folder(calls, seed)
    record = reusable(folder, calls, seed)
    if record is not None:
        log(f"reusing {folder.relative_to(BENCHMARKS.parent)}")
        return folder, record, False
    log(f"generating {calls:,} calls into {folder.relative_to(BENCHMARKS.parent)} ...")
    stats = generate_corpus.generate(source.calls(), calls, folder, seed)
    log("  " + generate_corpus.summary(stats))
    record = reusable(folder, calls, seed)
    if record is None:
        raise SystemExit(f"the generator did not leave a complete corpus in {folder}")
    return folder, record, True


# --------------------------------------------------------------------------------------------------- measuring


def session_rss_bytes(session: int) -> int:
    """Summed resident set of every process whose session id is ``session`` (the child and all it started)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        # after "pid (comm)": state ppid pgrp session ... ; rss is field 24 of stat, index 21 here
        if len(fields) > 21 and int(fields[3]) == session:
            total += int(fields[21]) * PAGE_BYTES
    return total


def run_measured(command: Sequence[str], timeout: float, max_rss_mb: float, env: dict[str, str], cwd: Path) -> Measured:
    """Run ``command`` in its own session; wall time, exit code and peak memory of the whole process tree. The tree
    is killed after ``timeout`` seconds, or as soon as its summed RSS goes over ``max_rss_mb`` (other work shares
    the machine: a run that would exhaust its memory is stopped rather than left to the kernel's OOM killer)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True)
        stop = threading.Event()
        peak = [0]
        stopped: list[str] = []

        def kill(reason: str) -> None:
            stopped.append(reason)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], session_rss_bytes(child.pid))
                if peak[0] > max_rss_mb * MB and not stopped:
                    kill(f"killed: process tree over {max_rss_mb / 1024:g} GB RSS (--max-rss-gb)")
                stop.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timer = threading.Timer(timeout, kill, args=(f"timed out after {timeout:.0f} s",))
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            seconds = time.perf_counter() - start
            timer.cancel()
            stop.set()
            sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = " | ".join(err.read().decode("utf-8", "replace").strip().splitlines()[-5:])
    return Measured(
        seconds=seconds,
        exit_code=None if stopped else child.returncode,
        stopped=stopped[0] if stopped else None,
        maxrss_mb=usage.ru_maxrss / 1024,  # Linux reports kilobytes
        tree_peak_mb=peak[0] / MB,
        stderr_tail=tail,
    )


def read_assignment(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["call_id"]: row["cluster_id"] for row in csv.DictReader(handle)}


def analyze_args(corpus: Path, out_csv: Path, cache: Path) -> list[str]:
    """The arguments of the benchmarked command, as a user would run it: the calls' clusters to ``out_csv``, nothing
    saved, every cache in ``cache`` (also used by benchmarks/compare_commits.py)."""
    return ["analyze", str(corpus), "--quiet", "--no-save", "--calls-csv", str(out_csv), "--cache-dir", str(cache)]


def run_slmscout(
    folder: Path, cache: Path, out_csv: Path, kind: str, limits: tuple[float, float], labels: dict[str, str]
) -> SlmscoutRun:
    """One ``slmscout analyze`` run; ``limits`` = (timeout seconds, max tree RSS MB)."""
    command = [clustering.slmscout_executable(), *analyze_args(folder / "calls.jsonl", out_csv, cache)]
    log(f"  slmscout {kind}: {' '.join(command[1:])}")
    # In an empty folder, as benchmarks/clustering.py does: no ./slmscout.toml of the repository applies.
    measured = run_measured(command, *limits, clustering.USER_ENV, cwd=out_csv.parent)
    run = SlmscoutRun(kind, measured)
    if measured.stopped is not None:
        run.error = measured.stopped
    elif not measured.ok or not out_csv.is_file():
        run.error = f"exit {measured.exit_code}: {measured.stderr_tail}"
    else:
        run.assignment = read_assignment(out_csv)
        corpus = clustering.Corpus(name=folder.name, folder=folder, calls=[], labels=labels)
        run.score = clustering.score(corpus, run.assignment)
    log(f"    {describe(run)}")
    return run


def benchmark_size(
    calls: int, seed: int, source: Source, limits: tuple[float, float], warm_runs: int = 3
) -> SizeResult:
    folder, generation, generated_now = ensure_corpus(calls, seed, source)
    labels = clustering.read_labels(folder / "labels.csv")
    with tempfile.TemporaryDirectory(prefix=f"slmscout-scale-{calls}-") as tmp:
        cache = Path(tmp) / "cache"
        cache.mkdir()  # fresh and empty: the cold run
        cold = run_slmscout(folder, cache, Path(tmp) / "cold.csv", "cold", limits, labels)
        if cold.measured is not None and cold.measured.ok:
            warms = [
                run_slmscout(folder, cache, Path(tmp) / f"warm-{n}.csv", "warm", limits, labels)
                for n in range(1, warm_runs + 1)
            ]
        else:
            warms = [SlmscoutRun("warm", None, error="the cold run failed")]
    return SizeResult(calls, folder, generation, generated_now, cold, median_run(warms), warms)


def run_bertopic(folder: Path) -> clustering.MethodRun:
    """BERTopic on one corpus, as benchmarks/clustering.py runs it (MiniLM load + embedding counted)."""
    corpus = clustering.load_corpus(folder)
    log(f"BERTopic on {len(corpus.calls):,} calls ({folder.name}) ...")

    def fit() -> clustering.MethodRun:
        return clustering.run_bertopic(corpus, clustering.embed_minilm(corpus))

    run = clustering.guarded(clustering.BERTOPIC, fit)
    if run.assignment is not None:
        run.score = clustering.score(corpus, run.assignment)
    log(f"  {run.seconds:.1f}s " + (run.error or ""))
    return run


# --------------------------------------------------------------------------------------------------- report


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def describe(run: SlmscoutRun) -> str:
    m = run.measured
    if m is None:
        return run.error or "not run"
    head = f"{m.seconds:.1f}s, peak {m.peak_mb:,.0f} MB"
    if run.error:
        return f"{head}: {run.error}"
    s = run.score
    return head if s is None else f"{head}, {s.clusters} clusters, V={s.v_measure:.3f}"


def fmt_seconds(run: SlmscoutRun) -> str:
    m = run.measured
    if m is None:
        return "-"
    if m.stopped is not None:
        return f"{m.seconds:.0f} KILLED"
    return f"{m.seconds:.1f}" + ("" if m.ok else " FAILED")


def highest_peak(runs: Sequence[SlmscoutRun]) -> SlmscoutRun:
    return max(runs, key=lambda run: run.measured.peak_mb if run.measured else -1.0)


def fmt_peak(run: SlmscoutRun) -> str:
    m = run.measured
    return "-" if m is None else f"{m.maxrss_mb:,.0f}/{m.tree_peak_mb:,.0f}"


def print_table(results: Sequence[SizeResult]) -> None:
    print("\n== slmscout analyze (cold = fresh --cache-dir, warm = same command again on it) ==")
    print("   peak MB = largest process (kernel ru_maxrss) / whole process tree (sampled sum of RSS); warm: the median")
    print("   run's seconds, the highest peak of the warm runs")
    header = (
        f"{'calls':>9} {'file MB':>8} {'dup %':>6} {'gen s':>6} {'cold s':>9} {'cold peak MB':>13} "
        f"{'warm s':>9} {'warm peak MB':>13} {'clusters':>8} {'homog':>6} {'compl':>6} {'V':>6}  warm=cold"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        gen_seconds = float(str(r.generation.get("seconds", 0)))
        dup_share = float(str(r.generation.get("duplicate_share", 0)))
        size_mb = float(str(r.generation.get("calls_bytes", 0))) / MB
        s = r.cold.score
        scores = (
            f"{s.clusters:>8d} {s.homogeneity:>6.3f} {s.completeness:>6.3f} {s.v_measure:>6.3f}"
            if s
            else f"{'-':>8} {'-':>6} {'-':>6} {'-':>6}"
        )
        same = "-"
        if r.cold.assignment is not None and all(run.assignment is not None for run in r.warm_runs):
            same = "yes" if all(r.cold.assignment == run.assignment for run in r.warm_runs) else "NO"
        gen = f"{gen_seconds:>6.1f}" if r.generated_now else f"{'reuse':>6}"
        warm_peak = fmt_peak(highest_peak(r.warm_runs))
        print(
            f"{r.calls:>9,} {size_mb:>8,.0f} {100 * dup_share:>6.2f} {gen} {fmt_seconds(r.cold):>9} "
            f"{fmt_peak(r.cold):>13} {fmt_seconds(r.warm):>9} {warm_peak:>13} {scores}  {same}"
        )
    for r in results:
        if len(r.warm_runs) > 1:
            times = ", ".join(fmt_seconds(run) for run in r.warm_runs)
            print(f"   {r.calls:,} warm runs: {times} s (median in the table)")
    for r in results:
        for run in (r.cold, *r.warm_runs):
            if run.error and run.measured is not None:
                print(f"   {r.calls:,} {run.cache}: {run.error}")


def print_bertopic(result: SizeResult | None, bertopic: clustering.MethodRun | None) -> None:
    if bertopic is None:
        return
    print(f"\n== BERTopic on the same {BERTOPIC_SIZE:,} calls ==")
    if bertopic.score is None:
        print(f"BERTopic FAILED after {bertopic.seconds:.1f}s: {bertopic.error}")
        return
    b = bertopic.score
    print(
        f"BERTopic  {b.clusters} clusters, h={b.homogeneity:.3f} c={b.completeness:.3f} V={b.v_measure:.3f}, "
        f"{bertopic.seconds:.1f}s ({'; '.join(bertopic.notes)})"
    )
    slm = result.cold if result else None
    if slm is not None and slm.score is not None and slm.measured is not None:
        s = slm.score
        print(
            f"slmscout  {s.clusters} clusters, h={s.homogeneity:.3f} c={s.completeness:.3f} V={s.v_measure:.3f}, "
            f"{slm.measured.seconds:.1f}s (cold cache, whole subprocess)"
        )
        print(f"slmscout time / BERTopic time = {slm.measured.seconds / bertopic.seconds:.3f}")


def verdict_lines(
    results: dict[int, SizeResult], bertopic: clustering.MethodRun | None, bertopic_skipped: str | None
) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for (calls, kind), (max_seconds, max_mb) in TARGETS.items():
        wanted = f"<= {max_seconds:.0f} s" + (f" and peak <= {max_mb / 1024:.0f} GB" if max_mb else "")
        name = f"{calls:,} calls {kind}: {wanted}"
        result = results.get(calls)
        run = None if result is None else (result.cold if kind == "cold" else result.warm)
        if run is None or run.measured is None:
            lines.append(("SKIP", f"{name}  (not run{': ' + run.error if run and run.error else ''})"))
            continue
        m = run.measured
        runs = result.warm_runs if kind == "warm" and result is not None else [run]
        peaked = highest_peak(runs).measured  # as in the table: the highest peak of the warm runs
        peak_mb = peaked.peak_mb if peaked is not None else m.peak_mb
        ok = m.ok and m.seconds <= max_seconds and (max_mb is None or peak_mb <= max_mb)
        median = f" (median of {len(runs)} runs)" if len(runs) > 1 else ""
        got = f"{m.seconds:.1f} s{median}, peak {peak_mb:,.0f} MB" + (f"; {run.error}" if run.error else "")
        lines.append(("PASS" if ok else "FAIL", f"{name}  (got {got})"))
    name = f"{BERTOPIC_SIZE:,} calls: slmscout faster than BERTopic and a higher V-measure"
    slm = results.get(BERTOPIC_SIZE)
    if bertopic_skipped or slm is None:
        lines.append(("SKIP", f"{name}  ({bertopic_skipped or f'{BERTOPIC_SIZE:,} not in --sizes'})"))
    elif bertopic is None or bertopic.score is None:
        lines.append(("FAIL", f"{name}  (BERTopic failed: {bertopic.error if bertopic else 'not run'})"))
    elif slm.cold.score is None or slm.cold.measured is None:
        lines.append(("FAIL", f"{name}  (slmscout failed: {slm.cold.error})"))
    else:
        ratio = slm.cold.measured.seconds / bertopic.seconds
        v_slm, v_bt = slm.cold.score.v_measure, bertopic.score.v_measure
        ok = ratio < 1 and v_slm > v_bt
        lines.append(
            ("PASS" if ok else "FAIL", f"{name}  (time ratio {ratio:.3f}, V {v_slm:.3f} vs BERTopic {v_bt:.3f})")
        )
    return lines


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), {PHYSICAL_GB:.0f} GB RAM, Python {platform.python_version()}"


def slmscout_version() -> str:
    """The CLI's version, and the repository's commit with how many files under slmscout/ differ from it (read-only
    git commands: the figures belong to that code)."""
    result = subprocess.run(
        [clustering.slmscout_executable(), "--version"], capture_output=True, text=True, check=False
    )
    version = result.stdout.strip() or f"unknown (exit {result.returncode})"
    repo = str(BENCHMARKS.parent)
    commit = subprocess.run(
        ["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    changed = subprocess.run(
        ["git", "--no-optional-locks", "-C", repo, "status", "--porcelain", "--", "slmscout"],
        capture_output=True,
        text=True,
        check=False,
    )
    if commit.returncode != 0:
        return version
    return (
        f"{version}, commit {commit.stdout.strip()}, {len(changed.stdout.splitlines())} files changed under slmscout/"
    )


# --------------------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--sizes",
        type=lambda text: sorted({parse_size(part) for part in text.split(",") if part.strip()}),
        default=list(DEFAULT_SIZES),
        help="comma-separated corpus sizes in calls, 20k and 1M allowed (default: 20000,100000,1000000)",
    )
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per slmscout run (default 1800)")
    parser.add_argument(
        "--max-rss-gb",
        type=float,
        default=round(0.6 * PHYSICAL_GB),
        help="kill a run whose process tree holds more than this resident memory (default: 60%% of RAM)",
    )
    parser.add_argument("--warm-runs", type=int, default=3, help="warm runs per size, the median reported (default 3)")
    parser.add_argument("--skip-bertopic", action="store_true", help=f"do not run BERTopic on {BERTOPIC_SIZE:,}")
    parser.add_argument(
        "--data", type=Path, default=generate_corpus.DEFAULT_DATA, help="real source corpora for the generator"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.data.is_dir():
        raise SystemExit(f"no data folder {args.data}")
    bertopic_skipped: str | None = None
    if args.skip_bertopic:
        bertopic_skipped = "--skip-bertopic"
    elif BERTOPIC_SIZE not in args.sizes:
        bertopic_skipped = f"{BERTOPIC_SIZE:,} not in --sizes"
    else:
        available, why = clustering.bertopic_available()
        if not available:
            bertopic_skipped = f"BERTopic not installed ({why}); pip install bertopic"

    print(f"machine: {machine()}")
    print(f"slmscout: {slmscout_version()} ({clustering.slmscout_executable()})")
    print(
        f"sizes: {', '.join(f'{s:,}' for s in args.sizes)}; seed {args.seed}; per run: timeout {args.timeout:.0f} s, "
        f"killed over {args.max_rss_gb:.0f} GB RSS"
    )
    print(f"BERTopic: {'skipped: ' + bertopic_skipped if bertopic_skipped else f'on {BERTOPIC_SIZE:,} calls'}")
    sys.stdout.flush()
    warnings.filterwarnings("ignore", message=r".*n_jobs value .* overridden.*")

    started = time.perf_counter()
    DATA_DIR.mkdir(exist_ok=True)
    source = Source(args.data)
    results: dict[int, SizeResult] = {}
    for calls in args.sizes:
        limits = (args.timeout, args.max_rss_gb * 1024)
        results[calls] = benchmark_size(calls, args.seed, source, limits, max(1, args.warm_runs))
    bertopic = None if bertopic_skipped else run_bertopic(results[BERTOPIC_SIZE].folder)

    print_table(list(results.values()))
    print_bertopic(results.get(BERTOPIC_SIZE), bertopic)
    print("\n== targets ==")
    for status, text in verdict_lines(results, bertopic, bertopic_skipped):
        print(f"{status}  {text}")
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\ntotal benchmark time: {time.perf_counter() - started:.1f}s (this process: peak {own_peak:,.0f} MB)")
    free = shutil.disk_usage(DATA_DIR).free / 2**30
    print(f"corpora kept in {DATA_DIR} ({free:,.0f} GB free on that disk)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
