"""An on-disk embedding cache: each distinct text is embedded once per model, across runs.

The cache is one SQLite database per model under the user cache directory ($SLMSCOUT_CACHE_DIR, else
$XDG_CACHE_HOME/slmscout, else ~/.cache/slmscout). Rows are keyed by the SHA-256 of the text, and hold only the
vector: no text is stored, and slmscout embeds redacted text, so nothing sensitive reaches the cache. Each batch
of new vectors is written in one transaction, so an interrupted run leaves the cache consistent (it just has
fewer rows).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from slmscout.analyzers.embed import Embedder
from slmscout.errors import OutputError

WRITE_BATCH = 4096
# Vectors in rowid order, found through the key's index: a batch of new vectors is appended at the end of the file.
# (A WITHOUT ROWID table keyed by the hash, as caches were first written, puts each vector on a random page of the
# file, so every batch rewrote pages all over it: storing 270k vectors took 22 s instead of 5 s.)
TABLE = "embeddings"
# Pages of a new cache: a vector (1.5 KB at 384 dimensions) fills most of a 4 KB page, the default, so each batch
# wrote a few pages per vector, one system call each (strace: 336k writes for 102k vectors): storing 205k vectors in
# batches of 512 took 10.3-11.4 s with 4 KB pages and 5.9-7.0 s with 64 KB, while reading a quarter of them back
# took the same (0.6-0.8 s). Measured; see docs/scaling.md.
PAGE_BYTES = 65536
LEGACY_TABLE = "vectors"


def default_cache_dir() -> Path:
    configured = os.environ.get("SLMSCOUT_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "slmscout"


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class CachedEmbedder:
    """Wraps an embedder: vectors already in the cache are read, only new texts are embedded (and stored)."""

    def __init__(self, inner: Embedder, cache_dir: Path | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.distance_threshold = getattr(inner, "distance_threshold", None)
        self.hits = 0
        self.misses = 0
        folder = (cache_dir or default_cache_dir()) / "embeddings"
        identity = getattr(inner, "cache_key", None) or inner.name
        model_key = hashlib.sha256(str(identity).encode()).hexdigest()[:24]
        self.path = folder / f"{model_key}.sqlite3"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute(f"PRAGMA page_size={PAGE_BYTES}")  # takes effect only in a new database
            self._db.execute("PRAGMA journal_mode=WAL")
            # read with read(2), not memory-mapped: mapped pages of a large cache would count as this process's memory
            self._db.execute("PRAGMA mmap_size=0")
            self._db.execute("PRAGMA cache_size=-65536")
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (key BLOB PRIMARY KEY, dims INTEGER, vector BLOB)")
            self._db.execute("CREATE TABLE IF NOT EXISTS model (name TEXT)")
            self._adopt_legacy_rows()
        except (OSError, sqlite3.Error) as exc:
            raise OutputError(f"cannot use the embedding cache at {self.path}: {exc}") from None

    def _adopt_legacy_rows(self) -> None:
        """Move the vectors of a cache written before the table was ``TABLE`` into it, once."""
        if not self._has_legacy_table():
            return
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if self._has_legacy_table():  # still there now that this run holds the write lock
                self._db.execute(f"INSERT OR IGNORE INTO {TABLE} SELECT key, dims, vector FROM {LEGACY_TABLE}")
                self._db.execute(f"DROP TABLE {LEGACY_TABLE}")

    def _has_legacy_table(self) -> bool:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self._db.execute(query, (LEGACY_TABLE,)).fetchone() is not None

    def close(self) -> None:
        self._db.close()

    def _lookup(self, keys: Sequence[bytes]) -> dict[bytes, NDArray[np.float32]]:
        found: dict[bytes, NDArray[np.float32]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, dims, blob in self._db.execute(
                f"SELECT key, dims, vector FROM {TABLE} WHERE key IN ({marks})",
                chunk,
            ):
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape[0] == dims:
                    found[key] = vector
        return found

    def _store(self, keys: Sequence[bytes], vectors: NDArray[np.float32]) -> None:
        blobs = [np.ascontiguousarray(v, dtype=np.float32).tobytes() for v in vectors]
        rows = [(k, int(v.shape[0]), b) for k, v, b in zip(keys, vectors, blobs, strict=True)]
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?)", rows)
        except sqlite3.Error as exc:
            raise OutputError(f"cannot write the embedding cache at {self.path}: {exc}") from None

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return self.inner.embed(texts)
        keys = [_key(t) for t in texts]
        found = self._lookup(sorted(set(keys)))
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        self.hits += len(texts) - sum(1 for k in keys if k not in found)
        self.misses += len(missing)
        for start in range(0, len(missing), WRITE_BATCH):
            batch = missing[start : start + WRITE_BATCH]
            vectors = self.inner.embed([t for _, t in batch])
            self._store([k for k, _ in batch], vectors)
            found.update((k, v) for (k, _), v in zip(batch, vectors, strict=True))
        out = np.empty((len(keys), next(iter(found.values())).shape[0]), dtype=np.float32)
        for row, key in enumerate(keys):
            out[row] = found[key]
        return out
