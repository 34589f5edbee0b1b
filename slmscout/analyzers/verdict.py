"""Replacement verdicts: explainable rules over a cluster's evidence and the SLM catalog.

Every threshold is a field of ``VerdictRules`` (overridable with ``--assume rules.NAME=VALUE``), and every reason a
verdict gives cites the figure it rests on, so a reader can check it against the calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slmscout.analyzers.analysis import ClusterEvidence, Confidence, Verdict, VerdictKind
from slmscout.analyzers.catalog import SLM


@dataclass(frozen=True, slots=True)
class VerdictRules:
    """The thresholds the rules use; every one is recorded with the run and printed on request."""

    long_output_tokens: int = 1_000  # a median output above this is long free-form generation
    short_output_tokens: int = 64  # a p95 output at or under this is a short answer
    closed_set_distinct_share: float = 0.2  # distinct responses / responses at or under this: a closed set
    closed_set_max_bits: float = 3.0  # ... or response entropy at or under this many bits (~8 even answers)
    closed_set_bits_distinct_share: float = 0.5  # ... when at most this share of the responses are distinct
    min_calls_closed_set: int = 5  # fewer calls than this cannot show a closed set of answers
    structured_share: float = 0.8  # JSON (or tool-call) share at or above this: structured output
    schema_share: float = 0.6  # ... when this share of the JSON responses has one key set
    finetune_output_tokens: int = 150  # a median free-form output at or under this is learnable by fine-tuning
    structured_output_tokens: int = 400  # a median structured output above this is long structured generation
    code_output_tokens: int = 150  # a median code output above this is code generation: kept on the LLM
    needs_tools_share: float = 0.2  # tool calls in this share of responses: the model must call tools
    needs_code_share: float = 0.3  # code blocks in this share of responses: the model must write code
    needs_reasoning_share: float = 0.3  # multi-step responses in this share: the model must reason in steps
    reasoning_output_tokens: int = 500  # ... or a median output above this
    high_confidence_calls: int = 50
    medium_confidence_calls: int = 10
    min_homogeneity: float = 0.5  # a cluster whose calls share less of its template is judged less surely
    max_candidates: int = 3
    # The smallest model trusted with a task: zero-shot (prompted) work asks more of a model than a fine-tuned
    # specialisation, and tool calling, code or reasoning more than plain text.
    min_params_prompted_b: float = 3.0
    min_params_finetuned_b: float = 0.5
    min_params_with_needs_b: float = 1.5


def needs(e: ClusterEvidence, rules: VerdictRules) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The strengths a model needs for this cluster (hard), and those it had better have (soft)."""
    hard: list[str] = []
    if e.tool_call_share >= rules.needs_tools_share:
        hard.append("tool-calling")
    if e.code_share >= rules.needs_code_share:
        hard.append("code")
    if e.multi_step_share >= rules.needs_reasoning_share or e.output_tokens.p50 > rules.reasoning_output_tokens:
        hard.append("reasoning")
    soft = ("json",) if e.json_share >= rules.structured_share else ()
    return tuple(hard), soft


def context_needed(e: ClusterEvidence) -> int:
    """Tokens a model must hold for this cluster's p95 call: the p95 prompt plus the p95 output."""
    return int(e.input_tokens.p95 + e.output_tokens.p95)


def min_params(kind: VerdictKind, hard: Sequence[str], rules: VerdictRules) -> float:
    floor = rules.min_params_prompted_b if kind == "prompted-slm" else rules.min_params_finetuned_b
    return max(floor, rules.min_params_with_needs_b) if hard else floor


def candidates(e: ClusterEvidence, catalog: Sequence[SLM], rules: VerdictRules, kind: VerdictKind) -> tuple[SLM, ...]:
    """Catalog models that hold the p95 call in their native context, have every hard strength and the size the
    verdict asks; best first: fewest missing soft strengths, then smallest, priced before unpriced."""
    hard, soft = needs(e, rules)
    floor = min_params(kind, hard, rules)
    needed, required, wanted = context_needed(e), set(hard), set(soft)  # once per cluster, not per model
    fitting = [
        m for m in catalog if m.context_tokens >= needed and required.issubset(m.strengths) and m.params_b >= floor
    ]
    ranked = sorted(fitting, key=lambda m: (len(wanted.difference(m.strengths)), m.params_b, not m.priced, m.name))
    return tuple(ranked[: rules.max_candidates])


def _confidence(e: ClusterEvidence, rules: VerdictRules) -> Confidence:
    levels: tuple[Confidence, ...] = ("low", "medium", "high")
    level = 2 if e.calls >= rules.high_confidence_calls else 1 if e.calls >= rules.medium_confidence_calls else 0
    if e.template_homogeneity and e.template_homogeneity < rules.min_homogeneity:
        level = max(0, level - 1)
    return levels[level]


def _data_note(e: ClusterEvidence, finetune_examples: int) -> str:
    if e.calls >= finetune_examples:
        return f"{e.calls:,} logged examples, over the {finetune_examples:,} the paper's rule of thumb asks"
    if e.calls_per_day:
        days = (finetune_examples - e.calls) / e.calls_per_day
        return (
            f"{e.calls:,} logged examples (~{e.calls_per_day:,.0f}/day): "
            f"{finetune_examples:,} in ~{days:,.0f} more days "
            "of logging, or distil from the LLM"
        )
    return (
        f"{e.calls:,} logged examples of the {finetune_examples:,} the paper's rule of thumb asks: log more or distil"
    )


def _caveats(e: ClusterEvidence) -> list[str]:
    notes = []
    if e.error_share >= 0.05:
        notes.append(f"{e.error_share:.0%} of calls failed in the logs")
    if e.repeat_share >= 0.1:
        notes.append(f"{e.repeat_share:.0%} of calls repeat an earlier prompt (retries or replays)")
    return notes


def judge(e: ClusterEvidence, catalog: Sequence[SLM], rules: VerdictRules, finetune_examples: int = 10_000) -> Verdict:
    """Keep, replace after fine-tuning, or replace with a prompted SLM; the reasons cite the figures."""
    confidence = _confidence(e, rules)
    hard, _soft = needs(e, rules)
    if e.responses == 0:
        return Verdict(
            "keep-llm", "low", (f"no responses logged for these {e.calls} calls: the output cannot be judged",)
        )
    widest = max(catalog, key=lambda m: m.context_tokens)
    if context_needed(e) > widest.context_tokens:
        return Verdict(
            "keep-llm",
            confidence,
            (
                f"p95 prompt {e.input_tokens.p95:,.0f} + p95 output {e.output_tokens.p95:,.0f} tokens "
                "exceed every catalog "
                f"SLM's context (widest: {widest.name}, {widest.context_tokens:,})",
            ),
            needs=hard,
        )
    structured = (e.json_share >= rules.structured_share and e.schema_share >= rules.schema_share) or (
        e.tool_call_share >= rules.structured_share
    )
    kind: VerdictKind
    reasons: list[str]
    closed_set = e.calls >= rules.min_calls_closed_set and (
        e.distinct_output_share <= rules.closed_set_distinct_share
        or (
            e.output_entropy_bits <= rules.closed_set_max_bits
            and e.distinct_output_share <= rules.closed_set_bits_distinct_share
        )
    )
    if e.output_tokens.p50 > rules.long_output_tokens:
        kind, reasons = (
            "keep-llm",
            [f"long generation: median output {e.output_tokens.p50:,.0f} tokens (over {rules.long_output_tokens:,})"],
        )
    elif e.code_share >= rules.needs_code_share and e.output_tokens.p50 > rules.code_output_tokens:
        kind, reasons = (
            "keep-llm",
            [
                f"code generation: {e.code_share:.0%} of responses hold code, median {e.output_tokens.p50:,.0f} tokens "
                f"(over {rules.code_output_tokens})"
            ],
        )
    elif structured and e.output_tokens.p50 > rules.structured_output_tokens:
        kind, reasons = (
            "keep-llm",
            [
                f"long structured generation: median output {e.output_tokens.p50:,.0f} tokens "
                f"(over {rules.structured_output_tokens})"
            ],
        )
    elif closed_set:
        kind, reasons = (
            "prompted-slm",
            [
                f"closed set of answers: {e.distinct_outputs:,} distinct of {e.responses:,} responses "
                f"({e.output_entropy_bits:.1f} bits)"
            ],
        )
    elif e.output_tokens.p95 <= rules.short_output_tokens:
        kind, reasons = (
            "prompted-slm",
            [f"short answers: p95 output {e.output_tokens.p95:,.0f} tokens (at most {rules.short_output_tokens})"],
        )
    elif structured:
        what = (
            f"{e.json_share:.0%} of responses are JSON, {e.schema_share:.0%} with one key set"
            if e.json_share >= rules.structured_share
            else f"{e.tool_call_share:.0%} of calls answer with a tool call"
        )
        kind, reasons = "finetuned-slm", [f"structured output: {what}; median {e.output_tokens.p50:,.0f} tokens"]
    elif e.output_tokens.p50 <= rules.finetune_output_tokens:
        kind, reasons = (
            "finetuned-slm",
            [f"moderate output: median {e.output_tokens.p50:,.0f} tokens (at most {rules.finetune_output_tokens})"],
        )
    else:
        kind, reasons = (
            "keep-llm",
            [
                f"free-form output: median {e.output_tokens.p50:,.0f} tokens, "
                f"{e.distinct_output_share:.0%} of responses distinct"
            ],
        )
    if hard:
        reasons.append(f"needs {', '.join(hard)}")
    fits = candidates(e, catalog, rules, kind) if kind != "keep-llm" else ()
    if kind != "keep-llm" and not fits:
        reasons.append(
            f"no catalog SLM of at least {min_params(kind, hard, rules):g}B both holds the p95 call "
            f"({context_needed(e):,} tokens) and has {', '.join(hard) or 'the strengths'}"
        )
        kind = "keep-llm"
    if kind != "keep-llm":
        reasons.append(f"fits: {', '.join(m.name for m in fits)} (p95 call {context_needed(e):,} tokens)")
    if kind == "finetuned-slm":
        reasons.append(_data_note(e, finetune_examples))
    reasons += _caveats(e)
    return Verdict(
        kind,
        confidence,
        tuple(reasons),
        candidates=tuple(m.name for m in fits) if kind != "keep-llm" else (),
        needs=hard,
    )
