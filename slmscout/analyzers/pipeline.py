"""The analysis: calls in, clusters with evidence, verdicts and economics out."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from slmscout.analyzers.analysis import Analysis, CallAssignment, ClusterReport
from slmscout.analyzers.assumptions import Assumptions, validate
from slmscout.analyzers.calltable import CallTable
from slmscout.analyzers.catalog import SLM, PriceTable, load_catalog, load_prices
from slmscout.analyzers.cluster import ClusteringParams, cluster_calls, resolved_threshold
from slmscout.analyzers.columns import Categorical
from slmscout.analyzers.economics import cluster_economics
from slmscout.analyzers.embed import Embedder
from slmscout.analyzers.evidence import cluster_evidences
from slmscout.analyzers.naming import label_clusters
from slmscout.analyzers.progress import NoProgress, Progress, ReportingEmbedder
from slmscout.analyzers.projection import MAP_SEED, MAP_UNITS, map_coordinates
from slmscout.analyzers.signature import MIN_PROMPTS, TaskSignature, mine_signatures
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
    # lay out the map of calls (seconds at 100k calls); without it every call sits at (0, 0): for runs whose
    # outputs show no map (no saved run, no JSON report)
    lay_out_map: bool = True

    def as_dict(self) -> dict[str, object]:
        map_layout = {"method": "t-SNE on the clustering distances", "seed": self.map_seed, "max_units": MAP_UNITS}
        return {
            "clustering": dataclasses.asdict(self.clustering),
            "verdict": dataclasses.asdict(self.verdict),
            "min_prompts": self.min_prompts,
            "map": map_layout if self.lay_out_map else None,
            "catalog": str(self.catalog_path) if self.catalog_path else "built-in",
            "prices": str(self.prices_path) if self.prices_path else "built-in",
        }


def canonical_order(calls: Iterable[LLMCall]) -> list[LLMCall]:
    """Calls in an order that does not depend on the order they were read in."""
    return sorted(calls, key=lambda c: (c.call_id, c.source.path, c.source.position))


def representatives(rows: NDArray[np.int64], kinds: NDArray[np.int64], call_ids: Sequence[str]) -> tuple[str, ...]:
    """Up to three calls that stand for the cluster: one per most common signature, then the rest by id.

    ``rows`` are the cluster's calls, ascending positions in canonical order (by call id); ``kinds[i]`` identifies
    the signature of call ``i`` (equal for calls with equal signatures: ``distinct_signatures``).
    """
    if len(rows) == 1:
        return (call_ids[int(rows[0])],)
    kind = kinds[rows]
    _, first, inverse, counts = np.unique(kind, return_index=True, return_inverse=True, return_counts=True)
    # calls ranked by how common their signature is, then by position (by id); each signature's first call in that
    # ranking is its first by position, as its calls share its count
    ranked = rows[np.lexsort((rows, -counts[inverse]))]
    chosen: list[int] = rows[first][np.lexsort((rows[first], -counts))][:EXAMPLES_PER_CLUSTER].tolist()
    taken = set(chosen)
    chosen += [i for i in ranked[: 2 * EXAMPLES_PER_CLUSTER].tolist() if i not in taken]
    return tuple(call_ids[i] for i in chosen[:EXAMPLES_PER_CLUSTER])


def framework_of(formats: Categorical, declared: str | None) -> str | None:
    if declared:
        return declared
    used = np.unique(formats.codes)
    found = {FRAMEWORK_OF_FORMAT.get(formats.names[code]) if code >= 0 else None for code in used.tolist()}
    return found.pop() if len(found) == 1 else None


def analyze(
    calls: Iterable[LLMCall],
    embedder: Embedder,
    params: AnalysisParams | None = None,
    catalog: Sequence[SLM] | None = None,
    prices: PriceTable | None = None,
    progress: Progress | None = None,
) -> Analysis:
    """The analysis of calls held in memory (already redacted, if they are to be)."""
    return analyze_table(CallTable.of_calls(list(calls)), embedder, params, catalog, prices, progress)


def _fallback_texts(
    table: CallTable, members: Sequence[Sequence[int]], signatures: Sequence[TaskSignature]
) -> list[str]:
    """Prompt text that names clusters whose calls share no template piece (read only for those, in one pass)."""
    untemplated = [c for c, idx in enumerate(members) if not any(signatures[i].pieces for i in idx)]
    wanted = sorted(i for c in untemplated for i in members[c])
    texts = dict(zip(wanted, table.prompt_texts(wanted, FALLBACK_NAME_CHARS), strict=True))
    out = [""] * len(members)
    for c in untemplated:
        out[c] = "\n".join(texts[i] for i in members[c])
    return out


def analyze_table(
    table: CallTable,
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
    facts = table.facts
    progress.stage("Mining templates")
    signatures, index = mine_signatures(table.pieces(), table.piece_texts, params.min_prompts)
    clustering = cluster_calls(signatures, index, embedder, params.clustering, table.prompt_texts)
    labels = clustering.labels
    call_ids: list[str] = facts.call_id.tolist()
    if params.lay_out_map:
        progress.stage("Laying out the map")
        coordinates = map_coordinates(clustering, call_ids, params.map_seed)
    else:
        coordinates = [(0.0, 0.0)] * len(call_ids)
    label_array = np.asarray(labels, dtype=np.int64)
    by_label = np.argsort(label_array, kind="stable")
    bounds = np.searchsorted(label_array[by_label], np.arange(max(labels) + 2 if labels else 1))
    member_arrays = [by_label[bounds[c] : bounds[c + 1]] for c in range(len(bounds) - 1)]
    members: list[list[int]] = [m.tolist() for m in member_arrays]
    member_signatures = [[signatures[i] for i in idx] for idx in members]
    cluster_labels = label_clusters(member_signatures, index, _fallback_texts(table, members, signatures))
    costs: list[tuple[float, float]] = [(0.0, 0.0)] * len(facts)
    clusters = []
    progress.stage("Judging clusters", len(members))
    evidences = cluster_evidences(
        facts,
        member_arrays,
        len(facts),
        member_signatures,
        [naming.skeleton for naming in cluster_labels],
        params.assumptions.logging_days,
    )
    for cluster_id, (idx, rows, naming, evidence) in enumerate(
        zip(members, member_arrays, cluster_labels, evidences, strict=True)
    ):
        progress.advance()
        verdict = judge(evidence, catalog, params.verdict, params.assumptions.finetune_examples)
        economics, per_call = cluster_economics(facts, rows, verdict, by_name, prices, params.assumptions)
        for i, cost in zip(idx, per_call, strict=True):
            costs[i] = cost
        clusters.append(
            ClusterReport(
                cluster_id=cluster_id,
                name=naming.name,
                headline=naming.headline,
                terms=naming.terms,
                template=naming.skeleton,
                templated=any(signatures[i].pieces for i in idx),
                evidence=evidence,
                verdict=verdict,
                economics=economics,
                example_call_ids=representatives(rows, clustering.kinds, call_ids),
            )
        )
    paths = facts.path.values()
    assignments = tuple(
        CallAssignment(
            call_id=call_id,
            source=f"{path}:{position}",
            group=group or "",
            cluster_id=label,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            token_source=source or "counted",
            current_usd=cost[0],
            after_usd=cost[1],
            x=point[0],
            y=point[1],
        )
        for call_id, path, position, group, label, tokens_in, tokens_out, source, cost, point in zip(
            call_ids,
            paths,
            facts.position.tolist(),
            facts.group.values(),
            labels,
            facts.input_tokens.tolist(),
            facts.output_tokens.tolist(),
            facts.token_source.values(),
            costs,
            coordinates,
            strict=True,
        )
    )
    return Analysis(
        clusters=tuple(clusters),
        assignments=assignments,
        model=model_name,
        parameters=params.as_dict(),
        assumptions=dataclasses.asdict(params.assumptions),
        framework=framework_of(facts.format, params.framework),
    )
