"""Shared fixtures: a small deterministic embedder so the suite runs in seconds, and paths to test data."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

TESTS = Path(__file__).parent
DATA = TESTS / "data"
FIXTURES = TESTS / "fixtures"
OPENHANDS_SAMPLE = DATA / "openhands_sample.jsonl"


class HashingEmbedder:
    """Bag of hashed words, L2-normalised: deterministic across processes, no model, no network."""

    name = "hashing-test-embedder"

    def __init__(self, dims: int = 256) -> None:
        self.dims = dims
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
                out[row, bucket % self.dims] += 1.0
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] /= norm
            else:
                out[row, 0] = 1.0
        return out


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[HashingEmbedder]:
    """Make the CLI use the hashing embedder instead of loading sentence-transformers."""
    instance = HashingEmbedder()
    monkeypatch.setattr("slmscout.analyzers.embed.load_embedder", lambda model=None: instance)
    yield instance
