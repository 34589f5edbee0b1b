"""The typed result of an analysis: what the reports render. Holds figures and ids, never raw trace text
beyond the cluster templates and names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

VerdictKind = Literal["prompted-slm", "finetuned-slm", "keep-llm"]
Confidence = Literal["high", "medium", "low"]

VERDICT_LABELS: dict[str, str] = {
    "prompted-slm": "prompted SLM",
    "finetuned-slm": "fine-tuned SLM",
    "keep-llm": "keep LLM",
}


@dataclass(frozen=True, slots=True)
class Distribution:
    p50: float
    p95: float
    max: float
    total: float


@dataclass(frozen=True, slots=True)
class ClusterEvidence:
    """Figures computed from one cluster's calls."""

    calls: int
    share: float  # of all calls
    input_tokens: Distribution
    output_tokens: Distribution
    token_source: str  # "reported", "estimated" or "mixed"
    responses: int  # calls with a response or tool call logged
    json_share: float  # of responses that are valid JSON (fences and wrappers stripped)
    distinct_output_share: float  # distinct responses / responses
    tool_call_share: float  # of calls whose response calls a tool
    prompt_turns_p50: float
    error_share: float


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: VerdictKind
    confidence: Confidence
    reasons: tuple[str, ...]

    @property
    def label(self) -> str:
        return VERDICT_LABELS[self.kind]


@dataclass(frozen=True, slots=True)
class ClusterReport:
    cluster_id: int
    name: str
    headline: str  # the most distinctive template piece, whole
    terms: tuple[str, ...]
    template: tuple[str, ...]  # the skeleton: template pieces most of its calls share, masked, in prompt order
    templated: bool  # False when its calls share no recurring template piece (grouped by meaning, or alone)
    evidence: ClusterEvidence
    verdict: Verdict
    example_call_ids: tuple[str, ...]  # representative calls: the most common signatures first

    @property
    def one_off(self) -> bool:
        """A single call whose task no other call shares."""
        return self.evidence.calls == 1


@dataclass(frozen=True, slots=True)
class CallAssignment:
    call_id: str
    source: str  # file:position
    cluster_id: int
    input_tokens: int
    output_tokens: int
    token_source: str


@dataclass(frozen=True)
class Analysis:
    clusters: tuple[ClusterReport, ...]
    assignments: tuple[CallAssignment, ...]
    model: str
    parameters: dict[str, object] = field(default_factory=dict)

    @property
    def total_calls(self) -> int:
        return len(self.assignments)

    @property
    def one_off_calls(self) -> int:
        return sum(1 for c in self.clusters if c.one_off)

    def cluster(self, cluster_id: int) -> ClusterReport:
        return self.clusters[cluster_id]
