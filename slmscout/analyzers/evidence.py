"""Per-cluster evidence, each figure computed from the facts of the cluster's calls."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np
from numpy.typing import NDArray

from slmscout.analyzers.analysis import ClusterEvidence, Distribution
from slmscout.analyzers.columns import CallColumns, Index
from slmscout.analyzers.response_shape import parse_json_output
from slmscout.analyzers.signature import TaskSignature

__all__ = ["cluster_evidence", "distribution", "entropy_bits", "homogeneity", "parse_json_output"]

SECONDS_PER_DAY = 86_400.0


def distribution(values: Sequence[float] | NDArray[np.integer] | NDArray[np.floating]) -> Distribution:
    array = np.asarray(values, dtype=np.float64)
    if not len(array):
        return Distribution(0.0, 0.0, 0.0, 0.0)
    p50, p95 = np.percentile(array, [50, 95])
    return Distribution(p50=float(p50), p95=float(p95), max=float(array.max()), total=float(array.sum()))


def entropy_bits(values: Sequence[Hashable]) -> float:
    counts = Counter(values)
    total = len(values)
    return max(0.0, -sum(c / total * math.log2(c / total) for c in counts.values())) if total else 0.0


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _days(started_at: NDArray[np.float64]) -> float | None:
    times = started_at[~np.isnan(started_at)]
    if len(times) < 2:
        return None
    span = float(times.max() - times.min()) / SECONDS_PER_DAY
    return span if span > 0 else None


def homogeneity(signatures: Sequence[TaskSignature], skeleton: Sequence[str]) -> float:
    """Mean share of the skeleton's pieces each call's signature carries."""
    if not skeleton or not signatures:
        return 0.0
    wanted = set(skeleton)
    shares: dict[int, float] = {}  # calls share signature objects: each distinct one is worked out once
    total = 0.0
    for s in signatures:
        share = shares.get(id(s))
        if share is None:
            share = shares[id(s)] = len(wanted & set(s.pieces)) / len(wanted)
        total += share
    return total / len(signatures)


def _token_source(columns: CallColumns, idx: Index) -> str:
    codes = np.unique(columns.token_source.codes[idx])
    return columns.token_source.names[int(codes[0])] if len(codes) == 1 and codes[0] >= 0 else "mixed"


def _counts(keys: NDArray[np.void]) -> list[int]:
    """How often each distinct key occurs, in order of first appearance."""
    if not len(keys):
        return []
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    return [int(c) for c in counts[np.argsort(first, kind="stable")]]


def _entropy_bits(counts: list[int]) -> float:
    total = sum(counts)
    return max(0.0, -sum(c / total * math.log2(c / total) for c in counts)) if total else 0.0


def cluster_evidence(
    columns: CallColumns,
    idx: Index,
    total_calls: int,
    signatures: Sequence[TaskSignature],
    skeleton: Sequence[str] = (),
    logging_days: float = 0.0,
) -> ClusterEvidence:
    """The evidence of the cluster whose calls are the rows ``idx`` of ``columns``."""
    n = len(idx)
    texts = idx[columns.text_response[idx]]
    schema_codes = columns.json_schema.codes[texts]
    parsed = schema_codes[schema_codes >= 0]
    output_counts = _counts(columns.output_key[texts])
    repeats = _counts(columns.fingerprint[idx])
    costs = columns.cost_usd[idx]
    days = logging_days or _days(columns.started_at[idx])
    turns = columns.turns[idx]
    return ClusterEvidence(
        calls=n,
        share=_share(n, total_calls),
        input_tokens=distribution(columns.input_tokens[idx]),
        output_tokens=distribution(columns.output_tokens[idx]),
        token_source=_token_source(columns, idx),
        responses=int(columns.answered[idx].sum()),
        json_share=_share(len(parsed), len(texts)),
        schema_share=_share(int(np.bincount(parsed).max()), len(parsed)) if len(parsed) else 0.0,
        code_share=_share(int(columns.code[texts].sum()), len(texts)),
        distinct_outputs=len(output_counts),
        distinct_output_share=_share(len(output_counts), len(texts)),
        output_entropy_bits=_entropy_bits(output_counts),
        tool_call_share=_share(int(columns.tool_call[idx].sum()), n),
        tools_offered_share=_share(int(columns.tools_offered[idx].sum()), n),
        multi_step_share=_share(int(columns.multi_step[texts].sum()), len(texts)),
        prompt_turns_p50=float(np.percentile(turns, 50)) if n else 0.0,
        prompt_turns_max=int(turns.max()) if n else 0,
        history_share=_share(int(columns.history[idx].sum()), n),
        error_share=_share(int(columns.error[idx].sum()), n),
        repeat_share=_share(sum(count - 1 for count in repeats), n),
        template_homogeneity=homogeneity(signatures, skeleton),
        cost_usd_reported=float(sum(costs.tolist())) if n and not np.isnan(costs).any() else None,
        days_logged=days,
        calls_per_day=n / days if days else None,
    )
