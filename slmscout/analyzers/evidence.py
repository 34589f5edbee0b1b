"""Per-cluster evidence, each figure computed from the cluster's calls."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from slmscout.analyzers.analysis import ClusterEvidence, Distribution
from slmscout.analyzers.signature import TaskSignature
from slmscout.analyzers.tokens import CallTokens
from slmscout.traces.record import LLMCall
from slmscout.traces.timestamps import parse_timestamp

_FENCE = re.compile(r"^\s*```[\w-]*\s*\n(.*?)\n\s*```\s*$", re.S)
_BRACKETED = re.compile(r"^\s*\[(\w+)\]\s*(.*?)\s*\[/\1\]\s*$", re.S)  # e.g. [CONTENT] ... [/CONTENT]
_CODE_BLOCK = re.compile(r"```")
_STEP_LINE = re.compile(
    r"^\s*(?:\d+[.)]\s|step\s*\d+|[-*]\s|thought\s*:|action\s*:|observation\s*:|plan\s*:|first,|then,|finally,)",
    re.I | re.M,
)
MULTI_STEP_LINES = 3  # a response with at least this many step-like lines is laid out as several steps
SECONDS_PER_DAY = 86_400.0


def distribution(values: Sequence[float]) -> Distribution:
    if not values:
        return Distribution(0.0, 0.0, 0.0, 0.0)
    array = np.asarray(values, dtype=np.float64)
    return Distribution(
        p50=float(np.percentile(array, 50)),
        p95=float(np.percentile(array, 95)),
        max=float(array.max()),
        total=float(array.sum()),
    )


def parse_json_output(text: str) -> Any:
    """The JSON value of a response once a code fence or a ``[TAG]...[/TAG]`` wrapper is stripped, else None."""
    for pattern in (_FENCE, _BRACKETED):
        match = pattern.match(text)
        if match:
            text = match.group(match.lastindex or 1)
    text = text.strip()
    if not text or text[0] not in "[{":
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def json_schema(value: Any) -> str:
    """The shape of a JSON value: its top-level keys, or the keys of its items."""
    if isinstance(value, dict):
        return "{" + ",".join(sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(sorted({json_schema(v) for v in value[:20]})) + "]"
    return type(value).__name__


def entropy_bits(values: Sequence[str]) -> float:
    counts = Counter(values)
    total = len(values)
    return max(0.0, -sum(c / total * math.log2(c / total) for c in counts.values())) if total else 0.0


_CODE_HINT = re.compile(
    r"^\s*(?:import |from \S+ import |def |class |return |print\(|for .+:|if .+:|\w+\s*=\s*\S)", re.M
)


def _strings(value: Any, depth: int = 0) -> list[str]:
    if isinstance(value, str):
        return [value]
    if depth > 4:
        return []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v, depth + 1)]
    if isinstance(value, list):
        return [s for v in value[:50] for s in _strings(v, depth + 1)]
    return []


CODE_LINE_SHARE = 0.3  # text whose lines read as code at least this often is code


def _reads_as_code(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    hits = len(_CODE_HINT.findall(text))
    return hits >= 2 and hits >= CODE_LINE_SHARE * len(lines)


def holds_code(text: str, parsed: Any) -> bool:
    """A response holding code: a fenced block, or a JSON string value of several lines that read as code."""
    if _CODE_BLOCK.search(text) or _reads_as_code(text):
        return True
    return parsed is not None and any(s.count("\n") >= 2 and len(_CODE_HINT.findall(s)) >= 2 for s in _strings(parsed))


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _days(calls: Sequence[LLMCall]) -> float | None:
    times = [t for t in (parse_timestamp(c.started_at) for c in calls) if t is not None]
    if len(times) < 2:
        return None
    span = (max(times) - min(times)).total_seconds() / SECONDS_PER_DAY
    return span if span > 0 else None


def homogeneity(signatures: Sequence[TaskSignature], skeleton: Sequence[str]) -> float:
    """Mean share of the skeleton's pieces each call's signature carries."""
    if not skeleton or not signatures:
        return 0.0
    wanted = set(skeleton)
    return float(np.mean([len(wanted & set(s.pieces)) / len(wanted) for s in signatures]))


def cluster_evidence(
    calls: Sequence[LLMCall],
    tokens: Sequence[CallTokens],
    total_calls: int,
    signatures: Sequence[TaskSignature],
    skeleton: Sequence[str] = (),
    logging_days: float = 0.0,
) -> ClusterEvidence:
    texts = [c.response.strip() for c in calls if c.response and c.response.strip()]
    answered = sum(1 for c in calls if (c.response and c.response.strip()) or c.response_tool_calls)
    values = [parse_json_output(t) for t in texts]
    parsed = [v for v in values if v is not None]
    schemas = Counter(json_schema(v) for v in parsed)
    folded = [" ".join(t.lower().split()) for t in texts]
    fingerprints = Counter(s.prompt for s in signatures)
    costs = [c.metadata.get("cost_usd") for c in calls]
    days = logging_days or _days(calls)
    n = len(calls)
    return ClusterEvidence(
        calls=n,
        share=_share(n, total_calls),
        input_tokens=distribution([t.input for t in tokens]),
        output_tokens=distribution([t.output for t in tokens]),
        token_source=(lambda s: s.pop() if len(s) == 1 else "mixed")({t.source for t in tokens}),
        responses=answered,
        json_share=_share(len(parsed), len(texts)),
        schema_share=_share(schemas.most_common(1)[0][1], len(parsed)) if parsed else 0.0,
        code_share=_share(sum(1 for t, v in zip(texts, values, strict=True) if holds_code(t, v)), len(texts)),
        distinct_outputs=len(set(folded)),
        distinct_output_share=_share(len(set(folded)), len(folded)),
        output_entropy_bits=entropy_bits(folded),
        tool_call_share=_share(sum(1 for c in calls if c.response_tool_calls), n),
        tools_offered_share=_share(sum(1 for c in calls if c.tools), n),
        multi_step_share=_share(sum(1 for t in texts if len(_STEP_LINE.findall(t)) >= MULTI_STEP_LINES), len(texts)),
        prompt_turns_p50=float(np.percentile([len(c.messages) for c in calls], 50)) if calls else 0.0,
        prompt_turns_max=max((len(c.messages) for c in calls), default=0),
        history_share=_share(sum(1 for c in calls if any(m.role == "assistant" for m in c.messages)), n),
        error_share=_share(sum(1 for c in calls if c.status == "error"), n),
        repeat_share=_share(sum(count - 1 for count in fingerprints.values()), n),
        template_homogeneity=homogeneity(signatures, skeleton),
        cost_usd_reported=(
            float(sum(c for c in costs if isinstance(c, (int, float))))
            if costs and all(isinstance(c, (int, float)) for c in costs)
            else None
        ),
        days_logged=days,
        calls_per_day=n / days if days else None,
    )
