"""On the real MetaGPT corpus, with the real model: classifiers and short answers come out replaceable, long
design and coding work does not, each with reasons. Labels are used to score the verdicts only."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from slmscout.analyzers.embed import load_embedder
from slmscout.analyzers.pipeline import analyze
from slmscout.traces import ReadSummary, read_traces

pytestmark = pytest.mark.model
METAGPT = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "metagpt"

REPLACEABLE = ["RoleZero.intent_detect", "Assistant.ActionClassifier", "RoleZero.language_detect"]
KEPT = ["WriteCode", "WriteDesign", "WriteTest"]


@pytest.mark.skipif(not METAGPT.is_dir(), reason="../shared/data/real is not beside the project")
def test_classifiers_replaceable_design_and_coding_kept() -> None:
    calls = list(read_traces([METAGPT / "calls.jsonl"], ReadSummary()))
    analysis = analyze(calls, load_embedder())
    with (METAGPT / "labels.csv").open(encoding="utf-8") as handle:
        labels = {row["id"]: row["label"] for row in csv.DictReader(handle)}
    verdicts: dict[str, Counter[str]] = {}
    for a in analysis.assignments:
        verdicts.setdefault(labels[a.call_id], Counter())[analysis.cluster(a.cluster_id).verdict.kind] += 1
    for label in REPLACEABLE:
        counts = verdicts[label]
        assert counts["keep-llm"] == 0, (label, counts)
    for label in KEPT:
        counts = verdicts[label]
        assert counts["keep-llm"] >= 0.9 * sum(counts.values()), (label, counts)
    for cluster in analysis.clusters:
        assert cluster.verdict.reasons, cluster.name
        if cluster.verdict.kind != "keep-llm":
            assert cluster.verdict.candidates and cluster.economics.slm == cluster.verdict.candidates[0]
            assert any(r.startswith("fits: ") for r in cluster.verdict.reasons)
