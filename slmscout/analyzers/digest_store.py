"""Digested calls kept across runs, so that a second run over the same (or grown) traces reads, redacts and
digests only what is new.

The unit kept is one file read by a file reader: its shards (the redacted calls and their facts, ``digest``) and
what reading it found (calls per file, records skipped and why). An entry is keyed by everything its content
depends on: the file's path, size and SHA-256, the reader, the redaction key, slmscout's version, the versions of
the libraries that shape a digest and the source code of the modules that read and digest calls (so a changed
reader or detector never serves stale digests). A unit is not kept when its file changed while it was read, or
when its reader also read another file (the key would not cover it); readers that join several files are not
kept. Entries are written to the run's work folder and renamed into place once complete; an interrupted run
leaves none. Beside the entries, small hints (``hints/``) name the entry kept for files in a given state (size,
modification time, inode), so that a run can tell, without reading a file, whether to hash it before reading it;
an entry is only ever served by the key of the content.

Only redacted digests are kept (a run with ``--no-redact`` digests into its work folder, removed at its end), so the
store holds what a saved run's calls.jsonl holds: redacted text. Redaction placeholders are keyed hashes
(``Redactor(deferred_key=...)``); the key is kept beside the entries (``redaction.key``, readable by its owner only)
so that digests of different runs agree on every value. The store is bounded: past ``max_bytes``, the entries used
least recently are removed, except those used in the last ``IN_USE_SECONDS`` (a run side by side may still be
reading them: runs take no lock on the store).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import inspect
import json
import os
import secrets
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from slmscout import __version__
from slmscout.analyzers.facts import FACTS_VERSION
from slmscout.errors import OutputError
from slmscout.traces.ingest import ReadSummary, ReadUnit

FOLDER = "digests"
KEY_FILE = "redaction.key"
ENTRY_FILE = "unit.json"
HINTS = "hints"  # files named by a state key (``DigestStore.state_key``), each holding an entry's key
DEFAULT_MAX_BYTES = 20 * 2**30
IN_USE_SECONDS = 3600  # an entry found this recently may be in use by another run: never removed
# Modules whose code decides what a digest holds, besides every module of slmscout.traces.
DIGEST_MODULES = ("digest.py", "facts.py", "pieces.py", "tokens.py", "response_shape.py")


# Libraries whose version shapes a digest: token counts, redaction detectors, the calls' JSON, the shard format.
DIGEST_LIBRARIES = ("bpe-openai", "detect-secrets", "phonenumbers", "pyarrow", "orjson")


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "-"


@functools.cache
def code_fingerprint() -> str:
    """SHA-256 over the source of the modules that read, redact and digest calls, and the versions of the
    libraries they use."""
    package = Path(__file__).resolve().parent.parent
    files = sorted((package / "traces").glob("*.py")) + [package / "analyzers" / name for name in DIGEST_MODULES]
    libraries = ",".join(f"{name}={_version(name)}" for name in DIGEST_LIBRARIES)
    digest = hashlib.sha256(f"{__version__}\0{FACTS_VERSION}\0{libraries}\n".encode())
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\1")
    return digest.hexdigest()


def _reader_source(unit: ReadUnit) -> bytes:
    """The reader's own source file (a third-party reader lives outside slmscout.traces)."""
    try:
        source = inspect.getsourcefile(type(unit.reader))
        return Path(source).read_bytes() if source else b""
    except (OSError, TypeError):
        return b""


def _require_private(path: Path) -> None:
    """Refuse a digest folder or key file that another user owns or that others can read or write: whoever can
    read the key can test guessed values against the placeholders, and whoever can write there can plant digests."""
    if not hasattr(os, "getuid"):
        return
    info = path.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise OutputError(
            f"the cache folder {path} is not private to you (owner {info.st_uid}, mode {info.st_mode & 0o777:o}); "
            "make it yours with mode 700 (600 for the key file), choose another --cache-dir or use --no-cache"
        )


@dataclass(frozen=True)
class StoredUnit:
    """A unit found in the store: its shards, and the summary of reading it."""

    folder: Path
    shards: tuple[str, ...]
    summary: ReadSummary
    calls: int

    def paths(self) -> list[Path]:
        return [self.folder / name for name in self.shards]


class DigestStore:
    def __init__(self, cache_dir: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = cache_dir / FOLDER
        self.max_bytes = max_bytes
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            _require_private(self.root)
            self.redaction_key = self._key()
            _require_private(self.root / KEY_FILE)
        except OSError as exc:
            raise OutputError(f"cannot use the cache folder {self.root}: {exc.strerror or exc}") from None
        self._key_digest = hashlib.sha256(self.redaction_key).hexdigest()

    def _key(self) -> bytes:
        path = self.root / KEY_FILE
        try:
            key = path.read_bytes()
            if len(key) == 32:
                return key
        except FileNotFoundError:
            pass
        key = secrets.token_bytes(32)
        tmp = self.root / f".{KEY_FILE}.{secrets.token_hex(8)}"
        descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        try:
            os.link(tmp, path)  # first writer wins: runs started side by side agree on one key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_bytes()

    def entry_key(self, unit: ReadUnit, digests: Sequence[tuple[int, str]]) -> str:
        """The identity of a unit's digest: its files (path, size, SHA-256), its reader, the code and the redaction
        key (a replaced key gives new placeholder hashes, so entries made with the old one no longer serve)."""
        return self._unit_key(unit, [f"{size}\0{sha}" for size, sha in digests])

    def state_key(self, unit: ReadUnit, states: Sequence[tuple[int, int, int]]) -> str:
        """The same for the files' states (size, modification time, inode) instead of their content: what names a
        hint (``hinted``), found without reading the files."""
        return self._unit_key(unit, ["state\0" + "\0".join(map(str, state)) for state in states])

    def _unit_key(self, unit: ReadUnit, files: Sequence[str]) -> str:
        digest = hashlib.sha256(code_fingerprint().encode() + b"\0" + unit.reader.name.encode() + b"\0")
        digest.update(self._key_digest.encode() + b"\0")
        digest.update(hashlib.sha256(_reader_source(unit)).digest())
        for path, identity in zip(unit.files, files, strict=True):
            digest.update(f"{path}\0{path.resolve()}\0{identity}\n".encode("utf-8", "surrogatepass"))
        return digest.hexdigest()[:40]

    def hinted(self, state_key: str) -> bool:
        """Whether an entry kept for files in these states is still here: then the unit was probably digested
        before, and is worth hashing before it is read; else it is probably new, and is read while it is hashed.
        Only a guess of which to do first: what an entry serves is decided by the content's key, never by this."""
        try:
            key = (self.root / HINTS / state_key).read_text(encoding="ascii")
        except (OSError, ValueError):
            return False
        return self._kept(key)

    def _kept(self, key: str) -> bool:
        """Whether ``key`` (as a hint holds it) names an entry that is here."""
        return key.isalnum() and (self.root / key / ENTRY_FILE).is_file()

    def remember(self, state_key: str, key: str) -> None:
        """Note that files in these states were kept under ``key`` (``hinted``); nothing when it cannot be noted."""
        folder = self.root / HINTS
        tmp = folder / f".{state_key}.{secrets.token_hex(8)}"
        try:
            folder.mkdir(exist_ok=True, mode=0o700)
            tmp.write_text(key, encoding="ascii")
            tmp.replace(folder / state_key)
        except OSError:
            tmp.unlink(missing_ok=True)

    def find(self, key: str) -> StoredUnit | None:
        folder = self.root / key
        try:
            entry = json.loads((folder / ENTRY_FILE).read_text(encoding="utf-8"))
            shards = tuple(str(name) for name in entry["shards"])
            if not all((folder / name).is_file() for name in shards):
                return None
            stored = StoredUnit(folder, shards, ReadSummary.from_json(entry["summary"]), int(entry["calls"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        with contextlib.suppress(OSError):  # a cache that cannot be touched still serves
            os.utime(folder / ENTRY_FILE)  # used now: the last to be evicted
        return stored

    def keep(
        self, key: str, staged: Path, shards: Sequence[str], summary: ReadSummary, calls: int
    ) -> StoredUnit | None:
        """Move a unit digested into ``staged`` (a folder on the cache's file system) into the store; None when it
        cannot be kept (a full disk, another file system), and the run goes on with the staged shards."""
        entry = {"shards": list(shards), "summary": summary.as_json(), "calls": calls}
        target = self.root / key
        try:
            (staged / ENTRY_FILE).write_text(json.dumps(entry), encoding="utf-8")
            if target.exists() and self.find(key) is None:  # a damaged entry (a shard lost): replaced
                shutil.rmtree(target, ignore_errors=True)
            staged.rename(target)
        except OSError:
            stored = self.find(key)
            if stored is not None:  # kept meanwhile by a run side by side: its complete copy serves
                shutil.rmtree(staged, ignore_errors=True)
            return stored
        return self.find(key)

    def prune(self, keep: Sequence[str] = (), now: float | None = None) -> None:
        """Remove the least recently used entries while the store holds more than ``max_bytes``; the entries
        ``keep`` names (the running run's) and those used in the last ``IN_USE_SECONDS`` (perhaps by a run side by
        side, whose shards are read until it ends) are never removed, so the bound can be passed for that long."""
        kept = set(keep)
        recent = (time.time() if now is None else now) - IN_USE_SECONDS
        entries = []
        total = 0
        for folder in self.root.iterdir():
            try:  # a run side by side may be removing or adding entries meanwhile
                if not (folder / ENTRY_FILE).is_file():
                    continue
                size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
                used = (folder / ENTRY_FILE).stat().st_mtime
            except OSError:
                continue
            total += size
            if folder.name not in kept and used < recent:
                entries.append((used, folder.name, size, folder))
        for _, _, size, folder in sorted(entries):
            if total <= self.max_bytes:
                break
            shutil.rmtree(folder, ignore_errors=True)
            total -= size
        self._forget_removed()

    def _forget_removed(self) -> None:
        """Remove the hints whose entry is gone, so that they do not pile up."""
        with contextlib.suppress(OSError):
            for hint in (self.root / HINTS).iterdir():
                if hint.name.startswith("."):  # being written by a run side by side
                    continue
                with contextlib.suppress(OSError, ValueError):
                    key = hint.read_text(encoding="ascii")
                    if not self._kept(key):
                        hint.unlink()
