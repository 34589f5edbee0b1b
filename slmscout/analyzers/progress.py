"""Progress of a long analysis, reported to whoever drives it (the CLI shows bars; the library prints nothing)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from slmscout.analyzers.embed import Embedder

EMBED_CHUNK = 512
T = TypeVar("T")


class Progress(Protocol):
    def stage(self, name: str, total: int | None = None) -> None:
        """A new stage begins; ``total`` units of work when known."""

    def advance(self, units: int = 1) -> None: ...


class NoProgress:
    def stage(self, name: str, total: int | None = None) -> None:
        return None

    def advance(self, units: int = 1) -> None:
        return None


class ReportingEmbedder:
    """An embedder that reports each chunk of texts it has embedded."""

    def __init__(self, inner: Embedder, progress: Progress) -> None:
        self.inner = inner
        self.name = inner.name
        self.distance_threshold = getattr(inner, "distance_threshold", None)
        self.progress = progress

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.progress.stage("Embedding", len(texts))
        parts = []
        for start in range(0, len(texts), EMBED_CHUNK):
            chunk = texts[start : start + EMBED_CHUNK]
            parts.append(self.inner.embed(chunk))
            self.progress.advance(len(chunk))
        if not parts:
            return self.inner.embed(texts)
        return np.concatenate(parts, axis=0)


def counted(items: Iterable[T], progress: Progress, name: str) -> Iterator[T]:
    """Pass ``items`` through, reporting each as one unit of a stage with no known total."""
    progress.stage(name)
    for item in items:
        progress.advance()
        yield item
