"""The registry of trace readers: every reader is an entry point in the ``slmscout.readers`` group.

Built-in readers are declared in slmscout's own ``pyproject.toml`` under that group, so a third-party package adds
a reader the same way, without editing slmscout::

    [project.entry-points."slmscout.readers"]
    my-format = "my_package.reader:MyReader"

The entry point names a ``TraceReader`` subclass (or a factory returning an instance).
"""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

from slmscout.errors import UsageError
from slmscout.traces.reader import TraceReader

GROUP = "slmscout.readers"


class PluginError(UsageError):
    """A registered reader could not be loaded."""


@functools.cache
def all_readers() -> tuple[TraceReader, ...]:
    """Every registered reader, in detection order (priority, then name)."""
    readers: list[TraceReader] = []
    for entry in entry_points(group=GROUP):
        try:
            loaded = entry.load()
            reader = loaded() if callable(loaded) else loaded
        except Exception as exc:  # a broken plugin is named in one line, never a traceback
            raise PluginError(f"trace reader {entry.name!r} ({entry.value}) cannot be loaded: {exc}") from None
        if not isinstance(reader, TraceReader):
            raise PluginError(f"trace reader {entry.name!r} ({entry.value}) is not a TraceReader")
        if not reader.name:
            reader.name = entry.name
        readers.append(reader)
    if not readers:
        raise PluginError("no trace readers are registered: is slmscout installed (pip install -e .)?")
    return tuple(sorted(readers, key=lambda r: (r.priority, r.name)))


def reader_by_name(name: str) -> TraceReader:
    for reader in all_readers():
        if reader.name == name:
            return reader
    known = ", ".join(r.name for r in all_readers())
    raise UsageError(f"unknown format {name!r}; known formats: {known}")
