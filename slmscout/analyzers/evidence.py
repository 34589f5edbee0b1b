"""Per-cluster evidence, each figure computed from the facts of the cluster's calls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from slmscout.analyzers.analysis import ClusterEvidence, Distribution
from slmscout.analyzers.columns import CallColumns, Index
from slmscout.analyzers.response_shape import parse_json_output
from slmscout.analyzers.signature import TaskSignature

__all__ = ["cluster_evidence", "cluster_evidences", "distribution", "homogeneity", "parse_json_output"]

SECONDS_PER_DAY = 86_400.0


def distribution(values: Sequence[float] | NDArray[np.integer] | NDArray[np.floating]) -> Distribution:
    array = np.asarray(values, dtype=np.float64)
    if not len(array):
        return Distribution(0.0, 0.0, 0.0, 0.0)
    p50, p95 = np.percentile(array, [50, 95])
    return Distribution(p50=float(p50), p95=float(p95), max=float(array.max()), total=float(array.sum()))


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


@dataclass(frozen=True)
class Groups:
    """Calls grouped by cluster: ``order`` lists call rows cluster by cluster (each cluster's rows in the order
    given), cluster ``c`` holding ``order[starts[c] : starts[c] + sizes[c]]``. Every cluster has a call."""

    order: Index
    starts: Index
    sizes: Index

    @classmethod
    def of(cls, members: Sequence[Index]) -> Groups:
        sizes = np.array([len(m) for m in members], dtype=np.int64)
        starts = np.zeros(len(members), dtype=np.int64)
        np.cumsum(sizes[:-1], out=starts[1:])
        order = np.concatenate(members) if members else np.zeros(0, dtype=np.int64)
        return cls(order.astype(np.int64), starts, sizes)

    @property
    def label(self) -> Index:
        """The cluster of each position of ``order``."""
        return np.repeat(np.arange(len(self.sizes), dtype=np.int64), self.sizes)

    def sums(self, values: NDArray[Any]) -> NDArray[Any]:
        """Per cluster, the sum of ``values`` (one per call row), added in ``order`` (sequentially)."""
        ordered = values[self.order]
        if ordered.dtype == np.bool_:
            ordered = ordered.astype(np.int64)
        return np.add.reduceat(ordered, self.starts) if len(ordered) else np.zeros(0, ordered.dtype)

    def distributions(self, values: NDArray[Any]) -> list[Distribution]:
        """Per cluster: median, 95th percentile (numpy's linear method, bit for bit), max and total."""
        ordered = values[self.order].astype(np.float64)
        label = self.label
        ranked = ordered[np.lexsort((ordered, label))]
        p50, p95 = (_percentile(ranked, self.starts, self.sizes, q) for q in (0.5, 0.95))
        top = np.maximum.reduceat(ranked, self.starts)
        totals = np.add.reduceat(ordered, self.starts)
        return [
            Distribution(float(a), float(b), float(c), float(d))
            for a, b, c, d in zip(p50.tolist(), p95.tolist(), top.tolist(), totals.tolist(), strict=True)
        ]


def _percentile(ranked: NDArray[np.float64], starts: Index, sizes: Index, q: float) -> NDArray[np.float64]:
    """``np.percentile(values, 100 * q)`` of each group of sorted ``ranked``, with numpy's own arithmetic."""
    virtual = (sizes - 1) * q
    below = np.floor(virtual)
    gamma = virtual - below
    lower = below.astype(np.int64)
    upper = np.minimum(lower + 1, sizes - 1)
    a = ranked[starts + lower]
    b = ranked[starts + upper]
    difference = b - a
    out = a + difference * gamma
    high = gamma >= 0.5
    out[high] = (b - difference * (1 - gamma))[high]
    return np.asarray(out, dtype=np.float64)


def _runs(label: Index, keys: NDArray[np.void]) -> tuple[Index, Index]:
    """Runs of equal (cluster, key) among calls sorted by both: each run's cluster, and its length."""
    if not len(label):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    words = keys.view(np.uint64).reshape(len(keys), -1)
    order = np.lexsort((*[words[:, i] for i in range(words.shape[1] - 1, -1, -1)], label))
    label, words = label[order], words[order]
    change = np.ones(len(label), dtype=bool)
    change[1:] = (label[1:] != label[:-1]) | (words[1:] != words[:-1]).any(axis=1)
    starts = np.flatnonzero(change)
    return label[starts], np.diff(np.append(starts, len(label)))


def _per_cluster(values: NDArray[Any], clusters: Index, count: int, combine: Any = np.add) -> NDArray[Any]:
    out = np.zeros(count, dtype=np.float64 if values.dtype.kind == "f" else np.int64)
    combine.at(out, clusters, values)
    return out


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def cluster_evidences(
    columns: CallColumns,
    members: Sequence[Index],
    total_calls: int,
    signatures: Sequence[Sequence[TaskSignature]],
    skeletons: Sequence[Sequence[str]],
    logging_days: float = 0.0,
) -> list[ClusterEvidence]:
    """The evidence of every cluster at once; cluster ``c``'s calls are the rows ``members[c]`` of ``columns``."""
    if not members:
        return []
    if any(not len(m) for m in members):  # grouping needs a call per cluster: clusters with none are set apart
        kept = [c for c, m in enumerate(members) if len(m)]
        found = iter(
            cluster_evidences(
                columns,
                [members[c] for c in kept],
                total_calls,
                [signatures[c] for c in kept],
                [skeletons[c] for c in kept],
                logging_days,
            )
        )
        return [next(found) if len(m) else _without_calls(logging_days) for m in members]
    groups = Groups.of(members)
    k = len(members)
    label = groups.label
    rows = groups.order
    text = columns.text_response[rows]
    texts = groups.sums(columns.text_response)
    schema = columns.json_schema.codes[rows]
    parsed_rows = text & (schema >= 0)
    parsed = _per_cluster(np.ones(int(parsed_rows.sum()), dtype=np.int64), label[parsed_rows], k)
    schema_runs, schema_lengths = _runs(label[parsed_rows], schema[parsed_rows].astype(np.int64).view("V8"))
    top_schema = _per_cluster(schema_lengths, schema_runs, k, np.maximum)
    output_runs, output_lengths = _runs(label[text], columns.output_key[rows][text])
    distinct_outputs = _per_cluster(np.ones(len(output_runs), dtype=np.int64), output_runs, k)
    shares = output_lengths / texts[output_runs] if len(output_runs) else np.zeros(0)
    entropy = -_per_cluster(shares * np.log2(shares) if len(shares) else shares, output_runs, k)
    prompt_runs, _ = _runs(label, columns.fingerprint[rows])
    distinct_prompts = _per_cluster(np.ones(len(prompt_runs), dtype=np.int64), prompt_runs, k)
    started = columns.started_at[rows]
    timed = ~np.isnan(started)
    first = np.full(k, np.inf)
    last = np.full(k, -np.inf)
    np.minimum.at(first, label[timed], started[timed])
    np.maximum.at(last, label[timed], started[timed])
    timed_calls = _per_cluster(timed.astype(np.int64), label, k)
    costs = columns.cost_usd[rows]
    cost_known = _per_cluster((~np.isnan(costs)).astype(np.int64), label, k)
    cost_sums = _per_cluster(np.nan_to_num(costs), label, k)  # added call by call, in order, as sum() adds
    source = columns.token_source.codes[rows].astype(np.int64)
    source_low = np.minimum.reduceat(source, groups.starts)
    source_high = np.maximum.reduceat(source, groups.starts)
    input_tokens = groups.distributions(columns.input_tokens)
    output_tokens = groups.distributions(columns.output_tokens)
    turns = groups.distributions(columns.turns)
    figures = {
        name: groups.sums(getattr(columns, name)).tolist()
        for name in ("answered", "tool_call", "tools_offered", "history", "error")
    }
    text_figures = {
        name: _per_cluster(getattr(columns, name)[rows][text].astype(np.int64), label[text], k).tolist()
        for name in ("code", "multi_step")
    }
    out = []
    for c in range(k):
        n = int(groups.sizes[c])
        n_texts = int(texts[c])
        n_parsed = int(parsed[c])
        span = (last[c] - first[c]) / SECONDS_PER_DAY if timed_calls[c] >= 2 else 0.0
        days = logging_days or (float(span) if span > 0 else None)
        out.append(
            ClusterEvidence(
                calls=n,
                share=_share(n, total_calls),
                input_tokens=input_tokens[c],
                output_tokens=output_tokens[c],
                token_source=(
                    columns.token_source.names[int(source_low[c])]
                    if source_low[c] == source_high[c] and source_low[c] >= 0
                    else "mixed"
                ),
                responses=int(figures["answered"][c]),
                json_share=_share(n_parsed, n_texts),
                schema_share=_share(int(top_schema[c]), n_parsed),
                code_share=_share(text_figures["code"][c], n_texts),
                distinct_outputs=int(distinct_outputs[c]),
                distinct_output_share=_share(int(distinct_outputs[c]), n_texts),
                output_entropy_bits=max(0.0, float(entropy[c])),
                tool_call_share=_share(figures["tool_call"][c], n),
                tools_offered_share=_share(figures["tools_offered"][c], n),
                multi_step_share=_share(text_figures["multi_step"][c], n_texts),
                prompt_turns_p50=turns[c].p50,
                prompt_turns_max=int(turns[c].max),
                history_share=_share(figures["history"][c], n),
                error_share=_share(figures["error"][c], n),
                repeat_share=_share(n - int(distinct_prompts[c]), n),
                template_homogeneity=homogeneity(signatures[c], skeletons[c]),
                cost_usd_reported=float(cost_sums[c]) if cost_known[c] == n else None,
                days_logged=days,
                calls_per_day=n / days if days else None,
            )
        )
    return out


def _without_calls(logging_days: float) -> ClusterEvidence:
    """The evidence of a cluster of no calls: every figure zero, nothing reported or known."""
    zero = Distribution(0.0, 0.0, 0.0, 0.0)
    days = logging_days or None
    return ClusterEvidence(
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


def cluster_evidence(
    columns: CallColumns,
    idx: Index,
    total_calls: int,
    signatures: Sequence[TaskSignature],
    skeleton: Sequence[str] = (),
    logging_days: float = 0.0,
) -> ClusterEvidence:
    """The evidence of the cluster whose calls are the rows ``idx`` of ``columns``."""
    return cluster_evidences(columns, [idx], total_calls, [signatures], [skeleton], logging_days)[0]
