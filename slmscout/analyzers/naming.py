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
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfTransformer

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


def skeleton(signatures: Sequence[TaskSignature], share: float = SKELETON_SHARE) -> tuple[str, ...]:
    """Pieces shared by at least ``share`` of the signatures, in the order they first appear."""
    counts: Counter[str] = Counter()
    order: dict[str, int] = {}
    for signature, calls in Counter(signatures).items():  # calls share signatures: each distinct one once
        for position, piece in enumerate(signature.pieces):
            counts[piece] += calls
            order.setdefault(piece, position)
    needed = max(1, math.ceil(share * len(signatures)))
    shared = [piece for piece, count in counts.items() if count >= needed]
    return tuple(sorted(shared, key=lambda piece: (order[piece], piece))[:SKELETON_PIECES])


def distinctive_piece(signatures: Sequence[TaskSignature], index: TemplateIndex) -> str:
    """The piece that best marks the cluster: its share in the cluster times its rarity across prompts."""
    counts: Counter[str] = Counter()
    for signature, calls in Counter(signatures).items():
        for piece in set(signature.pieces):
            counts[piece] += calls
    if not counts:
        return ""

    def score(piece: str) -> float:
        rarity = math.log((1 + index.distinct_prompts) / (1 + index.prompt_counts[piece]))
        wordiness = min(1.0, len(_WORDS.findall(piece)) / NAME_WORDS)  # a header says less than a sentence
        return counts[piece] / len(signatures) * (rarity + 1e-3) * wordiness

    return min(counts, key=lambda piece: (-score(piece), piece))


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
    vectorizer = CountVectorizer(token_pattern=_TOKEN, stop_words=sorted(ENGLISH_STOP_WORDS | _PLACEHOLDERS))
    try:
        per_document = vectorizer.fit_transform(list(documents))
    except ValueError:  # no term in any text
        return [() for _ in cluster_texts]
    membership = csr_matrix((counts, (rows, cols)), shape=(len(groups), len(documents)), dtype=np.float64)
    matrix = csr_matrix(TfidfTransformer(sublinear_tf=True).fit_transform(membership @ per_document))
    vocabulary = np.asarray(vectorizer.get_feature_names_out())
    terms = []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        scores = dict(zip(matrix.indices[start:end].tolist(), matrix.data[start:end].tolist(), strict=True))
        order = sorted((i for i, v in scores.items() if v), key=lambda i: (-scores[i], vocabulary[i]))
        terms.append(tuple(str(vocabulary[i]) for i in order[:per_cluster]))
    return terms


def shorten(text: str, limit: int = NAME_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def label_clusters(
    members: Sequence[Sequence[TaskSignature]], index: TemplateIndex, fallback_texts: Sequence[str]
) -> list[ClusterLabel]:
    """A label per cluster; ``fallback_texts`` name the clusters whose calls share no template piece."""
    texts: list[str | Counter[str]] = [
        Counter(s.text for s in sigs if s.pieces) if any(s.pieces for s in sigs) else fallback
        for sigs, fallback in zip(members, fallback_texts, strict=True)
    ]
    all_terms = distinctive_terms(texts)
    labels = []
    for sigs, terms in zip(members, all_terms, strict=True):
        headline = distinctive_piece(sigs, index)
        if headline:
            name = shorten(headline)
        elif terms:
            name = "(no template) " + " / ".join(terms)
        else:
            name = "(no template)"
        labels.append(ClusterLabel(name=name, headline=headline, terms=terms, skeleton=skeleton(sigs)))
    return labels
