"""Analyzers: task signatures, embeddings, clustering, evidence and replacement verdicts."""
