"""The analysis: calls in, clusters with evidence and verdicts out."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from slmscout.analyzers.analysis import Analysis, CallAssignment, ClusterReport
from slmscout.analyzers.cluster import ClusteringParams, cluster_signatures
from slmscout.analyzers.embed import Embedder
from slmscout.analyzers.evidence import cluster_evidence
from slmscout.analyzers.naming import cluster_name, distinctive_terms, skeleton
from slmscout.analyzers.signature import build_signatures
from slmscout.analyzers.tokens import call_tokens
from slmscout.analyzers.verdict import VerdictRules, judge
from slmscout.traces.record import LLMCall

EXAMPLES_PER_CLUSTER = 3


@dataclass(frozen=True)
class AnalysisParams:
    clustering: ClusteringParams = field(default_factory=ClusteringParams)
    verdict: VerdictRules = field(default_factory=VerdictRules)

    def as_dict(self) -> dict[str, object]:
        return {
            "clustering": dataclasses.asdict(self.clustering),
            "verdict": dataclasses.asdict(self.verdict),
        }


def _canonical_order(calls: Iterable[LLMCall]) -> list[LLMCall]:
    """Calls in an order that does not depend on the order they were read in."""
    return sorted(calls, key=lambda c: (c.call_id, c.source.path, c.source.position))


def analyze(calls: Iterable[LLMCall], embedder: Embedder, params: AnalysisParams | None = None) -> Analysis:
    params = params or AnalysisParams()
    ordered = _canonical_order(calls)
    signatures = build_signatures(ordered)
    labels = cluster_signatures([s.text for s in signatures], embedder, params.clustering)
    tokens = [call_tokens(c) for c in ordered]
    n_clusters = max(labels) + 1 if labels else 0
    members: list[list[int]] = [[] for _ in range(n_clusters)]
    for i, label in enumerate(labels):
        members[label].append(i)
    joined = ["\n".join(signatures[i].text for i in idx) for idx in members]
    terms = distinctive_terms(joined)
    clusters = []
    for cluster_id, idx in enumerate(members):
        evidence = cluster_evidence([ordered[i] for i in idx], [tokens[i] for i in idx], len(ordered))
        lines = skeleton([signatures[i].template_lines for i in idx])
        clusters.append(
            ClusterReport(
                cluster_id=cluster_id,
                name=cluster_name(terms[cluster_id], lines),
                terms=terms[cluster_id],
                template=lines,
                evidence=evidence,
                verdict=judge(evidence, params.verdict),
                example_call_ids=tuple(ordered[i].call_id for i in idx[:EXAMPLES_PER_CLUSTER]),
            )
        )
    assignments = tuple(
        CallAssignment(
            call_id=call.call_id,
            source=str(call.source),
            cluster_id=label,
            input_tokens=tok.input,
            output_tokens=tok.output,
            token_source=tok.source,
        )
        for call, label, tok in zip(ordered, labels, tokens, strict=True)
    )
    return Analysis(clusters=tuple(clusters), assignments=assignments, model=embedder.name, parameters=params.as_dict())
