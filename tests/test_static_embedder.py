"""StaticEmbedder reads the bundled static model with tokenizers and numpy: the vectors sentence-transformers gives for
the same folder (to 1e-5 per component; in practice bit for bit), without importing torch."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from slmscout.analyzers import embed
from slmscout.analyzers.embed import (
    PARALLEL_TEXTS,
    TRANSFORMER_MODEL,
    SentenceTransformerEmbedder,
    StaticEmbedder,
    load_embedder,
    model_identity,
    static_model_path,
)
from slmscout.errors import ModelError
from tests.conftest import OPENHANDS_SAMPLE

REAL_TRACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"  # ../shared beside the repository
TOLERANCE = 1e-5
FUZZ = 300  # random texts at the end of the list
# empty, blank, control, unicode, special tokens, 100k characters of one word, of words, of blanks, of punctuation...
SPECIAL = [
    "",
    " ",
    "\n\t \r\n",
    "\x00\x01\x7f\u200b",
    "!!!???...",
    "[PAD] [UNK] [PAD]",
    "héllo wörld",
    "日本語のテキスト",
    "🙂🙃 emoji",
    "ΑΣ Ωμέγα.",
    "e\u0301" * 300,
    "a" * 100_000,
    "word " * 20_000,
    "   \n" * 25_000,
    "!@#$%^&*()" * 10_000,
    "漢字" * 50_000,
    "x" * 5_000 + " y" * 700,
    ("A line of a prompt, said again and again.\n" * 2_500),
]


def _contents(path: Path) -> list[str]:
    texts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        for message in json.loads(line).get("messages", []):
            content = message.get("content")
            parts = content if isinstance(content, list) else [{"text": content}]
            texts += [part["text"] for part in parts if isinstance(part, dict) and isinstance(part.get("text"), str)]
    return texts


def _random_text(rng: random.Random, words: list[str], size: int) -> str:
    """Words, punctuation, accents, CJK, emoji and control characters between assorted separators."""
    extras = [
        "é",
        "ü",
        "ﬁ",
        "e\u0301",
        "Σ",
        "İ",
        "漢字",
        "🙂",
        "\u200b",
        "\x00",
        "\ufffd",
        "...",
        "{}",
        "[UNK]",
        "x" * 120,
    ]
    separators = [" ", "  ", "\n", "\t", "\r\n", "", ".", ", ", "\u3000", "\xa0"]
    out: list[str] = []
    length = 0
    while length < size:
        piece = rng.choice(extras) if rng.random() < 0.1 else rng.choice(words)
        piece = piece.upper() if rng.random() < 0.05 else piece
        out.append(piece + rng.choice(separators))
        length += len(out[-1])
    return "".join(out)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    real = sorted(set(_contents(OPENHANDS_SAMPLE)))
    if REAL_TRACES.is_dir():
        shared = sorted({t for path in sorted(REAL_TRACES.glob("*/calls.jsonl")) for t in _contents(path)})
        real += random.Random(0).sample(shared, min(len(shared), 1500))
    rng = random.Random(1)
    words = sorted({w for t in real[:200] for w in t.split() if w.isascii()}) or ["word"]
    lines = sorted({line for t in real for line in t.splitlines() if line.strip()})
    fuzz = [_random_text(rng, words, rng.choice([10, 200, 1_500, 2_500, 4_000, 20_000])) for _ in range(FUZZ)]
    return real + rng.sample(lines, min(len(lines), 1000)) + SPECIAL + fuzz


def _compare(ours: NDArray[np.float32], reference: NDArray[Any], location: str) -> float:
    """Largest difference per component. Where sentence-transformers gives NaN (float16 0 / 0: a text without tokens,
    or with more than 65,504) StaticEmbedder gives zeros."""
    assert ours.shape == reference.shape and ours.dtype == np.float32
    finite = np.isfinite(reference).all(axis=1)
    assert np.all(ours[~finite] == 0) and np.isfinite(ours).all()
    difference = float(np.abs(ours[finite] - reference[finite]).max())
    print(f"\n{location}: {len(ours)} texts, {int((~finite).sum())} NaN rows, max abs difference {difference:.3g}")
    return difference


def test_bundled_model_matches_sentence_transformers(texts: list[str]) -> None:
    location = static_model_path()
    ours = StaticEmbedder(location).embed(texts)
    reference = SentenceTransformerEmbedder(None).embed(texts)  # what the default embedder computed before
    assert _compare(ours, reference, location) <= TOLERANCE
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(location) / "tokenizer.json"))
    for i in np.flatnonzero(~np.isfinite(reference).all(axis=1)):  # NaN only for texts without tokens
        assert not tokenizer.encode(texts[i], add_special_tokens=False).ids
    norms = np.linalg.norm(ours, axis=1)
    assert np.all((np.abs(norms - 1) < 1e-5) | (norms == 0))


def _variant(folder: Path, kind: str) -> None:
    """A copy of the bundled model that takes another path through StaticEmbedder."""
    shutil.copytree(static_model_path(), folder)
    tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    if (
        kind == "whole-texts"
    ):  # a normaliser StaticEmbedder does not cut texts for: whole texts, truncated by tokenizers
        tokenizer["normalizer"] = {"type": "Sequence", "normalizers": [tokenizer["normalizer"]]}
    elif kind == "untruncated":  # no truncation, no Normalize module: bags of thousands of tokens, normalised once
        tokenizer["truncation"] = None
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        (folder / "modules.json").write_text(json.dumps(modules[:1]), encoding="utf-8")
    elif kind == "float32":  # a float32 table under sentence-transformers' own key
        from safetensors.numpy import load_file, save_file

        table = load_file(str(folder / "model.safetensors"))["embeddings"].astype(np.float32)
        save_file({"embedding.weight": table}, str(folder / "model.safetensors"))
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer), encoding="utf-8")


@pytest.mark.parametrize("kind", ["whole-texts", "untruncated", "float32"])
def test_other_static_folders_match_sentence_transformers(tmp_path: Path, texts: list[str], kind: str) -> None:
    folder = tmp_path / kind
    _variant(folder, kind)
    sample = texts[::25] + SPECIAL + texts[-FUZZ // 3 :]
    embedder = load_embedder(str(folder))
    assert isinstance(embedder, StaticEmbedder)
    reference = SentenceTransformerEmbedder(str(folder)).embed(sample)
    assert _compare(embedder.embed(sample), reference, str(folder)) <= TOLERANCE


def test_chunks_do_not_change_vectors(texts: list[str]) -> None:
    sample = texts[:400] + texts[-60:]
    whole = StaticEmbedder(static_model_path()).embed(sample)
    chunked = StaticEmbedder(static_model_path(), chunk_texts=7, chunk_chars=20_000).embed(sample)
    assert np.array_equal(whole, chunked)


def test_threads_do_not_change_vectors(texts: list[str]) -> None:
    sample = texts[:700] + texts[-60:]  # more than PARALLEL_TEXTS: cut into slices, one per thread
    assert len(sample) >= 2 * PARALLEL_TEXTS
    one = StaticEmbedder(static_model_path(), threads=1).embed(sample)
    three = StaticEmbedder(static_model_path(), threads=3).embed(sample)
    assert np.array_equal(one, three)


def test_surface_of_the_default_embedder() -> None:
    embedder = load_embedder(None)
    assert isinstance(embedder, StaticEmbedder)
    assert embedder.name.startswith("all-MiniLM-L6-v2 static")
    assert embedder.distance_threshold == 0.3
    assert embedder.cache_key == model_identity(embedder.name, static_model_path())  # caches made before still hit
    assert embedder.embed([]).shape == (0, 0)
    vectors = embedder.embed(("classify this ticket", "classify this ticket", "write a poem", ""))
    assert vectors.shape == (4, 256) and vectors.dtype == np.float32
    assert np.array_equal(vectors[0], vectors[1]) and np.all(vectors[3] == 0)
    assert abs(float(vectors[0] @ vectors[0]) - 1) < 1e-6 and float(vectors[0] @ vectors[2]) < 0.999


def test_load_embedder_routes_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed, "SentenceTransformerEmbedder", lambda model: ("sentence-transformers", model))
    assert load_embedder(TRANSFORMER_MODEL) == ("sentence-transformers", TRANSFORMER_MODEL)  # type: ignore[comparison-overlap]
    missing = str(tmp_path / "no-model")
    assert load_embedder(missing) == ("sentence-transformers", missing)  # type: ignore[comparison-overlap]
    static = tmp_path / "static"
    shutil.copytree(static_model_path(), static)
    assert isinstance(load_embedder(str(static)), StaticEmbedder)
    dense = tmp_path / "dense"  # another module after StaticEmbedding: sentence-transformers' business
    shutil.copytree(static, dense)
    modules = json.loads((dense / "modules.json").read_text(encoding="utf-8"))
    modules.insert(1, {"idx": 1, "name": "1", "path": "1_Dense", "type": "sentence_transformers.models.Dense"})
    (dense / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    assert load_embedder(str(dense)) == ("sentence-transformers", str(dense))  # type: ignore[comparison-overlap]
    prompted = tmp_path / "prompted"  # a default prompt sentence-transformers would prepend
    shutil.copytree(static, prompted)
    config = {"prompts": {"query": "query: "}, "default_prompt_name": "query"}
    (prompted / "config_sentence_transformers.json").write_text(json.dumps(config), encoding="utf-8")
    assert load_embedder(str(prompted)) == ("sentence-transformers", str(prompted))  # type: ignore[comparison-overlap]
    broken = tmp_path / "broken"  # looks static, cannot be read here: sentence-transformers gets to try (and say why)
    shutil.copytree(static, broken)
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    assert load_embedder(str(broken)) == ("sentence-transformers", str(broken))  # type: ignore[comparison-overlap]


def test_load_errors_are_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(static_model_path(), broken)
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    for location in (broken, tmp_path / "missing"):
        with pytest.raises(ModelError) as caught:
            StaticEmbedder(str(location))
        assert "cannot load embedding model" in str(caught.value) and "\n" not in str(caught.value)


def test_default_embedder_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from slmscout.analyzers.embed import StaticEmbedder, load_embedder\n"
        "embedder = load_embedder(None)\n"
        "assert isinstance(embedder, StaticEmbedder)\n"
        "assert embedder.embed(['hello world', 'a' * 10000, '']).shape == (3, 256)\n"
        "loaded = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
