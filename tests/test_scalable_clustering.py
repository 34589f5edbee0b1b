"""Clustering in bounded memory: past the cap, units join the nearest cluster; results match the exact linkage
when the groups are clear, and stay deterministic."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score

from slmscout.analyzers.cluster import FeatureBlock, cut_units


def _block(groups: int, per_group: int, seed: int = 0) -> tuple[FeatureBlock, list[int]]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(groups, 32))
    rows, truth = [], []
    for g in range(groups):
        for _ in range(per_group):
            rows.append(centres[g] + 0.15 * rng.normal(size=32))
            truth.append(g)
    vectors = np.asarray(rows)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return FeatureBlock(None, vectors, 1.0), truth


def test_capped_linkage_finds_the_same_groups_as_exact() -> None:
    block, truth = _block(groups=12, per_group=40)
    counts = [1 + (i % 7) for i in range(block.size)]
    exact = cut_units(block, counts, threshold=0.35, cap=10_000)
    capped = cut_units(block, counts, threshold=0.35, cap=60)
    assert adjusted_rand_score(truth, exact) == 1.0
    assert adjusted_rand_score(exact, capped) == 1.0


def test_units_far_from_every_cluster_form_their_own() -> None:
    block, truth = _block(groups=6, per_group=30, seed=1)
    counts = [100 if t < 3 else 1 for t in truth]  # only the first three groups make it into the capped linkage
    capped = cut_units(block, counts, threshold=0.35, cap=90)
    assert adjusted_rand_score(truth, capped) == 1.0


def test_capped_linkage_is_deterministic() -> None:
    block, _ = _block(groups=8, per_group=25, seed=2)
    counts = [1] * block.size
    assert cut_units(block, counts, 0.35, 50) == cut_units(block, counts, 0.35, 50)


def test_cluster_ids_are_ranked_by_size_then_by_their_first_unit() -> None:
    """``canonical_ids``: the largest cluster is 0; equal sizes are ordered by the smallest key among members."""
    from slmscout.analyzers.cluster import canonical_ids

    raw = [7, 3, 3, 9, 7, 5]
    keys = [4, 2, 0, 5, 1, 3]  # cluster 7 holds keys 4 and 1, cluster 3 keys 2 and 0, 9 key 5, 5 key 3
    assert canonical_ids(raw, keys) == [1, 0, 0, 3, 1, 2]
