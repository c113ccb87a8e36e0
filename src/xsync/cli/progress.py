"""Progress on long reads and writes, without the engine knowing about terminals.

The engine's two sides are wrapped for the length of a run: every scan and write shows up as a
line of a rich progress display. With `--quiet` or `--json`, or when output is not a terminal,
nothing is drawn.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from xsync.cli.console import err_console


class _ProgressSide:
    """A side that reports each scan and write to a progress display, then delegates."""

    def __init__(self, side: Any, progress: Progress) -> None:
        self._side = side
        self._progress = progress
        self.name = side.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._side, name)

    def scan(self, entity: str, cursor: str | None) -> Any:
        label = f"reading {entity} from {self.name}"
        task = self._progress.add_task(label, total=None)
        try:
            result = self._side.scan(entity, cursor)
        finally:
            self._progress.update(task, total=1, completed=1)
        self._progress.update(task, description=f"{label}: {len(result.records)} changed")
        return result

    def write(self, entity: str, changes: Sequence[Any]) -> Any:
        task = self._progress.add_task(f"writing {entity} to {self.name}", total=len(changes))
        try:
            return self._side.write(entity, changes)
        finally:
            self._progress.update(task, completed=len(changes))


@contextlib.contextmanager
def progress_sides(engine: Any, *, enabled: bool) -> Iterator[None]:
    if not enabled or not err_console.is_terminal:
        yield
        return
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        console=err_console, transient=True,
    )
    originals = (engine.ops, engine.xero)
    engine.ops = _ProgressSide(engine.ops, progress)
    if engine.xero is not None:
        engine.xero = _ProgressSide(engine.xero, progress)
    try:
        with progress:
            yield
    finally:
        engine.ops, engine.xero = originals
