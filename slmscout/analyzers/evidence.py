"""Per-cluster evidence, each figure computed from the cluster's calls."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import numpy as np

from slmscout.analyzers.analysis import ClusterEvidence, Distribution
from slmscout.analyzers.tokens import CallTokens
from slmscout.traces.record import LLMCall

_FENCE = re.compile(r"^\s*```[\w-]*\s*\n(.*?)\n\s*```\s*$", re.S)
_BRACKETED = re.compile(r"^\s*\[(\w+)\]\s*(.*?)\s*\[/\1\]\s*$", re.S)  # e.g. [CONTENT] ... [/CONTENT]


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


def is_json_output(text: str) -> bool:
    """Whether a response is a JSON value once a code fence or a ``[TAG]...[/TAG]`` wrapper is stripped."""
    for pattern in (_FENCE, _BRACKETED):
        match = pattern.match(text)
        if match:
            text = match.group(match.lastindex or 1)
    text = text.strip()
    if not text or text[0] not in "[{":
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _token_source(tokens: Sequence[CallTokens]) -> str:
    sources = {t.source for t in tokens}
    return sources.pop() if len(sources) == 1 else "mixed"


def cluster_evidence(calls: Sequence[LLMCall], tokens: Sequence[CallTokens], total_calls: int) -> ClusterEvidence:
    responses = [c.response.strip() for c in calls if c.response and c.response.strip()]
    answered = sum(1 for c in calls if (c.response and c.response.strip()) or c.response_tool_calls)
    return ClusterEvidence(
        calls=len(calls),
        share=len(calls) / total_calls if total_calls else 0.0,
        input_tokens=distribution([t.input for t in tokens]),
        output_tokens=distribution([t.output for t in tokens]),
        token_source=_token_source(tokens),
        responses=answered,
        json_share=sum(map(is_json_output, responses)) / len(responses) if responses else 0.0,
        distinct_output_share=len(set(responses)) / len(responses) if responses else 0.0,
        tool_call_share=sum(1 for c in calls if c.response_tool_calls) / len(calls) if calls else 0.0,
        prompt_turns_p50=float(np.percentile([len(c.messages) for c in calls], 50)) if calls else 0.0,
        error_share=sum(1 for c in calls if c.status == "error") / len(calls) if calls else 0.0,
    )
