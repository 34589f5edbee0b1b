"""Progress bars on stderr, shown only when stderr is a terminal and the user did not ask for quiet."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


class BarProgress:
    """The analyzers' Progress protocol, drawn with rich: one line per stage, replaced as stages go by."""

    def __init__(self, console: Console, enabled: bool) -> None:
        self.enabled = enabled
        self._bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> BarProgress:
        if self.enabled:
            self._bars.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.enabled:
            self._bars.stop()

    def stage(self, name: str, total: int | None = None) -> None:
        if not self.enabled:
            return
        if self._task is not None:
            self._bars.remove_task(self._task)
        self._task = self._bars.add_task(name, total=total)

    def advance(self, units: int = 1) -> None:
        if self.enabled and self._task is not None:
            self._bars.advance(self._task, units)
