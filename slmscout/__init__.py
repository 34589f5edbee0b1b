"""slmscout: which of an agent's LLM calls could a small language model do?

The pipeline reads left to right: ``traces`` (readers: files in, normalized calls out) ->
``analyzers`` (signatures, embeddings, clusters, verdicts) -> ``reports`` (renderings), driven by ``cli``.
"""

__version__ = "0.1.0"
