"""Write the one-package lock that bootstraps uv: ``uv_lock.py TEST_LOCK UV_LOCK``.

`make` installs uv with pip from this file (hash-checked), then installs every other lock with uv. The entry is
copied from the test lock, so both always name the same uv release and hashes.
"""

from __future__ import annotations

import sys
from pathlib import Path

HEADER = (
    "# uv alone, copied from requirements/test.lock by `make lock`: pip installs it from here (hash-checked),\n"
    "# then uv installs the other lock files.\n"
)


def uv_entry(lock_text: str) -> list[str]:
    """The lines of the ``uv==`` requirement in a lock file: its pin, its hashes and its comments."""
    lines = lock_text.splitlines()
    for start, line in enumerate(lines):
        if line.startswith("uv=="):
            entry = [line]
            for following in lines[start + 1:]:
                if not following.startswith((" ", "\t")):
                    break
                entry.append(following)
            return entry
    raise SystemExit("uv is not pinned in the test lock")


def main(test_lock: str, uv_lock: str) -> None:
    entry = uv_entry(Path(test_lock).read_text(encoding="utf-8"))
    Path(uv_lock).write_text(HEADER + "\n".join(entry) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:3])
