"""Task signatures: what a call is asked to do, separated from the variable content it carries.

Templates are mined across calls, not written per framework. Each prompt turn is cut into pieces (lines; long
flattened lines into sentences; ``Label: value`` lines into the label and the value). Pieces that are not prose
(code, data, numbers), and everything inside fenced code blocks, are variable content and dropped. The rest are
masked (numbers, ids, paths, file names, URLs, base64 blobs) and lower-cased. A masked piece found in at least
``min_prompts`` *distinct* prompts is template: counting distinct prompts means a call replayed many times cannot
turn its own content into template. A call's signature is its template pieces in prompt order, plus the tools
it was offered and its caller (module, role) when the log names one.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from slmscout.traces.record import LLMCall

MIN_PROMPTS = 2  # a piece seen in at least this many distinct prompts is template
MAX_PIECE_CHARS = 200  # a longer line is a flattened prompt: cut it into sentences
MIN_PROSE_WORDS = 2
PROSE_WORD_SHARE = 0.6  # pieces with fewer plain words than this share are code or data
MAX_LABEL_CHARS = 40

_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+"), " <blob> "),
    (re.compile(r"[A-Za-z0-9+/=_-]{40,}"), " <blob> "),
    (re.compile(r"\b[a-z][a-z0-9+.-]*://\S+|\bwww\.\S+", re.I), " <url> "),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), " <id> "),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.I), " <id> "),
    (re.compile(r"(?<![\w/])(?:~|\.{1,2})?(?:/[\w.@-]+){2,}/?"), " <path> "),
    (
        re.compile(
            r"\b[\w-]+\.(?:py|js|ts|tsx|jsx|json|txt|md|csv|html|css|yaml|yml|toml|java|go|rs|cpp|c|h|sh|"
            r"png|jpg|jpeg|gif|pdf|ipynb|xml|sql)\b"
        ),
        " <file> ",
    ),
    (re.compile(r"\d+(?:[.,:]\d+)*"), " <n> "),
)
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"^[A-Za-z][A-Za-z'\u2019-]*[.,:;!?)]*$")
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+(?=[A-Z#*\-\[<(`\"'])")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LABELLED = re.compile(rf"^\s*([A-Za-z][\w '/()-]{{0,{MAX_LABEL_CHARS}}}):[ \t]+(\S.*)$")
_HAS_LETTER = re.compile(r"[a-z]")


def mask(piece: str) -> str:
    """A piece with its variable tokens masked and case folded, so instances of one template line compare equal."""
    for pattern, replacement in _MASKS:
        piece = pattern.sub(replacement, piece)
    return _SPACE.sub(" ", piece).strip().lower()


def is_prose(piece: str) -> bool:
    """Natural-language text rather than code or data: mostly plain words."""
    tokens = piece.split()
    words = sum(1 for token in tokens if _WORD.match(token))
    return words >= MIN_PROSE_WORDS and words >= PROSE_WORD_SHARE * len(tokens)


def _lines(text: str) -> list[tuple[str, bool]]:
    """The lines of a turn, each with whether it is the label of a ``Label: value`` line."""
    if text.count("\\n") > 2:  # a prompt recorded as a JSON string: its newlines are escaped
        text = text.replace("\\n", "\n").replace('\\"', '"')
    lines: list[tuple[str, bool]] = []
    for line in text.split("\n"):
        labelled = _LABELLED.match(line)
        if labelled:  # "Label: value": the label is template, the value is content
            lines += [(labelled.group(1) + ":", True), (labelled.group(2), False)]
        else:
            lines.append((line, False))
    return lines


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


@functools.lru_cache(maxsize=1 << 14)
def _turn_pieces(text: str) -> tuple[str, ...]:
    out: list[str] = []
    in_fence = False
    for line, is_label in _lines(text):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        line = line.strip()
        if in_fence or not line:
            continue
        out.extend(_line_pieces(line, is_label))
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


@dataclass(frozen=True, slots=True)
class TaskSignature:
    """What one call is asked to do: its template pieces in prompt order (empty when nothing recurs)."""

    pieces: tuple[str, ...]
    prompt: str = field(default="", compare=False)  # the prompt's fingerprint: equal for calls sent the same prompt

    @property
    def text(self) -> str:
        return "\n".join(self.pieces)

    @property
    def is_empty(self) -> bool:
        return not self.pieces


@dataclass(frozen=True)
class TemplateIndex:
    """How many distinct prompts each piece occurs in, over the whole set of calls."""

    prompt_counts: Counter[str]
    distinct_prompts: int

    def is_template(self, piece: str, min_prompts: int = MIN_PROMPTS) -> bool:
        return self.prompt_counts[piece] >= min_prompts


def piece_hash(piece: str) -> int:
    """A 64-bit identity of a masked piece: what the call store keeps per call instead of the text."""
    return int.from_bytes(hashlib.blake2b(piece.encode("utf-8", "replace"), digest_size=8).digest(), "big", signed=True)


@dataclass(frozen=True)
class CallPieces:
    """Every call's candidate pieces as hashes, laid out flat: call ``i`` holds ``hashes[offsets[i]:offsets[i+1]]``."""

    hashes: NDArray[np.int64]
    offsets: NDArray[np.int64]
    fingerprints: Sequence[bytes]  # per call: the prompt's identity

    @classmethod
    def of(cls, per_call: Sequence[Sequence[int]], fingerprints: Sequence[bytes]) -> CallPieces:
        lengths = np.fromiter((len(p) for p in per_call), dtype=np.int64, count=len(per_call))
        offsets = np.zeros(len(per_call) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.fromiter((h for p in per_call for h in p), dtype=np.int64, count=int(offsets[-1]))
        return cls(flat, offsets, fingerprints)


_ROW_KEYS = (
    (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB),
    (0xD6E8FEB86659FD93, 0xA0761D6478BD642F, 0xE7037ED1A0B428DB),
)


def _row_identities(values: NDArray[np.int64], offsets: NDArray[np.int64]) -> NDArray[np.uint64]:
    """A 128-bit identity (two 64-bit words) per row of a flat layout, from its values in order: rows with equal
    sequences get equal identities; different ones collide with negligible probability (2^-128 per pair)."""
    rows = len(offsets) - 1
    out = np.zeros((rows, 2), dtype=np.uint64)
    lengths = np.diff(offsets)
    filled = np.flatnonzero(lengths)
    if not len(values):
        return out
    position = (np.arange(len(values), dtype=np.int64) - np.repeat(offsets[:-1], lengths)).astype(np.uint64)
    with np.errstate(over="ignore"):
        for word, (k1, k2, k3) in enumerate(_ROW_KEYS):
            mixed = (values.view(np.uint64) ^ (position * np.uint64(k1))) * np.uint64(k2)
            mixed ^= mixed >> np.uint64(29)
            mixed *= np.uint64(k3)
            mixed ^= mixed >> np.uint64(32)
            sums = np.add.reduceat(mixed, offsets[:-1][filled])
            out[filled, word] = sums + lengths[filled].astype(np.uint64) * np.uint64(k1)
    return out


def mine_signatures(
    calls: CallPieces, piece_texts: Callable[[NDArray[np.int64]], dict[int, str]], min_prompts: int = MIN_PROMPTS
) -> tuple[list[TaskSignature], TemplateIndex]:
    """One signature per call, mined against the whole set of calls.

    Pieces are counted over distinct prompts (the first call of each prompt fingerprint). Only the texts of the
    pieces found to be template are asked for (``piece_texts``), so the work and memory of the mining grow with
    the hashes, not with the text of the prompts. Calls with the same template pieces share one signature object.
    """
    n = len(calls.fingerprints)
    fingerprints = np.frombuffer(b"".join(calls.fingerprints), dtype="V16") if n else np.zeros(0, dtype="V16")
    _, first = np.unique(fingerprints, return_index=True)
    lengths = np.diff(calls.offsets)
    row_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
    is_first = np.zeros(n, dtype=bool)
    is_first[first] = True
    pieces, counts = np.unique(calls.hashes[is_first[row_of]], return_counts=True)
    template = pieces[counts >= min_prompts]
    texts = piece_texts(template)
    in_template = np.isin(calls.hashes, template, assume_unique=False)
    kept_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of[in_template], minlength=n), out=kept_offsets[1:])
    kept = calls.hashes[in_template]
    identities = _row_identities(kept, kept_offsets)
    _, first_of_unit, unit_of = np.unique(identities, axis=0, return_index=True, return_inverse=True)
    text_of = np.empty(len(template), dtype=object)  # template is sorted: a piece's text sits at its rank
    text_of[:] = [texts[int(h)] for h in template]
    ranks = np.searchsorted(template, kept)
    shared = [TaskSignature(tuple(text_of[ranks[kept_offsets[i] : kept_offsets[i + 1]]])) for i in first_of_unit]
    signatures = [shared[u] for u in unit_of.ravel().tolist()]
    prompt_counts: Counter[str] = Counter(
        {texts[int(h)]: int(c) for h, c in zip(pieces, counts, strict=True) if c >= min_prompts}
    )
    return signatures, TemplateIndex(prompt_counts, len(first))


def build_signatures(
    calls: Sequence[LLMCall], min_prompts: int = MIN_PROMPTS
) -> tuple[list[TaskSignature], TemplateIndex]:
    """One signature per call (with its prompt fingerprint), mined against the whole set of calls."""
    found = [call_pieces(call) for call in calls]
    texts = {piece_hash(p): p for pieces_ in found for p in pieces_}
    fingerprints = [prompt_fingerprint(call) for call in calls]
    layout = CallPieces.of([[piece_hash(p) for p in f] for f in found], [bytes.fromhex(f) for f in fingerprints])
    shared, index = mine_signatures(layout, lambda wanted: {int(h): texts[int(h)] for h in wanted}, min_prompts)
    return [TaskSignature(s.pieces, f) for s, f in zip(shared, fingerprints, strict=True)], index
