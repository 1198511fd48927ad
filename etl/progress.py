"""Progress display: a Rich bar per entity with counts, rate and ETA, or nothing when quiet.

Why a wrapper: the pipeline reports progress the same way whether a person watches a terminal,
cron runs it with `--quiet`, or a test drives it; only this module knows about Rich.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second of a task (Rich's smoothed speed)."""

    def render(self, task: Task) -> Text:
        """Show the rate, or nothing before the first item."""
        return Text(f"{task.speed:,.1f}/s" if task.speed else "", style="progress.data.speed")


class ProgressReporter:
    """Bars per entity; a no-op when quiet."""

    def __init__(self, quiet: bool = False, console: Console | None = None) -> None:
        self.quiet = quiet
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._console = console or Console(stderr=True)

    def __enter__(self) -> ProgressReporter:
        if not self.quiet:
            self._progress = Progress(
                TextColumn("[bold]{task.description:<28}"),
                BarColumn(),
                MofNCompleteColumn(),
                RateColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self._console,
                transient=False,
            )
            self._progress.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)
            self._progress = None

    def start(self, key: str, description: str, total: int | None) -> None:
        """Add a bar (total None = unknown)."""
        if self._progress is not None:
            self._tasks[key] = self._progress.add_task(description, total=total)

    def advance(self, key: str, amount: int = 1) -> None:
        """Move a bar forward."""
        if self._progress is not None and key in self._tasks:
            self._progress.advance(self._tasks[key], amount)

    def finish(self, key: str) -> None:
        """Mark a bar complete, whatever its total was."""
        if self._progress is not None and key in self._tasks:
            task = self._tasks[key]
            done = self._progress.tasks[task].completed
            self._progress.update(task, total=done, completed=done)

    def log(self, message: str) -> None:
        """Print a line above the bars (or nothing when quiet)."""
        if not self.quiet:
            self._console.print(message, highlight=False)
