"""The map step and the call table: digesting calls in batches, in worker processes, with redaction numbers decided
afterwards, gives exactly what one process reading the calls in canonical order gives."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from slmscout.analyzers import digest
from slmscout.analyzers.calltable import CallTable, read_shard
from slmscout.analyzers.digest import digest_calls, new_redaction_key
from slmscout.analyzers.facts import facts_table
from slmscout.analyzers.naming import distinctive_terms
from slmscout.analyzers.pieces import call_pieces
from slmscout.analyzers.pipeline import AnalysisParams, analyze, canonical_order
from slmscout.errors import OutputError
from slmscout.reports.json_report import report_document
from slmscout.reports.workflow import analyse_traces
from slmscout.traces.ingest import ReadSummary, read_traces
from slmscout.traces.record import LLMCall, Message, SourceRef
from slmscout.traces.redaction import Redactor
from tests.conftest import OPENHANDS_SAMPLE, HashingEmbedder

PII = ["ana@example.org", "bob@example.com", "sk-ant-api03-" + "Zx9" * 30, "4111 1111 1111 1111", "10.1.2.3"]


def _calls(n: int, seed: int = 0) -> list[LLMCall]:
    rnd = random.Random(seed)
    calls = []
    for i in range(n):
        secret = rnd.choice(PII)
        calls.append(
            LLMCall(
                call_id=f"c{i:03d}",
                source=SourceRef(f"f{i % 3}.jsonl", str(i), "chat-messages"),
                messages=(
                    Message("system", "You sort support tickets into queues."),
                    Message("user", f"Ticket {i}: write to {secret} or {rnd.choice(PII)} about order {i * 7}."),
                ),
                response=f"queue {i % 4}, reply to {secret}",
            )
        )
    return calls


def test_deferred_numbering_matches_one_redactor_in_canonical_order() -> None:
    calls = _calls(60)
    redactor = Redactor()
    expected = [redactor.call(c) for c in canonical_order(calls)]
    shuffled = calls[:]
    random.Random(1).shuffle(shuffled)
    table = CallTable(digest_calls(shuffled, new_redaction_key()))
    assert list(table.iter_calls()) == expected
    assert table.numbering.counts == redactor.counts
    assert all(p not in line for p in PII for line in table._lines(range(len(table))))


def test_parallel_digest_writes_shards_that_datasets_reads(tmp_path: Path) -> None:
    calls = sorted(_calls(30), key=lambda c: c.source.path)  # read file by file, as readers do
    key = new_redaction_key()
    parallel = CallTable(digest_calls(calls, key, workers=2, work_dir=tmp_path))
    local = CallTable(digest_calls(calls, key))
    assert list(parallel.iter_calls()) == list(local.iter_calls())
    assert parallel.facts.records() == local.facts.records()
    shards = sorted(tmp_path.glob("shard-*.arrow"))
    assert len(shards) == 3  # a new batch at each new file
    datasets = pytest.importorskip("datasets")
    loaded = datasets.Dataset.from_file(str(shards[0]))
    assert loaded.num_rows == read_shard(shards[0]).num_rows == 10
    assert loaded[0]["call_id"].startswith("c")


def test_parallel_workflow_gives_the_same_report(
    fake_model: HashingEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(workers: int) -> dict[str, object]:
        work = tmp_path / f"w{workers}"
        work.mkdir()
        result = analyse_traces([OPENHANDS_SAMPLE], HashingEmbedder, AnalysisParams(), work_dir=work, workers=workers)
        document = report_document(result.manifest, result.analysis)
        return {"analysis": document["analysis"], "calls": list(result.calls.iter_calls())}

    monkeypatch.setattr("slmscout.reports.workflow.PARALLEL_ABOVE_BYTES", 0)
    monkeypatch.setattr(digest, "BATCH_CALLS", 7)
    assert run(2) == run(1)


def test_analysis_libraries_are_imported_while_digesting() -> None:
    """The workflow and CLI import none of the analysis's slow libraries up front (a large run imports them in a
    thread during the digest), and the list the thread imports names every one of them."""
    code = (
        "import sys\n"
        "import slmscout.cli.app, slmscout.reports.workflow as w\n"
        "slow = ('sklearn', 'scipy.cluster', 'scipy.spatial')\n"
        "assert not [m for m in sys.modules if m.startswith(slow)], 'imported up front'\n"
        "w._import_all(w.ANALYSIS_LIBRARIES)\n"
        "before = set(sys.modules)\n"
        "from slmscout.analyzers.cluster import cut_tree\n"
        "from slmscout.analyzers.naming import distinctive_terms\n"
        "import numpy as np\n"
        "cut_tree(np.eye(3), 0.5)\n"
        "distinctive_terms(['write the parser', 'plan the trip'])\n"
        "assert not [m for m in set(sys.modules) - before if m.startswith(slow)], 'not preloaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_shard_a_worker_cannot_write_is_an_output_error(tmp_path: Path) -> None:
    """A worker that cannot write its shard (a full disk, most often) reports the folder and the reason as slmscout's
    own error, which the CLI turns into one line, not an internal error."""
    with digest.Digester(None, workers=2, work_dir=tmp_path) as digester:
        pending = digester._submit(_calls(2), tmp_path / "gone" / "shard-000000.arrow")
        assert not isinstance(pending, digest.Digested)
        with pytest.raises(OutputError, match=r"cannot write the digested calls in .*gone: No such file or directory"):
            pending.result()


def test_workers_are_waited_for_only_after_an_error(tmp_path: Path) -> None:
    """A whole digest's workers tear down on their own while the analysis goes on; after an error, batches still
    running are waited for, so none writes into a work folder being removed."""
    waits: list[bool] = []

    class Pool:
        def shutdown(self, wait: bool, cancel_futures: bool) -> None:
            waits.append(wait)

    for fails in (False, True):
        digester = digest.Digester(None, workers=2, work_dir=tmp_path)
        digester._pool = Pool()  # type: ignore[assignment]
        with pytest.raises(KeyError) if fails else contextlib.nullcontext(), digester:
            if fails:
                raise KeyError("a batch failed")
    assert waits == [False, True]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # a zombie (exited, not reaped) counts as gone
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z"):
            return False
    return True


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_workers_end_when_the_run_is_killed() -> None:
    """A run killed outright (it can run no cleanup) leaves no digest worker behind."""
    code = (
        "import os, signal; from slmscout.analyzers import digest\n"
        "pool = digest.worker_pool(2)\n"
        "pids = {pool.submit(os.getpid).result() for _ in range(8)}\n"
        "print(*sorted(pids), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    workers = [int(pid) for pid in run.stdout.split()]
    assert workers and run.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)]


def test_in_memory_analysis_is_the_same_in_any_order() -> None:
    calls = list(read_traces([OPENHANDS_SAMPLE], ReadSummary()))
    first = analyze(calls, HashingEmbedder())
    again = analyze(list(reversed(calls)), HashingEmbedder())
    assert first == again


def test_counted_terms_equal_terms_of_the_joined_text() -> None:
    groups = [Counter({"write the code for a parser": 3, "review the parser": 1}), Counter({"plan a trip": 2})]
    joined = ["\n".join(text for text, n in g.items() for _ in range(n)) for g in groups]
    assert distinctive_terms(groups) == distinctive_terms(joined)


def test_table_of_no_calls_is_empty() -> None:
    table = CallTable([])
    assert len(table) == 0 and table.pieces().hashes.size == 0


def test_piece_texts_are_the_pieces_at_the_places_asked() -> None:
    """Read off shards of one chunk, of several chunks and sliced out of a larger table (offsets not from 0)."""
    calls = list(read_traces([OPENHANDS_SAMPLE], ReadSummary()))
    assert len(calls) > 30
    whole = facts_table(calls[20:])
    shards = [facts_table(calls[:8]), pa.concat_tables([facts_table(calls[8:12]), facts_table(calls[12:20])]), whole]
    shards[2] = whole.slice(3)
    kept = calls[:20] + calls[23:]
    table = CallTable(shards)
    expected = {call.call_id: call_pieces(call) for call in kept}
    ids = table.facts.call_id.tolist()
    positions = [i for i, call_id in enumerate(ids) for _ in expected[call_id]]
    pieces = [k for call_id in ids for k in range(len(expected[call_id]))]
    asked = np.asarray(positions[::-1], dtype=np.int64), np.asarray(pieces[::-1], dtype=np.int64)
    assert len(positions) > 100
    assert table.piece_texts(*asked) == [expected[ids[i]][k] for i, k in zip(*asked, strict=True)]


def test_digest_keeps_calls_of_one_batch_in_one_file() -> None:
    calls = [replace(c, source=SourceRef("same.jsonl", c.source.position, "chat-messages")) for c in _calls(25)]
    assert [len(b) for b in digest.batches(calls, size=10)] == [10, 10, 5]
