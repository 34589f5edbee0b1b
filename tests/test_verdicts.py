"""Verdicts, SLM matching and cost arithmetic on clusters built with known properties."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from slmscout.analyzers.analysis import ClusterEvidence, Verdict
from slmscout.analyzers.assumptions import Assumptions, parse_overrides, resolve
from slmscout.analyzers.catalog import SLM, LLMPrice, PriceTable, load_catalog, load_prices
from slmscout.analyzers.columns import CallColumns
from slmscout.analyzers.economics import attempts_and_fallback, cluster_economics
from slmscout.analyzers.evidence import distribution
from slmscout.analyzers.facts import CallFacts, call_facts
from slmscout.analyzers.verdict import VerdictRules, judge
from slmscout.errors import UsageError
from slmscout.traces.record import LLMCall, Message, SourceRef, Usage

TINY = SLM(
    "Tiny-1B",
    1.0,
    8_192,
    "Apache-2.0",
    ("json",),
    2.0,
    ("https://example.com/tiny",),
    "2026-11-25",
    hosted_input_usd_per_mtok=0.02,
    hosted_output_usd_per_mtok=0.04,
)
TOOLS = SLM(
    "Tools-8B",
    8.0,
    32_768,
    "Apache-2.0",
    ("tool-calling", "json"),
    16.0,
    ("https://example.com/tools",),
    "2026-11-25",
    hosted_input_usd_per_mtok=0.10,
    hosted_output_usd_per_mtok=0.20,
)
LONG = SLM(
    "Long-3B",
    3.0,
    131_072,
    "Llama-3.2",
    ("long-context", "code", "reasoning"),
    6.4,
    ("https://example.com/long",),
    "2026-11-25",
    hosted_input_usd_per_mtok=0.05,
    hosted_output_usd_per_mtok=0.10,
)
CATALOG = (TINY, LONG, TOOLS)
PRICES = PriceTable(
    [
        LLMPrice("gpt-4o", ("gpt-4o", "gpt-4o-2024-*"), 2.5, 10.0, "https://example.com/p", "2026-11-25"),
        LLMPrice("gpt-4o-mini", ("gpt-4o-mini", "gpt-4o-mini-*"), 0.15, 0.6, "https://example.com/p", "2026-11-25"),
    ]
)


def evidence(**overrides: object) -> ClusterEvidence:
    values: dict[str, object] = dict(
        calls=200,
        share=0.1,
        input_tokens=distribution([500] * 200),
        output_tokens=distribution([120] * 200),
        token_source="reported",
        responses=200,
        json_share=0.0,
        schema_share=0.0,
        code_share=0.0,
        distinct_outputs=200,
        distinct_output_share=1.0,
        output_entropy_bits=7.6,
        tool_call_share=0.0,
        tools_offered_share=0.0,
        multi_step_share=0.0,
        prompt_turns_p50=2.0,
        prompt_turns_max=2,
        history_share=0.0,
        error_share=0.0,
        repeat_share=0.0,
        template_homogeneity=0.9,
        cost_usd_reported=None,
        days_logged=10.0,
        calls_per_day=20.0,
    )
    values.update(overrides)
    return ClusterEvidence(**values)  # type: ignore[arg-type]


def test_closed_set_classifier_goes_to_a_prompted_slm() -> None:
    e = evidence(
        output_tokens=distribution([2] * 200), distinct_outputs=3, distinct_output_share=0.015, output_entropy_bits=1.58
    )
    verdict = judge(e, CATALOG, VerdictRules())
    assert verdict.kind == "prompted-slm" and verdict.confidence == "high"
    assert verdict.reasons[0] == "closed set of answers: 3 distinct of 200 responses (1.6 bits)"
    assert verdict.candidates == ("Long-3B", "Tools-8B")  # smallest first of those of at least 3B (zero-shot work)
    smaller = judge(e, CATALOG, VerdictRules(min_params_prompted_b=1.0))
    assert smaller.candidates == ("Tiny-1B", "Long-3B", "Tools-8B")


def test_long_free_form_generation_stays_on_the_llm() -> None:
    e = evidence(output_tokens=distribution([2_400] * 200))
    verdict = judge(e, CATALOG, VerdictRules())
    assert verdict.kind == "keep-llm" and verdict.candidates == ()
    assert verdict.reasons[0] == "long generation: median output 2,400 tokens (over 1,000)"


def test_prompts_beyond_32k_only_get_models_whose_context_holds_them() -> None:
    e = evidence(input_tokens=distribution([40_000] * 200), json_share=0.95, schema_share=0.9)
    verdict = judge(e, CATALOG, VerdictRules())
    assert verdict.kind == "finetuned-slm"
    assert verdict.candidates == ("Long-3B",)  # Tiny (8k) and Tools (32k) cannot hold a 40,120-token call
    assert "fits: Long-3B (p95 call 40,120 tokens)" in verdict.reasons
    beyond = judge(evidence(input_tokens=distribution([200_000] * 200)), CATALOG, VerdictRules())
    assert beyond.kind == "keep-llm"
    assert beyond.reasons[0].endswith("exceed every catalog SLM's context (widest: Long-3B, 131,072)")


def test_heavy_tool_use_needs_a_tool_calling_model() -> None:
    e = evidence(tool_call_share=0.9, tools_offered_share=1.0, output_tokens=distribution([300] * 200))
    verdict = judge(e, CATALOG, VerdictRules())
    assert verdict.kind == "finetuned-slm"
    assert verdict.needs == ("tool-calling",)
    assert verdict.candidates == ("Tools-8B",)
    assert "needs tool-calling" in verdict.reasons
    assert (
        "200 logged examples (~20/day): 10,000 in ~490 more days of logging, or distil from the LLM" in verdict.reasons
    )


def test_no_fitting_model_with_the_needed_strength_keeps_the_llm() -> None:
    e = evidence(tool_call_share=0.9, input_tokens=distribution([60_000] * 200))
    verdict = judge(e, CATALOG, VerdictRules())
    assert verdict.kind == "keep-llm"
    assert verdict.reasons[-1] == (
        "no catalog SLM of at least 1.5B both holds the p95 call (60,120 tokens) and has tool-calling"
    )


def test_thresholds_are_parameters() -> None:
    e = evidence(output_tokens=distribution([90] * 200))
    assert judge(e, CATALOG, VerdictRules()).kind == "finetuned-slm"
    assert judge(e, CATALOG, VerdictRules(finetune_output_tokens=50)).kind == "keep-llm"
    assert judge(e, CATALOG, VerdictRules(short_output_tokens=100)).kind == "prompted-slm"


def test_confidence_follows_size_and_template_homogeneity() -> None:
    structured = {"json_share": 1.0, "schema_share": 1.0}
    assert judge(evidence(calls=5, **structured), CATALOG, VerdictRules()).confidence == "low"
    assert judge(evidence(calls=20, **structured), CATALOG, VerdictRules()).confidence == "medium"
    assert judge(evidence(calls=80, **structured), CATALOG, VerdictRules()).confidence == "high"
    assert (
        judge(evidence(calls=80, template_homogeneity=0.3, **structured), CATALOG, VerdictRules()).confidence
        == "medium"
    )


def _columns(calls: list[CallFacts]) -> tuple[CallColumns, NDArray[np.int64]]:
    """Facts as the columns economics reads, and the rows of all of them."""
    return CallColumns.of_facts(calls), np.arange(len(calls), dtype=np.int64)


def call(i: int, model: str | None = "gpt-4o-2024-08-06", cost: float | None = None) -> CallFacts:
    return call_facts(_call(i, model, cost))


def _call(i: int, model: str | None, cost: float | None) -> LLMCall:
    return LLMCall(
        call_id=f"c{i}",
        source=SourceRef("x.jsonl", str(i), "chat-messages"),
        messages=(Message("user", "hi"),),
        response="ok",
        model=model,
        usage=Usage(1_000, 100),
        metadata={"cost_usd": cost} if cost is not None else {},
    )


def test_cost_arithmetic_for_a_replaced_cluster() -> None:
    calls = [call(i) for i in range(10)]
    verdict = Verdict("prompted-slm", "high", ("r",), candidates=("Tiny-1B",))
    a = Assumptions(
        success_rate_prompted_slm=0.5, max_slm_attempts=2, orchestration_tokens_per_call=0, success_rate_llm=1.0
    )
    economics, per_call = cluster_economics(*_columns(calls), verdict, {m.name: m for m in CATALOG}, PRICES, a)
    llm = (1_000 * 2.5 + 100 * 10.0) / 1e6  # $0.0035 per call on gpt-4o
    slm = (1_000 * 0.02 + 100 * 0.04) / 1e6  # $0.000024 per attempt on Tiny-1B
    attempts, fallback = 1.5, 0.25  # 1 + 0.5 attempts; a quarter of calls fail twice and go back to the LLM
    assert economics.current_usd == pytest.approx(10 * llm)
    assert economics.current_source == "priced" and economics.current_models == ("gpt-4o",)
    assert economics.expected_slm_attempts == attempts and economics.llm_fallback_share == fallback
    assert economics.slm_usd == pytest.approx(10 * (attempts * slm + fallback * llm))
    assert per_call[0] == pytest.approx((llm, attempts * slm + fallback * llm))
    assert economics.savings_usd == pytest.approx(economics.current_usd - economics.slm_usd)


def test_reported_cost_wins_and_kept_clusters_cost_the_same() -> None:
    calls = [call(i, cost=0.01) for i in range(4)]
    kept = Verdict("keep-llm", "high", ("r",))
    economics, per_call = cluster_economics(*_columns(calls), kept, {}, PRICES, Assumptions())
    assert economics.current_source == "reported" and economics.current_usd == pytest.approx(0.04)
    assert economics.slm is None and economics.slm_usd == economics.current_usd
    assert per_call == [(0.01, 0.01)] * 4


def test_energy_reflects_infrastructure_efficiency() -> None:
    calls = [call(0)]
    verdict = Verdict("finetuned-slm", "high", ("r",), candidates=("Tiny-1B",))
    hosted, _ = cluster_economics(
        *_columns(calls),
        verdict,
        {TINY.name: TINY},
        PRICES,
        Assumptions(success_rate_finetuned_slm=1.0, orchestration_tokens_per_call=0),
    )
    local, _ = cluster_economics(
        *_columns(calls),
        verdict,
        {TINY.name: TINY},
        PRICES,
        Assumptions(success_rate_finetuned_slm=1.0, orchestration_tokens_per_call=0, slm_deployment="local"),
    )
    joules = (100 + 0.1 * 1_000) * 0.12
    assert hosted.slm_kwh == pytest.approx(joules * 1.1 / 3.6e6)  # datacenter PUE
    assert local.slm_kwh == pytest.approx(joules * (0.9 / 0.075 / 0.85) / 3.6e6)  # idle consumer hardware
    assert hosted.current_kwh == pytest.approx((100 + 100) * 3.5 * 1.1 / 3.6e6)


def test_attempts_and_fallback() -> None:
    assert attempts_and_fallback(1.0, 3) == (1.0, 0.0)
    attempts, fallback = attempts_and_fallback(0.8, 3)
    assert attempts == pytest.approx(1 + 0.2 + 0.04) and fallback == pytest.approx(0.008)


def test_price_table_longest_match_wins() -> None:
    assert PRICES.lookup("gpt-4o-mini-2024-07-18").name == "gpt-4o-mini"  # type: ignore[union-attr]
    assert PRICES.lookup("GPT-4o-2024-08-06").name == "gpt-4o"  # type: ignore[union-attr]
    assert PRICES.lookup("claude-x") is None and PRICES.lookup(None) is None


def test_assumptions_resolve_defaults_config_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "slmscout.toml"
    config.write_text(
        '[assumptions]\nsuccess_rate_prompted_slm = 0.6\nslm_deployment = "local"\n[rules]\nshort_output_tokens = 32\n'
    )
    a, rules = resolve(
        Assumptions(), VerdictRules(), config, ["success_rate_prompted_slm=0.7", "rules.max_candidates=1"]
    )
    assert a.success_rate_prompted_slm == 0.7 and a.slm_deployment == "local"
    assert rules.short_output_tokens == 32 and rules.max_candidates == 1
    assert dataclasses.replace(a, slm_deployment="hosted") != a
    with pytest.raises(UsageError, match="unknown setting 'nope'"):
        resolve(Assumptions(), VerdictRules(), None, ["nope=1"])
    with pytest.raises(UsageError, match="is not a valid float"):
        resolve(Assumptions(), VerdictRules(), None, ["llm_joules_per_token=lots"])
    with pytest.raises(UsageError, match="takes key=value"):
        parse_overrides(["oops"])


def test_shipped_catalog_and_prices_are_complete() -> None:
    catalog = load_catalog()
    names = {m.name for m in catalog}
    assert len(catalog) >= 20 and all(m.params_b < 10.5 for m in catalog)
    assert all(m.sources and m.checked and m.context_tokens > 0 and m.licence for m in catalog)
    for family in ("Phi", "SmolLM2", "Qwen2.5", "Llama-3.2", "Gemma", "Nemotron", "xLAM", "DeepSeek-R1-Distill"):
        assert any(family.lower() in n.lower() for n in names), family
    prices = load_prices()
    for logged in ("gpt-4o-mini-2024-07-18", "gpt-4o", "claude-3-5-haiku-20241022", "gemini-2.0-flash"):
        assert prices.lookup(logged) is not None, logged
    assert prices.lookup("gpt-4o-mini-2024-07-18").name != prices.lookup("gpt-4o").name  # type: ignore[union-attr]


def test_user_catalog_replaces_the_built_in_one(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'schema_version = 1\n[[model]]\nname = "Mine-2B"\nparams_b = 2.0\ncontext_tokens = 4096\n'
        'licence = "MIT"\nstrengths = ["json"]\nmemory_gb_fp16 = 4.0\nsources = ["https://example.com"]\n'
        'checked = "2026-11-25"\n'
    )
    assert [m.name for m in load_catalog(path)] == ["Mine-2B"]
    path.write_text('[[model]]\nname = "Broken"\n')
    with pytest.raises(UsageError, match="missing a required field"):
        load_catalog(path)
