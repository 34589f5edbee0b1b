"""A saved run: the folder `slmscout analyze` writes, and everything later commands read instead of the traces.

reports/<run-id>/
  manifest.json   what was read and how it was analysed (written last: a folder without it is not a run)
  report.json     clusters, evidence, verdicts, economics and every call's assignment (the JSON rendering,
                  schema in docs/report.schema.json)
  calls.jsonl     the normalized (redacted) calls, one LLMCall per line
  clusters.csv, calls.csv, report.md, report.html   renderings
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from slmscout.analyzers.analysis import Analysis
from slmscout.analyzers.calltable import CallTable
from slmscout.errors import InputError, OutputError
from slmscout.reports.atomic import atomic_file
from slmscout.traces.codec import DecodeError, from_jsonable, to_jsonable
from slmscout.traces.ingest import ReadSummary
from slmscout.traces.record import LLMCall
from slmscout.traces.source import file_digest

RUN_SCHEMA_VERSION = 1
DEFAULT_ROOT = Path("reports")
MANIFEST = "manifest.json"
REPORT = "report.json"
CALLS = "calls.jsonl"
DIGEST_CHECK_BYTES = 256 << 20  # files up to this size are checked against their digest on load, larger by size
VERSIONED_PACKAGES = (
    "slmscout",
    "sentence-transformers",
    "torch",
    "scikit-learn",
    "scipy",
    "numpy",
    "bpe-openai",
    "datasets",
    "pyarrow",
)


@dataclass(frozen=True, slots=True)
class InputFile:
    path: str
    format: str | None  # the reader that read it; None when no reader recognised it
    calls: int
    skipped: int
    bytes: int
    sha256: str
    note: str | None = None  # why nothing was read from it
    consumed: bool = False  # read together with another file that refers to it


@dataclass(frozen=True, slots=True)
class SkipLine:
    reason: str
    count: int
    locations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReadOverview:
    """What the run read: every input file, the calls each gave, and the records skipped with their reasons."""

    files: tuple[InputFile, ...]
    calls_read: int
    records_skipped: int
    skips: tuple[SkipLine, ...] = ()

    @property
    def files_unrecognised(self) -> list[InputFile]:
        return [f for f in self.files if f.format is None and not f.consumed]

    def files_by_format(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.files:
            if f.format is not None:
                counts[f.format] = counts.get(f.format, 0) + 1
        return dict(sorted(counts.items()))

    def calls_by_format(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.files:
            if f.format is not None:
                counts[f.format] = counts.get(f.format, 0) + f.calls
        return dict(sorted(counts.items()))


@dataclass(frozen=True, slots=True)
class RedactionInfo:
    enabled: bool
    counts: dict[str, int] = field(default_factory=dict)  # values replaced, by kind (email, api-key, ...)


@dataclass(frozen=True, slots=True)
class Manifest:
    schema_version: int
    run_id: str
    created_at: str  # ISO 8601 UTC
    slmscout_version: str
    input_fingerprint: str  # sha256 over the input files' names, sizes and contents
    inputs: tuple[str, ...]  # the paths as given
    reads: ReadOverview
    model: str
    parameters: dict[str, object]
    seeds: dict[str, int]
    versions: dict[str, str]  # python and the libraries that shape the result
    redaction: RedactionInfo
    files: dict[str, str] = field(default_factory=dict)  # run file -> sha256, for the files the run wrote
    file_sizes: dict[str, int] = field(default_factory=dict)  # run file -> bytes


@dataclass(frozen=True)
class SavedRun:
    path: Path
    manifest: Manifest
    analysis: Analysis


# ------------------------------------------------------------------------------------------------ reading a run


def _read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{folder} is not a saved run (no {MANIFEST}; an interrupted run leaves none)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read {path} ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("schema_version") != RUN_SCHEMA_VERSION:
        version = data.get("schema_version") if isinstance(data, dict) else None
        raise InputError(f"{path} has run schema version {version!r}; this slmscout reads {RUN_SCHEMA_VERSION}")
    try:
        return from_jsonable(Manifest, data)
    except DecodeError as exc:
        raise InputError(f"{path} does not fit the run manifest schema: {exc}") from None


def _check_files(folder: Path, manifest: Manifest, names: Sequence[str]) -> None:
    """The run's files are the ones its manifest recorded: same size, and the same digest for small files."""
    for name in names:
        path = folder / name
        if name not in manifest.files:
            raise InputError(f"{folder}: {name} is not recorded in the run's manifest")
        recorded = manifest.files[name]
        try:
            size = path.stat().st_size
        except OSError:
            raise InputError(f"{folder}: {name} is missing") from None
        if size != manifest.file_sizes.get(name, -1):
            raise InputError(f"{folder}: {name} changed since the run was saved (size differs)")
        if size <= DIGEST_CHECK_BYTES and file_digest(path)[1] != recorded:
            raise InputError(f"{folder}: {name} changed since the run was saved (digest differs)")


def load_run(folder: Path) -> SavedRun:
    """A saved run, checked against its manifest; raises InputError for anything else."""
    from slmscout.reports.json_report import read_document

    manifest = _read_manifest(folder)
    _check_files(folder, manifest, (REPORT, CALLS))
    try:
        text = (folder / REPORT).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {folder / REPORT} ({type(exc).__name__})") from None
    _, analysis = read_document(text, str(folder / REPORT))
    return SavedRun(folder, manifest, analysis)


def find_run(name: str, root: Path = DEFAULT_ROOT) -> Path:
    """A run folder from what a user typed: a path, a run id under ``root``, or ``latest``."""
    given = Path(name)
    if (given / MANIFEST).is_file():
        return given
    if name == "latest":
        runs = sorted(p.parent for p in root.glob(f"*/{MANIFEST}")) if root.is_dir() else []
        if not runs:
            raise InputError(f"no saved runs under {root}/")
        return max(runs, key=lambda p: (p.stat().st_mtime, p.name))
    if "/" not in name and "\\" not in name and name not in (".", "..") and (root / name / MANIFEST).is_file():
        return root / name
    if given.is_dir():
        raise InputError(f"{given} is not a saved run (no {MANIFEST})")
    raise InputError(f"no saved run {name!r} (give a run folder, a run id under {root}/, or 'latest')")


def iter_run_calls(run: SavedRun) -> Iterator[LLMCall]:
    """The run's normalized calls, streamed from calls.jsonl."""
    path = run.path / CALLS
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    yield from_jsonable(LLMCall, json.loads(line))
                except (json.JSONDecodeError, DecodeError) as exc:
                    raise InputError(f"{path}:{number} is not a saved call ({type(exc).__name__})") from None
    except OSError as exc:
        raise InputError(f"cannot read {path} ({exc.strerror or type(exc).__name__})") from None


def run_calls(run: SavedRun, call_ids: Iterable[str]) -> dict[str, LLMCall]:
    wanted = set(call_ids)
    return {c.call_id: c for c in iter_run_calls(run) if c.call_id in wanted}


def example_ids(analysis: Analysis) -> set[str]:
    return {call_id for c in analysis.clusters for call_id in c.example_call_ids}


# ------------------------------------------------------------------------------------------------ writing a run


def overview_of(summary: ReadSummary) -> ReadOverview:
    """The read summary as saved: every file with its size and digest (worked out now unless known already)."""
    files = []
    for entry in summary.files:
        if entry.size is not None and entry.sha256 is not None:
            size, sha = entry.size, entry.sha256
        else:
            try:
                size, sha = file_digest(Path(entry.path))
            except OSError:
                size, sha = -1, ""
        files.append(
            InputFile(entry.path, entry.format, entry.calls, entry.skipped, size, sha, entry.note, entry.consumed)
        )
    skips = tuple(
        SkipLine(g.reason, g.count, tuple(g.locations))
        for g in sorted(summary.skips.values(), key=lambda g: (-g.count, g.reason))
    )
    return ReadOverview(tuple(files), summary.calls_read, summary.records_skipped, skips)


def input_fingerprint(reads: ReadOverview) -> str:
    digest = hashlib.sha256()
    for f in sorted(reads.files, key=lambda f: f.path):
        digest.update(f"{Path(f.path).name}\0{f.bytes}\0{f.sha256}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def new_run_id(fingerprint: str, now: datetime.datetime) -> str:
    return f"{now.strftime('%Y%m%d-%H%M%S')}-{fingerprint[:8]}"


class RunFolder:
    """A run being written: files go into a hidden temporary folder beside the target, the manifest last, and the
    folder is renamed into place only when complete. An interrupted or failed run leaves no folder that
    ``load_run`` accepts (the temporary one is removed, or at worst left hidden without a manifest)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        parent = target.parent
        if target.exists() and not (target / MANIFEST).is_file() and any(target.iterdir()):
            raise OutputError(f"{target} exists and is not a saved run; choose another --out")
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=parent))
        except OSError as exc:
            raise OutputError(f"cannot create {target}: {exc.strerror or exc}") from None
        self.sizes: dict[str, int] = {}
        self.digests: dict[str, str] = {}

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name: str) -> Path:
        return self.tmp / name

    def write_text(self, name: str, text: str) -> None:
        try:
            (self.tmp / name).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write {self.target / name}: {exc.strerror or exc}") from None

    def write_calls(self, calls: CallTable) -> None:
        try:
            with (self.tmp / CALLS).open("w", encoding="utf-8") as handle:
                calls.write_jsonl(handle)
        except OSError as exc:
            raise OutputError(f"cannot write {self.target / CALLS}: {exc.strerror or exc}") from None

    def commit(self, manifest: Manifest) -> Path:
        """Record every file's size and digest in the manifest, write it, and move the folder into place."""
        files: dict[str, str] = {}
        sizes: dict[str, int] = {}
        for path in sorted(self.tmp.iterdir()):
            if path.is_file():
                sizes[path.name], files[path.name] = file_digest(path)
        manifest = dataclasses.replace(manifest, files=files, file_sizes=sizes)
        try:
            with (self.tmp / MANIFEST).open("w", encoding="utf-8") as handle:
                handle.write(json.dumps(to_jsonable(manifest), ensure_ascii=False, indent=1) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            if self.target.exists():
                old = self.target.with_name(f".{self.target.name}.{os.getpid()}.old")
                os.replace(self.target, old)
                os.replace(self.tmp, self.target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(self.tmp, self.target)
        except OSError as exc:
            raise OutputError(f"cannot write {self.target}: {exc.strerror or exc}") from None
        return self.target


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file through a temporary file beside it, renamed over it when complete."""
    with atomic_file(path) as handle:
        handle.write(text)
