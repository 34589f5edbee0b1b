"""Shared fixtures: a small deterministic embedder so the suite runs in seconds, and paths to test data.

The whole suite runs with the network cut off: any attempt to open an internet socket or resolve a name fails the
test that made it (slmscout promises never to touch the network; see SECURITY.md).
"""

from __future__ import annotations

import hashlib
import re
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray


class NetworkAccessError(AssertionError):
    """A test (or the code under test) tried to reach the network."""


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _local(sock: socket.socket) -> bool:
    return sock.family not in (socket.AF_INET, socket.AF_INET6)


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _local(self):
        raise NetworkAccessError(f"network access attempted in a test: connect({address!r})")
    _connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _local(self):
        raise NetworkAccessError(f"network access attempted in a test: connect_ex({address!r})")
    return _connect_ex(self, address)  # type: ignore[arg-type]


def _no_resolution(*args: object, **kwargs: object) -> object:
    raise NetworkAccessError(f"name resolution attempted in a test: getaddrinfo{args!r}")


socket.socket.connect = _guarded_connect  # type: ignore[method-assign, assignment]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign, assignment]
socket.getaddrinfo = _no_resolution  # type: ignore[assignment]

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


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite never reads or writes the user's own embedding cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLMSCOUT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[HashingEmbedder]:
    """Make the CLI use the hashing embedder instead of loading sentence-transformers."""
    instance = HashingEmbedder()
    monkeypatch.setattr("slmscout.analyzers.embed.load_embedder", lambda model=None: instance)
    yield instance
