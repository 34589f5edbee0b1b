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
    """Figures computed from one cluster's calls; every verdict reason cites some of them."""

    calls: int
    share: float  # of all calls
    input_tokens: Distribution
    output_tokens: Distribution
    token_source: str  # "reported" (the logs' usage), "counted" (cl100k_base) or "mixed"
    responses: int  # calls with a response or tool call logged
    json_share: float  # of text responses that are valid JSON (fences and [TAG] wrappers stripped)
    schema_share: float  # of JSON responses that have the most common key set
    code_share: float  # of text responses holding code (a fenced block, or code in a JSON string value)
    distinct_outputs: int  # distinct text responses (whitespace and case folded)
    distinct_output_share: float  # distinct responses / responses
    output_entropy_bits: float  # Shannon entropy of the responses, in bits
    tool_call_share: float  # of calls whose response calls a tool
    tools_offered_share: float  # of calls that were offered tool definitions
    multi_step_share: float  # of responses laid out as several steps (numbered steps, Thought/Action, plans)
    prompt_turns_p50: float
    prompt_turns_max: int
    history_share: float  # of calls whose prompt already holds earlier assistant turns (multi-turn)
    error_share: float  # of calls the log marks as failed
    repeat_share: float  # of calls whose exact prompt was sent before (retries or replays seen in the logs)
    template_homogeneity: float  # mean share of the cluster's skeleton each call carries (1: all identical)
    cost_usd_reported: float | None  # the logs' own cost, when every call carries one
    days_logged: float | None  # from the first to the last timestamp of the cluster
    calls_per_day: float | None


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: VerdictKind
    confidence: Confidence
    reasons: tuple[str, ...]
    candidates: tuple[str, ...] = ()  # SLMs from the catalog that fit, best first
    needs: tuple[str, ...] = ()  # the strengths the cluster asks of a model (tool-calling, code, reasoning, json)

    @property
    def label(self) -> str:
        return VERDICT_LABELS[self.kind]


@dataclass(frozen=True, slots=True)
class Economics:
    """What a cluster costs now, and what it would cost on the recommended SLM, with how each was found."""

    current_usd: float
    current_source: str  # "reported", "priced" (price table) or "mixed"
    current_models: tuple[str, ...]  # price-table entries used
    slm: str | None  # the SLM costed (the first candidate), None when the verdict keeps the LLM
    slm_usd: float  # expected cost after replacement (equal to current when kept)
    expected_slm_attempts: float
    llm_fallback_share: float  # share of calls expected to fall back to the LLM after the SLM's attempts
    current_kwh: float
    slm_kwh: float
    slm_cost_source: str = ""  # "hosted price" (the catalog's), or "energy" (local, or no hosted price known)

    @property
    def savings_usd(self) -> float:
        return self.current_usd - self.slm_usd


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
    economics: Economics
    example_call_ids: tuple[str, ...]  # representative calls: the most common signatures first

    @property
    def one_off(self) -> bool:
        """A single call whose task no other call shares."""
        return self.evidence.calls == 1


@dataclass(frozen=True, slots=True)
class CallAssignment:
    call_id: str
    source: str  # file:position
    group: str  # the agent that made the call (caller agent, else its source file), for roll-ups
    cluster_id: int
    input_tokens: int
    output_tokens: int
    token_source: str
    current_usd: float
    after_usd: float  # expected cost once its cluster's verdict is applied (equal to current when kept)
    x: float = 0.0  # position on the 2-D map of calls (similar tasks near each other), in [-1, 1]
    y: float = 0.0


@dataclass(frozen=True)
class Analysis:
    clusters: tuple[ClusterReport, ...]
    assignments: tuple[CallAssignment, ...]
    model: str
    parameters: dict[str, object] = field(default_factory=dict)
    assumptions: dict[str, object] = field(default_factory=dict)
    framework: str | None = None  # metagpt, cradle, open-operator: the paper has an estimate for these

    @property
    def total_calls(self) -> int:
        return len(self.assignments)

    @property
    def one_off_calls(self) -> int:
        return sum(1 for c in self.clusters if c.one_off)

    def cluster(self, cluster_id: int) -> ClusterReport:
        return self.clusters[cluster_id]
