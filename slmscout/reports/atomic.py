"""Files written whole or not at all: through a temporary file beside the target, renamed over it when complete."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from slmscout.errors import OutputError


@contextlib.contextmanager
def atomic_file(path: Path, newline: str | None = None) -> Iterator[TextIO]:
    """A text handle whose content replaces ``path`` once the block ends without error; an ``OutputError`` names
    the path when it cannot be written."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", newline=newline, encoding="utf-8") as handle:
                yield handle
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
