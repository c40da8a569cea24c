"""Progress of long CLI work (``sync``, ``export``) on a terminal; nothing at all otherwise.

A progress display is drawn on standard error only when it is a terminal, so pipes, files, CI logs and
JSON output stay as they were. Sync and export report each step as a :class:`SyncProgress`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from scim_bridge.service.sync import ProgressHook
from scim_bridge.service.sync import SyncProgress

# What each phase of a run is shown as.
LABELS = {"users": "reading users", "teams": "reading teams", "export": "writing users"}


@contextmanager
def progress_on_terminal(stream: TextIO | None = None) -> Iterator[ProgressHook | None]:
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

        def report(step: SyncProgress) -> None:
            label = LABELS.get(step.phase)
            if label is None:  # "done": the bars are complete already
                return
            if step.phase not in tasks:
                tasks[step.phase] = progress.add_task(label, total=step.total)
            progress.update(tasks[step.phase], completed=step.done, total=step.total)

        yield report
