"""Economics per cluster: what its calls cost now, and what they would cost on the recommended SLM, counting
the retries an SLM needs, the LLM fallback when it still fails, orchestration overhead and energy.

Per replaced call, with success rate ``p`` for one SLM attempt and at most ``A`` attempts::

    expected SLM attempts  = 1 + (1-p) + ... + (1-p)^(A-1)
    LLM fallback share     = (1-p)^A           (then the LLM is called, and succeeds with success_rate_llm)
    SLM cost               = attempts * (SLM tokens + orchestration tokens) + orchestration $ + fallback * LLM cost
    energy per call        = (output tokens + prefill_energy_share * input tokens) * J/token * infrastructure factor

The infrastructure factor is the datacenter PUE for hosted models and the LLM, and for local hardware
PUE-free but scaled by datacenter_utilisation / local_utilisation / local_power_conversion (the critique's point
that idle consumer hardware spends more energy per token than a busy datacenter).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from slmscout.analyzers.analysis import Economics, Verdict
from slmscout.analyzers.assumptions import Assumptions
from slmscout.analyzers.catalog import SLM, LLMPrice, PriceTable
from slmscout.analyzers.columns import CallColumns, Index

JOULES_PER_KWH = 3.6e6
PER_MILLION = 1e-6


def attempts_and_fallback(success: float, max_attempts: int) -> tuple[float, float]:
    failure = 1.0 - success
    return sum(failure**k for k in range(max_attempts)), failure**max_attempts


def llm_price(model: str | None, prices: PriceTable, a: Assumptions) -> LLMPrice | None:
    return prices.lookup(model) or prices.by_name(a.default_llm_model)


def _token_cost(tokens_in: float, tokens_out: float, usd_in: float, usd_out: float) -> float:
    return (tokens_in * usd_in + tokens_out * usd_out) * PER_MILLION


def _joules(tokens_in: float, tokens_out: float, per_token: float, a: Assumptions) -> float:
    return (tokens_out + a.prefill_energy_share * tokens_in) * per_token


def slm_energy_factor(a: Assumptions) -> float:
    if a.slm_deployment == "local":
        return a.datacenter_utilisation / a.local_utilisation / a.local_power_conversion
    return a.datacenter_pue


def cluster_economics(
    columns: CallColumns,
    idx: Index,
    verdict: Verdict,
    catalog: Mapping[str, SLM],
    prices: PriceTable,
    a: Assumptions,
) -> tuple[Economics, list[tuple[float, float]]]:
    """The economics of the cluster whose calls are the rows ``idx`` of ``columns``, and each call's (current $,
    $ after replacement) in the order of ``idx``."""
    current = 0.0
    reported = priced = 0
    models: set[str] = set()
    llm_costs: list[float] = []
    current_joules = 0.0
    by_model: dict[int, LLMPrice | None] = {}
    codes = columns.model.codes[idx].tolist()
    tokens_in = columns.input_tokens[idx].tolist()
    tokens_out = columns.output_tokens[idx].tolist()
    logged_costs = columns.cost_usd[idx].tolist()
    for code, call_in, call_out, logged in zip(codes, tokens_in, tokens_out, logged_costs, strict=True):
        if code not in by_model:
            by_model[code] = llm_price(columns.model.names[code] if code >= 0 else None, prices, a)
        price = by_model[code]
        priced_cost = (
            _token_cost(call_in, call_out, price.input_usd_per_mtok, price.output_usd_per_mtok) if price else 0.0
        )
        if not math.isnan(logged):
            cost = logged
            reported += 1
        else:
            cost = priced_cost
            priced += 1
            if price:
                models.add(price.name)
        llm_costs.append(cost)
        current += cost
        current_joules += _joules(call_in, call_out, a.llm_joules_per_token, a) * a.datacenter_pue
    source = "reported" if not priced else "priced" if not reported else "mixed"
    current_kwh = current_joules / JOULES_PER_KWH
    slm = catalog.get(verdict.candidates[0]) if verdict.kind != "keep-llm" and verdict.candidates else None
    if slm is None:
        kept = Economics(current, source, tuple(sorted(models)), None, current, 0.0, 0.0, current_kwh, current_kwh)
        return kept, [(cost, cost) for cost in llm_costs]
    success = a.success_rate_prompted_slm if verdict.kind == "prompted-slm" else a.success_rate_finetuned_slm
    attempts, fallback = attempts_and_fallback(success, a.max_slm_attempts)
    factor = slm_energy_factor(a)
    slm_usd = 0.0
    slm_joules = 0.0
    per_call: list[tuple[float, float]] = []
    for call_in, call_out, llm_cost in zip(tokens_in, tokens_out, llm_costs, strict=True):
        slm_in = call_in + a.orchestration_tokens_per_call
        joules = _joules(slm_in, call_out, a.slm_joules_per_token, a) * factor
        if a.slm_deployment == "hosted" and slm.priced:
            per_attempt = _token_cost(
                slm_in,
                call_out,
                slm.hosted_input_usd_per_mtok or 0.0,
                slm.hosted_output_usd_per_mtok or 0.0,
            )
        else:  # local hardware (or no hosted price known): paid in electricity
            per_attempt = joules / JOULES_PER_KWH * a.electricity_usd_per_kwh
        llm_joules = _joules(call_in, call_out, a.llm_joules_per_token, a) * a.datacenter_pue
        after = attempts * per_attempt + a.orchestration_usd_per_call + fallback * llm_cost / a.success_rate_llm
        per_call.append((llm_cost, after))
        slm_usd += after
        slm_joules += attempts * joules + fallback * llm_joules / a.success_rate_llm
    economics = Economics(
        current_usd=current,
        current_source=source,
        current_models=tuple(sorted(models)),
        slm=slm.name,
        slm_usd=slm_usd,
        expected_slm_attempts=attempts,
        llm_fallback_share=fallback,
        current_kwh=current_kwh,
        slm_kwh=slm_joules / JOULES_PER_KWH,
        slm_cost_source="hosted price" if a.slm_deployment == "hosted" and slm.priced else "energy",
    )
    return economics, per_call
