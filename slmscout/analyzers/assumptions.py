"""The assumptions behind the economics, each one a named, printed, overridable figure.

Defaults come from the figures in the project's domain notes (sources in ``SOURCES``). A run resolves them in a
fixed order: ``--assume key=value`` over the ``[assumptions]`` table of a config file (``--config``, or
``./slmscout.toml`` when present) over these defaults. Verdict thresholds (``VerdictRules``) resolve the same way
from the ``[rules]`` table and ``--assume rules.key=value``.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from slmscout.errors import UsageError


@dataclass(frozen=True, slots=True)
class Assumptions:
    # How often one attempt is good enough, per executor. An SLM call that fails is retried up to max_attempts
    # times, then falls back to the LLM (the critique: an SLM may need 3-4 attempts where an LLM succeeds ~90%).
    success_rate_llm: float = 0.95
    success_rate_prompted_slm: float = 0.75
    success_rate_finetuned_slm: float = 0.90
    max_slm_attempts: int = 3
    # Orchestration: a router or validator in front of every replaced call.
    orchestration_tokens_per_call: int = 150
    orchestration_usd_per_call: float = 0.0
    # Where the SLM runs: "hosted" (priced per token by a provider) or "local" (your hardware, paid in energy).
    slm_deployment: str = "hosted"
    electricity_usd_per_kwh: float = 0.15
    # Energy per generated token; a prompt token costs prefill_energy_share of that.
    llm_joules_per_token: float = 3.5
    slm_joules_per_token: float = 0.12
    prefill_energy_share: float = 0.1
    # Infrastructure efficiency: datacenter PUE and utilisation, and consumer hardware's.
    datacenter_pue: float = 1.1
    datacenter_utilisation: float = 0.9
    local_utilisation: float = 0.075
    local_power_conversion: float = 0.85
    # The LLM price used when a call's model is not in the price table (or not logged).
    default_llm_model: str = "gpt-4o"
    # The paper's rule of thumb for fine-tuning data (S2): 10k-100k examples per task.
    finetune_examples: int = 10_000
    # The period the logs cover, in days, when their timestamps cannot tell (0: take it from the timestamps).
    logging_days: float = 0.0


SOURCES: dict[str, str] = {
    "success_rate_llm": "critique of arXiv 2506.02153 (philippdubach.com, 2025-07): an LLM succeeds ~90% of the time",
    "max_slm_attempts": "same critique: an SLM may need 3-4 attempts",
    "llm_joules_per_token": "LLaMA-65B ~3-4 J per decoded token on A100/V100 (arXiv 2310.03003)",
    "slm_joules_per_token": "Llama-3.1-8B on an H100 at batch 64 ~0.12 J per output token (ML.ENERGY leaderboard)",
    "datacenter_pue": "datacenter PUE typically 1.05-1.40; critique: ~1.1",
    "datacenter_utilisation": "critique: >90% GPU utilisation in datacenters",
    "local_utilisation": "critique: consumer hardware at 5-10% utilisation (no primary source found)",
    "local_power_conversion": "critique: 80-85% power conversion on consumer hardware (no primary source found)",
    "finetune_examples": "arXiv 2506.02153 S2: 10k-100k examples as a rule of thumb",
}

T = TypeVar("T")


def _coerce(kind: Any, raw: Any, key: str) -> Any:
    try:
        if kind in (int, "int"):
            return int(raw)
        if kind in (float, "float"):
            return float(raw)
        return str(raw)
    except (TypeError, ValueError):
        raise UsageError(
            f"--assume {key}: {raw!r} is not a valid {kind if isinstance(kind, str) else kind.__name__}"
        ) from None


def apply(base: T, values: Mapping[str, Any], where: str) -> T:
    """``base`` with the named fields replaced; unknown names are an error that lists the known ones."""
    known = {f.name: f.type for f in fields(base)}  # type: ignore[arg-type]
    changes = {}
    for key, raw in values.items():
        if key not in known:
            raise UsageError(f"{where}: unknown setting {key!r}; known: {', '.join(sorted(known))}")
        changes[key] = _coerce(known[key], raw, key)
    return dataclasses.replace(base, **changes)  # type: ignore[type-var]


def read_config(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise UsageError(f"cannot read config {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config {path} is not valid TOML: {exc}") from None


def parse_overrides(pairs: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """``key=value`` pairs split into assumptions and ``rules.``-prefixed verdict thresholds."""
    assumptions: dict[str, str] = {}
    rules: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--assume takes key=value, got {pair!r}")
        if key.startswith("rules."):
            rules[key.removeprefix("rules.")] = value.strip()
        else:
            assumptions[key.removeprefix("assumptions.")] = value.strip()
    return assumptions, rules


def resolve(
    defaults_assumptions: T, defaults_rules: Any, config: Path | None, overrides: Sequence[str]
) -> tuple[T, Any]:
    """Defaults, then the config file's tables, then ``--assume`` pairs."""
    assumptions, rules = defaults_assumptions, defaults_rules
    if config is not None:
        table = read_config(config)
        assumptions = apply(assumptions, table.get("assumptions", {}), f"config {config} [assumptions]")
        rules = apply(rules, table.get("rules", {}), f"config {config} [rules]")
    assumption_pairs, rule_pairs = parse_overrides(overrides)
    assumptions = apply(assumptions, assumption_pairs, "--assume")
    rules = apply(rules, rule_pairs, "--assume rules.")
    return assumptions, rules


def validate(assumptions: Assumptions) -> None:
    for name in ("success_rate_llm", "success_rate_prompted_slm", "success_rate_finetuned_slm"):
        value = getattr(assumptions, name)
        if not 0 < value <= 1:
            raise UsageError(f"{name} must be in (0, 1], got {value}")
    if assumptions.max_slm_attempts < 1:
        raise UsageError("max_slm_attempts must be at least 1")
    if assumptions.slm_deployment not in ("hosted", "local"):
        raise UsageError(f"slm_deployment must be 'hosted' or 'local', got {assumptions.slm_deployment!r}")
    for name in ("datacenter_utilisation", "local_utilisation", "local_power_conversion"):
        if not 0 < getattr(assumptions, name) <= 1:
            raise UsageError(f"{name} must be in (0, 1]")
