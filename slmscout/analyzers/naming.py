"""Names a person reads at a glance.

For each cluster: its template skeleton (the template pieces most of its calls share, in prompt order), its most
distinctive piece (common inside the cluster, rare outside it), and its distinctive terms (class-based TF-IDF over
the clusters' template text). The name is the distinctive piece, shortened at a word boundary.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix, hstack

from slmscout.analyzers.signature import TaskSignature, TemplateIndex

SKELETON_SHARE = 0.8  # a piece in at least this share of a cluster's calls belongs to its skeleton
SKELETON_PIECES = 12
NAME_CHARS = 60
TERMS = 3
_TOKEN = r"(?u)\b[a-zA-Z][a-zA-Z_-]{2,}\b"
_PLACEHOLDERS = {"blob", "url", "id", "path", "file"}
_WORDS = re.compile(r"[a-z]{2,}")
NAME_WORDS = 6  # pieces with fewer words are discounted as names


@dataclass(frozen=True, slots=True)
class ClusterLabel:
    name: str
    headline: str  # the cluster's most distinctive template piece, whole
    terms: tuple[str, ...]
    skeleton: tuple[str, ...]


def _entries(matrix: csr_matrix) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """A count matrix's stored (row, column, count) triples, rows in order."""
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    return rows, matrix.indices.astype(np.int64), matrix.data.astype(np.int64)


def _counted(signatures: Sequence[TaskSignature]) -> dict[TaskSignature, int]:
    """``Counter(signatures)``, in the same order, with each signature object hashed once: calls share signature
    objects, and hashing one hashes all its pieces."""
    by_object = Counter(map(id, signatures))  # the sequence holds the objects alive: ids are not reused meanwhile
    objects = dict(zip(map(id, signatures), signatures, strict=True))
    counted: dict[TaskSignature, int] = {}
    for key, calls in by_object.items():
        signature = objects[key]
        counted[signature] = counted.get(signature, 0) + calls
    return counted


@dataclass(frozen=True, slots=True)
class _Clusters:
    """Clusters as counts of their distinct signatures, and of the template pieces in those, as sparse matrices.

    Calls share signatures and signatures share pieces: the work here grows with the distinct signatures of each
    cluster and the pieces in them, and every later step works on the pieces, not on the calls.
    """

    sizes: list[int]  # per cluster: its calls
    distinct: list[list[TaskSignature]]  # per cluster: its distinct signatures, in the order of their first call
    pieces: list[str]  # every distinct piece: the columns of the matrices below
    occurrences: csr_matrix  # cluster x piece: the calls of the cluster times the piece's occurrences in each call
    presence: csr_matrix  # cluster x piece: the calls of the cluster that hold the piece

    @classmethod
    def of(cls, members: Sequence[Sequence[TaskSignature]]) -> _Clusters:
        rows: dict[TaskSignature, int] = {}
        distinct: list[list[TaskSignature]] = []
        cluster_of: list[int] = []
        signature_of: list[int] = []
        calls: list[int] = []
        for cluster, signatures in enumerate(members):
            counted = _counted(signatures)
            distinct.append(list(counted))
            for signature, n in counted.items():
                cluster_of.append(cluster)
                signature_of.append(rows.setdefault(signature, len(rows)))
                calls.append(n)
        flat = [piece for signature in rows for piece in signature.pieces]
        pieces = list(dict.fromkeys(flat))
        column = {piece: i for i, piece in enumerate(pieces)}
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(np.fromiter((len(signature.pieces) for signature in rows), np.int64, len(rows)), out=offsets[1:])
        held = csr_matrix(
            (
                np.ones(len(flat), dtype=np.int64),
                np.fromiter(map(column.__getitem__, flat), np.int64, len(flat)),
                offsets,
            ),
            shape=(len(rows), len(pieces)),
        )
        held.sum_duplicates()  # signature x piece: how often the piece occurs in the signature
        once = held.copy()
        once.data[:] = 1
        membership = csr_matrix(
            (np.asarray(calls, dtype=np.int64), (cluster_of, signature_of)),
            shape=(len(members), len(rows)),
        )
        return cls(
            sizes=[len(signatures) for signatures in members],
            distinct=distinct,
            pieces=pieces,
            occurrences=csr_matrix(membership @ held),
            presence=csr_matrix(membership @ once),
        )

    def skeletons(self, share: float = SKELETON_SHARE) -> list[tuple[str, ...]]:
        """Per cluster: the pieces in at least ``share`` of its calls, ordered by their place in the first of its
        signatures to hold them (then by text)."""
        needed = np.asarray([max(1, math.ceil(share * size)) for size in self.sizes], dtype=np.int64)
        rows, columns, counts = _entries(self.occurrences)
        keep = counts >= needed[rows]
        rows, columns = rows[keep], columns[keep]
        bounds = np.searchsorted(rows, np.arange(len(self.sizes) + 1))
        out: list[tuple[str, ...]] = []
        for cluster, signatures in enumerate(self.distinct):
            shared = {self.pieces[i] for i in columns[bounds[cluster] : bounds[cluster + 1]].tolist()}
            order: dict[str, int] = {}
            for signature in signatures:  # the first signatures hold most shared pieces: stop when all are placed
                if len(order) == len(shared):
                    break
                for position, piece in enumerate(signature.pieces):
                    if piece in shared:
                        order.setdefault(piece, position)
            out.append(tuple(sorted(shared, key=lambda piece: (order[piece], piece))[:SKELETON_PIECES]))
        return out

    def headlines(self, index: TemplateIndex) -> list[str]:
        """Per cluster: the piece that best marks it, its share of the cluster's calls times its rarity across
        prompts, discounted when it has few words; ties go to the first piece in text order ("" for none)."""
        weight = np.asarray(
            [math.log((1 + index.distinct_prompts) / (1 + index.prompt_counts[piece])) + 1e-3 for piece in self.pieces],
            dtype=np.float64,
        )
        wordiness = np.asarray(
            [min(1.0, len(_WORDS.findall(piece)) / NAME_WORDS) for piece in self.pieces], dtype=np.float64
        )
        text_rank = np.empty(len(self.pieces), dtype=np.int64)
        text_rank[sorted(range(len(self.pieces)), key=self.pieces.__getitem__)] = np.arange(len(self.pieces))
        rows, columns, counts = _entries(self.presence)
        sizes = np.asarray(self.sizes, dtype=np.int64)
        score = counts / sizes[rows] * weight[columns] * wordiness[columns]
        order = np.lexsort((text_rank[columns], -score, rows))
        first = np.ones(len(order), dtype=bool)  # each cluster's best piece comes first among its entries
        first[1:] = rows[order][1:] != rows[order][:-1]
        best = order[first]
        out = [""] * len(self.sizes)
        for row, column in zip(rows[best].tolist(), columns[best].tolist(), strict=True):
            out[row] = self.pieces[column]
        return out


def skeleton(signatures: Sequence[TaskSignature], share: float = SKELETON_SHARE) -> tuple[str, ...]:
    """Pieces shared by at least ``share`` of the signatures, in the order they first appear."""
    return _Clusters.of([signatures]).skeletons(share)[0]


def distinctive_piece(signatures: Sequence[TaskSignature], index: TemplateIndex) -> str:
    """The piece that best marks the cluster: its share in the cluster times its rarity across prompts."""
    return _Clusters.of([signatures]).headlines(index)[0]


def _terms(membership: csr_matrix, documents: Sequence[str], per_cluster: int) -> list[tuple[str, ...]]:
    """For each row of ``membership`` (cluster x document: how often the document recurs in the cluster), the terms
    that set the cluster apart from the others (class-based TF-IDF). Each document is tokenised once."""
    # imported here: scikit-learn takes a second to import, which a large run spends while its traces are digested
    # (see ANALYSIS_LIBRARIES in reports/workflow.py)
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfTransformer

    vectorizer = CountVectorizer(token_pattern=_TOKEN, stop_words=sorted(ENGLISH_STOP_WORDS | _PLACEHOLDERS))
    try:
        per_document = vectorizer.fit_transform(list(documents))
    except ValueError:  # no term in any text
        return [() for _ in range(membership.shape[0])]
    counts = csr_matrix(membership @ per_document, dtype=np.float64)  # whole numbers: exact, in any order
    # TfidfTransformer sums each row's squares (the l2 norm) in stored order: sorted, so scores do not hang on the
    # order documents were met in (they can differ in the last bits from another order; a ranking changes only if
    # two different scores of a cluster lie within that)
    counts.sort_indices()
    matrix = csr_matrix(TfidfTransformer(sublinear_tf=True).fit_transform(counts))
    vocabulary = vectorizer.get_feature_names_out().tolist()  # sorted: ties go to the lower column, as by text
    # every cluster's terms at once: entries ranked by cluster, then score (highest first), then column
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    columns, scores = matrix.indices.astype(np.int64), matrix.data
    scored = scores != 0
    rows, columns, scores = rows[scored], columns[scored], scores[scored]
    order = np.lexsort((columns, -scores, rows))
    rows, columns = rows[order], columns[order]
    starts = np.searchsorted(rows, np.arange(matrix.shape[0] + 1))
    found = np.diff(starts)
    rank = np.arange(len(rows)) - np.repeat(starts[:-1], found)
    # the first per_cluster of each cluster's ranked terms, as a slice [:per_cluster] takes them (negative: all but)
    limit = np.minimum(found, per_cluster) if per_cluster >= 0 else np.maximum(found + per_cluster, 0)
    taken = rank < limit[rows]
    words = [vocabulary[i] for i in columns[taken].tolist()]
    bounds = np.searchsorted(rows[taken], np.arange(matrix.shape[0] + 1)).tolist()
    return [tuple(words[bounds[row] : bounds[row + 1]]) for row in range(matrix.shape[0])]


def distinctive_terms(cluster_texts: Sequence[str | Counter[str]], per_cluster: int = TERMS) -> list[tuple[str, ...]]:
    """For each cluster's text, the terms that set it apart from the other clusters (class-based TF-IDF).

    A cluster's text is given whole, or as a ``Counter`` of texts and how often each recurs in it (the same as the
    texts joined with those repeats, without building the joined text).
    """
    if not cluster_texts:
        return []
    groups = [Counter({text: 1}) if isinstance(text, str) else text for text in cluster_texts]
    documents: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    counts: list[int] = []
    for row, group in enumerate(groups):
        for text, repeats in group.items():
            rows.append(row)
            cols.append(documents.setdefault(text, len(documents)))
            counts.append(repeats)
    membership = csr_matrix((counts, (rows, cols)), shape=(len(groups), len(documents)), dtype=np.float64)
    return _terms(membership, list(documents), per_cluster)


def shorten(text: str, limit: int = NAME_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def label_clusters(
    members: Sequence[Sequence[TaskSignature]], index: TemplateIndex, fallback_texts: Sequence[str]
) -> list[ClusterLabel]:
    """A label per cluster; ``fallback_texts`` name the clusters whose calls share no template piece.

    A cluster's terms come from the template text of its calls, counted piece by piece: a term never spans two
    pieces (``_TOKEN`` holds no newline), so the terms of a signature's text are the terms of its pieces, and each
    distinct piece is tokenised once. A cluster with no template piece is named from its fallback text, whole.
    """
    if len(fallback_texts) != len(members):
        raise ValueError(f"{len(members)} clusters but {len(fallback_texts)} fallback texts")
    if not members:
        return []
    clusters = _Clusters.of(members)
    untemplated = np.flatnonzero(np.diff(clusters.occurrences.indptr) == 0).tolist()
    fallbacks: dict[str, int] = {}
    columns = [fallbacks.setdefault(fallback_texts[c], len(fallbacks)) for c in untemplated]
    named_by_text = csr_matrix(
        (np.ones(len(untemplated), dtype=np.int64), (untemplated, columns)), shape=(len(members), len(fallbacks))
    )
    membership = hstack([clusters.occurrences, named_by_text], format="csr", dtype=np.float64)
    all_terms = _terms(membership, clusters.pieces + list(fallbacks), TERMS)
    labels = []
    for headline, terms, parts in zip(clusters.headlines(index), all_terms, clusters.skeletons(), strict=True):
        if headline:
            name = shorten(headline)
        elif terms:
            name = "(no template) " + " / ".join(terms)
        else:
            name = "(no template)"
        labels.append(ClusterLabel(name=name, headline=headline, terms=terms, skeleton=parts))
    return labels
