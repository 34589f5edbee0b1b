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

import functools
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix, diags

from slmscout.analyzers.embed import Embedder
from slmscout.analyzers.signature import TaskSignature, TemplateIndex, distinct_signatures

Matrix = NDArray[np.float64]
Vectors = NDArray[np.float32]  # embeddings: single precision halves the memory of the largest arrays
DEFAULT_DISTANCE_THRESHOLD = 0.35  # chosen for all-MiniLM-L6-v2 on benchmarks/clustering.py
ASSIGN_CHUNK = 2048
MAX_ROUNDS = 3  # rounds of clustering the units no cluster took (cut_units)


@dataclass(frozen=True, slots=True)
class ClusteringParams:
    """Chosen by measurement on the clustering benchmark (benchmarks/clustering.py), not per corpus."""

    # cosine distance under which groups are one task (average linkage); None: the embedding model's own
    # (its folder's slmscout.json), else DEFAULT_DISTANCE_THRESHOLD
    distance_threshold: float | None = None
    embedding_weight: float = 0.5  # share of the piece-embedding similarity in the mix; 0 is lexical only
    one_off_prompt_chars: int = 2000  # prompt text embedded for calls with no recurring template
    max_linkage_units: int = 4000  # units clustered exactly; the rest join the nearest cluster (memory O(cap^2))
    max_rounds: int = MAX_ROUNDS  # rounds of clustering the units no cluster took; then each is a cluster of its own


def piece_weight(piece: str, index: TemplateIndex) -> float:
    """Square root of the smoothed inverse prompt frequency: distinctive pieces count more, shared ones still count."""
    idf = math.log((1 + index.distinct_prompts) / (1 + index.prompt_counts[piece])) + 1e-3
    return math.sqrt(idf)


def _piece_matrix(signatures: Sequence[TaskSignature], index: TemplateIndex) -> tuple[csr_matrix, list[str]]:
    """Signatures x distinct pieces, each entry the piece's ``piece_weight``; and the pieces, in column order."""

    def every_piece() -> Iterator[str]:  # C-level iteration: millions of pieces at a million calls
        return chain.from_iterable(map(attrgetter("pieces"), signatures))

    distinct = sorted(set(every_piece()))
    column = {piece: i for i, piece in enumerate(distinct)}
    weights = np.array([piece_weight(piece, index) for piece in distinct], dtype=np.float64)
    lengths = np.fromiter(map(len, map(attrgetter("pieces"), signatures)), dtype=np.int64, count=len(signatures))
    cols = np.fromiter(map(column.__getitem__, every_piece()), dtype=np.int64, count=int(lengths.sum()))
    rows = np.repeat(np.arange(len(signatures), dtype=np.int64), lengths)
    shape = (len(signatures), max(1, len(distinct)))
    return csr_matrix((weights[cols] if len(cols) else np.zeros(0), (rows, cols)), shape=shape), distinct


def _normalise_sparse(matrix: csr_matrix) -> csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return csr_matrix(diags(1.0 / norms) @ matrix)


def _unit_rows(matrix: NDArray[np.floating]) -> Vectors:
    vectors = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.asarray(vectors / norms, dtype=np.float32)


def signature_features(
    signatures: Sequence[TaskSignature], index: TemplateIndex, embedder: Embedder, semantic_weight: float
) -> FeatureBlock:
    """One row per signature. Lexical: its pieces, each weighted by ``piece_weight``, L2-normalised (sparse).
    Semantic (when weighted): the same weighted mean of its pieces' embeddings, L2-normalised; each distinct piece
    is embedded once, and a signature's vector is worked out when it is compared (memory holds the pieces'
    vectors, not one per signature)."""
    weighted, distinct = _piece_matrix(signatures, index)
    parts = None
    if semantic_weight > 0:
        parts = (csr_matrix(weighted, dtype=np.float32), np.asarray(embedder.embed(distinct), dtype=np.float32))
    return FeatureBlock(_normalise_sparse(weighted), None, semantic_weight, parts)


@dataclass(frozen=True)
class FeatureBlock:
    """Units compared on the same features: similarity = (1 - w) * lexical cosine + w * semantic cosine.

    The semantic vectors are held (``semantic``), or worked out for the rows compared from each unit's weights over
    pieces and the pieces' vectors (``semantic_parts``)."""

    lexical: csr_matrix | None
    semantic: Vectors | None
    semantic_weight: float
    semantic_parts: tuple[csr_matrix, Vectors] | None = None

    @property
    def size(self) -> int:
        if self.lexical is not None:
            return int(self.lexical.shape[0])
        if self.semantic is not None:
            return int(self.semantic.shape[0])
        return 0 if self.semantic_parts is None else int(self.semantic_parts[0].shape[0])

    def semantic_rows(self, rows: Sequence[int] | None = None) -> Vectors | None:
        """Unit-length semantic vectors of ``rows`` (all rows when None)."""
        pick = slice(None) if rows is None else list(rows)
        if self.semantic is not None:
            return self.semantic[pick]
        if self.semantic_parts is not None:
            weights, vectors = self.semantic_parts
            return _unit_rows(weights[pick] @ vectors)
        return None

    def rows(self, rows: Sequence[int]) -> FeatureBlock:
        pick = list(rows)
        parts = self.semantic_parts
        return FeatureBlock(
            self.lexical[pick] if self.lexical is not None else None,
            self.semantic[pick] if self.semantic is not None else None,
            self.semantic_weight,
            (parts[0][pick], parts[1]) if parts is not None and self.semantic is None else None,
        )

    def similarity(self, a: Sequence[int], b: Sequence[int]) -> Matrix:
        return self.similarity_to(a, self.rows(b))

    @functools.cached_property
    def lexical_transposed(self) -> csr_matrix | None:
        """The lexical features transposed, in row-major form: what a product with them needs, converted once for
        every chunk compared with these rows (cluster means are compared with chunk after chunk of units)."""
        return None if self.lexical is None else csr_matrix(self.lexical.T)

    def similarity_to(self, a: Sequence[int], other: FeatureBlock) -> Matrix:
        """Similarity of this block's rows ``a`` to every row of ``other`` (features of the same kind)."""
        # in place, without temporaries: the same values as (1 - w) * lexical + w * semantic
        mine, theirs = self.semantic_rows(a), other.semantic_rows()
        semantic = None
        if mine is not None and theirs is not None:
            semantic = mine @ theirs.T
            semantic *= np.float32(self.semantic_weight)  # single precision, as the weight times the product was
        if self.lexical is not None and other.lexical is not None:
            out = np.asarray((self.lexical[list(a)] @ other.lexical_transposed).toarray(), dtype=np.float64)
            out *= 1.0 - self.semantic_weight
            if semantic is not None:
                out += semantic
            return out
        if semantic is not None:
            return np.asarray(semantic, dtype=np.float64)  # nothing to add it to (0 + x is x)
        return np.zeros((len(a), other.size), dtype=np.float64)

    def means(self, rows: Sequence[int], labels: Sequence[int], groups: int) -> FeatureBlock:
        """One row per group: the mean of the features of its ``rows`` (``labels[i]`` is the group of ``rows[i]``).
        The similarity of a unit to a group's mean is its mean similarity to the group's members (the similarity
        is linear in each side), which is average linkage's criterion."""
        membership = csr_matrix(
            (np.ones(len(rows)), (np.asarray(labels, dtype=np.int64), np.arange(len(rows)))), shape=(groups, len(rows))
        )
        membership = csr_matrix(diags(1.0 / np.maximum(np.asarray(membership.sum(axis=1)).ravel(), 1.0)) @ membership)
        picked = self.rows(rows)
        semantic = picked.semantic_rows()
        return FeatureBlock(
            csr_matrix(membership @ picked.lexical) if picked.lexical is not None else None,
            np.asarray(membership @ semantic, dtype=np.float32) if semantic is not None else None,
            self.semantic_weight,
        )


def cut_tree(similarity: Matrix, threshold: float) -> list[int]:
    """Average-linkage clusters of items whose similarity matrix is given, cut at a cosine distance."""
    # imported here, like scikit-learn in naming.py: a large run imports them while its traces are digested
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    if similarity.shape[0] == 1:
        return [0]
    distance = np.subtract(1.0, similarity, out=similarity)  # the similarity matrix is the caller's to give up
    np.clip(distance, 0.0, 2.0, out=distance)
    distance += distance.T  # numpy buffers the overlap: the same as (distance + distance.T)
    distance *= 0.5
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    return [int(label) - 1 for label in fcluster(tree, t=threshold, criterion="distance")]


def cut_units(
    block: FeatureBlock, counts: Sequence[int], threshold: float, cap: int, rounds: int = MAX_ROUNDS
) -> list[int]:
    """Average-linkage clusters of a block's units, in bounded memory and time.

    Up to ``cap`` units are clustered exactly. Beyond that, the ``cap`` units that stand for the most calls are
    clustered, and every other unit joins the cluster it is closest to on average (average linkage's own
    criterion) when within ``threshold``; the units that join none are clustered the same way among themselves, for
    at most ``rounds`` rounds in all, after which each unit left is a cluster of its own. Memory is O(cap^2) and
    time O(rounds x units x cap), whatever the number of units.
    """
    n = block.size
    if n <= cap:
        return cut_tree(block.similarity(range(n), range(n)), threshold)
    if rounds <= 0:
        return list(range(n))
    order = sorted(range(n), key=lambda i: (-counts[i], i))
    representatives = sorted(order[:cap])
    rest = sorted(order[cap:])
    rep_labels = cut_tree(block.similarity(representatives, representatives), threshold)
    clusters = max(rep_labels) + 1
    centres = block.means(representatives, rep_labels, clusters)
    labels = [-1] * n
    for unit, label in zip(representatives, rep_labels, strict=True):
        labels[unit] = label
    unmatched: list[int] = []
    for start in range(0, len(rest), ASSIGN_CHUNK):
        chunk = rest[start : start + ASSIGN_CHUNK]
        mean = block.similarity_to(chunk, centres)
        best = mean.argmax(axis=1)
        for unit, cluster, score in zip(chunk, best, mean[np.arange(len(chunk)), best], strict=True):
            if 1.0 - score <= threshold:
                labels[unit] = int(cluster)
            else:
                unmatched.append(unit)
    if unmatched:
        sub = cut_units(block.rows(unmatched), [counts[u] for u in unmatched], threshold, cap, rounds - 1)
        for unit, label in zip(unmatched, sub, strict=True):
            labels[unit] = clusters + label
    return labels


@dataclass(frozen=True)
class Clustering:
    """Cluster ids per call, and the units compared to find them (for the map of calls)."""

    labels: list[int]  # per call; 0 is the largest cluster
    units: list[int]  # per call: the unit (distinct signature, or distinct one-off prompt) it was compared as
    blocks: tuple[tuple[int, FeatureBlock], ...]  # (first unit, features): templated units, then one-off prompts
    # per call: its signature among the distinct signatures (``distinct_signatures``); one-offs share one
    kinds: NDArray[np.int64]

    def unit_similarity(self, units: Sequence[int]) -> Matrix:
        """Similarity among the given units, as the clustering saw it (0 across blocks)."""
        out = np.zeros((len(units), len(units)), dtype=np.float64)
        for offset, block in self.blocks:
            inside = [i for i, u in enumerate(units) if offset <= u < offset + block.size]
            if inside:
                local = [units[i] - offset for i in inside]
                out[np.ix_(inside, inside)] = block.similarity(local, local)
        return out


def resolved_threshold(params: ClusteringParams, embedder: Embedder) -> float:
    """The distance threshold in force: the user's, else the embedding model's recommendation, else the default."""
    if params.distance_threshold is not None:
        return params.distance_threshold
    recommended = getattr(embedder, "distance_threshold", None)
    return float(recommended) if isinstance(recommended, int | float) else DEFAULT_DISTANCE_THRESHOLD


def cluster_calls(
    signatures: Sequence[TaskSignature],
    index: TemplateIndex,
    embedder: Embedder,
    params: ClusteringParams,
    prompt_texts: Callable[[Sequence[int], int], list[str]],
) -> Clustering:
    """Cluster ids for the calls whose signatures are given; ``prompt_texts`` returns the first characters of the
    prompt text of the calls at the given positions (asked only for calls with no recurring template piece)."""
    threshold = resolved_threshold(params, embedder)
    n = len(signatures)
    raw = np.zeros(n, dtype=np.int64)
    units = np.zeros(n, dtype=np.int64)  # also the tie-break key: signatures in sorted order, then one-off texts
    blocks: list[tuple[int, FeatureBlock]] = []
    distinct, kind_of = distinct_signatures(signatures)
    calls_of_kind = np.bincount(kind_of, minlength=len(distinct))
    templated_kinds = sorted((k for k, s in enumerate(distinct) if s.pieces), key=lambda k: distinct[k].pieces)
    next_label = 0
    if templated_kinds:
        groups = [distinct[k] for k in templated_kinds]
        block = signature_features(groups, index, embedder, params.embedding_weight)
        blocks.append((0, block))
        counts = calls_of_kind[templated_kinds].tolist()
        group_labels = cut_units(block, counts, threshold, params.max_linkage_units, params.max_rounds)
        label_of_kind = np.zeros(len(distinct), dtype=np.int64)
        unit_of_kind = np.zeros(len(distinct), dtype=np.int64)
        label_of_kind[templated_kinds] = group_labels
        unit_of_kind[templated_kinds] = np.arange(len(templated_kinds))
        raw, units = label_of_kind[kind_of], unit_of_kind[kind_of]
        next_label = max(group_labels) + 1
    empty_kinds = [k for k, s in enumerate(distinct) if not s.pieces]
    one_offs = np.flatnonzero(kind_of == empty_kinds[0]).tolist() if empty_kinds else []
    if one_offs:
        texts = [text or "(empty prompt)" for text in prompt_texts(one_offs, params.one_off_prompt_chars)]
        text_calls = Counter(texts)
        distinct_texts = sorted(text_calls)
        vectors = _unit_rows(embedder.embed(distinct_texts))
        block = FeatureBlock(None, vectors, 1.0)
        blocks.append((len(templated_kinds), block))
        labels = cut_units(
            block, [text_calls[t] for t in distinct_texts], threshold, params.max_linkage_units, params.max_rounds
        )
        text_labels = dict(zip(distinct_texts, labels, strict=True))
        text_unit = {text: len(templated_kinds) + i for i, text in enumerate(distinct_texts)}
        raw[one_offs] = [next_label + text_labels[text] for text in texts]
        # after every templated unit: one-offs never take a templated cluster's id
        units[one_offs] = [text_unit[text] for text in texts]
    return Clustering(canonical_ids(raw, units), units.tolist(), tuple(blocks), kind_of)


def canonical_ids(raw: Sequence[int] | NDArray[np.int64], keys: Sequence[int] | NDArray[np.int64]) -> list[int]:
    """Renumber clusters by size (largest first), ties broken by their smallest member key (the rank of the
    member's signature, or one-off prompt text, in sorted order: the same whatever the input order)."""
    labels, member_of = np.unique(np.asarray(raw, dtype=np.int64), return_inverse=True)
    if not len(labels):
        return []
    sizes = np.bincount(member_of, minlength=len(labels))
    first_key = np.full(len(labels), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_key, member_of, np.asarray(keys, dtype=np.int64))
    mapping = np.empty(len(labels), dtype=np.int64)
    mapping[np.lexsort((first_key, -sizes))] = np.arange(len(labels))
    ids: list[int] = mapping[member_of].tolist()
    return ids
