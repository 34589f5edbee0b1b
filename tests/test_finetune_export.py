"""Fine-tuning export: rows load with `datasets` both ways and round-trip to the calls; the split is reproducible
and keeps conversations whole; the folder appears whole or not at all, under fixed file names only."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from datasets import load_dataset, load_from_disk
from hypothesis import given, settings
from hypothesis import strategies as st

from slmscout.analyzers.analysis import Analysis
from slmscout.analyzers.pipeline import analyze
from slmscout.errors import InputError, OutputError, UsageError
from slmscout.reports import finetune
from slmscout.reports.finetune import (
    EXPORT_FILES,
    ExportedCall,
    dataset_features,
    eval_keys,
    export_clusters,
    row_to_call,
    split_key,
    split_rank,
)
from slmscout.traces.ingest import ReadSummary, read_traces
from slmscout.traces.record import LLMCall, Message, SourceRef, ToolCall, ToolDefinition
from slmscout.traces.redaction import Redactor
from tests.conftest import FIXTURES, OPENHANDS_SAMPLE, HashingEmbedder

# Fixtures with tool definitions, tool calls and tool turns, read by the real readers
TOOL_FIXTURES = (FIXTURES / "chat_datasets" / "trl_tool_calling.jsonl", FIXTURES / "openai_chat" / "pairs.jsonl")

ORDER_SCHEMA = json.dumps(
    {"type": "object", "properties": {"id": {"type": "string", "description": "order id"}}, "required": ["id"]},
    sort_keys=True,
)


def _hand(call_id: str, messages: Sequence[Message], **fields: Any) -> LLMCall:
    return LLMCall(call_id, SourceRef("hand/support.jsonl", call_id, "hand"), tuple(messages), **fields)


def hand_calls() -> list[LLMCall]:
    """A support agent's calls built by hand: every shape a row must carry."""
    system = Message("system", "You help customers of Example Shop. Use the tools.")
    tools = (
        ToolDefinition("lookup_order", "Find an order by id", ORDER_SCHEMA),
        ToolDefinition("ping", "Is the shop up"),
    )
    asked = Message("user", "Where is order A-1? Write to ana.lopez@example.com please.")
    lookup = ToolCall("lookup_order", '{"id": "A-1"}', "call_1")
    return [
        _hand("support-1", [system, asked], response_tool_calls=(lookup,), tools=tools, session_id="conv-1"),
        _hand(
            "support-2",
            [
                system,
                asked,
                Message("assistant", "", tool_calls=(lookup,)),
                Message("tool", '{"status": "shipped"}', name="lookup_order", tool_call_id="call_1"),
            ],
            response="Order A-1 has shipped; a note went to ana.lopez@example.com.",
            tools=tools,
            session_id="conv-1",
            model="gpt-4o-mini",
        ),
        _hand(  # a tool call without an id, and text beside it
            "support-3",
            [system, Message("user", "Is the shop open? Grüße aus Köln 🚀")],
            response="Let me check.",
            response_tool_calls=(ToolCall("ping", "{}"),),
            tools=tools,
        ),
        _hand(  # parameters text that is not canonical JSON stays text in the JSON Lines
            "support-4",
            [Message("user", "Cancel order B-7.")],
            response_tool_calls=(ToolCall("cancel", '{"id":"B-7"}', "call_9"),),
            tools=(ToolDefinition("cancel", "Cancel an order", '{"type":"object"}'),),
        ),
        _hand("support-5", [system, Message("user", "Hello?")], response="   "),  # nothing to learn from
        _hand("support-6", [system, Message("user", "Refund?")], status="error", error="timeout"),
    ]


LEFT_OUT = {"support-5", "support-6"}


def read(*paths: Path) -> list[LLMCall]:
    return list(read_traces(list(paths), ReadSummary(), None))


@pytest.fixture(scope="module")
def corpus() -> tuple[list[LLMCall], Analysis]:
    calls = read(OPENHANDS_SAMPLE, *TOOL_FIXTURES) + hand_calls()
    return calls, analyze(calls, HashingEmbedder())


def all_ids(analysis: Analysis) -> list[int]:
    return [c.cluster_id for c in analysis.clusters]


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def rows(out: Path) -> list[dict[str, Any]]:
    return jsonl(out / "train.jsonl") + jsonl(out / "eval.jsonl")


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the sha256 of its bytes."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def toy_redact(call: LLMCall) -> LLMCall:
    """Replace e-mail addresses in every text a row carries."""

    def text(value: str) -> str:
        return EMAIL.sub("[EMAIL]", value)

    def tool_calls(tcs: tuple[ToolCall, ...]) -> tuple[ToolCall, ...]:
        return tuple(dataclasses.replace(tc, arguments=text(tc.arguments)) for tc in tcs)

    return dataclasses.replace(
        call,
        messages=tuple(
            dataclasses.replace(m, content=text(m.content), tool_calls=tool_calls(m.tool_calls)) for m in call.messages
        ),
        response=None if call.response is None else text(call.response),
        response_tool_calls=tool_calls(call.response_tool_calls),
    )


# --- loading and round trip -------------------------------------------------------------------------------


def test_both_loaders_load_the_same_rows_and_they_round_trip(
    corpus: tuple[list[LLMCall], Analysis], tmp_path: Path
) -> None:
    calls, analysis = corpus
    out = tmp_path / "export"
    summary = export_clusters(calls, analysis, all_ids(analysis), out, redact=None)

    assert set(summary.files) == set(EXPORT_FILES) == {p.name for p in out.iterdir()}
    on_disk = load_from_disk(str(out / "dataset"))
    as_json = load_dataset(
        "json",
        data_files={"train": str(out / "train.jsonl"), "eval": str(out / "eval.jsonl")},
        cache_dir=str(tmp_path / "cache"),
    )
    assert set(on_disk) == set(as_json) == {"train", "eval"}
    assert (on_disk["train"].num_rows, on_disk["eval"].num_rows) == (summary.train_rows, summary.eval_rows)
    assert summary.eval_rows > 0
    for split in ("train", "eval"):
        assert on_disk[split].features == dataset_features()
        assert on_disk[split].num_rows == as_json[split].num_rows
        for a, b in zip(on_disk[split], as_json[split], strict=True):
            assert row_to_call(a) == row_to_call(b)
            assert a["metadata"] == b["metadata"]
            assert a["metadata"]["split"] == split

    # every call with something to learn from is a row, equal to its call; the rest are counted
    originals = {c.call_id: c for c in calls}
    exported = [row_to_call(r) for split in ("train", "eval") for r in on_disk[split]]
    assert Counter(e.call_id for e in exported) == Counter(
        c.call_id for c in calls if c.call_id not in LEFT_OUT and (c.response or c.response_tool_calls)
    )
    for e in exported:
        assert e == ExportedCall.of(originals[e.call_id])
    assert summary.left_out == len(calls) - len(exported) >= len(LEFT_OUT)

    # the card's configuration makes the folder itself loadable: the Parquet files, same rows as dataset/
    from_card = load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    for split in ("train", "eval"):
        assert from_card[split].features == dataset_features()
        assert from_card[split].to_list() == on_disk[split].to_list()


def test_row_layout_is_the_chat_fine_tuning_one(corpus: tuple[list[LLMCall], Analysis], tmp_path: Path) -> None:
    calls, analysis = corpus
    out = tmp_path / "export"
    export_clusters(calls, analysis, all_ids(analysis), out, redact=None)
    by_id = {r["metadata"]["call_id"]: r for r in rows(out)}
    arrow = {r["metadata"]["call_id"]: r for s in ("train", "eval") for r in load_from_disk(str(out / "dataset"))[s]}

    first = by_id["support-1"]
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
    assert first["messages"][-1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "lookup_order", "arguments": '{"id": "A-1"}'}}
        ],
    }
    # JSON Lines: the schema as an object; Arrow: the same schema as JSON text, absent parameters as ""
    assert first["tools"][0]["function"]["parameters"] == json.loads(ORDER_SCHEMA)
    assert "parameters" not in first["tools"][1]["function"]
    assert arrow["support-1"]["tools"][0]["function"]["parameters"] == ORDER_SCHEMA
    assert arrow["support-1"]["tools"][1]["function"]["parameters"] == ""
    assert first["metadata"] == {
        "call_id": "support-1",
        "cluster_id": first["metadata"]["cluster_id"],
        "cluster_name": analysis.cluster(first["metadata"]["cluster_id"]).name,
        "model": None,
        "source_format": "hand",
        "session_id": "conv-1",
        "split": first["metadata"]["split"],
    }

    second = by_id["support-2"]["messages"]
    assert second[3] == {
        "role": "tool",
        "content": '{"status": "shipped"}',
        "name": "lookup_order",
        "tool_call_id": "call_1",
    }
    assert second[2]["tool_calls"][0]["id"] == "call_1"
    assert arrow["support-2"]["messages"][1] == {  # fixed schema: every key, null when unused
        "role": "user",
        "content": "Where is order A-1? Write to ana.lopez@example.com please.",
        "tool_calls": None,
        "name": None,
        "tool_call_id": None,
    }
    assert arrow["support-2"]["tools"] is not None and arrow["openhands-0"]["tools"] is None
    assert "tools" not in by_id["openhands-0"]

    third = by_id["support-3"]["messages"][-1]
    assert third["content"] == "Let me check."
    assert third["tool_calls"] == [{"type": "function", "function": {"name": "ping", "arguments": "{}"}}]
    assert by_id["support-4"]["tools"][0]["function"]["parameters"] == '{"type":"object"}'

    # within a split, rows are sorted by call id
    for split in ("train", "eval"):
        ids = [r["metadata"]["call_id"] for r in jsonl(out / f"{split}.jsonl")]
        assert ids == sorted(ids)


def test_slmscout_reads_its_own_export_back(corpus: tuple[list[LLMCall], Analysis], tmp_path: Path) -> None:
    """The chat-messages reader reads train.jsonl back to the same prompts, answers, tool calls and tools (it reads
    a null answer as "", and a schema given as JSON text as that text: the one row holding one is set aside)."""
    calls, analysis = corpus
    out = tmp_path / "export"
    export_clusters(calls, analysis, all_ids(analysis), out, redact=None)
    back = read(out / "train.jsonl")
    expected = [row_to_call(r) for r in jsonl(out / "train.jsonl")]
    assert len(back) == len(expected)
    compared = 0
    for got, want in zip(back, expected, strict=True):
        if want.call_id == "support-4":
            continue
        compared += 1
        assert (got.messages, got.response or None, got.response_tool_calls, got.tools) == (
            want.messages,
            want.response or None,
            want.response_tool_calls,
            want.tools,
        )
    assert compared >= len(expected) - 1


def test_redaction_changes_only_the_redacted_text(corpus: tuple[list[LLMCall], Analysis], tmp_path: Path) -> None:
    calls, analysis = corpus
    plain, redacted = tmp_path / "plain", tmp_path / "redacted"
    export_clusters(calls, analysis, all_ids(analysis), plain, redact=None)
    export_clusters(calls, analysis, all_ids(analysis), redacted, redact=toy_redact)

    assert any(b"ana.lopez@example.com" in (plain / name).read_bytes() for name in ("train.jsonl", "eval.jsonl"))
    for path in redacted.rglob("*"):
        if path.is_file():
            assert b"ana.lopez@example.com" not in path.read_bytes(), path.name
    originals = {c.call_id: c for c in calls}
    changed: set[str] = set()
    for before, after in zip(rows(plain), rows(redacted), strict=True):
        assert before["metadata"] == after["metadata"]
        call = originals[after["metadata"]["call_id"]]
        assert row_to_call(after) == ExportedCall.of(toy_redact(call))
        if before != after:
            changed.add(call.call_id)
    assert changed == {c.call_id for c in calls if toy_redact(c) != c} - LEFT_OUT
    assert {"support-1", "support-2"} <= changed
    assert "were redacted" in (redacted / "README.md").read_text(encoding="utf-8")
    assert "Not redacted" in (plain / "README.md").read_text(encoding="utf-8")


def test_with_the_project_redactor(corpus: tuple[list[LLMCall], Analysis], tmp_path: Path) -> None:
    """slmscout's Redactor numbers placeholders in the order it meets values: the export feeds it the calls in a
    fixed order, so the files do not depend on the input order, and the split is the unredacted one."""
    calls, analysis = corpus
    ids = all_ids(analysis)
    export_clusters(calls, analysis, ids, tmp_path / "a", redact=Redactor().call)
    export_clusters(reversed(calls), analysis, ids, tmp_path / "b", redact=Redactor().call)
    export_clusters(calls, analysis, ids, tmp_path / "plain", redact=None)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")

    redactor = Redactor()
    expected = {
        c.call_id: ExportedCall.of(redactor.call(c))
        for c in sorted(calls, key=lambda c: (c.call_id, c.source.path, c.source.position))
    }
    redacted = rows(tmp_path / "a")
    for row in redacted:
        assert row_to_call(row) == expected[row["metadata"]["call_id"]]
    for path in (tmp_path / "a").rglob("*"):
        if path.is_file():
            assert b"ana.lopez@example.com" not in path.read_bytes(), path.name
    support = next(r for r in redacted if r["metadata"]["call_id"] == "support-2")
    assert "<EMAIL_1>" in support["messages"][1]["content"]
    splits = {r["metadata"]["call_id"]: r["metadata"]["split"] for r in redacted}
    assert splits == {r["metadata"]["call_id"]: r["metadata"]["split"] for r in rows(tmp_path / "plain")}


# --- split ------------------------------------------------------------------------------------------------


def eval_ids(out: Path) -> set[str]:
    return {r["metadata"]["call_id"] for r in jsonl(out / "eval.jsonl")}


def test_split_ignores_input_order_and_follows_the_seed(corpus: tuple[list[LLMCall], Analysis], tmp_path: Path) -> None:
    calls, analysis = corpus
    shuffled = list(calls)
    random.Random(7).shuffle(shuffled)
    export_clusters(calls, analysis, all_ids(analysis), tmp_path / "a", redact=None)
    export_clusters(reversed(shuffled), analysis, all_ids(analysis), tmp_path / "b", redact=None)
    export_clusters(calls, analysis, all_ids(analysis), tmp_path / "c", redact=None, seed=1)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")  # byte for byte, dataset files included
    assert eval_ids(tmp_path / "a") != eval_ids(tmp_path / "c")


def test_every_cluster_gets_its_share(corpus: tuple[list[LLMCall], Analysis], tmp_path: Path) -> None:
    calls, analysis = corpus
    out = tmp_path / "export"
    summary = export_clusters(calls, analysis, all_ids(analysis), out, redact=None, eval_share=0.2, seed=3)
    per_cluster: dict[int, list[dict[str, Any]]] = {}
    for r in rows(out):
        per_cluster.setdefault(r["metadata"]["cluster_id"], []).append(r["metadata"])
    checked = 0
    for metas in per_cluster.values():
        if len(metas) < 2 or any(m["session_id"] for m in metas):
            continue  # conversations are checked below; here every row is its own split key
        checked += 1
        splits = Counter(m["split"] for m in metas)
        assert splits["eval"] == max(1, int(0.2 * len(metas) + 0.5)), metas
        assert splits["train"] >= 1
    assert checked >= 10
    assert summary.eval_rows == sum(m["split"] == "eval" for metas in per_cluster.values() for m in metas)
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Seed 3, eval share 0.2" in card and "sha256" in card and "at least one row" in card


def test_conversations_never_straddle_the_splits(tmp_path: Path) -> None:
    """Real calls given four conversations that run through every cluster."""
    calls = read(OPENHANDS_SAMPLE)
    analysis = analyze(calls, HashingEmbedder())
    in_sessions = [dataclasses.replace(c, session_id=f"run-{i % 4}") for i, c in enumerate(calls)]
    out = tmp_path / "export"
    summary = export_clusters(in_sessions, analysis, all_ids(analysis), out, redact=None, seed=5)
    splits: dict[str, set[str]] = {}
    for r in rows(out):
        splits.setdefault(r["metadata"]["session_id"], set()).add(r["metadata"]["split"])
    assert all(len(s) == 1 for s in splits.values()), splits
    assert summary.eval_rows > 0 and summary.train_rows > 0
    per_cluster: dict[int, list[dict[str, Any]]] = {}
    for r in rows(out):
        per_cluster.setdefault(r["metadata"]["cluster_id"], []).append(r["metadata"])
    for metas in per_cluster.values():
        if len({m["session_id"] for m in metas}) >= 2:
            assert any(m["split"] == "eval" for m in metas)
    # the four conversations are ranked alike in every cluster, so the clusters mostly pick the same ones
    assert sum(1 for s in splits.values() if s == {"eval"}) < 4


def test_eval_keys_rule() -> None:
    seed = 0
    big = [(0, f"call:{i}") for i in range(30)]
    chosen = eval_keys(big, 0.1, seed)
    assert chosen == set(sorted((k for _, k in big), key=lambda k: split_rank(seed, k))[:3])
    assert eval_keys([(1, "call:a"), (1, "call:b")], 0.1, seed) != set()  # two rows: one goes to eval
    assert len(eval_keys([(1, "call:a"), (1, "call:b")], 0.1, seed)) == 1
    assert eval_keys([(2, "session:x")] * 9, 0.5, seed) == set()  # one conversation: nothing to split
    assert eval_keys(big, 0.0, seed) == set()
    # a key taken by one cluster is eval in the other too (the caller sends every row of the key there)
    pair = [(3, "session:p"), (3, "session:q"), (4, "session:p"), (4, "session:q"), (4, "session:r")]
    first = min(("session:p", "session:q"), key=lambda k: split_rank(seed, k))
    assert first in eval_keys(pair, 0.1, seed)
    assert split_key(hand_calls()[0]) == "session:conv-1" and split_key(hand_calls()[2]) == "call:support-3"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.sampled_from([f"session:{i}" for i in range(6)] + ["call:a", "call:b"]))),
    st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9]),
    st.integers(0, 3),
    st.randoms(use_true_random=False),
)
def test_eval_keys_properties(rows_: list[tuple[int, str]], share: float, seed: int, rnd: random.Random) -> None:
    chosen = eval_keys(rows_, share, seed)
    shuffled = list(rows_)
    rnd.shuffle(shuffled)
    assert eval_keys(shuffled, share, seed) == chosen  # the input order does not matter
    per_cluster: dict[int, Counter[str]] = {}
    for cluster_id, key in rows_:
        per_cluster.setdefault(cluster_id, Counter())[key] += 1
    for groups in per_cluster.values():
        ranked = sorted(groups, key=lambda k: (split_rank(seed, k), k))
        if share > 0 and len(groups) >= 2:
            assert ranked[0] in chosen  # at least one eval row
        reachable = sum(groups.values()) - groups[ranked[-1]]
        target = min(
            max(1 if share > 0 and len(groups) >= 2 else 0, int(share * sum(groups.values()) + 0.5)), reachable
        )
        assert sum(n for k, n in groups.items() if k in chosen) >= target
    assert chosen <= {key for _, key in rows_}


def test_no_eval_share_gives_an_empty_loadable_eval_split(
    corpus: tuple[list[LLMCall], Analysis], tmp_path: Path
) -> None:
    calls, analysis = corpus
    out = tmp_path / "export"
    summary = export_clusters(calls, analysis, all_ids(analysis), out, redact=None, eval_share=0)
    assert summary.eval_rows == 0 and summary.train_rows > 0
    on_disk = load_from_disk(str(out / "dataset"))
    assert on_disk["eval"].num_rows == 0 and on_disk["eval"].features == dataset_features()
    assert (out / "eval.jsonl").read_text(encoding="utf-8") == ""
    assert "The eval split is empty" in (out / "README.md").read_text(encoding="utf-8")
    assert list(load_dataset(str(out), cache_dir=str(tmp_path / "cache"))) == ["train"]


# --- names, atomicity, errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b\\c", "/abs/x | y\n<b>z</b>"])
def test_cluster_names_never_become_file_names(
    corpus: tuple[list[LLMCall], Analysis], tmp_path: Path, name: str
) -> None:
    calls, analysis = corpus
    hostile = dataclasses.replace(
        analysis, clusters=tuple(dataclasses.replace(c, name=name) for c in analysis.clusters)
    )
    out = tmp_path / "inside" / "export"
    export_clusters(calls, hostile, all_ids(hostile), out, redact=None)
    written = set(tree(tmp_path))
    assert all(p.startswith("inside/export/") for p in written)
    assert {p.split("/")[2] for p in written} == set(EXPORT_FILES)
    assert {p for p in written if p.startswith("inside/export/dataset/")} == {
        "inside/export/dataset/dataset_dict.json",
        *(
            f"inside/export/dataset/{s}/{f}"
            for s in ("train", "eval")
            for f in ("data-00000-of-00001.arrow", "dataset_info.json", "state.json")
        ),
    }
    assert {r["metadata"]["cluster_name"] for r in rows(out)} == {name}  # kept exactly, as data
    table = [line for line in (out / "README.md").read_text(encoding="utf-8").splitlines() if line.startswith("| 0 |")]
    assert len(table) == 1 and table[0].count(" | ") == 4 and "<b>" not in table[0]


def test_refuses_a_folder_that_is_not_empty(corpus: tuple[list[LLMCall], Analysis], tmp_path: Path) -> None:
    calls, analysis = corpus
    out = tmp_path / "export"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputError, match="not empty"):
        export_clusters(calls, analysis, [0], out, redact=None)
    with pytest.raises(OutputError, match="did not write"):  # overwrite replaces an earlier export, nothing else
        export_clusters(calls, analysis, [0], out, redact=None, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["export"]
    assert [p.name for p in out.iterdir()] == ["notes.txt"]

    empty = tmp_path / "empty"
    empty.mkdir()
    assert export_clusters(calls, analysis, [0], empty, redact=None).train_rows > 0


def test_overwrite_replaces_an_earlier_export_whole(corpus: tuple[list[LLMCall], Analysis], tmp_path: Path) -> None:
    calls, analysis = corpus
    out = tmp_path / "export"
    export_clusters(calls, analysis, all_ids(analysis), out, redact=None)
    with pytest.raises(OutputError):
        export_clusters(calls, analysis, [0], out, redact=None)
    summary = export_clusters(calls, analysis, [0], out, redact=None, overwrite=True)
    assert {r["metadata"]["cluster_id"] for r in rows(out)} == {0}
    assert summary.train_rows + summary.eval_rows == len(rows(out))
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # no partial or old folder beside it


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_an_interrupted_export_leaves_nothing_behind(
    corpus: tuple[list[LLMCall], Analysis], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    calls, analysis = corpus
    out = tmp_path / "export"
    export_clusters(calls, analysis, [1], out, redact=None)
    before = tree(tmp_path)

    def fail(folder: Path, arrow_rows: object) -> None:
        assert (folder / "train.jsonl").exists()  # half-way: the JSON Lines are written already
        raise error

    monkeypatch.setattr(finetune, "_write_datasets", fail)
    with pytest.raises(OutputError if isinstance(error, OSError) else KeyboardInterrupt):
        export_clusters(calls, analysis, [0], out, redact=None, overwrite=True)
    with pytest.raises(OutputError if isinstance(error, OSError) else KeyboardInterrupt):
        export_clusters(calls, analysis, [0], tmp_path / "fresh", redact=None)
    assert tree(tmp_path) == before  # the earlier export intact, no new folder, no hidden partial one
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_usage_errors(corpus: tuple[list[LLMCall], Analysis], tmp_path: Path) -> None:
    calls, analysis = corpus
    out = tmp_path / "export"
    last = len(analysis.clusters) - 1
    with pytest.raises(UsageError, match=rf"unknown cluster ids 99, 100 \(valid ids: 0-{last}\)"):
        export_clusters(calls, analysis, [0, 99, 100], out, redact=None)
    with pytest.raises(UsageError, match="at least one cluster"):
        export_clusters(calls, analysis, [], out, redact=None)
    with pytest.raises(UsageError, match="eval share"):
        export_clusters(calls, analysis, [0], out, redact=None, eval_share=1.0)
    # a cluster whose calls all have nothing to learn from
    extra = len(analysis.clusters)
    empty = dataclasses.replace(
        analysis,
        clusters=(*analysis.clusters, dataclasses.replace(analysis.clusters[0], cluster_id=extra)),
        assignments=tuple(
            dataclasses.replace(a, cluster_id=extra) if a.call_id in LEFT_OUT else a for a in analysis.assignments
        ),
    )
    with pytest.raises(UsageError, match="no call with a response"):
        export_clusters(calls, empty, [extra], out, redact=None)
    assert not out.exists()


def test_calls_missing_from_the_run_are_an_input_error(corpus: tuple[list[LLMCall], Analysis], tmp_path: Path) -> None:
    calls, analysis = corpus
    chosen = analysis.assignments[0].cluster_id
    missing = analysis.assignments[0].call_id
    with pytest.raises(InputError, match="1 call"):
        export_clusters((c for c in calls if c.call_id != missing), analysis, [chosen], tmp_path / "x", redact=None)
    assert not (tmp_path / "x").exists()


def test_calls_are_read_once_as_a_stream(corpus: tuple[list[LLMCall], Analysis], tmp_path: Path) -> None:
    calls, analysis = corpus
    seen: list[str] = []

    def stream() -> Iterator[LLMCall]:
        for call in calls:
            seen.append(call.call_id)
            yield call

    summary = export_clusters(stream(), analysis, [0], tmp_path / "export", redact=None)
    assert len(seen) == len(calls) and summary.clusters == (0,)


def test_text_arrow_cannot_hold_is_replaced(corpus: tuple[list[LLMCall], Analysis], tmp_path: Path) -> None:
    """A lone surrogate (a JSON escape in a log) becomes U+FFFD instead of failing the export."""
    calls, analysis = corpus
    odd = _hand("odd", [Message("user", "half \ud83d pair")], response="ok \udc00")
    first = analysis.assignments[0]
    extended = dataclasses.replace(
        analysis,
        assignments=(*analysis.assignments, dataclasses.replace(first, call_id="odd", source=str(odd.source))),
    )
    export_clusters([*calls, odd], extended, [first.cluster_id], tmp_path / "export", redact=None)
    row = next(r for r in rows(tmp_path / "export") if r["metadata"]["call_id"] == "odd")
    assert row["messages"][0]["content"] == "half \ufffd pair" and row["messages"][-1]["content"] == "ok \ufffd"
