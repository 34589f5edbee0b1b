"""A first replacement verdict per cluster: explainable rules over the evidence, thresholds as parameters."""

from __future__ import annotations

from dataclasses import dataclass

from slmscout.analyzers.analysis import ClusterEvidence, Confidence, Verdict


@dataclass(frozen=True, slots=True)
class VerdictRules:
    """The thresholds the rules use; every one is a parameter recorded with the run."""

    slm_context_tokens: int = 32_768  # a p95 prompt above this fits no typical SLM's native context
    long_output_tokens: int = 1_000  # a median output above this is long free-form generation
    short_output_tokens: int = 64  # a p95 output at or under this is a short answer
    closed_set_distinct_share: float = 0.2  # distinct responses / responses at or under this: a closed set
    structured_share: float = 0.8  # JSON or tool-call share at or above this: structured output
    finetune_output_tokens: int = 150  # a median free-form output at or under this is learnable by fine-tuning
    min_calls_closed_set: int = 5  # fewer calls than this cannot show a closed set of answers
    high_confidence_calls: int = 50
    medium_confidence_calls: int = 10


def _confidence(evidence: ClusterEvidence, rules: VerdictRules) -> Confidence:
    if evidence.calls >= rules.high_confidence_calls:
        return "high"
    if evidence.calls >= rules.medium_confidence_calls:
        return "medium"
    return "low"


def judge(evidence: ClusterEvidence, rules: VerdictRules) -> Verdict:
    """Keep, replace after fine-tuning, or replace with a prompted SLM; the reasons cite the figures."""
    e = evidence
    confidence = _confidence(e, rules)
    size = f"{e.calls} calls"
    if e.responses == 0:
        return Verdict("keep-llm", "low", (f"no responses logged for these {size}: the output cannot be judged",))
    if e.input_tokens.p95 > rules.slm_context_tokens:
        return Verdict(
            "keep-llm",
            confidence,
            (
                f"p95 prompt is {e.input_tokens.p95:,.0f} tokens, over the {rules.slm_context_tokens:,}-token "
                "context of typical SLMs",
            ),
        )
    if e.output_tokens.p50 > rules.long_output_tokens:
        return Verdict(
            "keep-llm",
            confidence,
            (
                f"long free-form generation: median output {e.output_tokens.p50:,.0f} tokens "
                f"(over {rules.long_output_tokens:,})",
            ),
        )
    closed_set = e.calls >= rules.min_calls_closed_set and e.distinct_output_share <= rules.closed_set_distinct_share
    if closed_set:
        return Verdict(
            "prompted-slm",
            confidence,
            (f"closed set of answers: {e.distinct_output_share:.0%} of {e.responses} responses are distinct",),
        )
    if e.output_tokens.p95 <= rules.short_output_tokens:
        return Verdict(
            "prompted-slm",
            confidence,
            (f"short answers: p95 output {e.output_tokens.p95:,.0f} tokens (at most {rules.short_output_tokens})",),
        )
    if e.json_share >= rules.structured_share or e.tool_call_share >= rules.structured_share:
        what = (
            f"{e.json_share:.0%} of responses are JSON"
            if e.json_share >= rules.structured_share
            else f"{e.tool_call_share:.0%} of calls answer with a tool call"
        )
        return Verdict(
            "finetuned-slm",
            confidence,
            (f"structured output: {what}", f"median output {e.output_tokens.p50:,.0f} tokens"),
        )
    if e.output_tokens.p50 <= rules.finetune_output_tokens:
        return Verdict(
            "finetuned-slm",
            confidence,
            (
                f"moderate free-form output: median {e.output_tokens.p50:,.0f} tokens "
                f"(at most {rules.finetune_output_tokens})",
            ),
        )
    return Verdict(
        "keep-llm",
        confidence,
        (
            f"free-form output: median {e.output_tokens.p50:,.0f} tokens, "
            f"{e.distinct_output_share:.0%} of responses distinct",
        ),
    )
