"""Saving a run: the manifest of what was read and how, and every rendering, into one run folder."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path

from slmscout import __version__
from slmscout.analyzers.analysis import Analysis
from slmscout.analyzers.calltable import CallTable
from slmscout.reports.csv_export import write_call_csv, write_cluster_csv
from slmscout.reports.json_report import dumps, report_document
from slmscout.reports.markdown import render_markdown
from slmscout.reports.run import (
    DEFAULT_ROOT,
    RUN_SCHEMA_VERSION,
    Manifest,
    ReadOverview,
    RedactionInfo,
    RunFolder,
    SavedRun,
    example_ids,
    input_fingerprint,
    library_versions,
    new_run_id,
)


def build_manifest(
    inputs: Sequence[Path],
    reads: ReadOverview,
    analysis: Analysis,
    redaction: RedactionInfo,
    now: datetime.datetime | None = None,
) -> Manifest:
    now = now or datetime.datetime.now(datetime.UTC)
    fingerprint = input_fingerprint(reads)
    map_params = analysis.parameters.get("map")
    seed = map_params.get("seed", 0) if isinstance(map_params, dict) else 0
    return Manifest(
        schema_version=RUN_SCHEMA_VERSION,
        run_id=new_run_id(fingerprint, now),
        created_at=now.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        slmscout_version=__version__,
        input_fingerprint=fingerprint,
        inputs=tuple(str(p) for p in inputs),
        reads=reads,
        model=analysis.model,
        parameters=analysis.parameters,
        seeds={"map": int(seed)},
        versions=library_versions(),
        redaction=redaction,
    )


def save_run(manifest: Manifest, analysis: Analysis, calls: CallTable, out: Path | None = None) -> SavedRun:
    """Write the run folder (``out``, default reports/<run-id>/) atomically and return it."""
    target = out if out is not None else DEFAULT_ROOT / manifest.run_id
    from slmscout.reports.html import render_html

    wanted = example_ids(analysis)
    examples = calls.by_id(wanted)
    with RunFolder(target) as folder:
        folder.write_calls(calls)
        folder.write_text("report.json", dumps(report_document(manifest, analysis)))
        write_cluster_csv(folder.path("clusters.csv"), analysis)
        write_call_csv(folder.path("calls.csv"), analysis)
        folder.write_text("report.md", render_markdown(manifest, analysis, examples))
        draft = SavedRun(folder.tmp, manifest, analysis)
        folder.write_text("report.html", render_html(draft, examples))
        path = folder.commit(manifest)
    return SavedRun(path, manifest, analysis)
