"""Signatures, clustering, evidence and verdicts on small constructed calls."""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from slmscout.analyzers.columns import CallColumns
from slmscout.analyzers.evidence import cluster_evidence, parse_json_output
from slmscout.analyzers.facts import call_facts
from slmscout.analyzers.pipeline import analyze
from slmscout.analyzers.signature import build_signatures
from slmscout.analyzers.tokens import call_tokens
from slmscout.traces.record import LLMCall, Message, SourceRef, Usage
from tests.conftest import HashingEmbedder


def make_call(call_id: str, prompt: Sequence[tuple[str, str]], response: str | None = "ok") -> LLMCall:
    return LLMCall(
        call_id=call_id,
        source=SourceRef("mem.jsonl", call_id, "chat-messages"),
        messages=tuple(Message(role, content) for role, content in prompt),
        response=response,
    )


WORDS = [
    "parcel",
    "broken",
    "refund",
    "login",
    "crash",
    "invoice",
    "password",
    "screen",
    "export",
    "delivery",
    "size",
    "charge",
    "twice",
    "black",
    "mail",
    "reset",
    "order",
    "late",
    "missing",
    "wrong",
    "account",
    "locked",
    "update",
    "payment",
    "card",
    "expired",
]


def content(i: int, words: int = 6) -> str:
    """Variable content unique to call ``i``: words drawn with a seed."""
    return " ".join(random.Random(i).sample(WORDS, words))


def classify(i: int) -> LLMCall:
    return make_call(
        f"cls-{i}",
        [
            ("system", "You classify tickets into billing, tech or other.\nAnswer with one word."),
            ("user", f"Ticket: {content(i)} (customer {i})"),
        ],
        ["billing", "tech", "other"][i % 3],
    )


def summarise(i: int) -> LLMCall:
    return make_call(
        f"sum-{i}",
        [
            (
                "user",
                "Summarise the following document in three paragraphs.\n\nDocument:\n"
                f"{content(1000 + i, 9)}\n{content(2000 + i, 9)}",
            )
        ],
        "A long free-form summary. " * (300 + i),
    )


def test_clusters_separate_tasks_and_are_order_independent() -> None:
    calls = [classify(i) for i in range(12)] + [summarise(i) for i in range(8)]
    first = analyze(calls, HashingEmbedder())
    shuffled = calls[:]
    random.Random(7).shuffle(shuffled)
    second = analyze(shuffled, HashingEmbedder())
    assert first == second
    assert len(first.clusters) == 2
    by_id = {a.call_id: a.cluster_id for a in first.assignments}
    assert {by_id[f"cls-{i}"] for i in range(12)} == {0}
    assert {by_id[f"sum-{i}"] for i in range(8)} == {1}
    assert first.clusters[0].evidence.calls == 12  # ids by size, largest first


def test_identical_signatures_are_embedded_once() -> None:
    calls = [classify(i) for i in range(30)] + [summarise(i) for i in range(30)]
    embedder = HashingEmbedder()
    analyze(calls, embedder)
    signatures, _ = build_signatures(calls)
    pieces = {piece for s in signatures for piece in s.pieces}
    assert embedder.calls == [len(pieces)]  # each distinct template piece embedded once, not each call


def test_verdicts_on_clusters_with_known_properties() -> None:
    calls = [classify(i) for i in range(20)] + [summarise(i) for i in range(8)]
    analysis = analyze(calls, HashingEmbedder())
    classifier, summariser = analysis.clusters
    assert classifier.verdict.kind == "prompted-slm"
    assert classifier.verdict.reasons[0] == "closed set of answers: 3 distinct of 20 responses (1.6 bits)"
    assert classifier.verdict.candidates  # the shipped catalog has models that hold these short calls
    assert classifier.economics.slm == classifier.verdict.candidates[0]
    assert summariser.verdict.kind == "keep-llm"
    assert summariser.verdict.reasons[0].startswith("long generation: median output")
    assert "classify" in classifier.name or "billing" in classifier.name


def test_json_output_strips_fences_and_wrappers() -> None:
    assert parse_json_output('```json\n{"a": 1}\n```') == {"a": 1}
    assert parse_json_output('[CONTENT]\n{"a": [1, 2]}\n[/CONTENT]') == {"a": [1, 2]}
    assert parse_json_output("The answer is {a: 1}") is None
    assert parse_json_output("") is None


def test_tokens_reported_or_counted() -> None:
    call = make_call("t", [("user", "The quick brown fox jumps over the lazy dog.")], "Hello world")
    counted = call_tokens(call)
    assert (counted.input, counted.output, counted.source) == (10, 2, "counted")  # cl100k_base
    reported = LLMCall(
        call_id="r",
        source=call.source,
        messages=call.messages,
        response="y",
        usage=Usage(input_tokens=7, output_tokens=3),
    )
    assert call_tokens(reported).source == "reported" and call_tokens(reported).input == 7


def _columns(calls: list[LLMCall]) -> tuple[CallColumns, NDArray[np.int64]]:
    """The facts of ``calls`` as the columns evidence reads, and the rows of all of them."""
    return CallColumns.of_facts([call_facts(c) for c in calls]), np.arange(len(calls), dtype=np.int64)


def test_cluster_evidence_figures() -> None:
    calls = [classify(i) for i in range(6)]
    e = cluster_evidence(*_columns(calls), 12, build_signatures(calls)[0])
    assert e.calls == 6 and e.share == 0.5
    assert e.distinct_outputs == 3 and e.distinct_output_share == 0.5
    assert e.output_entropy_bits == pytest.approx(1.585, abs=1e-3)  # three answers, evenly
    assert e.json_share == 0.0 and e.tool_call_share == 0.0 and e.code_share == 0.0
    assert e.prompt_turns_p50 == 2.0 and e.history_share == 0.0
    assert e.repeat_share == 0.0 and e.error_share == 0.0
    assert e.token_source == "counted"


def test_structure_evidence() -> None:
    replies = ['```json\n{"a": 1, "b": 2}\n```', '{"a": 3, "b": 4}', '{"c": 1}', "1. look\n2. think\n3. act"]
    calls = [make_call(f"s{i}", [("user", "Do the thing.")], reply) for i, reply in enumerate(replies)]
    e = cluster_evidence(*_columns(calls), 4, build_signatures(calls)[0])
    assert e.json_share == 0.75 and e.schema_share == pytest.approx(2 / 3)
    assert e.code_share == 0.25 and e.multi_step_share == 0.25
    assert e.repeat_share == 0.75  # four calls, one prompt: three repeat it


def test_calls_sharing_no_template_are_one_offs_counted_in_the_analysis() -> None:
    calls = [classify(i) for i in range(6)] + [
        make_call("solo-1", [("user", "What is the capital of France?")], "Paris"),
        make_call("solo-2", [("user", "Write a haiku about autumn rain please")], "Rain taps the roof..."),
    ]
    analysis = analyze(calls, HashingEmbedder())
    by_id = {a.call_id: analysis.cluster(a.cluster_id) for a in analysis.assignments}
    assert by_id["solo-1"].one_off and not by_id["solo-1"].templated
    assert by_id["solo-2"].one_off and by_id["solo-1"] is not by_id["solo-2"]
    assert analysis.one_off_calls == 2
    assert not by_id["cls-0"].one_off and by_id["cls-0"].templated
    assert by_id["solo-1"].name.startswith("(no template)")


def test_names_templates_and_representatives() -> None:
    calls = [classify(i) for i in range(10)] + [summarise(i) for i in range(4)]
    analysis = analyze(calls, HashingEmbedder())
    classifier = analysis.clusters[0]
    assert classifier.name == "you classify tickets into billing, tech or other."
    assert classifier.template == (
        "you classify tickets into billing, tech or other.",
        "answer with one word.",
        "ticket:",
    )
    assert classifier.example_call_ids == ("cls-0", "cls-1", "cls-2")
    assert analysis.clusters[1].name == "summarise the following document in three paragraphs."
