"""The analyze workflow: traces read within the memory budget, put in canonical order, redacted, analysed, and
described by a manifest. The model is loaded only once the traces are read, so a bad path fails at once.
The CLI calls this, then saves and renders what comes back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from slmscout.analyzers.analysis import Analysis
from slmscout.analyzers.embed import Embedder
from slmscout.analyzers.pipeline import AnalysisParams, analyze, canonical_order
from slmscout.analyzers.progress import NoProgress, Progress, counted
from slmscout.reports.run import Manifest, RedactionInfo, overview_of
from slmscout.reports.save import build_manifest
from slmscout.traces.budget import within_budget
from slmscout.traces.ingest import ReadSummary, check_strict, read_traces
from slmscout.traces.record import LLMCall
from slmscout.traces.redaction import Redactor


@dataclass(frozen=True)
class AnalysedTraces:
    calls: list[LLMCall]  # in canonical order, redacted unless redaction was turned off
    analysis: Analysis
    manifest: Manifest


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
) -> AnalysedTraces:
    progress = progress or NoProgress()
    summary = ReadSummary()
    read = within_budget(read_traces(inputs, summary, format_name), memory_budget)
    calls = canonical_order(counted(read, progress, "Reading traces"))
    if strict:
        check_strict(summary)
    redactor = Redactor() if redact else None
    if redactor is not None:
        progress.stage("Redacting", len(calls))
        for i, call in enumerate(calls):  # in place: each original is freed as soon as its copy exists
            calls[i] = redactor.call(call)
            progress.advance()
    progress.stage("Loading the embedding model")
    analysis = analyze(calls, load_embedder(), params, progress=progress)
    progress.stage("Describing the run")
    redaction = RedactionInfo(redactor is not None, dict(redactor.counts) if redactor else {})
    manifest = build_manifest(inputs, overview_of(summary), analysis, redaction)
    return AnalysedTraces(calls, analysis, manifest)
