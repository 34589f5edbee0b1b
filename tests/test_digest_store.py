"""Digests kept across runs (``DigestStore``): a second run over the same traces reads nothing again and reports the
same thing; a changed or added file is digested anew; only redacted digests are kept, under a key only the user can
read; the store forgets what was used least recently; and a change to the code that digests serves no stale entry."""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
import time
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any, cast

import pytest
from typer.testing import CliRunner

from slmscout.analyzers import digest, digest_store
from slmscout.analyzers.calltable import read_shard
from slmscout.analyzers.digest import Digester
from slmscout.analyzers.digest_store import ENTRY_FILE, IN_USE_SECONDS, KEY_FILE, DigestStore, code_fingerprint
from slmscout.analyzers.facts import CALL_COLUMN
from slmscout.analyzers.pipeline import AnalysisParams
from slmscout.cli.app import app
from slmscout.errors import OutputError
from slmscout.reports.json_report import report_document
from slmscout.reports.workflow import AnalysedTraces, analyse_traces
from slmscout.traces.ingest import FileRead, ReadSummary, ReadUnit, plan_reads, read_line_batch
from slmscout.traces.source import file_digest
from tests.conftest import OPENHANDS_SAMPLE, HashingEmbedder

STAGEHAND = Path(__file__).parent / "fixtures" / "stagehand"

runner = CliRunner()

EMAIL = "dana.whitfield@example.org"
OTHER_EMAIL = "lee.okafor@example.com"
API_KEY = "sk-ant-api03-" + "Qm7" * 30
PHRASE = "Sort this support ticket into a queue"  # plain text every ticket call holds


def _message(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def _ticket(call_id: str, text: str, queue: str) -> str:
    record = {
        "id": call_id,
        "model": "gpt-4o-mini",
        "messages": [
            _message("system", f"{PHRASE}: billing, shipping or account."),
            _message("user", text),
            _message("assistant", queue),
        ],
    }
    return json.dumps(record)


# A JSON Lines file that reads with problems: broken lines, a blank line, a record that is not an object, a record of
# another shape, records the reader cannot convert.
TICKET_LINES = [
    _ticket("t01", f"Refund my order, write to {EMAIL}", "billing"),
    '{"id": "t02", "messages": [',
    "",
    "[1, 2, 3]",
    json.dumps({"id": "t05", "prompt_text": "not a chat record"}),
    _ticket("t06", f"My key {API_KEY} stopped working", "account"),
    json.dumps({"id": "t07", "messages": []}),
    _ticket("t08", "Where is my parcel?", "shipping"),
    '{"id": "t09", broken',
    _ticket("t10", f"Change the e-mail of my account to {OTHER_EMAIL}", "account"),
    _ticket("t11", "The invoice shows the wrong amount", "billing"),
    json.dumps({"id": "t12", "messages": "[not json"}),
    _ticket("t13", f"Cancel the order and tell {EMAIL}", "billing"),
]


def _traces(root: Path) -> Path:
    """A folder of traces: the real OpenHands sample, the ticket file with its broken lines, and a note no reader
    recognises."""
    traces = root / "traces"
    traces.mkdir()
    shutil.copy(OPENHANDS_SAMPLE, traces / "openhands.jsonl")
    (traces / "tickets.jsonl").write_text("\n".join(TICKET_LINES) + "\n", encoding="utf-8")
    (traces / "notes.txt").write_text("nothing but notes\n", encoding="utf-8")
    return traces


def _analyse(inputs: list[Path], work: Path, store: DigestStore | None) -> AnalysedTraces:
    work.mkdir(parents=True, exist_ok=True)
    return analyse_traces(inputs, HashingEmbedder, AnalysisParams(), work_dir=work, store=store)


def _report(result: AnalysedTraces) -> dict[str, Any]:
    """The JSON report without what names the run (its id and time), and every call as written out."""
    document = report_document(result.manifest, result.analysis)
    manifest = dict(cast(dict[str, Any], document["manifest"]))
    del manifest["run_id"], manifest["created_at"]
    lines = StringIO()
    result.calls.write_jsonl(lines)
    return {**document, "manifest": manifest, "calls": list(result.calls.iter_calls()), "jsonl": lines.getvalue()}


def _entries(store: DigestStore) -> set[str]:
    return {p.name for p in store.root.iterdir() if (p / ENTRY_FILE).is_file()}


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("a unit was digested again")


@pytest.fixture
def digested_units(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, ...]]]:
    """The units ``Digester`` digests (rather than takes from the store), by their files' names."""
    seen: list[tuple[str, ...]] = []
    run = Digester._run

    def spy(self: Digester, unit: ReadUnit, *args: object) -> object:
        seen.append(tuple(path.name for path in unit.files))
        return run(self, unit, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Digester, "_run", spy)
    yield seen


def test_second_run_takes_every_unit_from_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing left to digest the second time, the report (read summary included) and the calls are the first
    run's, which are what a run without a store gives."""
    traces = _traces(tmp_path)
    first = _report(_analyse([traces], tmp_path / "w1", DigestStore(tmp_path / "cache")))

    monkeypatch.setattr(digest, "_digest", _refuse)
    monkeypatch.setattr(Digester, "_run", _refuse)
    second = _report(_analyse([traces], tmp_path / "w2", DigestStore(tmp_path / "cache")))
    assert second == first
    monkeypatch.undo()
    assert _report(_analyse([traces], tmp_path / "w3", None)) == first

    reads = first["manifest"]["reads"]
    files = {Path(f["path"]).name: (f["format"], f["calls"], f["skipped"], f["note"]) for f in reads["files"]}
    assert files == {
        "notes.txt": (None, 0, 0, "no reader recognises its content"),
        "openhands.jsonl": ("chat-messages", 66, 0, None),
        "tickets.jsonl": ("chat-messages", 6, 6, None),
    }
    tickets = str(traces / "tickets.jsonl")
    skips = [(s["reason"], s["count"], s["locations"]) for s in reads["skips"]]
    assert skips == [
        ("invalid JSON", 2, [f"{tickets}:2", f"{tickets}:9"]),
        ("messages is empty", 1, [f"{tickets}:7"]),
        ("messages is not a list", 1, [f"{tickets}:12"]),
        ("record is not a JSON object", 1, [f"{tickets}:4"]),
        ("record is not in the chat-messages shape", 1, [f"{tickets}:5"]),
    ]
    assert (reads["calls_read"], reads["records_skipped"]) == (72, 6)
    sizes = {Path(f["path"]).name: f["bytes"] for f in reads["files"]}
    assert sizes["tickets.jsonl"] == (traces / "tickets.jsonl").stat().st_size


def test_units_digested_by_workers_are_kept_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shards written by worker processes into the store (the report that of a run without a store) serve a later run
    in one process, which digests nothing and reports the same."""
    traces = _traces(tmp_path)
    monkeypatch.setattr("slmscout.reports.workflow.PARALLEL_ABOVE_BYTES", 0)
    monkeypatch.setattr(digest, "BATCH_CALLS", 20)
    work = tmp_path / "w1"
    work.mkdir()
    store = DigestStore(tmp_path / "cache")
    first = _report(analyse_traces([traces], HashingEmbedder, AnalysisParams(), work_dir=work, workers=2, store=store))
    assert len(list(store.root.rglob("shard-*.arrow"))) > 2  # several batches per unit
    assert first == _report(_analyse([traces], tmp_path / "w0", None))

    monkeypatch.setattr(digest, "_digest", _refuse)
    monkeypatch.setattr(Digester, "_run", _refuse)
    assert _report(_analyse([traces], tmp_path / "w2", DigestStore(tmp_path / "cache"))) == first


def test_a_changed_file_is_digested_again(tmp_path: Path, digested_units: list[tuple[str, ...]]) -> None:
    """Same path, same size, same modification time, other content: the file is read again (its digest names the
    entry), the unchanged one is not, and the report is that of the new content."""
    traces = _traces(tmp_path)
    _analyse([traces], tmp_path / "w1", DigestStore(tmp_path / "cache"))
    assert sorted(digested_units) == [("openhands.jsonl",), ("tickets.jsonl",)]

    tickets = traces / "tickets.jsonl"
    before = tickets.stat()
    tickets.write_text(tickets.read_text(encoding="utf-8").replace("shipping", "delivery"), encoding="utf-8")
    os.utime(tickets, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert tickets.stat().st_size == before.st_size and tickets.stat().st_mtime_ns == before.st_mtime_ns

    digested_units.clear()
    again = _report(_analyse([traces], tmp_path / "w2", DigestStore(tmp_path / "cache")))
    assert digested_units == [("tickets.jsonl",)]
    fresh = _report(_analyse([traces], tmp_path / "w3", None))
    assert again == fresh
    assert any(call.response == "delivery" for call in again["calls"])
    assert not any(call.response == "shipping" for call in again["calls"])


def test_grown_traces_digest_only_the_new_file(tmp_path: Path, digested_units: list[tuple[str, ...]]) -> None:
    """A file added to a folder already analysed is the only one digested; the report is that of a run over the
    whole folder without a store."""
    traces = tmp_path / "traces"
    traces.mkdir()
    shutil.copy(OPENHANDS_SAMPLE, traces / "openhands.jsonl")
    store = DigestStore(tmp_path / "cache")
    _analyse([traces], tmp_path / "w1", store)
    assert digested_units == [("openhands.jsonl",)]
    assert len(_entries(store)) == 1

    (traces / "tickets.jsonl").write_text("\n".join(TICKET_LINES) + "\n", encoding="utf-8")
    digested_units.clear()
    grown = _report(_analyse([traces], tmp_path / "w2", DigestStore(tmp_path / "cache")))
    assert digested_units == [("tickets.jsonl",)]
    assert len(_entries(store)) == 2
    assert grown == _report(_analyse([traces], tmp_path / "w3", None))
    assert grown["manifest"]["reads"]["calls_read"] == 72


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def _cli(*args: str) -> str:
    result = runner.invoke(app, ["analyze", *args, "-q"])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_no_cache_writes_nothing_to_the_cache(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    """``--no-cache`` still analyses, and leaves no file (no digest, no key, no embedding) under the cache folder."""
    traces = _traces(tmp_path)
    cache = tmp_path / "cache"
    document = json.loads(_cli(str(traces), "--cache-dir", str(cache), "--no-cache", "--no-save", "--json"))
    assert document["manifest"]["reads"]["calls_read"] == 72
    assert len(document["analysis"]["assignments"]) == 72
    assert not (cache / "digests").exists()
    assert _files_under(cache) == []


def test_only_redacted_digests_are_kept(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    """A redacting run keeps digests in which no planted secret appears (in any file of the cache, by name or by
    byte) while their text is there in the clear; its key is readable by the owner only. A ``--no-redact`` run
    neither keeps digests nor takes the redacted ones: its calls hold the secrets as logged."""
    traces = _traces(tmp_path)
    cache = tmp_path / "cache"
    _cli(str(traces), "--cache-dir", str(cache), "--no-redact", "--out", str(tmp_path / "raw1"))
    assert not list((cache / "digests").rglob(ENTRY_FILE))
    assert not list(cache.rglob("*.arrow"))
    assert EMAIL in (tmp_path / "raw1" / "calls.jsonl").read_text(encoding="utf-8")

    _cli(str(traces), "--cache-dir", str(cache), "--out", str(tmp_path / "redacted"))
    stored = list((cache / "digests").rglob(ENTRY_FILE))
    assert len(stored) == 2
    shards = list((cache / "digests").rglob("*.arrow"))
    assert shards
    everything = _files_under(cache)
    for secret in (EMAIL, OTHER_EMAIL, API_KEY, API_KEY[:24]):
        for path in everything:
            assert secret.encode() not in path.read_bytes(), (secret, path)
            assert secret not in str(path)
    assert any(PHRASE.encode() in path.read_bytes() for path in shards)  # the bytes hold the calls' text as is
    stored_calls = [line for path in shards for line in read_shard(path).column(CALL_COLUMN).to_pylist()]
    assert any("<EMAIL_" in line for line in stored_calls)
    assert any("<API_KEY_" in line for line in stored_calls)
    assert stat.S_IMODE((cache / "digests" / KEY_FILE).stat().st_mode) == 0o600
    assert len((cache / "digests" / KEY_FILE).read_bytes()) == 32
    assert EMAIL not in (tmp_path / "redacted" / "calls.jsonl").read_text(encoding="utf-8")

    _cli(str(traces), "--cache-dir", str(cache), "--no-redact", "--out", str(tmp_path / "raw2"))
    raw = (tmp_path / "raw2" / "calls.jsonl").read_text(encoding="utf-8")
    assert EMAIL in raw and API_KEY in raw
    assert sorted(list((cache / "digests").rglob(ENTRY_FILE))) == sorted(stored)


def _chat(call_id: str, user: str) -> str:
    record = {"id": call_id, "messages": [_message("user", user), _message("assistant", "noted")]}
    return json.dumps(record) + "\n"


def test_placeholders_agree_across_runs(tmp_path: Path) -> None:
    """A value digested in one run and met again in a file digested in a later run gets, in the later run's calls,
    the placeholder it gets when both files are digested together: numbered in canonical order over all calls."""
    first_email, second_email = "first.person@example.org", "second.person@example.net"
    traces = tmp_path / "traces"
    traces.mkdir()
    shutil.copy(OPENHANDS_SAMPLE, traces / "openhands.jsonl")
    (traces / "zz.jsonl").write_text(_chat("zz-1", f"Write to {first_email} today"), encoding="utf-8")
    early = _analyse([traces], tmp_path / "w1", DigestStore(tmp_path / "cache"))
    (late_call,) = early.calls.by_id({"zz-1"}).values()
    assert late_call.messages[0].content == "Write to <EMAIL_1> today"

    # Call "aa-1" sorts before "zz-1": the e-mail met first in canonical order is now second_email.
    (traces / "aa.jsonl").write_text(_chat("aa-1", f"Copy {second_email} and {first_email}"), encoding="utf-8")
    grown = _analyse([traces], tmp_path / "w2", DigestStore(tmp_path / "cache"))
    together = _analyse([traces], tmp_path / "w3", DigestStore(tmp_path / "other-cache"))
    assert list(grown.calls.iter_calls()) == list(together.calls.iter_calls())
    lines, expected = StringIO(), StringIO()
    grown.calls.write_jsonl(lines)
    together.calls.write_jsonl(expected)
    assert lines.getvalue() == expected.getvalue()
    found = grown.calls.by_id({"aa-1", "zz-1"})
    assert found["aa-1"].messages[0].content == "Copy <EMAIL_1> and <EMAIL_2>"
    assert found["zz-1"].messages[0].content == "Write to <EMAIL_2> today"
    assert grown.manifest.redaction.counts == together.manifest.redaction.counts


def _stage(root: Path, name: str, size: int) -> Path:
    staged = root / "work" / name
    staged.mkdir(parents=True)
    (staged / "shard-000000.arrow").write_bytes(b"x" * size)
    return staged


def test_prune_removes_the_least_recently_used_first(tmp_path: Path) -> None:
    """Over its bound, the store removes entries oldest use first; an old entry found again counts as just used and
    stays, and pruning stops once the store fits."""
    store = DigestStore(tmp_path / "cache", max_bytes=10**9)
    for n, key in enumerate(["a" * 40, "b" * 40, "c" * 40, "d" * 40]):
        store.keep(key, _stage(tmp_path, key, 1000), ["shard-000000.arrow"], ReadSummary(), 1)
        os.utime(store.root / key / ENTRY_FILE, (1_000_000 + n, 1_000_000 + n))  # kept in order a, b, c, d
    entry_bytes = sum(f.stat().st_size for f in (store.root / ("a" * 40)).iterdir())
    store.prune()
    assert _entries(store) == {"a" * 40, "b" * 40, "c" * 40, "d" * 40}  # under the bound: nothing removed

    assert store.find("a" * 40) is not None  # a is now the most recently used
    store.max_bytes = 2 * entry_bytes + entry_bytes // 2  # room for two entries
    store.prune()
    assert _entries(store) == {"a" * 40, "d" * 40}
    assert not (store.root / ("b" * 40)).exists() and not (store.root / ("c" * 40)).exists()
    found = store.find("a" * 40)
    assert found is not None and [p.read_bytes() for p in found.paths()] == [b"x" * 1000]
    assert store.find("b" * 40) is None
    assert (store.root / KEY_FILE).is_file()  # pruning never removes the key


def test_the_store_reopens_with_the_same_key(tmp_path: Path) -> None:
    """A store opened again on the same folder keeps its redaction key (so digests of different runs agree)."""
    key = DigestStore(tmp_path / "cache").redaction_key
    assert DigestStore(tmp_path / "cache").redaction_key == key
    assert DigestStore(tmp_path / "elsewhere").redaction_key != key


def _copy_digest_sources(root: Path) -> Path:
    """The modules the fingerprint reads, copied into ``root``/slmscout; the path of digest_store.py there."""
    package = Path(digest_store.__file__).resolve().parent.parent
    (root / "slmscout" / "traces").mkdir(parents=True)
    (root / "slmscout" / "analyzers").mkdir()
    for path in package.glob("traces/*.py"):
        shutil.copy(path, root / "slmscout" / "traces" / path.name)
    for name in [*digest_store.DIGEST_MODULES, "digest_store.py", "naming.py"]:
        shutil.copy(package / "analyzers" / name, root / "slmscout" / "analyzers" / name)
    return root / "slmscout" / "analyzers" / "digest_store.py"


def test_code_fingerprint_follows_the_digest_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fingerprint (and so every entry key) changes when the source of a module that digests calls changes, and
    only then: a copy of the same sources gives the same fingerprint, a module that does not digest changes nothing."""
    real = code_fingerprint()
    copy = _copy_digest_sources(tmp_path)
    monkeypatch.setattr(digest_store, "__file__", str(copy))
    code_fingerprint.cache_clear()
    try:
        assert code_fingerprint() == real

        summary = ReadSummary()
        (unit,) = plan_reads([OPENHANDS_SAMPLE], summary)
        store = DigestStore(tmp_path / "cache")
        sizes = [(OPENHANDS_SAMPLE.stat().st_size, "0" * 64)]
        key = store.entry_key(unit, sizes)

        seen = {real}
        analyzers, traces = copy.parent, copy.parent.parent / "traces"
        for module in [analyzers / name for name in digest_store.DIGEST_MODULES] + [traces / "redaction.py"]:
            original = module.read_bytes()
            module.write_bytes(original + b"\n# changed\n")
            code_fingerprint.cache_clear()
            changed = code_fingerprint()
            assert changed not in seen, module.name
            seen.add(changed)
            assert store.entry_key(unit, sizes) != key
            module.write_bytes(original)

        (analyzers / "naming.py").write_bytes(b"# not a module that digests\n")
        code_fingerprint.cache_clear()
        assert code_fingerprint() == real
        assert store.entry_key(unit, sizes) == key

        monkeypatch.setattr(digest_store, "DIGEST_MODULES", (*digest_store.DIGEST_MODULES, "naming.py"))
        code_fingerprint.cache_clear()
        assert code_fingerprint() != real
    finally:
        monkeypatch.undo()
        code_fingerprint.cache_clear()
    assert code_fingerprint() == real


def test_a_run_larger_than_the_store_still_reads_its_calls(tmp_path: Path) -> None:
    """A store bounded below what one run digests must not remove that run's own shards before they are read."""
    store = DigestStore(tmp_path / "cache", max_bytes=1)
    result = _analyse([OPENHANDS_SAMPLE], tmp_path / "w", store)
    assert len(list(result.calls.iter_calls())) == 66


def test_an_entry_missing_a_shard_is_digested_again(tmp_path: Path) -> None:
    """An entry that lost a shard file (removed by hand, or a prune cut short) is not used, and digesting the unit
    again gives a working run."""
    store = DigestStore(tmp_path / "cache")
    first = _report(_analyse([OPENHANDS_SAMPLE], tmp_path / "w1", store))
    (entry,) = _entries(store)
    next((store.root / entry).glob("shard-*.arrow")).unlink()
    assert _report(_analyse([OPENHANDS_SAMPLE], tmp_path / "w2", DigestStore(tmp_path / "cache"))) == first


def test_a_unit_whose_reader_reads_other_files_is_not_kept(tmp_path: Path) -> None:
    """Stagehand's summary file names the ``.txt`` files its calls are read from. The key covers only the summary, so
    a kept digest would serve stale calls once a ``.txt`` file alone changes: such a unit is digested every run, and
    the second run sees the edit."""
    folder = tmp_path / "summary"
    shutil.copytree(STAGEHAND / "inference_summary" / "act_summary", folder)
    summary_file = folder / "act_summary.json"
    store = DigestStore(tmp_path / "cache")
    first = list(_analyse([summary_file], tmp_path / "w1", store).calls.iter_calls())
    assert first and _entries(store) == set()

    call_file = next(folder.glob("*_act_call.txt"))
    text = call_file.read_text(encoding="utf-8")
    call_file.write_text(text.replace("click the 'Sign in' button", "EDITED AFTERWARDS"), encoding="utf-8")
    second = list(_analyse([summary_file], tmp_path / "w2", store).calls.iter_calls())
    assert any("EDITED AFTERWARDS" in m.content for call in second for m in call.messages)


def test_a_file_that_changes_while_it_is_read_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key is the content hashed before reading; a file rewritten while it is read gives a digest of other bytes,
    which must not be kept under that key."""
    traces = tmp_path / "t.jsonl"
    traces.write_text("\n".join(TICKET_LINES) + "\n", encoding="utf-8")
    run = Digester._run

    def rewrite_then_run(self: Digester, unit: ReadUnit, *args: object) -> object:
        traces.write_text("\n".join(TICKET_LINES[:3]) + "\n", encoding="utf-8")  # truncated meanwhile
        return run(self, unit, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Digester, "_run", rewrite_then_run)
    store = DigestStore(tmp_path / "cache")
    _analyse([traces], tmp_path / "w", store)
    assert _entries(store) == set()


def test_the_unchanged_check(tmp_path: Path) -> None:
    """``_unchanged``: a file rewritten, a file the reader consumed, a file outside the unit each stop the keep."""
    traces = tmp_path / "t.jsonl"
    traces.write_text(TICKET_LINES[0] + "\n", encoding="utf-8")
    (unit,) = plan_reads([traces], ReadSummary())
    before = digest._file_states(unit.files)
    own = ReadSummary(files=[FileRead(str(traces), unit.reader.name)])
    assert digest._unchanged(unit, own, before)
    assert not digest._unchanged(unit, own, None)
    other = ReadSummary(files=[*own.files, FileRead(str(tmp_path / "sibling.txt"), None)])
    assert not digest._unchanged(unit, other, before)
    consumed = ReadSummary(files=[FileRead(str(traces), unit.reader.name, consumed=True)])
    assert not digest._unchanged(unit, consumed, before)
    traces.write_text(TICKET_LINES[0] + "\n" + TICKET_LINES[5] + "\n", encoding="utf-8")
    assert not digest._unchanged(unit, own, before)
    traces.unlink()
    assert not digest._unchanged(unit, own, before)


def test_a_cache_that_cannot_keep_the_unit_still_gives_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the staged unit cannot be moved into the store (another file system, a full disk), the run goes on with
    the staged shards: same report, nothing kept."""
    expected = _report(_analyse([OPENHANDS_SAMPLE], tmp_path / "w0", None))
    real_rename = Path.rename

    def failing_rename(self: Path, target: Any) -> Path:
        if Path(target).parent.name == digest_store.FOLDER:
            raise OSError(18, "Invalid cross-device link")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", failing_rename)
    store = DigestStore(tmp_path / "cache")
    assert _report(_analyse([OPENHANDS_SAMPLE], tmp_path / "w1", store)) == expected
    assert _entries(store) == set()


def test_a_file_gone_before_it_is_hashed_is_a_skip_not_a_crash(tmp_path: Path) -> None:
    """A file removed between planning and digesting (a rotated log) ends as a skip, as without the store."""
    keep = tmp_path / "keep.jsonl"
    gone = tmp_path / "gone.jsonl"
    keep.write_text(TICKET_LINES[0] + "\n", encoding="utf-8")
    gone.write_text(TICKET_LINES[5] + "\n", encoding="utf-8")
    summary = ReadSummary()
    units = plan_reads([keep, gone], summary)
    gone.unlink()
    work = tmp_path / "w"
    work.mkdir()
    with Digester(b"k" * 32, work_dir=work, store=DigestStore(tmp_path / "cache")) as digester:
        shards = digester.digest(units, summary)
    assert sum(read_shard(s).num_rows for s in shards) == 1
    assert summary.records_skipped == 1
    assert any("cannot be read" in group.reason for group in summary.skips.values())


def test_a_replaced_redaction_key_serves_no_old_entry(tmp_path: Path) -> None:
    """Entries are keyed by the redaction key: placeholders hashed with an old key never mix with new ones."""
    store = DigestStore(tmp_path / "cache")
    (unit,) = plan_reads([OPENHANDS_SAMPLE], ReadSummary())
    digests = [(1, "0" * 64)]
    old = store.entry_key(unit, digests)
    (store.root / KEY_FILE).unlink()
    assert DigestStore(tmp_path / "cache").entry_key(unit, digests) != old
    assert DigestStore(tmp_path / "cache").entry_key(unit, digests) == DigestStore(tmp_path / "cache").entry_key(
        unit, digests
    )


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_cache_folder_others_can_read_is_refused(tmp_path: Path) -> None:
    """A digest folder or key file that others can read or write is refused with a message, not used."""
    store = DigestStore(tmp_path / "cache")
    store.root.chmod(0o755)
    with pytest.raises(OutputError, match="not private"):
        DigestStore(tmp_path / "cache")
    store.root.chmod(0o700)
    (store.root / KEY_FILE).chmod(0o644)
    with pytest.raises(OutputError, match="not private"):
        DigestStore(tmp_path / "cache")
    (store.root / KEY_FILE).chmod(0o600)
    assert DigestStore(tmp_path / "cache").redaction_key == store.redaction_key


def test_prune_tolerates_entries_removed_meanwhile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry a run side by side removes while this one prunes is passed over, not an error."""
    store = DigestStore(tmp_path / "cache", max_bytes=1)
    store.keep("a" * 40, _stage(tmp_path, "a" * 40, 10), ["shard-000000.arrow"], ReadSummary(), 1)
    store.keep("b" * 40, _stage(tmp_path, "b" * 40, 10), ["shard-000000.arrow"], ReadSummary(), 1)
    real_iterdir = Path.iterdir

    def iterdir_then_remove(self: Path) -> Iterator[Path]:
        listed = list(real_iterdir(self))
        if self == store.root:
            shutil.rmtree(store.root / ("a" * 40))  # gone between the listing and the stat
        return iter(listed)

    monkeypatch.setattr(Path, "iterdir", iterdir_then_remove)
    store.prune(now=time.time() + IN_USE_SECONDS + 1)
    monkeypatch.undo()
    assert _entries(store) == set()


def test_prune_spares_entries_used_within_the_hour(tmp_path: Path) -> None:
    """Runs side by side take no lock: an entry another run found in the last hour may still be read by it (its
    shards are opened until it ends), so it stays even past the bound; once older, it goes."""
    store = DigestStore(tmp_path / "cache", max_bytes=1)
    for key in ("a" * 40, "b" * 40):
        store.keep(key, _stage(tmp_path, key, 10), ["shard-000000.arrow"], ReadSummary(), 1)
    long_ago = time.time() - IN_USE_SECONDS - 60
    os.utime(store.root / ("a" * 40) / ENTRY_FILE, (long_ago, long_ago))
    store.prune()
    assert _entries(store) == {"b" * 40}
    assert store.find("b" * 40) is not None
    store.prune(now=time.time() + IN_USE_SECONDS + 1)
    assert _entries(store) == set()


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_the_cli_refuses_a_shared_cache_folder_in_one_line(fake_model: HashingEmbedder, tmp_path: Path) -> None:
    """Through the CLI, a digest folder others can read ends the run with exit 4 and a one-line message naming the
    way out, before any trace is read."""
    cache = tmp_path / "cache"
    DigestStore(cache).root.chmod(0o775)
    result = runner.invoke(app, ["analyze", str(OPENHANDS_SAMPLE), "-q", "--no-save", "--cache-dir", str(cache)])
    assert result.exit_code == 4
    assert "not private" in result.output and "--no-cache" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_a_new_file_is_read_while_it_is_hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file no earlier run kept is read without waiting for its SHA-256, which is worked out beside; a file an
    earlier run kept is hashed first and served from the store, with the same report."""
    traces = tmp_path / "traces"
    traces.mkdir()
    shutil.copy(OPENHANDS_SAMPLE, traces / "openhands.jsonl")
    events: list[str] = []
    reading = threading.Event()
    hash_file, read_batch = file_digest, read_line_batch

    def hash_once_reading(path: Path) -> tuple[int, str]:
        reading.wait(timeout=10)  # hashing first would wait here in vain, and record the hash first
        events.append("hashed")
        return hash_file(path)

    def read(batch: Any) -> Any:
        events.append("read")
        reading.set()
        return read_batch(batch)

    monkeypatch.setattr(digest, "file_digest", hash_once_reading)
    monkeypatch.setattr(digest, "read_line_batch", read)
    store = DigestStore(tmp_path / "cache")
    first = _report(_analyse([traces], tmp_path / "w1", store))
    assert events[0] == "read" and events.count("hashed") == 1
    assert len(_entries(store)) == 1
    assert first == _report(_analyse([traces], tmp_path / "w0", None))

    def hash_recorded(path: Path) -> tuple[int, str]:
        events.append("hashed")
        return hash_file(path)

    events.clear()
    monkeypatch.setattr(digest, "file_digest", hash_recorded)
    monkeypatch.setattr(Digester, "_run", _refuse)
    assert _report(_analyse([traces], tmp_path / "w2", DigestStore(tmp_path / "cache"))) == first
    assert events == ["hashed"]


def test_a_touched_file_is_read_again_and_kept_once(tmp_path: Path, digested_units: list[tuple[str, ...]]) -> None:
    """A file whose modification time changed but not its content: it is read again (nothing says it was kept), the
    report is the same, the store still holds one entry for it, and the next run takes it from the store."""
    traces = tmp_path / "traces"
    traces.mkdir()
    path = traces / "openhands.jsonl"
    shutil.copy(OPENHANDS_SAMPLE, path)
    store = DigestStore(tmp_path / "cache")
    first = _report(_analyse([traces], tmp_path / "w1", store))
    later = path.stat().st_mtime_ns + 10**9
    os.utime(path, ns=(later, later))

    digested_units.clear()
    assert _report(_analyse([traces], tmp_path / "w2", DigestStore(tmp_path / "cache"))) == first
    assert digested_units == [("openhands.jsonl",)]
    assert len(_entries(store)) == 1
    digested_units.clear()
    assert _report(_analyse([traces], tmp_path / "w3", DigestStore(tmp_path / "cache"))) == first
    assert digested_units == []


def test_hints_of_removed_entries_are_forgotten(tmp_path: Path) -> None:
    """A hint names an entry; once pruning removed the entry, the hint is removed too, and says nothing meanwhile."""
    store = DigestStore(tmp_path / "cache", max_bytes=0)
    store.keep("a" * 40, _stage(tmp_path, "a" * 40, 10), ["shard-000000.arrow"], ReadSummary(), 1)
    store.remember("s" * 40, "a" * 40)
    assert store.hinted("s" * 40)
    assert not store.hinted("t" * 40)
    os.utime(store.root / ("a" * 40) / ENTRY_FILE, (1_000_000, 1_000_000))  # used long ago: prunable
    store.prune()
    assert not (store.root / ("a" * 40)).exists()
    assert not store.hinted("s" * 40)
    assert list((store.root / digest_store.HINTS).iterdir()) == []
