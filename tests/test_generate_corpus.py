"""The scale-benchmark corpus generator (benchmarks/generate_corpus.py) on a few hundred calls.

The source is built from the 66 real OpenHands calls in tests/data, split into two corpora and labelled by the
opening of their prompt (the agent's template); a last test uses the real corpora when they are beside the project.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from benchmarks.generate_corpus import (
    GenerationStats,
    SourceCall,
    build_groups,
    generate,
    line_key,
    make_call,
    quotas,
    read_source,
)
from slmscout.traces import ReadSummary, read_traces
from tests.conftest import OPENHANDS_SAMPLE

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
CALLS = 300


def opening(messages: list[dict[str, Any]]) -> str:
    """The label of a sample call: the first 40 characters of its first turn, dashes and blank lines skipped."""
    return str(messages[0]["content"]).lstrip("-\n ")[:40]


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two labelled corpora: the odd and the even lines of the OpenHands sample."""
    root = tmp_path_factory.mktemp("source")
    lines = OPENHANDS_SAMPLE.read_text(encoding="utf-8").splitlines()
    for name, part in (("alpha", lines[0::2]), ("beta", lines[1::2])):
        folder = root / name
        folder.mkdir()
        (folder / "calls.jsonl").write_text("\n".join(part) + "\n", encoding="utf-8")
        with (folder / "labels.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "label", "agent_role"])
            for line in part:
                record = json.loads(line)
                writer.writerow([record["id"], opening(record["messages"]), ""])
    return root


@pytest.fixture(scope="module")
def source(source_dir: Path) -> list[SourceCall]:
    return read_source(source_dir)


@pytest.fixture(scope="module")
def generated(source: list[SourceCall], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationStats]:
    out = tmp_path_factory.mktemp("generated")
    return out, generate(source, CALLS, out, seed=0)


def read_calls(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "calls.jsonl").read_text(encoding="utf-8").splitlines()]


def read_labels(folder: Path) -> list[dict[str, str]]:
    with (folder / "labels.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def prompt_of(record: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    messages = record["messages"]
    if messages and messages[-1]["role"] == "assistant":
        messages = messages[:-1]
    return tuple((m["role"], m["content"]) for m in messages)


def test_same_seed_same_files_other_seed_other_calls(
    source: list[SourceCall], generated: tuple[Path, GenerationStats], tmp_path: Path
) -> None:
    out, _ = generated
    again = generate(source, CALLS, tmp_path / "again", seed=0)
    other = generate(source, CALLS, tmp_path / "other", seed=1)
    for name in ("calls.jsonl", "labels.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes()
    assert again.duplicate_prompts == generated[1].duplicate_prompts
    assert (tmp_path / "other" / "calls.jsonl").read_bytes() != (out / "calls.jsonl").read_bytes()
    assert other.calls == CALLS


def test_labels_line_up_with_ids_and_name_their_corpus(generated: tuple[Path, GenerationStats]) -> None:
    out, stats = generated
    calls, labels = read_calls(out), read_labels(out)
    assert list(labels[0]) == ["id", "label", "corpus"]
    assert [c["id"] for c in calls] == [row["id"] for row in labels]
    assert len({c["id"] for c in calls}) == CALLS == stats.calls
    for call, row in zip(calls, labels, strict=True):
        assert re.fullmatch(rf"gen-{row['corpus']}-\d+", call["id"])
        corpus, _, label = row["label"].partition(":")
        assert corpus == row["corpus"]
        # The template of the label's group is kept: the call opens as the source calls of its label do.
        assert opening(call["messages"]) == label
    assert Counter(row["corpus"] for row in labels) == stats.corpora


def test_every_source_label_appears_in_proportion(
    source: list[SourceCall], generated: tuple[Path, GenerationStats]
) -> None:
    out, _ = generated
    wanted = Counter(f"{c.corpus}:{c.label}" for c in source)
    got = Counter(row["label"] for row in read_labels(out))
    assert set(got) == set(wanted)
    for label, count in wanted.items():
        assert abs(got[label] - CALLS * count / len(source)) < 1 + 1e-9


def test_quotas_are_proportional_and_cover_every_group() -> None:
    sizes = [500, 120, 3, 1, 1]
    counts = quotas(sizes, 1000)
    assert sum(counts) == 1000
    assert min(counts) >= 1
    assert all(abs(c - 1000 * s / sum(sizes)) < 6 for c, s in zip(counts, sizes, strict=True))
    assert sum(quotas(sizes, 3)) == 3  # fewer calls than groups: no minimum


def test_calls_are_not_copies_of_the_source_or_of_each_other(
    source: list[SourceCall], generated: tuple[Path, GenerationStats]
) -> None:
    out, stats = generated
    prompts = [prompt_of(c) for c in read_calls(out)]
    source_prompts = {c.prompt for c in source}
    copies = sum(p in source_prompts for p in prompts)
    repeats = sum(n - 1 for n in Counter(prompts).values())
    assert copies + repeats <= 0.02 * CALLS
    # generation.json reports what the files hold
    assert stats.duplicate_prompts >= repeats
    report = json.loads((out / "generation.json").read_text(encoding="utf-8"))
    assert report["duplicate_prompts"] == stats.duplicate_prompts
    assert report["calls_bytes"] == (out / "calls.jsonl").stat().st_size


def test_variable_content_is_recombined_not_only_renumbered(source: list[SourceCall]) -> None:
    """First draws (no splicing): with numbers and ids masked, many prompts are still no source prompt, so their
    variable blocks came from other calls; each group of the sample holds only three calls."""

    def masked(prompt: tuple[tuple[str, str], ...]) -> str:
        return re.sub(r"\d+|[0-9a-fA-F]{8,}", "#", json.dumps(prompt))

    source_masked = {masked(c.prompt) for c in source}
    rng = random.Random(0)
    draws = [make_call(group, rng, attempt=0)[1] for group in build_groups(source) for _ in range(20)]
    new = sum(masked(prompt) not in source_masked for prompt in draws)
    assert new >= 0.2 * len(draws)


def test_lines_unique_to_one_source_prompt_stay_unique_and_recurring_lines_recur(
    source: list[SourceCall], generated: tuple[Path, GenerationStats]
) -> None:
    """Content of one source call gets words replaced, so it does not recur in every call built from it; lines that
    recur in the source (template, shared history) are kept verbatim."""
    out, _ = generated

    def lines(prompt: tuple[tuple[str, str], ...]) -> set[str]:
        return {line_key(line) for _, content in prompt for line in content.split("\n")} - {""}

    def wordy(line: str) -> bool:
        return len(re.findall(r"\b[A-Za-z]{3,}\b", line)) >= 6

    in_source = Counter(line for call in source for line in lines(call.prompt))
    in_output = Counter(line for call in read_calls(out) for line in lines(prompt_of(call)))
    unique = [line for line, count in in_source.items() if count == 1 and wordy(line)]
    recurring = [line for line, count in in_source.items() if count >= 2 and wordy(line)]
    assert len(unique) >= 20 and len(recurring) >= 100
    assert sum(in_output[line] for line in unique) <= 0.1 * len(unique)
    assert sum(1 for line in recurring if in_output[line]) >= 0.9 * len(recurring)


def test_slmscout_reads_every_generated_call(generated: tuple[Path, GenerationStats]) -> None:
    out, _ = generated
    summary = ReadSummary()
    calls = list(read_traces([out / "calls.jsonl"], summary, None))
    assert summary.records_skipped == 0
    assert sorted(c.call_id for c in calls) == sorted(row["id"] for row in read_labels(out))
    assert all(c.messages for c in calls)
    assert all(any(m.content.strip() for m in c.messages) for c in calls)  # no prompt is blank


@pytest.mark.skipif(not (REAL / "metagpt" / "calls.jsonl").is_file(), reason="../shared/data/real is not beside it")
def test_real_corpora_every_label_few_duplicates(tmp_path: Path) -> None:
    source = read_source(REAL)
    stats = generate(source, 500, tmp_path, seed=0)
    assert {row["label"] for row in read_labels(tmp_path)} == {f"{c.corpus}:{c.label}" for c in source}
    assert stats.duplicate_share <= 0.01
    assert set(stats.corpora) == {c.corpus for c in source}
