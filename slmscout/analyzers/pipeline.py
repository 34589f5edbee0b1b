"""The analysis: calls in, clusters with evidence and verdicts out."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from slmscout.analyzers.analysis import Analysis, CallAssignment, ClusterReport
from slmscout.analyzers.cluster import ClusteringParams, cluster_calls
from slmscout.analyzers.embed import Embedder
from slmscout.analyzers.evidence import cluster_evidence
from slmscout.analyzers.naming import label_clusters
from slmscout.analyzers.signature import MIN_PROMPTS, TaskSignature, build_signatures
from slmscout.analyzers.tokens import call_tokens
from slmscout.analyzers.verdict import VerdictRules, judge
from slmscout.traces.record import LLMCall

EXAMPLES_PER_CLUSTER = 3
FALLBACK_NAME_CHARS = 400


@dataclass(frozen=True)
class AnalysisParams:
    clustering: ClusteringParams = field(default_factory=ClusteringParams)
    verdict: VerdictRules = field(default_factory=VerdictRules)
    min_prompts: int = MIN_PROMPTS

    def as_dict(self) -> dict[str, object]:
        return {
            "clustering": dataclasses.asdict(self.clustering),
            "verdict": dataclasses.asdict(self.verdict),
            "min_prompts": self.min_prompts,
        }


def canonical_order(calls: Iterable[LLMCall]) -> list[LLMCall]:
    """Calls in an order that does not depend on the order they were read in."""
    return sorted(calls, key=lambda c: (c.call_id, c.source.path, c.source.position))


def representatives(
    indices: Sequence[int], signatures: Sequence[TaskSignature], calls: Sequence[LLMCall]
) -> tuple[str, ...]:
    """Up to three calls that stand for the cluster: one per most common signature, then the rest by id."""
    counts = Counter(signatures[i].pieces for i in indices)
    ranked = sorted(indices, key=lambda i: (-counts[signatures[i].pieces], calls[i].call_id))
    chosen: list[int] = []
    seen: set[tuple[str, ...]] = set()
    for i in ranked:
        if signatures[i].pieces not in seen:
            seen.add(signatures[i].pieces)
            chosen.append(i)
    chosen += [i for i in ranked if i not in chosen]
    return tuple(calls[i].call_id for i in chosen[:EXAMPLES_PER_CLUSTER])


def analyze(calls: Iterable[LLMCall], embedder: Embedder, params: AnalysisParams | None = None) -> Analysis:
    params = params or AnalysisParams()
    ordered = canonical_order(calls)
    signatures, index = build_signatures(ordered, params.min_prompts)
    labels = cluster_calls(ordered, signatures, index, embedder, params.clustering)
    tokens = [call_tokens(c) for c in ordered]
    members: list[list[int]] = [[] for _ in range(max(labels) + 1 if labels else 0)]
    for i, label in enumerate(labels):
        members[label].append(i)
    cluster_labels = label_clusters(
        [[signatures[i] for i in idx] for idx in members],
        index,
        ["\n".join(ordered[i].prompt_text[:FALLBACK_NAME_CHARS] for i in idx) for idx in members],
    )
    clusters = []
    for cluster_id, (idx, naming) in enumerate(zip(members, cluster_labels, strict=True)):
        evidence = cluster_evidence([ordered[i] for i in idx], [tokens[i] for i in idx], len(ordered))
        clusters.append(
            ClusterReport(
                cluster_id=cluster_id,
                name=naming.name,
                headline=naming.headline,
                terms=naming.terms,
                template=naming.skeleton,
                templated=any(not signatures[i].is_empty for i in idx),
                evidence=evidence,
                verdict=judge(evidence, params.verdict),
                example_call_ids=representatives(idx, signatures, ordered),
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
