"""The SLM catalog and the LLM price table: editable TOML data shipped with slmscout, replaceable by the user's.

``slmscout/data/slm_catalog.toml`` lists small models (parameters, context window, licence, strengths, memory,
hosted price, with sources and the date each was checked); ``--catalog FILE`` replaces it. ``llm_prices.toml``
prices the large models whose calls are being replaced; ``--prices FILE`` replaces it.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from slmscout.errors import UsageError

STRENGTHS = ("tool-calling", "code", "reasoning", "json", "multilingual", "long-context", "vision")


@dataclass(frozen=True, slots=True)
class SLM:
    name: str
    params_b: float
    context_tokens: int
    licence: str
    strengths: tuple[str, ...]
    memory_gb_fp16: float
    sources: tuple[str, ...]
    checked: str
    family: str = ""
    context_tokens_extended: int | None = None
    memory_gb_int4: float | None = None
    hosted_input_usd_per_mtok: float | None = None
    hosted_output_usd_per_mtok: float | None = None
    hosted_price_source: str = ""
    note: str = ""

    @property
    def priced(self) -> bool:
        return self.hosted_input_usd_per_mtok is not None and self.hosted_output_usd_per_mtok is not None


@dataclass(frozen=True, slots=True)
class LLMPrice:
    name: str
    match: tuple[str, ...]
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    source: str
    checked: str
    cached_input_usd_per_mtok: float | None = None
    context_tokens: int | None = None


def _load_toml(path: Path | None, packaged: str, what: str) -> tuple[dict[str, Any], str]:
    try:
        if path is None:
            text = resources.files("slmscout.data").joinpath(packaged).read_text(encoding="utf-8")
            where = f"built-in {packaged}"
        else:
            text = path.read_text(encoding="utf-8")
            where = str(path)
        return tomllib.loads(text), where
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path or packaged}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{what} {path or packaged} is not valid TOML: {exc}") from None


def _entries(data: dict[str, Any], where: str) -> list[dict[str, Any]]:
    entries = data.get("model")
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{where}: no [[model]] entries")
    return [e for e in entries if isinstance(e, dict)]


def _build(kind: type, entry: dict[str, Any], where: str, tuples: Sequence[str]) -> Any:
    known = {f.name for f in dataclasses.fields(kind)}
    values = {k: (tuple(v) if k in tuples and isinstance(v, list) else v) for k, v in entry.items() if k in known}
    try:
        return kind(**values)
    except TypeError as exc:
        name = entry.get("name", "?")
        raise UsageError(f"{where}: model {name!r} is missing a required field ({exc})") from None


def load_catalog(path: Path | None = None) -> tuple[SLM, ...]:
    """The SLM catalog: the built-in one, or the user's file in the same format."""
    data, where = _load_toml(path, "slm_catalog.toml", "SLM catalog")
    models = tuple(_build(SLM, e, where, ("strengths", "sources")) for e in _entries(data, where))
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise UsageError(f"{where}: model names are not unique")
    for model in models:
        unknown = set(model.strengths) - set(STRENGTHS)
        if unknown:
            raise UsageError(f"{where}: model {model.name!r} has unknown strengths {sorted(unknown)}")
        if model.context_tokens <= 0:
            raise UsageError(f"{where}: model {model.name!r} has no context window")
    return tuple(sorted(models, key=lambda m: (m.params_b, m.name)))


class PriceTable:
    """LLM prices by logged model name: glob patterns, the longest matching pattern wins."""

    def __init__(self, prices: Sequence[LLMPrice]) -> None:
        self.prices = tuple(prices)
        self._found: dict[str, LLMPrice | None] = {}

    def lookup(self, model: str | None) -> LLMPrice | None:
        if not model:
            return None
        if model not in self._found:  # calls name few models: each is matched once
            self._found[model] = self._match(model)
        return self._found[model]

    def _match(self, model: str) -> LLMPrice | None:
        name = model.lower()
        best: tuple[int, LLMPrice] | None = None
        for price in self.prices:
            for pattern in price.match:
                if fnmatch.fnmatchcase(name, pattern.lower()) and (best is None or len(pattern) > best[0]):
                    best = (len(pattern), price)
        return best[1] if best else None

    def by_name(self, name: str) -> LLMPrice | None:
        return next((p for p in self.prices if p.name == name), None) or self.lookup(name)


def load_prices(path: Path | None = None) -> PriceTable:
    data, where = _load_toml(path, "llm_prices.toml", "LLM price table")
    return PriceTable([_build(LLMPrice, e, where, ("match",)) for e in _entries(data, where)])
