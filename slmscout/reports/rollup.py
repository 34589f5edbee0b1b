"""Totals over an analysis: the replaceable share of calls and tokens."""

from __future__ import annotations

from dataclasses import dataclass

from slmscout.analyzers.analysis import Analysis


@dataclass(frozen=True, slots=True)
class Rollup:
    calls: int
    replaceable_calls: int
    tokens: float
    replaceable_tokens: float
    clusters_by_verdict: dict[str, int]

    @property
    def call_share(self) -> float:
        return self.replaceable_calls / self.calls if self.calls else 0.0

    @property
    def token_share(self) -> float:
        return self.replaceable_tokens / self.tokens if self.tokens else 0.0


def rollup(analysis: Analysis) -> Rollup:
    calls = replaceable_calls = 0
    tokens = replaceable_tokens = 0.0
    by_verdict: dict[str, int] = {}
    for cluster in analysis.clusters:
        e = cluster.evidence
        cluster_tokens = e.input_tokens.total + e.output_tokens.total
        calls += e.calls
        tokens += cluster_tokens
        by_verdict[cluster.verdict.kind] = by_verdict.get(cluster.verdict.kind, 0) + 1
        if cluster.verdict.kind != "keep-llm":
            replaceable_calls += e.calls
            replaceable_tokens += cluster_tokens
    return Rollup(calls, replaceable_calls, tokens, replaceable_tokens, by_verdict)
