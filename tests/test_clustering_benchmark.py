"""The clustering benchmark's yardstick of the labels split by agent role (benchmarks/clustering.py)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.clustering import Corpus, agent_split_reference, load_corpus


def test_labels_split_by_agent_role() -> None:
    labels = {"a": "step", "b": "step", "c": "step", "d": "plan"}
    corpus = Corpus("x", Path("."), [], labels, roles={"a": "writer", "b": "writer", "c": "coder"})
    reference = agent_split_reference(corpus)
    assert reference is not None
    assert reference.clusters == 3  # step/writer, step/coder, plan with no role
    assert reference.homogeneity == 1.0 and reference.completeness < 1.0


def test_no_reference_without_roles(tmp_path: Path) -> None:
    (tmp_path / "calls.jsonl").write_text('{"id": "a", "messages": [{"role": "user", "content": "hi"}]}\n')
    (tmp_path / "labels.csv").write_text("id,label,agent_role\na,greet,\n")
    corpus = load_corpus(tmp_path)
    assert corpus.roles == {}
    assert agent_split_reference(corpus) is None
