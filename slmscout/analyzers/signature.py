"""Task signatures: what a call is asked to do, separated from the variable content it carries.

Templates are mined across calls, not written per framework. Every call's prompt is cut into masked pieces
(``pieces``, per call, where calls are digested); here, across all calls, a piece found in at least ``min_prompts``
*distinct* prompts is template: counting distinct prompts means a call replayed many times cannot turn its own
content into template. A call's signature is its template pieces in prompt order, plus the tools it was offered and
its caller (module, role) when the log names one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from slmscout.analyzers.pieces import call_pieces, piece_hash, prompt_fingerprint
from slmscout.traces.record import LLMCall

MIN_PROMPTS = 2  # a piece seen in at least this many distinct prompts is template


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


def distinct_signatures(signatures: Sequence[TaskSignature]) -> tuple[list[TaskSignature], NDArray[np.int64]]:
    """The distinct signatures (by their pieces), in order of first appearance, and for each call the index of its
    own among them. Calls share signature objects (``mine_signatures`` makes one per distinct signature): the
    objects are told apart by identity in numpy, and only each distinct object is compared by its pieces."""
    # the sequence holds every object alive while this runs: no identity is reused meanwhile
    identities = np.fromiter(map(id, signatures), dtype=np.uint64, count=len(signatures))
    _, first, object_of = np.unique(identities, return_index=True, return_inverse=True)
    by_appearance = np.argsort(first, kind="stable")
    of_pieces: dict[tuple[str, ...], int] = {}
    distinct: list[TaskSignature] = []
    kind_of_object = np.empty(len(first), dtype=np.int64)
    for position, row in zip(by_appearance.tolist(), first[by_appearance].tolist(), strict=True):
        signature = signatures[row]
        kind = of_pieces.setdefault(signature.pieces, len(distinct))
        if kind == len(distinct):
            distinct.append(signature)
        kind_of_object[position] = kind
    return distinct, kind_of_object[object_of.ravel()]


@dataclass(frozen=True)
class TemplateIndex:
    """How many distinct prompts each piece occurs in, over the whole set of calls."""

    prompt_counts: Counter[str]
    distinct_prompts: int

    def is_template(self, piece: str, min_prompts: int = MIN_PROMPTS) -> bool:
        return self.prompt_counts[piece] >= min_prompts


@dataclass(frozen=True)
class CallPieces:
    """Every call's candidate pieces as hashes, laid out flat: call ``i`` holds ``hashes[offsets[i]:offsets[i+1]]``."""

    hashes: NDArray[np.int64]
    offsets: NDArray[np.int64]
    fingerprints: NDArray[np.void]  # per call: the prompt's identity (16 bytes)

    @classmethod
    def of(cls, per_call: Sequence[Sequence[int]], fingerprints: Sequence[bytes]) -> CallPieces:
        lengths = np.fromiter((len(p) for p in per_call), dtype=np.int64, count=len(per_call))
        offsets = np.zeros(len(per_call) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.fromiter((h for p in per_call for h in p), dtype=np.int64, count=int(offsets[-1]))
        return cls(flat, offsets, np.array(list(fingerprints), dtype="V16"))


_ROW_KEYS = (
    (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB),
    (0xD6E8FEB86659FD93, 0xA0761D6478BD642F, 0xE7037ED1A0B428DB),
)


def members_of(values: NDArray[np.int64], sorted_set: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which ``values`` are in ``sorted_set`` (sorted, unique): a binary search each, the set sorted only once
    (``np.isin`` sorts its second argument again on every call)."""
    if not len(sorted_set):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return np.asarray(sorted_set[at] == values, dtype=bool)


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


PieceTexts = Callable[[NDArray[np.int64], NDArray[np.int64]], list[str]]


def mine_signatures(
    calls: CallPieces, piece_texts: PieceTexts, min_prompts: int = MIN_PROMPTS
) -> tuple[list[TaskSignature], TemplateIndex]:
    """One signature per call, mined against the whole set of calls.

    Pieces are counted over distinct prompts (the first call of each prompt fingerprint). Only the texts of the
    pieces found to be template are asked for, each at one place it stands (``piece_texts(calls, positions)``: the
    piece at ``positions[i]`` among the pieces of call ``calls[i]``), so the work and memory of the mining grow with
    the hashes, not with the text of the prompts. Calls with the same template pieces share one signature object.
    """
    n = len(calls.fingerprints)
    _, first = np.unique(calls.fingerprints, return_index=True)
    lengths = np.diff(calls.offsets)
    row_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
    is_first = np.zeros(n, dtype=bool)
    is_first[first] = True
    pieces, counts = np.unique(calls.hashes[is_first[row_of]], return_counts=True)
    template = pieces[counts >= min_prompts]
    # each piece's rank among the template pieces (a binary search each; sorting tens of millions of hashes with
    # their positions would cost more), and whether it is one
    rank = np.minimum(np.searchsorted(template, calls.hashes), max(len(template) - 1, 0))
    in_template = template[rank] == calls.hashes if len(template) else np.zeros(len(calls.hashes), dtype=bool)
    where = np.flatnonzero(in_template)
    ranks = rank[where]
    at = np.full(len(template), len(calls.hashes), dtype=np.int64)
    np.minimum.at(at, ranks, where)  # the first place each template piece stands
    texts = dict(zip(template.tolist(), piece_texts(row_of[at], at - calls.offsets[row_of[at]]), strict=True))
    kept_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of[in_template], minlength=n), out=kept_offsets[1:])
    identities = _row_identities(calls.hashes[where], kept_offsets)
    _, first_of_unit, unit_of = np.unique(identities, axis=0, return_index=True, return_inverse=True)
    text_of = np.empty(len(template), dtype=object)  # template is sorted: a piece's text sits at its rank
    text_of[:] = [texts[int(h)] for h in template]
    # the pieces of each distinct signature, read off one flat list of texts (not one numpy slice per signature)
    unit_starts, unit_ends = kept_offsets[first_of_unit], kept_offsets[first_of_unit + 1]
    unit_offsets = np.zeros(len(first_of_unit) + 1, dtype=np.int64)
    np.cumsum(unit_ends - unit_starts, out=unit_offsets[1:])
    gather = np.repeat(unit_starts - unit_offsets[:-1], unit_ends - unit_starts) + np.arange(unit_offsets[-1])
    flat: list[str] = text_of[ranks[gather]].tolist()
    bounds = unit_offsets.tolist()
    shared = [TaskSignature(tuple(flat[bounds[u] : bounds[u + 1]])) for u in range(len(first_of_unit))]
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
    fingerprints = [prompt_fingerprint(call) for call in calls]
    layout = CallPieces.of([[piece_hash(p) for p in f] for f in found], [bytes.fromhex(f) for f in fingerprints])

    def texts(rows: NDArray[np.int64], positions: NDArray[np.int64]) -> list[str]:
        return [found[row][position] for row, position in zip(rows.tolist(), positions.tolist(), strict=True)]

    shared, index = mine_signatures(layout, texts, min_prompts)
    return [TaskSignature(s.pieces, f) for s, f in zip(shared, fingerprints, strict=True)], index
