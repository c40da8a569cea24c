"""Other processes for the tests of processes sharing one database: real, separate processes (their own memory,
connections and file locks), forked from one fresh interpreter that has imported their code once.

A fresh interpreter spends ~0.5 s of CPU importing SQLAlchemy, Alembic and the store before it does anything.
``run_together`` starts one interpreter (this module as a script), which imports the target's module, then forks
one child per call, all at once, and waits for them: N processes for the imports of one. That interpreter is
single-threaded and opens no database before it forks. Tests about what a fresh interpreter does (finding files
from another working directory, the command line) start one per process with ``subprocess`` instead.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run_together(target: Callable[..., Any], calls: Sequence[Sequence[Any]], *, preload: Sequence[str] = (),
                 timeout: float = 180) -> None:
    """``target(*args)`` for each of ``calls`` (JSON values), each in its own process, all started at once;
    returns when every one has ended, and fails with the children's tracebacks if one raised. ``target`` is a
    module-level function of a module importable from the repository root; the modules named in ``preload``
    (those ``target`` imports as it runs) are imported before the fork too."""
    spec = json.dumps({"target": f"{target.__module__}:{target.__qualname__}", "calls": [list(c) for c in calls],
                       "preload": list(preload)})
    parent = subprocess.run([sys.executable, __file__, spec], cwd=ROOT, capture_output=True, text=True,
                            timeout=timeout, check=False)
    assert parent.returncode == 0, parent.stdout + parent.stderr


def _fork_all(spec: dict[str, Any]) -> int:
    module, _, name = spec["target"].partition(":")
    target = getattr(importlib.import_module(module), name)
    for other in spec["preload"]:
        importlib.import_module(other)
    children = []
    for args in spec["calls"]:
        pid = os.fork()
        if pid == 0:  # the child: run its call, exit 0 if it returned
            code = 1
            try:
                target(*args)
                code = 0
            except BaseException:  # printed for the test, which fails with it
                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)
    failed = [pid for pid in children if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(_fork_all(json.loads(sys.argv[1])))
