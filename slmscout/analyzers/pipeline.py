"""The analysis: calls in, clusters with evidence, verdicts and economics out."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from slmscout.analyzers.analysis import Analysis, CallAssignment, ClusterReport
from slmscout.analyzers.assumptions import Assumptions, validate
from slmscout.analyzers.catalog import SLM, PriceTable, load_catalog, load_prices
from slmscout.analyzers.cluster import ClusteringParams, cluster_calls, resolved_threshold
from slmscout.analyzers.economics import cluster_economics
from slmscout.analyzers.embed import Embedder
from slmscout.analyzers.evidence import cluster_evidence
from slmscout.analyzers.naming import label_clusters
from slmscout.analyzers.progress import NoProgress, Progress, ReportingEmbedder
from slmscout.analyzers.projection import MAP_SEED, MAP_UNITS, map_coordinates
from slmscout.analyzers.signature import MIN_PROMPTS, TaskSignature, build_signatures
from slmscout.analyzers.tokens import call_tokens
from slmscout.analyzers.verdict import VerdictRules, judge
from slmscout.traces.record import LLMCall

EXAMPLES_PER_CLUSTER = 3
FALLBACK_NAME_CHARS = 400
# Trace formats that only one agent framework writes: the paper (Appendix B) has an estimate for these frameworks.
FRAMEWORK_OF_FORMAT = {"metagpt-log": "metagpt", "metagpt-cache": "metagpt", "cradle-log": "cradle"}


@dataclass(frozen=True)
class AnalysisParams:
    clustering: ClusteringParams = field(default_factory=ClusteringParams)
    verdict: VerdictRules = field(default_factory=VerdictRules)
    assumptions: Assumptions = field(default_factory=Assumptions)
    min_prompts: int = MIN_PROMPTS
    catalog_path: Path | None = None
    prices_path: Path | None = None
    framework: str | None = None  # declared by the user; else inferred from the trace formats
    map_seed: int = MAP_SEED

    def as_dict(self) -> dict[str, object]:
        return {
            "clustering": dataclasses.asdict(self.clustering),
            "verdict": dataclasses.asdict(self.verdict),
            "min_prompts": self.min_prompts,
            "map": {"method": "t-SNE on the clustering distances", "seed": self.map_seed, "max_units": MAP_UNITS},
            "catalog": str(self.catalog_path) if self.catalog_path else "built-in",
            "prices": str(self.prices_path) if self.prices_path else "built-in",
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


def call_group(call: LLMCall) -> str:
    """Who made the call, for roll-ups: the caller agent the log names, else the file it came from."""
    return call.caller.agent or call.caller.role or Path(call.source.path).name


def framework_of(calls: Sequence[LLMCall], declared: str | None) -> str | None:
    if declared:
        return declared
    found = {FRAMEWORK_OF_FORMAT.get(c.source.format) for c in calls}
    return found.pop() if len(found) == 1 else None


def analyze(
    calls: Iterable[LLMCall],
    embedder: Embedder,
    params: AnalysisParams | None = None,
    catalog: Sequence[SLM] | None = None,
    prices: PriceTable | None = None,
    progress: Progress | None = None,
) -> Analysis:
    params = params or AnalysisParams()
    # the threshold in force is recorded, whether the user set it or the model recommended it
    params = dataclasses.replace(
        params,
        clustering=dataclasses.replace(
            params.clustering, distance_threshold=resolved_threshold(params.clustering, embedder)
        ),
    )
    progress = progress or NoProgress()
    model_name = embedder.name
    embedder = ReportingEmbedder(embedder, progress)
    validate(params.assumptions)
    catalog = catalog if catalog is not None else load_catalog(params.catalog_path)
    prices = prices if prices is not None else load_prices(params.prices_path)
    by_name = {m.name: m for m in catalog}
    ordered = canonical_order(calls)
    progress.stage("Mining templates")
    signatures, index = build_signatures(ordered, params.min_prompts)
    clustering = cluster_calls(ordered, signatures, index, embedder, params.clustering)
    labels = clustering.labels
    progress.stage("Laying out the map")
    coordinates = map_coordinates(clustering, [c.call_id for c in ordered], params.map_seed)
    progress.stage("Counting tokens", len(ordered))
    tokens = []
    for call in ordered:
        tokens.append(call_tokens(call))
        progress.advance()
    members: list[list[int]] = [[] for _ in range(max(labels) + 1 if labels else 0)]
    for i, label in enumerate(labels):
        members[label].append(i)
    cluster_labels = label_clusters(
        [[signatures[i] for i in idx] for idx in members],
        index,
        ["\n".join(ordered[i].prompt_text[:FALLBACK_NAME_CHARS] for i in idx) for idx in members],
    )
    costs: list[tuple[float, float]] = [(0.0, 0.0)] * len(ordered)
    clusters = []
    progress.stage("Judging clusters", len(members))
    for cluster_id, (idx, naming) in enumerate(zip(members, cluster_labels, strict=True)):
        progress.advance()
        cluster_calls_ = [ordered[i] for i in idx]
        cluster_tokens = [tokens[i] for i in idx]
        evidence = cluster_evidence(
            cluster_calls_,
            cluster_tokens,
            len(ordered),
            [signatures[i] for i in idx],
            naming.skeleton,
            params.assumptions.logging_days,
        )
        verdict = judge(evidence, catalog, params.verdict, params.assumptions.finetune_examples)
        economics, per_call = cluster_economics(
            cluster_calls_, cluster_tokens, verdict, by_name, prices, params.assumptions
        )
        for i, cost in zip(idx, per_call, strict=True):
            costs[i] = cost
        clusters.append(
            ClusterReport(
                cluster_id=cluster_id,
                name=naming.name,
                headline=naming.headline,
                terms=naming.terms,
                template=naming.skeleton,
                templated=any(not signatures[i].is_empty for i in idx),
                evidence=evidence,
                verdict=verdict,
                economics=economics,
                example_call_ids=representatives(idx, signatures, ordered),
            )
        )
    assignments = tuple(
        CallAssignment(
            call_id=call.call_id,
            source=str(call.source),
            group=call_group(call),
            cluster_id=label,
            input_tokens=tok.input,
            output_tokens=tok.output,
            token_source=tok.source,
            current_usd=cost[0],
            after_usd=cost[1],
            x=point[0],
            y=point[1],
        )
        for call, label, tok, cost, point in zip(ordered, labels, tokens, costs, coordinates, strict=True)
    )
    return Analysis(
        clusters=tuple(clusters),
        assignments=assignments,
        model=model_name,
        parameters=params.as_dict(),
        assumptions=dataclasses.asdict(params.assumptions),
        framework=framework_of(ordered, params.framework),
    )
