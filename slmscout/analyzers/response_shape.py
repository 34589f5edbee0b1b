"""The shape of a response: JSON or not (and its keys), code or not, laid out as steps or not."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"^\s*```[\w-]*\s*\n(.*?)\n\s*```\s*$", re.S)
_BRACKETED = re.compile(r"^\s*\[(\w+)\]\s*(.*?)\s*\[/\1\]\s*$", re.S)  # e.g. [CONTENT] ... [/CONTENT]
_CODE_BLOCK = re.compile(r"```")
STEP_LINE = re.compile(
    r"^\s*(?:\d+[.)]\s|step\s*\d+|[-*]\s|thought\s*:|action\s*:|observation\s*:|plan\s*:|first,|then,|finally,)",
    re.I | re.M,
)
MULTI_STEP_LINES = 3  # a response with at least this many step-like lines is laid out as several steps


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
