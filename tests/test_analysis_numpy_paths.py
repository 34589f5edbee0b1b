"""The analysis's per-call work done in numpy (needed at a million calls) gives exactly what the plain Python it
replaced gives: each is checked against that plain version, on random input."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from slmscout.analyzers.cluster import FeatureBlock, canonical_ids
from slmscout.analyzers.pipeline import EXAMPLES_PER_CLUSTER, representatives
from slmscout.analyzers.signature import CallPieces, TaskSignature, distinct_signatures, mine_signatures


def _signatures(rnd: random.Random, calls: int) -> list[TaskSignature]:
    """Calls sharing signature objects, as mined ones do, plus equal signatures held by separate objects."""
    shapes = [tuple(f"piece {rnd.randrange(6)}" for _ in range(rnd.randrange(4))) for _ in range(8)]
    shared = [TaskSignature(shape) for shape in shapes]
    return [rnd.choice(shared) if rnd.random() < 0.7 else TaskSignature(rnd.choice(shapes)) for _ in range(calls)]


@pytest.mark.parametrize("seed", range(5))
def test_distinct_signatures_are_told_apart_by_their_pieces(seed: int) -> None:
    signatures = _signatures(random.Random(seed), 300)
    distinct, kinds = distinct_signatures(signatures)
    expected = list(dict.fromkeys(s.pieces for s in signatures))  # order of first appearance
    assert [s.pieces for s in distinct] == expected
    assert [distinct[k].pieces for k in kinds.tolist()] == [s.pieces for s in signatures]


def _reference_representatives(
    indices: Sequence[int], signatures: Sequence[TaskSignature], call_ids: Sequence[str]
) -> tuple[str, ...]:
    """The plain version: one call per most common signature, then the rest by id."""
    counts = Counter(signatures[i].pieces for i in indices)
    ranked = sorted(indices, key=lambda i: (-counts[signatures[i].pieces], call_ids[i]))
    chosen: list[int] = []
    seen: set[tuple[str, ...]] = set()
    for i in ranked:
        if signatures[i].pieces not in seen:
            seen.add(signatures[i].pieces)
            chosen.append(i)
        if len(chosen) == EXAMPLES_PER_CLUSTER:
            break
    taken = set(chosen)
    chosen += [i for i in ranked[: 2 * EXAMPLES_PER_CLUSTER] if i not in taken]
    return tuple(call_ids[i] for i in chosen[:EXAMPLES_PER_CLUSTER])


@pytest.mark.parametrize("seed", range(5))
def test_representatives_are_those_of_the_plain_ranking(seed: int) -> None:
    rnd = random.Random(seed)
    signatures = _signatures(rnd, 400)
    call_ids = sorted(f"call-{rnd.randrange(300):04d}" for _ in signatures)  # canonical order; some ids repeat
    _, kinds = distinct_signatures(signatures)
    for _ in range(50):
        rows = sorted(rnd.sample(range(len(signatures)), rnd.choice([1, 2, 3, 5, 20, 150])))
        got = representatives(np.asarray(rows, dtype=np.int64), kinds, call_ids)
        assert got == _reference_representatives(rows, signatures, call_ids)


def _reference_canonical_ids(raw: Sequence[int], keys: Sequence[int]) -> list[int]:
    sizes: dict[int, int] = {}
    first_key: dict[int, int] = {}
    for label, key in zip(raw, keys, strict=True):
        sizes[label] = sizes.get(label, 0) + 1
        first_key[label] = min(first_key.get(label, key), key)
    order = sorted(sizes, key=lambda label: (-sizes[label], first_key[label]))
    mapping = {label: new for new, label in enumerate(order)}
    return [mapping[label] for label in raw]


@pytest.mark.parametrize("seed", range(5))
def test_cluster_ids_are_those_of_the_plain_renumbering(seed: int) -> None:
    rnd = random.Random(seed)
    units = list(range(500))
    rnd.shuffle(units)
    unit_label = {u: rnd.randrange(40) * 3 for u in units}  # labels with gaps, units as keys
    calls = [rnd.choice(units) for _ in range(2000)]
    raw = [unit_label[u] for u in calls]
    assert canonical_ids(raw, calls) == _reference_canonical_ids(raw, calls)
    assert canonical_ids([], []) == []


def _block(seed: int, units: int = 300, pieces: int = 40, weight: float = 0.5) -> FeatureBlock:
    rng = np.random.default_rng(seed)
    lexical = csr_matrix(rng.random((units, pieces)) * (rng.random((units, pieces)) < 0.15))
    parts = (csr_matrix(lexical, dtype=np.float32), rng.normal(size=(pieces, 16)).astype(np.float32))
    return FeatureBlock(lexical, None, weight, parts)


@pytest.mark.parametrize("weight", [0.0, 0.5, 1.0])
def test_similarity_to_cluster_means_is_the_plain_mix(weight: float) -> None:
    block = _block(seed=3, weight=weight)
    rows = list(range(0, block.size, 2))
    centres = block.means(rows, [r % 7 for r in range(len(rows))], 7)
    chunk = list(range(1, block.size, 3))
    # the plain formula, with its temporaries
    expected = np.zeros((len(chunk), centres.size), dtype=np.float64)
    assert block.lexical is not None and centres.lexical is not None
    lexical = block.lexical[chunk] @ centres.lexical.T
    expected += (1.0 - weight) * np.asarray(lexical.toarray(), dtype=np.float64)
    mine, theirs = block.semantic_rows(chunk), centres.semantic_rows()
    assert mine is not None and theirs is not None
    expected += weight * (mine @ theirs.T)
    for _ in range(2):  # the second time with the transposed means already converted
        assert np.array_equal(block.similarity_to(chunk, centres), expected)
    semantic_only = FeatureBlock(None, theirs, 1.0)
    assert np.array_equal(semantic_only.similarity_to([0, 3], semantic_only), np.asarray(theirs[[0, 3]] @ theirs.T))


def _reference_signatures(
    per_call: Sequence[Sequence[int]], fingerprints: Sequence[bytes], min_prompts: int
) -> list[tuple[str, ...]]:
    """Pieces counted over distinct prompts (each prompt's first call); a call's signature is its template pieces."""
    first: dict[bytes, int] = {}
    for i, fingerprint in enumerate(fingerprints):
        first.setdefault(fingerprint, i)
    counts = Counter(piece for i in first.values() for piece in set(per_call[i]))
    return [tuple(f"text {p}" for p in pieces if counts[p] >= min_prompts) for pieces in per_call]


@pytest.mark.parametrize("seed", range(6))
def test_mined_signatures_are_those_of_the_plain_count(seed: int) -> None:
    rnd = random.Random(seed)
    prompts = [
        list(
            dict.fromkeys(rnd.randrange(-(2**63), 2**63) if rnd.random() < 0.3 else rnd.randrange(30) for _ in range(8))
        )
        for _ in range(60)
    ]
    chosen = [rnd.randrange(len(prompts)) for _ in range(400)]  # prompts sent again and again
    per_call = [prompts[c] for c in chosen]
    fingerprints = [c.to_bytes(16, "big") for c in chosen]

    def texts(rows: np.ndarray, positions: np.ndarray) -> list[str]:
        return [f"text {per_call[r][p]}" for r, p in zip(rows.tolist(), positions.tolist(), strict=True)]

    for min_prompts in (2, 5, 1000):
        signatures, index = mine_signatures(CallPieces.of(per_call, fingerprints), texts, min_prompts)
        assert [s.pieces for s in signatures] == _reference_signatures(per_call, fingerprints, min_prompts)
        assert index.distinct_prompts == len(set(chosen))
