"""Clustering calls into task types, with the number of clusters found, deterministically.

Calls with identical signatures form one group before anything is compared, so the work grows with distinct
templates, not with calls. Two signatures are compared by

- their shared template pieces, each weighted by the square root of its inverse prompt frequency (cosine of
  binary vectors), and
- the meaning of their pieces: the IDF-weighted mean of the sentence embeddings of each piece, which lets
  reworded versions of one template meet,

mixed by ``embedding_weight``. Average-linkage agglomerative clustering cuts the tree at ``distance_threshold``:
no number of clusters is given. Calls with no recurring template piece (one-off prompts) are clustered by the
embedding of their prompt text under the same threshold; those that still match nothing stay clusters of one and
are counted as one-offs in the report. Cluster ids are assigned by size, then by signature text, so the same
calls give the same clusters and ids in any order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import csr_matrix, diags
from scipy.spatial.distance import squareform

from slmscout.analyzers.embed import Embedder
from slmscout.analyzers.signature import TaskSignature, TemplateIndex
from slmscout.traces.record import LLMCall

Matrix = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ClusteringParams:
    """Chosen by measurement on the clustering benchmark (benchmarks/clustering.py), not per corpus."""

    distance_threshold: float = 0.35  # cosine distance under which groups are one task (average linkage)
    embedding_weight: float = 0.5  # share of the piece-embedding similarity in the mix; 0 is lexical only
    one_off_prompt_chars: int = 2000  # prompt text embedded for calls with no recurring template


def piece_weight(piece: str, index: TemplateIndex) -> float:
    """Square root of the smoothed inverse prompt frequency: distinctive pieces count more, shared ones still count."""
    idf = math.log((1 + index.distinct_prompts) / (1 + index.prompt_counts[piece])) + 1e-3
    return math.sqrt(idf)


def _normalise_rows(matrix: Matrix) -> Matrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.asarray(matrix / norms, dtype=np.float64)


def lexical_similarity(signatures: Sequence[TaskSignature], index: TemplateIndex) -> Matrix:
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    for row, signature in enumerate(signatures):
        for piece in signature.pieces:
            rows.append(row)
            cols.append(vocabulary.setdefault(piece, len(vocabulary)))
            values.append(piece_weight(piece, index))
    matrix = csr_matrix((values, (rows, cols)), shape=(len(signatures), max(1, len(vocabulary))))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    normalised = diags(1.0 / norms) @ matrix
    return np.asarray((normalised @ normalised.T).toarray(), dtype=np.float64)


def semantic_similarity(signatures: Sequence[TaskSignature], index: TemplateIndex, embedder: Embedder) -> Matrix:
    """Cosine of IDF-weighted mean piece embeddings; each distinct piece is embedded once."""
    distinct = sorted({piece for signature in signatures for piece in signature.pieces})
    position = {piece: i for i, piece in enumerate(distinct)}
    vectors = embedder.embed(distinct).astype(np.float64)
    means = np.zeros((len(signatures), vectors.shape[1]), dtype=np.float64)
    for row, signature in enumerate(signatures):
        for piece in signature.pieces:
            means[row] += piece_weight(piece, index) * vectors[position[piece]]
    means = _normalise_rows(means)
    return np.asarray(means @ means.T, dtype=np.float64)


def cut_tree(similarity: Matrix, threshold: float) -> list[int]:
    """Average-linkage clusters of items whose similarity matrix is given, cut at a cosine distance."""
    if similarity.shape[0] == 1:
        return [0]
    distance = np.clip(1.0 - similarity, 0.0, 2.0)
    distance = (distance + distance.T) / 2.0
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    return [int(label) - 1 for label in fcluster(tree, t=threshold, criterion="distance")]


def _one_off_text(call: LLMCall, chars: int) -> str:
    return "\n".join(m.content for m in call.messages)[:chars] or "(empty prompt)"


@dataclass(frozen=True)
class Clustering:
    """Cluster ids per call, and the units compared to find them (for the map of calls)."""

    labels: list[int]  # per call; 0 is the largest cluster
    units: list[int]  # per call: the unit (distinct signature, or distinct one-off prompt) it was compared as
    unit_similarity: Matrix  # units x units: the similarity the clustering cut (0 between templated and one-offs)


def cluster_calls(
    calls: Sequence[LLMCall],
    signatures: Sequence[TaskSignature],
    index: TemplateIndex,
    embedder: Embedder,
    params: ClusteringParams,
) -> Clustering:
    raw: list[int] = [0] * len(calls)
    keys: list[str] = [""] * len(calls)
    units: list[int] = [0] * len(calls)
    templated = sorted({s.pieces for s in signatures if not s.is_empty})
    blocks: list[Matrix] = []
    next_label = 0
    if templated:
        groups = [TaskSignature(pieces) for pieces in templated]
        similarity = lexical_similarity(groups, index)
        if params.embedding_weight > 0:
            weight = params.embedding_weight
            similarity = (1 - weight) * similarity + weight * semantic_similarity(groups, index, embedder)
        blocks.append(similarity)
        group_labels = cut_tree(similarity, params.distance_threshold)
        label_of = dict(zip(templated, group_labels, strict=True))
        unit_of = {pieces: i for i, pieces in enumerate(templated)}
        for i, signature in enumerate(signatures):
            if not signature.is_empty:
                raw[i] = label_of[signature.pieces]
                keys[i] = signature.text
                units[i] = unit_of[signature.pieces]
        next_label = max(group_labels) + 1
    one_offs = [i for i, signature in enumerate(signatures) if signature.is_empty]
    if one_offs:
        texts = [_one_off_text(calls[i], params.one_off_prompt_chars) for i in one_offs]
        distinct = sorted(set(texts))
        vectors = _normalise_rows(embedder.embed(distinct).astype(np.float64))
        similarity = vectors @ vectors.T
        blocks.append(similarity)
        text_labels = dict(zip(distinct, cut_tree(similarity, params.distance_threshold), strict=True))
        text_unit = {text: len(templated) + i for i, text in enumerate(distinct)}
        for i, text in zip(one_offs, texts, strict=True):
            raw[i] = next_label + text_labels[text]
            keys[i] = "\uffff" + text  # after every templated key: one-offs never take a templated cluster's id
            units[i] = text_unit[text]
    return Clustering(canonical_ids(raw, keys), units, _block_diagonal(blocks))


def _block_diagonal(blocks: Sequence[Matrix]) -> Matrix:
    size = sum(b.shape[0] for b in blocks)
    out = np.zeros((size, size), dtype=np.float64)
    at = 0
    for block in blocks:
        n = block.shape[0]
        out[at : at + n, at : at + n] = block
        at += n
    return out


def canonical_ids(raw: Sequence[int], keys: Sequence[str]) -> list[int]:
    """Renumber clusters by size (largest first), ties broken by their smallest member key."""
    sizes: dict[int, int] = {}
    first_key: dict[int, str] = {}
    for label, key in zip(raw, keys, strict=True):
        sizes[label] = sizes.get(label, 0) + 1
        first_key[label] = min(first_key.get(label, key), key)
    order = sorted(sizes, key=lambda label: (-sizes[label], first_key[label]))
    mapping = {label: new for new, label in enumerate(order)}
    return [mapping[label] for label in raw]
