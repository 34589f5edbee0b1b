"""Names a person reads at a glance: each cluster's distinctive terms (class-based TF-IDF over its template
lines) and its template skeleton (the template lines most of its calls share)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

_TOKEN = r"(?u)\b[a-zA-Z][a-zA-Z_-]{2,}\b"
_MASK_WORDS = {"code", "url", "path", "file", "id", "system", "user", "assistant", "tools", "tool"}
SKELETON_SHARE = 0.5  # a template line shared by at least half the cluster's calls is part of its skeleton
SKELETON_LINES = 8
TERMS_PER_NAME = 3


def distinctive_terms(cluster_texts: Sequence[str], per_cluster: int = TERMS_PER_NAME) -> list[tuple[str, ...]]:
    """For each cluster's joined text, the terms that set it apart from the other clusters."""
    if not cluster_texts:
        return []
    vectorizer = TfidfVectorizer(
        token_pattern=_TOKEN,
        lowercase=True,
        stop_words=sorted(ENGLISH_STOP_WORDS | _MASK_WORDS),
        sublinear_tf=True,
    )
    try:
        matrix = vectorizer.fit_transform(cluster_texts)
    except ValueError:  # no term at all
        return [() for _ in cluster_texts]
    vocabulary = np.asarray(vectorizer.get_feature_names_out())
    terms = []
    for row in range(matrix.shape[0]):
        scores = matrix.getrow(row).toarray().ravel()
        order = sorted(np.flatnonzero(scores), key=lambda i: (-scores[i], vocabulary[i]))
        terms.append(tuple(str(vocabulary[i]) for i in order[:per_cluster]))
    return terms


def skeleton(template_lines: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """Template lines shared by most of a cluster's calls, in the order they first appear."""
    counts: Counter[str] = Counter()
    order: dict[str, int] = {}
    for lines in template_lines:
        for line in dict.fromkeys(lines):
            counts[line] += 1
            order.setdefault(line, len(order))
    threshold = max(1, int(np.ceil(SKELETON_SHARE * len(template_lines))))
    shared = [line for line in counts if counts[line] >= threshold]
    if not shared and counts:
        shared = [counts.most_common(1)[0][0]]
    return tuple(sorted(shared, key=order.__getitem__)[:SKELETON_LINES])


def cluster_name(terms: Sequence[str], skeleton_lines: Sequence[str]) -> str:
    if terms:
        return " / ".join(terms)
    if skeleton_lines:
        return re.sub(r"^\w+: ", "", skeleton_lines[0])[:40]
    return "(empty prompts)"
