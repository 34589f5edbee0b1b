"""Per-cluster evidence, each figure computed from the facts of the cluster's calls."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np

from slmscout.analyzers.analysis import ClusterEvidence, Distribution
from slmscout.analyzers.facts import CallFacts
from slmscout.analyzers.response_shape import parse_json_output
from slmscout.analyzers.signature import TaskSignature

__all__ = ["cluster_evidence", "distribution", "entropy_bits", "homogeneity", "parse_json_output"]

SECONDS_PER_DAY = 86_400.0


def distribution(values: Sequence[float]) -> Distribution:
    if not values:
        return Distribution(0.0, 0.0, 0.0, 0.0)
    array = np.asarray(values, dtype=np.float64)
    return Distribution(
        p50=float(np.percentile(array, 50)),
        p95=float(np.percentile(array, 95)),
        max=float(array.max()),
        total=float(array.sum()),
    )


def entropy_bits(values: Sequence[Hashable]) -> float:
    counts = Counter(values)
    total = len(values)
    return max(0.0, -sum(c / total * math.log2(c / total) for c in counts.values())) if total else 0.0


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _days(calls: Sequence[CallFacts]) -> float | None:
    times = [c.started_at for c in calls if c.started_at is not None]
    if len(times) < 2:
        return None
    span = (max(times) - min(times)) / SECONDS_PER_DAY
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


def _token_source(calls: Sequence[CallFacts]) -> str:
    sources = {c.token_source for c in calls}
    return sources.pop() if len(sources) == 1 else "mixed"


def cluster_evidence(
    calls: Sequence[CallFacts],
    total_calls: int,
    signatures: Sequence[TaskSignature],
    skeleton: Sequence[str] = (),
    logging_days: float = 0.0,
) -> ClusterEvidence:
    n = len(calls)
    texts = [c for c in calls if c.text_response]
    parsed = [c.json_schema for c in texts if c.json_schema is not None]
    schemas = Counter(parsed)
    outputs = [c.output_key for c in texts]
    fingerprints = Counter(c.fingerprint for c in calls)
    costs = [c.cost_usd for c in calls]
    days = logging_days or _days(calls)
    turns = [c.turns for c in calls]
    return ClusterEvidence(
        calls=n,
        share=_share(n, total_calls),
        input_tokens=distribution([c.input_tokens for c in calls]),
        output_tokens=distribution([c.output_tokens for c in calls]),
        token_source=_token_source(calls),
        responses=sum(1 for c in calls if c.answered),
        json_share=_share(len(parsed), len(texts)),
        schema_share=_share(schemas.most_common(1)[0][1], len(parsed)) if parsed else 0.0,
        code_share=_share(sum(1 for c in texts if c.code), len(texts)),
        distinct_outputs=len(set(outputs)),
        distinct_output_share=_share(len(set(outputs)), len(outputs)),
        output_entropy_bits=entropy_bits(outputs),
        tool_call_share=_share(sum(1 for c in calls if c.tool_call), n),
        tools_offered_share=_share(sum(1 for c in calls if c.tools_offered), n),
        multi_step_share=_share(sum(1 for c in texts if c.multi_step), len(texts)),
        prompt_turns_p50=float(np.percentile(turns, 50)) if calls else 0.0,
        prompt_turns_max=max(turns, default=0),
        history_share=_share(sum(1 for c in calls if c.history), n),
        error_share=_share(sum(1 for c in calls if c.error), n),
        repeat_share=_share(sum(count - 1 for count in fingerprints.values()), n),
        template_homogeneity=homogeneity(signatures, skeleton),
        cost_usd_reported=(
            float(sum(c for c in costs if c is not None)) if costs and all(c is not None for c in costs) else None
        ),
        days_logged=days,
        calls_per_day=n / days if days else None,
    )
