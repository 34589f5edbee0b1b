"""Evidence of all clusters at once (``cluster_evidences``, array arithmetic over every cluster together) equals each
cluster's evidence worked out on its own with plain Python, for random facts and random clusterings; and set
membership by binary search (``members_of``) equals ``np.isin``."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from slmscout.analyzers.analysis import ClusterEvidence, Distribution
from slmscout.analyzers.columns import CallColumns
from slmscout.analyzers.evidence import SECONDS_PER_DAY, cluster_evidence, cluster_evidences
from slmscout.analyzers.facts import CallFacts
from slmscout.analyzers.signature import TaskSignature, members_of

# Keys that differ only in their first or only in their last byte: equal keys must be told apart by every byte.
KEYS = [bytes([n]) + bytes(14) + bytes([m]) for n in range(3) for m in range(3)]
SCHEMAS = ["{queue}", "{priority,queue}", "[{queue}]", "int", "str"]
PIECES = ["route the ticket", "reply politely", "queue list:", "you are a router", "answer in JSON"]


def _fact(rnd: random.Random, n: int, shape: dict[str, float]) -> CallFacts:
    """A call's facts, as call_facts makes them (a JSON shape, code and steps only for a text response; an output
    key exactly when there is one), with values drawn to repeat often."""
    text = rnd.random() < shape["text"]
    tool_call = rnd.random() < 0.2
    return CallFacts(
        call_id=f"c{n}",
        path="a.jsonl",
        position=str(n),
        format="chat-messages",
        group="g",
        model=rnd.choice([None, "gpt-4o"]),
        started_at=None if rnd.random() < shape["untimed"] else 1.7e9 + rnd.choice([0.0, 0.5, 3600.0, 86_400.0 * 3]),
        error=rnd.random() < 0.1,
        cost_usd=None if rnd.random() < shape["no_cost"] else rnd.choice([0.1, 0.2, 0.3, 1e-9, 7.25]),
        input_tokens=rnd.choice([0, 1, 7, 1000, rnd.randint(0, 5000), 2**40 + rnd.randint(0, 9)]),
        output_tokens=rnd.choice([0, 3, rnd.randint(0, 900)]),
        token_source=rnd.choice(["reported", "counted"]) if rnd.random() < shape["mixed"] else "counted",
        fingerprint=rnd.choice(KEYS[: rnd.randint(1, len(KEYS))]),
        turns=rnd.randint(1, 9),
        history=rnd.random() < 0.3,
        tools_offered=tool_call or rnd.random() < 0.2,
        tool_call=tool_call,
        answered=text or tool_call,
        text_response=text,
        json_schema=rnd.choice([None, *SCHEMAS[: rnd.randint(1, len(SCHEMAS))]]) if text else None,
        code=text and rnd.random() < 0.3,
        output_key=rnd.choice(KEYS[: rnd.randint(1, len(KEYS))]) if text else b"",
        multi_step=text and rnd.random() < 0.2,
    )


def _percentile(values: Sequence[int], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def _distribution(values: Sequence[int]) -> Distribution:
    return Distribution(_percentile(values, 50), _percentile(values, 95), float(max(values)), float(sum(values)))


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _reference(
    calls: Sequence[CallFacts],
    total: int,
    signatures: Sequence[TaskSignature],
    skeleton: Sequence[str],
    logging_days: float,
) -> ClusterEvidence:
    """One cluster's evidence from its calls alone, figure by figure, in plain Python."""
    n = len(calls)
    texts = [c for c in calls if c.text_response]
    shapes = Counter(c.json_schema for c in texts if c.json_schema is not None)
    outputs = Counter(c.output_key for c in texts)
    entropy = -sum(k / len(texts) * math.log2(k / len(texts)) for k in outputs.values()) if texts else 0.0
    costs = [c.cost_usd for c in calls]
    total_cost = 0.0
    for cost in costs:
        total_cost += cost or 0.0
    times = [c.started_at for c in calls if c.started_at is not None]
    span = (max(times) - min(times)) / SECONDS_PER_DAY if len(times) >= 2 else 0.0
    days = logging_days or (span if span > 0 else None)
    wanted = set(skeleton)
    homogeneity = (
        sum(len(wanted & set(s.pieces)) / len(wanted) for s in signatures) / len(signatures) if wanted else 0.0
    )
    sources = {c.token_source for c in calls}
    return ClusterEvidence(
        calls=n,
        share=n / total,
        input_tokens=_distribution([c.input_tokens for c in calls]),
        output_tokens=_distribution([c.output_tokens for c in calls]),
        token_source=sources.pop() if len(sources) == 1 else "mixed",
        responses=sum(c.answered for c in calls),
        json_share=_share(sum(shapes.values()), len(texts)),
        schema_share=_share(max(shapes.values(), default=0), sum(shapes.values())),
        code_share=_share(sum(c.code for c in texts), len(texts)),
        distinct_outputs=len(outputs),
        distinct_output_share=_share(len(outputs), len(texts)),
        output_entropy_bits=max(0.0, entropy),
        tool_call_share=sum(c.tool_call for c in calls) / n,
        tools_offered_share=sum(c.tools_offered for c in calls) / n,
        multi_step_share=_share(sum(c.multi_step for c in texts), len(texts)),
        prompt_turns_p50=_percentile([c.turns for c in calls], 50),
        prompt_turns_max=max(c.turns for c in calls),
        history_share=sum(c.history for c in calls) / n,
        error_share=sum(c.error for c in calls) / n,
        repeat_share=(n - len({c.fingerprint for c in calls})) / n,
        template_homogeneity=homogeneity,
        cost_usd_reported=total_cost if all(c is not None for c in costs) else None,
        days_logged=days,
        calls_per_day=n / days if days else None,
    )


def _clustering(rnd: random.Random, rows: int) -> list[np.ndarray]:
    """Disjoint clusters over some of the rows, each in a random order, with many clusters of one call."""
    picked = rnd.sample(range(rows), rnd.randint(1, rows))
    cuts = sorted(rnd.sample(range(1, len(picked)), min(len(picked) - 1, rnd.randint(0, len(picked) // 2 + 1))))
    bounds = [0, *cuts, len(picked)]
    return [np.array(picked[a:b], dtype=np.int64) for a, b in itertools.pairwise(bounds)]


def _signatures(rnd: random.Random, size: int) -> list[TaskSignature]:
    shared = [TaskSignature(tuple(rnd.sample(PIECES, rnd.randint(0, 3)))) for _ in range(3)]
    return [
        rnd.choice(shared) if rnd.random() < 0.5 else TaskSignature(tuple(rnd.sample(PIECES, 2))) for _ in range(size)
    ]


def _assert_equal(got: ClusterEvidence, expected: ClusterEvidence) -> None:
    """Every figure exactly, but the entropy (a sum of logarithms taken in another order) to 1e-12."""
    assert abs(got.output_entropy_bits - expected.output_entropy_bits) <= 1e-12, (got, expected)
    assert replace(got, output_entropy_bits=0.0) == replace(expected, output_entropy_bits=0.0)


@pytest.mark.parametrize("seed", range(40))
def test_all_clusters_at_once_equal_each_cluster_alone(seed: int) -> None:
    """Counts and shares exactly, percentiles exactly as ``np.percentile`` of the cluster's values, costs added in
    order, entropy to 1e-12: for every cluster of a random clustering of random facts."""
    rnd = random.Random(seed)
    shape = {key: rnd.choice([0.0, 0.3, 0.7, 1.0]) for key in ("text", "untimed", "no_cost", "mixed")}
    facts = [_fact(rnd, n, shape) for n in range(rnd.randint(1, 80))]
    columns = CallColumns.of_facts(facts)
    members = _clustering(rnd, len(facts))
    signatures = [_signatures(rnd, len(m)) for m in members]
    skeletons = [rnd.sample(PIECES, rnd.randint(0, 3)) for _ in members]
    total = len(facts) + rnd.randint(0, 5)
    logging_days = rnd.choice([0.0, 0.0, 2.5])

    got = cluster_evidences(columns, members, total, signatures, skeletons, logging_days)
    assert len(got) == len(members)
    for c, idx in enumerate(members):
        calls = [facts[i] for i in idx.tolist()]
        _assert_equal(got[c], _reference(calls, total, signatures[c], skeletons[c], logging_days))
        alone = cluster_evidence(columns, idx, total, signatures[c], skeletons[c], logging_days)
        assert alone == got[c]


def test_the_random_clusterings_meet_every_case() -> None:
    """Across the seeds above: clusters of one call, clusters without a text response, some costs missing, some
    calls untimed, repeated prompts and repeated outputs all occur."""
    seen: Counter[str] = Counter()
    for seed in range(40):
        rnd = random.Random(seed)
        shape = {key: rnd.choice([0.0, 0.3, 0.7, 1.0]) for key in ("text", "untimed", "no_cost", "mixed")}
        facts = [_fact(rnd, n, shape) for n in range(rnd.randint(1, 80))]
        for idx in _clustering(rnd, len(facts)):
            calls = [facts[i] for i in idx.tolist()]
            texts = [c for c in calls if c.text_response]
            seen["one call"] += len(calls) == 1
            seen["no text"] += not texts
            seen["some costs missing"] += 0 < sum(c.cost_usd is None for c in calls) < len(calls)
            seen["all costs known"] += len(calls) > 1 and all(c.cost_usd is not None for c in calls)
            seen["some untimed"] += 0 < sum(c.started_at is None for c in calls) < len(calls)
            seen["repeated prompts"] += len({c.fingerprint for c in calls}) < len(calls)
            seen["repeated outputs"] += len({c.output_key for c in texts}) < len(texts)
            seen["mixed sources"] += len({c.token_source for c in calls}) > 1
    assert min(seen.values()) > 0 and len(seen) == 8, seen


def test_no_clusters_no_evidence() -> None:
    """No clusters: no evidence, not an error."""
    assert cluster_evidences(CallColumns.of_facts([]), [], 0, [], []) == []


@pytest.mark.parametrize("seed", range(30))
def test_members_of_equals_isin(seed: int) -> None:
    """Membership in a sorted set, for values below, inside, between and above its members (int64 extremes too)."""
    rng = np.random.default_rng(seed)
    span = int(rng.choice([3, 100, 2**40]))
    extremes = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, -1, 0], dtype=np.int64)
    members = rng.integers(-span, span, int(rng.integers(0, 50)), dtype=np.int64)
    if seed % 3 == 0:
        members = np.concatenate([members, extremes[: seed % 4]])
    sorted_set = np.unique(members)
    values = np.concatenate([rng.integers(-2 * span, 2 * span, int(rng.integers(0, 200)), dtype=np.int64), extremes])
    if len(sorted_set):
        values = np.concatenate([values, rng.choice(sorted_set, 20)])
    got = members_of(values, sorted_set)
    assert got.dtype == np.bool_ and got.shape == values.shape
    assert np.array_equal(got, np.isin(values, sorted_set))


@pytest.mark.parametrize("logging_days", [0.0, 2.5])
def test_a_cluster_of_no_calls_has_zero_evidence_beside_the_others(logging_days: float) -> None:
    """A cluster with no calls (a caller's choice of rows, never the pipeline's) gives zero figures, as the evidence of
    one cluster always gave, and leaves the other clusters' evidence as it is."""
    rnd = random.Random(7)
    shape = {"text": 0.7, "untimed": 0.3, "no_cost": 0.3, "mixed": 0.3}
    facts = [_fact(rnd, n, shape) for n in range(12)]
    columns = CallColumns.of_facts(facts)
    members = [np.arange(0, 5), np.zeros(0, dtype=np.int64), np.arange(5, 12)]
    signatures = [_signatures(rnd, len(m)) for m in members]
    skeletons = [["pa"], ["pa"], []]

    got = cluster_evidences(columns, members, 12, signatures, skeletons, logging_days)
    zero = Distribution(0.0, 0.0, 0.0, 0.0)
    days = logging_days or None
    assert got[1] == ClusterEvidence(
        calls=0,
        share=0.0,
        input_tokens=zero,
        output_tokens=zero,
        token_source="mixed",
        responses=0,
        json_share=0.0,
        schema_share=0.0,
        code_share=0.0,
        distinct_outputs=0,
        distinct_output_share=0.0,
        output_entropy_bits=0.0,
        tool_call_share=0.0,
        tools_offered_share=0.0,
        multi_step_share=0.0,
        prompt_turns_p50=0.0,
        prompt_turns_max=0,
        history_share=0.0,
        error_share=0.0,
        repeat_share=0.0,
        template_homogeneity=0.0,
        cost_usd_reported=None,
        days_logged=days,
        calls_per_day=0.0 if days else None,
    )
    assert cluster_evidence(columns, members[1], 12, [], ["pa"], logging_days) == got[1]
    for c in (0, 2):
        assert got[c] == cluster_evidence(columns, members[c], 12, signatures[c], skeletons[c], logging_days)
