"""The analyze workflow: traces read as a stream, each call redacted and digested (in worker processes for large
inputs) into the call table, analysed, and described by a manifest. The model is loaded only once the traces are
read, so a bad path fails at once. The CLI calls this, then saves and renders what comes back."""

from __future__ import annotations

import contextlib
import importlib
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from slmscout.analyzers.analysis import Analysis
from slmscout.analyzers.calltable import CallTable
from slmscout.analyzers.cores import available_cores
from slmscout.analyzers.digest import PARALLEL_ABOVE_BYTES, Digester, new_redaction_key
from slmscout.analyzers.digest_store import DigestStore
from slmscout.analyzers.embed import Embedder
from slmscout.analyzers.pipeline import AnalysisParams, analyze_table
from slmscout.analyzers.progress import NoProgress, Progress
from slmscout.errors import cache_folder_error
from slmscout.reports.run import Manifest, RedactionInfo, overview_of
from slmscout.reports.save import build_manifest
from slmscout.traces.budget import MemoryBudget
from slmscout.traces.ingest import ReadSummary, check_strict, plan_reads, require_calls, trace_files

# What the analysis imports on first use (clustering, naming): about 1.4 s of imports that a large run makes in a
# thread while its traces are digested, instead of before the digest starts or after it ends.
ANALYSIS_LIBRARIES = ("scipy.cluster.hierarchy", "scipy.spatial.distance", "sklearn.feature_extraction.text")


def _import_all(modules: Sequence[str]) -> None:
    for name in modules:
        with contextlib.suppress(ImportError):  # a missing library is reported where it is used
            importlib.import_module(name)


@dataclass(frozen=True)
class AnalysedTraces:
    calls: CallTable  # in canonical order, redacted unless redaction was turned off
    analysis: Analysis
    manifest: Manifest


@contextlib.contextmanager
def work_folder(parent: Path) -> Iterator[Path]:
    """A private temporary folder for a run's call shards, removed afterwards whatever happens."""
    try:
        parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = Path(tempfile.mkdtemp(prefix="run-", dir=parent))
    except OSError as exc:
        raise cache_folder_error("cannot make a work folder", parent, exc) from None
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def input_bytes(inputs: Sequence[Path]) -> int:
    total = 0
    for given in inputs:
        with contextlib.suppress(OSError):
            total += sum(f.stat().st_size for f in trace_files(given))
    return total


def analyse_traces(
    inputs: Sequence[Path],
    load_embedder: Callable[[], Embedder],
    params: AnalysisParams,
    *,
    format_name: str | None = None,
    strict: bool = False,
    redact: bool = True,
    memory_budget: int | None = None,
    progress: Progress | None = None,
    work_dir: Path | None = None,
    workers: int | None = None,
    store: DigestStore | None = None,
) -> AnalysedTraces:
    """Read, redact and analyse. With ``work_dir``, large inputs are digested by ``workers`` processes (default:
    the cores this process may use) into shards there; the returned call table reads them, so the folder must
    outlive the result. With a ``store`` (and redaction on), inputs digested by an earlier run are taken from it,
    and what is digested now is kept in it."""
    progress = progress or NoProgress()
    summary = ReadSummary()
    units = plan_reads(inputs, summary, format_name)
    workers = workers if workers is not None else available_cores()
    if work_dir is None or input_bytes(inputs) < PARALLEL_ABOVE_BYTES:
        workers = 1
    if not redact or work_dir is None:
        store = None  # only redacted digests are kept, and they are staged in the work folder
    key = (store.redaction_key if store is not None else new_redaction_key()) if redact else None
    progress.stage("Reading and redacting traces" if redact else "Reading traces")
    digester = Digester(
        key, workers=workers, work_dir=work_dir, store=store, budget=MemoryBudget(memory_budget), progress=progress
    )
    preload = threading.Thread(target=_import_all, args=(ANALYSIS_LIBRARIES,), name="slmscout-preload", daemon=True)
    if workers > 1:
        preload.start()
    with digester:
        shards = digester.digest(units, summary)
    if preload.is_alive():
        preload.join()
    require_calls(inputs, summary)
    if strict:
        check_strict(summary)
    table = CallTable(shards)
    progress.stage("Loading the embedding model")
    analysis = analyze_table(table, load_embedder(), params, progress=progress)
    progress.stage("Describing the run")
    redaction = RedactionInfo(redact, table.numbering.counts if redact else {})
    manifest = build_manifest(inputs, overview_of(summary), analysis, redaction)
    return AnalysedTraces(table, analysis, manifest)
