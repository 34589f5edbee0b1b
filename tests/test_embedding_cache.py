"""The embedding cache: each text embedded once per model, across runs; no text stored; consistent if interrupted."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from slmscout.analyzers.embedding_cache import LEGACY_TABLE, PAGE_BYTES, TABLE, CachedEmbedder, default_cache_dir
from tests.conftest import HashingEmbedder


class Failing(HashingEmbedder):
    def __init__(self, fail_after: int) -> None:
        super().__init__()
        self.fail_after = fail_after

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if sum(self.calls) + len(texts) > self.fail_after:
            raise KeyboardInterrupt
        return super().embed(texts)


def test_second_run_embeds_only_new_texts(tmp_path: Path) -> None:
    texts = [f"write the unit tests for module {i}" for i in range(50)]
    inner = HashingEmbedder()
    first = CachedEmbedder(inner, tmp_path).embed(texts)
    assert sum(inner.calls) == 50
    again = HashingEmbedder()
    second = CachedEmbedder(again, tmp_path).embed([*texts, "a new text", texts[0]])
    assert again.calls == [1]
    assert np.array_equal(second[:50], first) and np.array_equal(second[51], first[0])
    assert np.array_equal(second[50], HashingEmbedder().embed(["a new text"])[0])


def test_no_text_is_stored(tmp_path: Path) -> None:
    cache = CachedEmbedder(HashingEmbedder(), tmp_path)
    cache.embed(["customer Jane Roe asked about invoice 4417"])
    cache.close()
    stored = b"".join(p.read_bytes() for p in (tmp_path / "embeddings").iterdir())
    assert b"Jane" not in stored and b"invoice" not in stored


def test_models_do_not_share_vectors(tmp_path: Path) -> None:
    small = HashingEmbedder(dims=16)
    small.name = "other-model"
    CachedEmbedder(HashingEmbedder(), tmp_path).embed(["same text"])
    assert CachedEmbedder(small, tmp_path).embed(["same text"]).shape == (1, 16)


def test_an_interrupted_run_leaves_a_usable_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("slmscout.analyzers.embedding_cache.WRITE_BATCH", 10)
    texts = [f"text number {i}" for i in range(40)]
    with pytest.raises(KeyboardInterrupt):
        CachedEmbedder(Failing(fail_after=25), tmp_path).embed(texts)
    inner = HashingEmbedder()
    vectors = CachedEmbedder(inner, tmp_path).embed(texts)
    assert sum(inner.calls) == 20  # the two batches written before the interruption were kept
    assert np.array_equal(vectors, HashingEmbedder().embed(texts))


def test_cache_location_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SLMSCOUT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "slmscout"
    monkeypatch.setenv("SLMSCOUT_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"


def test_vectors_come_back_in_the_order_asked_as_float32_and_the_cache_is_not_mapped(tmp_path: Path) -> None:
    """Repeated and cached texts come back row by row in the order asked, as float32; the database is read, not
    memory-mapped (a mapped cache of a million texts would count as a gigabyte of the run's memory)."""
    cache = CachedEmbedder(HashingEmbedder(), tmp_path)
    cache.embed(["b", "a"])
    out = cache.embed(["a", "c", "a", "b"])
    expected = HashingEmbedder().embed(["a", "c", "a", "b"])
    assert out.dtype == np.float32 and out.shape == expected.shape
    assert np.array_equal(out, expected.astype(np.float32))
    assert cache._db.execute("PRAGMA mmap_size").fetchone()[0] == 0
    assert cache._db.execute("PRAGMA page_size").fetchone()[0] == PAGE_BYTES  # a new cache: large pages


def test_a_cache_in_the_first_layout_is_adopted(tmp_path: Path) -> None:
    """Vectors a cache kept in its first table (WITHOUT ROWID, named ``vectors``) are hits, moved over once."""
    texts = ["route this ticket", "summarise this thread"]
    probe = CachedEmbedder(HashingEmbedder(), tmp_path / "probe")  # only to learn the file name for this model
    probe.close()
    path = tmp_path / "embeddings" / probe.path.name
    path.parent.mkdir()
    expected = HashingEmbedder().embed(texts)
    legacy = sqlite3.connect(path)
    legacy.execute("CREATE TABLE vectors (key BLOB PRIMARY KEY, dims INTEGER, vector BLOB) WITHOUT ROWID")
    legacy.executemany(
        "INSERT INTO vectors VALUES (?, ?, ?)",
        [(hashlib.sha256(t.encode()).digest(), len(v), v.tobytes()) for t, v in zip(texts, expected, strict=True)],
    )
    legacy.commit()
    legacy.close()
    inner = HashingEmbedder()
    cache = CachedEmbedder(inner, tmp_path)
    assert np.array_equal(cache.embed(texts), expected) and inner.calls == []
    assert cache._db.execute("PRAGMA page_size").fetchone()[0] == 4096  # an existing file keeps its pages
    cache.close()
    tables = {name for (name,) in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert LEGACY_TABLE not in tables and TABLE in tables
    again = HashingEmbedder()
    assert np.array_equal(CachedEmbedder(again, tmp_path).embed(texts), expected) and again.calls == []
