"""Progress of long CLI work (``sync``, ``export``) on a terminal; nothing at all otherwise.

A progress display is drawn on standard error only when it is a terminal, so pipes, files, CI logs and
JSON output stay as they were. The sync reports each stage through a callback ``(stage, done, total)``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

# (stage, items done, items in all or None when unknown yet)
ProgressCallback = Callable[[str, int, int | None], None]


@contextmanager
def progress_on_terminal(stream: TextIO | None = None) -> Iterator[ProgressCallback | None]:
    """A callback drawing a progress bar per stage on ``stream`` (standard error) when it is a terminal;
    None otherwise, so callers report nothing."""
    stream = sys.stderr if stream is None else stream
    if not stream.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn
    from rich.progress import MofNCompleteColumn
    from rich.progress import Progress
    from rich.progress import SpinnerColumn
    from rich.progress import TaskID
    from rich.progress import TextColumn
    from rich.progress import TimeElapsedColumn

    console = Console(file=stream)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(f"reading {stage}", total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield report
