"""The 2-D map of calls: the units the clustering compared (distinct signatures and one-off prompts) laid out by
t-SNE on the very distances the clustering cut, so calls of one task sit together and the map shows what the
clusters are made of. Calls of one unit share its point, spread by a small jitter fixed by their call id.

The layout is seeded (MAP_SEED, recorded in the run) and runs on at most MAP_UNITS units, the most frequent; any
other unit is placed at the mean position of its cluster's mapped units (a cluster with none mapped gets a
position fixed by its id).
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Sequence

import numpy as np

from slmscout.analyzers.cluster import Clustering

MAP_SEED = 0
MAP_UNITS = 300  # exact t-SNE is O(units^2) per step: ~1 s at 300 on two cores
JITTER = 0.02
JITTER_SALT = 0x9E3779B9
MAX_PERPLEXITY = 30.0


def _jitter(call_id: str) -> tuple[float, float]:
    """A small offset fixed by the call id (two CRC-32s of it: cheap for a million calls, and not a secret)."""
    data = call_id.encode("utf-8", "surrogatepass")
    angle = zlib.crc32(data) / 2**32 * 2 * math.pi
    radius = JITTER * math.sqrt(zlib.crc32(data, JITTER_SALT) / 2**32)
    return radius * math.cos(angle), radius * math.sin(angle)


def _layout(distance: np.ndarray, seed: int) -> np.ndarray:
    n = distance.shape[0]
    if n == 1:
        return np.zeros((1, 2))
    if n == 2:
        return np.array([[-1.0, 0.0], [1.0, 0.0]])
    from sklearn.manifold import TSNE  # imported here: runs that lay out no map do without it

    tsne = TSNE(
        n_components=2,
        metric="precomputed",
        init="random",
        random_state=seed,
        perplexity=min(MAX_PERPLEXITY, (n - 1) / 3),
        method="exact",  # Barnes-Hut has a large fixed cost at a few hundred points, and exact is exactly repeatable
        max_iter=500,
    )
    return np.asarray(tsne.fit_transform(distance), dtype=np.float64)


def map_coordinates(clustering: Clustering, call_ids: Sequence[str], seed: int = MAP_SEED) -> list[tuple[float, float]]:
    """An (x, y) in [-1, 1] per call."""
    if not call_ids:
        return []
    counts = Counter(clustering.units)
    mapped = sorted(counts, key=lambda unit: (-counts[unit], unit))[:MAP_UNITS]
    mapped.sort()
    similarity = clustering.unit_similarity(mapped)
    distance = np.clip(1.0 - similarity, 0.0, 2.0)
    distance = (distance + distance.T) / 2.0
    np.fill_diagonal(distance, 0.0)
    points = _layout(distance, seed)
    points -= points.mean(axis=0)
    scale = float(np.abs(points).max()) or 1.0
    points *= (1.0 - 2 * JITTER) / scale
    position = {unit: (float(x), float(y)) for unit, (x, y) in zip(mapped, points, strict=True)}
    cluster_points: dict[int, list[tuple[float, float]]] = {}
    for unit, label in zip(clustering.units, clustering.labels, strict=True):
        if unit in position:
            cluster_points.setdefault(label, []).append(position[unit])
    centres = {  # the mean position of a cluster's mapped calls, worked out once per cluster
        label: (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
        for label, points in cluster_points.items()
    }
    out = []
    for call_id, unit, label in zip(call_ids, clustering.units, clustering.labels, strict=True):
        if unit in position:
            x, y = position[unit]
        elif label in centres:
            x, y = centres[label]
        else:
            x, y = _jitter(f"cluster {label}")
            x, y = x / JITTER * 0.9, y / JITTER * 0.9
        dx, dy = _jitter(call_id)
        out.append((round(x + dx, 5), round(y + dy, 5)))
    return out
