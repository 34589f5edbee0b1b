"""Cutting prompts into pieces: the per-call half of finding a call's task signature (a map step, run wherever
calls are digested).

Each prompt turn is cut into pieces (lines; long flattened lines into sentences; ``Label: value`` lines into the label
and the value). Pieces that are not prose (code, data, numbers), and everything inside fenced code blocks, are
variable content and dropped. The rest are masked (numbers, ids, paths, file names, URLs, base64 blobs) and
lower-cased, so that instances of one template line compare equal. Which pieces are template is decided across all
calls afterwards (``signature.mine_signatures``). Agents send the same lines, paragraphs and turns again and again:
each distinct one is worked out once per process.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable

from slmscout.traces.record import LLMCall

MAX_PIECE_CHARS = 200  # a longer line is a flattened prompt: cut it into sentences
MIN_PROSE_WORDS = 2
PROSE_WORD_SHARE = 0.6  # pieces with fewer plain words than this share are code or data
MAX_LABEL_CHARS = 40

_DIGIT = re.compile(r"\d")
BLOB_CHARS = 40  # the shortest run the second mask replaces
_EXTENSIONS = (
    r"py|js|ts|tsx|jsx|json|txt|md|csv|html|css|yaml|yml|toml|java|go|rs|cpp|c|h|sh|png|jpg|jpeg|gif|pdf|ipynb|xml|sql"
)
_FILE_EXTENSION = re.compile(rf"\.(?:{_EXTENSIONS})\b")
# Each mask with a test of what a piece must hold for it to match, given the piece and whether the original held a
# digit; a piece that fails it is left as it is, without running the pattern. A test never turns away a piece the
# pattern could match (it asks for a part of every match), and the replacements add only letters, spaces and angle
# brackets, so what the original piece lacks, no masked form of it holds either.
_MASKS: tuple[tuple[re.Pattern[str], str, Callable[[str, bool], bool]], ...] = (
    (re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+"), " <blob> ", lambda piece, _: ";base64," in piece),
    (re.compile(r"[A-Za-z0-9+/=_-]{40,}"), " <blob> ", lambda piece, _: len(piece) >= BLOB_CHARS),
    (
        re.compile(r"\b[a-z][a-z0-9+.-]*://\S+|\bwww\.\S+", re.I),
        " <url> ",
        lambda piece, _: "://" in piece or "www." in piece.lower(),
    ),
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        " <id> ",
        lambda piece, _: "-" in piece,
    ),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.I), " <id> ", lambda _, digit: digit),
    (re.compile(r"(?<![\w/])(?:~|\.{1,2})?(?:/[\w.@-]+){2,}/?"), " <path> ", lambda piece, _: "/" in piece),
    (
        re.compile(rf"\b[\w-]+\.(?:{_EXTENSIONS})\b"),
        " <file> ",
        lambda piece, _: "." in piece and _FILE_EXTENSION.search(piece) is not None,
    ),
    (re.compile(r"\d+(?:[.,:]\d+)*"), " <n> ", lambda _, digit: digit),
)
# A plain word: a whole white-space-delimited token of letters (with apostrophes and hyphens), then punctuation. Found
# in one pass over a piece (``\s`` and ``str.split`` agree on what white space is), not token by token.
_WORDS = re.compile(r"(?<!\S)[A-Za-z][A-Za-z'\u2019-]*[.,:;!?)]*(?!\S)")
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+(?=[A-Z#*\-\[<(`\"'])")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LABELLED = re.compile(rf"^\s*([A-Za-z][\w '/()-]{{0,{MAX_LABEL_CHARS}}}):[ \t]+(\S.*)$")
_HAS_LETTER = re.compile(r"[a-z]")


def mask(piece: str) -> str:
    """A piece with its variable tokens masked and case folded, so instances of one template line compare equal."""
    digit = _DIGIT.search(piece) is not None
    for pattern, replacement, may_match in _MASKS:
        if may_match(piece, digit):
            piece = pattern.sub(replacement, piece)
    return " ".join(piece.split()).lower()  # runs of white space as one space, none at the ends


def is_prose(piece: str) -> bool:
    """Natural-language text rather than code or data: mostly plain words."""
    words = len(_WORDS.findall(piece))
    return words >= MIN_PROSE_WORDS and words >= PROSE_WORD_SHARE * len(piece.split())


@functools.lru_cache(maxsize=1 << 18)
def _line_pieces(line: str, is_label: bool) -> tuple[str, ...]:
    """The masked prose pieces of one line outside code blocks (template lines recur: each is worked out once)."""
    if is_label:
        parts = [line]
    elif len(line) > MAX_PIECE_CHARS:
        parts = [part for part in _SENTENCE.split(line) if is_prose(part)]
    elif is_prose(line):
        parts = [line]
    else:
        return ()
    return tuple(masked for masked in map(mask, parts) if _HAS_LETTER.search(masked))


@functools.lru_cache(maxsize=1 << 18)
def _line_parts(line: str) -> tuple[tuple[str, bool] | None, ...]:
    """The parts of one line of a turn (a ``Label: value`` line is the label, then the value), each stripped and with
    whether it is a label; ``None`` for a code fence, which opens or closes a code block. Blank parts are left out."""
    labelled = _LABELLED.match(line)
    parts = [(labelled.group(1) + ":", True), (labelled.group(2), False)] if labelled else [(line, False)]
    steps: list[tuple[str, bool] | None] = []
    for part, is_label in parts:
        if _FENCE.match(part):
            steps.append(None)
        elif part := part.strip():
            steps.append((part, is_label))
    return tuple(steps)


@functools.lru_cache(maxsize=1 << 17)
def _paragraph_pieces(paragraph: str, in_fence: bool) -> tuple[tuple[str, ...], bool]:
    """The pieces of a paragraph (lines between blank lines) entered inside or outside a code block, and whether it
    ends inside one. Paragraphs recur across calls even when whole turns do not: each is worked out once."""
    out: list[str] = []
    for line in paragraph.split("\n"):
        for part in _line_parts(line):
            if part is None:
                in_fence = not in_fence
            elif not in_fence:  # lines of code blocks are content: never cut into pieces
                out.extend(_line_pieces(*part))
    return tuple(out), in_fence


@functools.lru_cache(maxsize=1 << 12)
def _turn_pieces(text: str) -> tuple[str, ...]:
    if text.count("\\n") > 2:  # a prompt recorded as a JSON string: its newlines are escaped
        text = text.replace("\\n", "\n").replace('\\"', '"')
    out: list[str] = []
    in_fence = False
    for paragraph in text.split("\n\n"):  # the lines dropped between paragraphs are blank: they add nothing
        found, in_fence = _paragraph_pieces(paragraph, in_fence)
        out.extend(found)
    return tuple(out)


def pieces(text: str) -> list[str]:
    """The masked prose pieces of one prompt turn, in order; code blocks and non-prose lines left out.

    Labels of ``Label: value`` lines are kept even when they are a single word (``Thought:``, ``Context:``):
    they mark the template's slots. Turns and lines are worked out once each, however often they recur.
    """
    return list(_turn_pieces(text))


def call_pieces(call: LLMCall) -> tuple[str, ...]:
    """Every candidate template piece of a call, in prompt order, each once."""
    found: list[str] = []
    for message in call.messages:
        found.extend(pieces(message.content))
    found.extend(f"tool: {tool.name.lower()}" for tool in sorted(call.tools, key=lambda t: t.name))
    if call.caller.module:
        found.append(f"caller module: {call.caller.module.lower()}")
    if call.caller.role:
        found.append(f"caller role: {call.caller.role.lower()}")
    return tuple(dict.fromkeys(found))


def prompt_fingerprint(call: LLMCall) -> str:
    """Identity of a prompt's full text: calls replayed with the same prompt share it."""
    digest = hashlib.blake2b(digest_size=16)
    for message in call.messages:
        digest.update(message.role.encode("utf-8", "replace") + b"\0")
        digest.update(message.content.encode("utf-8", "replace") + b"\1")
    for tool in call.tools:
        digest.update(tool.name.encode("utf-8", "replace") + b"\2")
    return digest.hexdigest()


@functools.lru_cache(maxsize=1 << 18)
def piece_hash(piece: str) -> int:
    """A 64-bit identity of a masked piece: what the call store keeps per call instead of the text."""
    return int.from_bytes(hashlib.blake2b(piece.encode("utf-8", "replace"), digest_size=8).digest(), "big", signed=True)
