"""Clustering task signatures into task types, with the number of clusters found, deterministically.

Identical signatures form one group before anything is embedded, so work grows with distinct templates, not
calls. Groups are then merged by agglomerative clustering of their signature embeddings under a cosine
distance threshold: no k is given. Cluster ids are assigned by size, then by signature text, so the same input
gives the same ids in any order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.cluster import AgglomerativeClustering

from slmscout.analyzers.embed import Embedder


@dataclass(frozen=True, slots=True)
class ClusteringParams:
    distance_threshold: float = 0.25  # cosine distance under which two signature groups are one task
    linkage: str = "average"


def cluster_signatures(texts: Sequence[str], embedder: Embedder, params: ClusteringParams) -> list[int]:
    """A cluster id per text: 0 is the largest cluster."""
    unique = sorted(set(texts))
    index = {text: i for i, text in enumerate(unique)}
    if len(unique) == 1:
        group_labels: NDArray[np.int64] = np.zeros(1, dtype=np.int64)
    else:
        vectors = embedder.embed(unique)
        model = AgglomerativeClustering(
            n_clusters=None,
            metric="cosine",
            linkage=params.linkage,
            distance_threshold=params.distance_threshold,
        )
        group_labels = model.fit_predict(vectors)
    raw = [int(group_labels[index[t]]) for t in texts]
    return _canonical_ids(raw, texts)


def _canonical_ids(raw: Sequence[int], texts: Sequence[str]) -> list[int]:
    """Renumber clusters by size (largest first), ties broken by their smallest signature text."""
    sizes: dict[int, int] = {}
    first_text: dict[int, str] = {}
    for label, text in zip(raw, texts, strict=True):
        sizes[label] = sizes.get(label, 0) + 1
        first_text[label] = min(first_text.get(label, text), text)
    order = sorted(sizes, key=lambda label: (-sizes[label], first_text[label]))
    mapping = {label: new for new, label in enumerate(order)}
    return [mapping[label] for label in raw]
