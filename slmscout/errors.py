"""The one error hierarchy of slmscout.

Library code raises these; only the CLI turns them into a one-line message and an exit code. Messages say
what went wrong and where (a path, a line), never the content of a trace.
"""

from __future__ import annotations

import os
from pathlib import Path


class SlmscoutError(Exception):
    """Base of every error slmscout reports to its user."""

    exit_code = 1


class InputError(SlmscoutError):
    """The input the user named cannot be used: missing, empty, unreadable, nothing in it readable."""

    exit_code = 2


class UsageError(SlmscoutError):
    """Options that contradict each other or name something that does not exist."""

    exit_code = 2


class ModelError(SlmscoutError):
    """The embedding model could not be loaded or run."""

    exit_code = 3


class OutputError(SlmscoutError):
    """An output file could not be written."""

    exit_code = 4


class StrictError(SlmscoutError):
    """``--strict`` was given and some record or file could not be read."""

    exit_code = 5


def cache_folder_error(failed: str, folder: Path, exc: OSError) -> OutputError:
    """The error of a run that could not write in its cache or work ``folder`` (a full disk, most often), with the
    system's reason: taken from the errno, since Arrow's errors put their whole message (the file's name and more)
    where ``strerror`` would be."""
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return OutputError(f"{failed} in {folder}: {reason}; free space there or choose another --cache-dir")
