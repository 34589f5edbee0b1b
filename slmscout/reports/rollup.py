"""Roll-ups over an analysis: the replaceable share of calls, tokens and cost, per agent and overall, and the
paper's own estimate beside the measured one when the traces come from an agent it studied."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from slmscout.analyzers.analysis import Analysis, CallAssignment

# arXiv 2506.02153, Appendix B: the share of each agent's LLM calls the authors estimate an SLM could take.
PAPER_ESTIMATES = {"metagpt": 0.60, "open-operator": 0.40, "cradle": 0.70}


@dataclass(frozen=True, slots=True)
class Rollup:
    group: str
    calls: int
    replaceable_calls: int
    tokens: float
    replaceable_tokens: float
    current_usd: float
    replaceable_usd: float  # current cost of the calls judged replaceable
    after_usd: float  # expected cost of all calls once the verdicts are applied

    @property
    def call_share(self) -> float:
        return self.replaceable_calls / self.calls if self.calls else 0.0

    @property
    def token_share(self) -> float:
        return self.replaceable_tokens / self.tokens if self.tokens else 0.0

    @property
    def cost_share(self) -> float:
        return self.replaceable_usd / self.current_usd if self.current_usd else 0.0

    @property
    def savings_usd(self) -> float:
        return self.current_usd - self.after_usd


def _rollup(group: str, assignments: Iterable[CallAssignment], replaceable: set[int]) -> Rollup:
    calls = replaceable_calls = 0
    tokens = replaceable_tokens = current = replaceable_usd = after = 0.0
    for a in assignments:
        call_tokens = a.input_tokens + a.output_tokens
        calls += 1
        tokens += call_tokens
        current += a.current_usd
        after += a.after_usd
        if a.cluster_id in replaceable:
            replaceable_calls += 1
            replaceable_tokens += call_tokens
            replaceable_usd += a.current_usd
    return Rollup(group, calls, replaceable_calls, tokens, replaceable_tokens, current, replaceable_usd, after)


def replaceable_clusters(analysis: Analysis) -> set[int]:
    return {c.cluster_id for c in analysis.clusters if c.verdict.kind != "keep-llm"}


def rollup(analysis: Analysis) -> Rollup:
    return _rollup("all calls", analysis.assignments, replaceable_clusters(analysis))


def rollup_by_group(analysis: Analysis) -> list[Rollup]:
    """One roll-up per agent (or source file), largest first."""
    replaceable = replaceable_clusters(analysis)
    groups: dict[str, list[CallAssignment]] = {}
    for a in analysis.assignments:
        groups.setdefault(a.group, []).append(a)
    rollups = [_rollup(name, members, replaceable) for name, members in groups.items()]
    return sorted(rollups, key=lambda r: (-r.calls, r.group))


def clusters_by_verdict(analysis: Analysis) -> dict[str, int]:
    counts: dict[str, int] = {}
    for cluster in analysis.clusters:
        counts[cluster.verdict.kind] = counts.get(cluster.verdict.kind, 0) + 1
    return counts


def paper_estimate(analysis: Analysis) -> float | None:
    return PAPER_ESTIMATES.get(analysis.framework or "")
