"""Task signatures: what a call is asked to do, separated from the variable content it carries.

Templates are mined across calls rather than written per framework: each prompt line is normalised (numbers,
ids, paths, URLs, code masked); a normalised line that recurs across calls is template, a line seen in one call
only is variable content. A call's signature is its template lines in prompt order, with the role they sit in.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from slmscout.traces.record import LLMCall

MAX_LINE_CHARS = 160
MAX_SIGNATURE_CHARS = 1200

_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"```.*?(```|\Z)", re.S), "<code>"),
    (re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I), "<url>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{10,}\b", re.I), "<id>"),
    (re.compile(r"(?:~|\.{1,2})?(?:/[\w.@-]+){2,}/?"), "<path>"),
    (
        re.compile(r"\b[\w-]+\.(?:py|js|ts|tsx|jsx|java|go|rs|c|h|cpp|md|txt|json|yaml|yml|toml|html|css|csv)\b"),
        "<file>",
    ),
    (re.compile(r"\d+(?:[.,:]\d+)*"), "<n>"),
    (re.compile(r"[ \t]+"), " "),
)


def normalise_line(line: str) -> str:
    """A prompt line with its variable tokens masked, so that instances of one template line compare equal."""
    for pattern, replacement in _MASKS:
        line = pattern.sub(replacement, line)
    return line.strip()[:MAX_LINE_CHARS]


def _turn_lines(call: LLMCall) -> list[tuple[str, str]]:
    """(role, normalised line) for every non-empty line of the prompt, code blocks masked whole first."""
    lines: list[tuple[str, str]] = []
    for message in call.messages:
        text = _MASKS[0][0].sub("<code>", message.content)
        for raw in text.splitlines():
            line = normalise_line(raw)
            if line and any(ch.isalpha() for ch in line):
                lines.append((message.role, line))
    if call.tools:
        lines.append(("tools", "tools: " + ", ".join(sorted(t.name for t in call.tools))))
    return lines


@dataclass(frozen=True, slots=True)
class TaskSignature:
    """What one call is asked to do: its template lines (text for embedding) and a shape key for grouping."""

    text: str
    template_lines: tuple[str, ...]
    roles: str  # the role sequence of the prompt, e.g. "system>user"


def build_signatures(calls: Sequence[LLMCall], min_calls: int = 2) -> list[TaskSignature]:
    """One signature per call, mined against the whole set: lines recurring in ``min_calls`` calls are template."""
    per_call = [_turn_lines(call) for call in calls]
    frequency: Counter[tuple[str, str]] = Counter()
    for lines in per_call:
        frequency.update(set(lines))
    signatures = []
    for call, lines in zip(calls, per_call, strict=True):
        seen: set[tuple[str, str]] = set()
        template: list[str] = []
        for item in lines:
            if item in seen or frequency[item] < min_calls:
                continue
            seen.add(item)
            template.append(f"{item[0]}: {item[1]}")
        if not template:  # a one-off prompt: its own first lines stand for its task
            template = [f"{role}: {line}" for role, line in lines[:5]]
        roles = ">".join(m.role for m in call.messages) or "(no prompt)"
        text = "\n".join(template)[:MAX_SIGNATURE_CHARS]
        signatures.append(TaskSignature(text=text or roles, template_lines=tuple(template), roles=roles))
    return signatures
