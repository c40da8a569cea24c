"""Write locks shared by the processes of one host: POSIX byte-range locks on one lock file.

On SQLite every worker of a bridge runs on one host over one database file, so a write lock need not be a
database row (two write transactions to take, two to give back, and a renewal thread while held). Instead a
lock is one byte of a lock file beside the database, locked with ``fcntl.lockf``: the kernel excludes the
other processes, and frees the byte when the holding process ends, however it ends.

POSIX locks belong to a process, not to a thread, and closing any descriptor of the file drops all of them.
So one :class:`HostLocks` per lock file and process (:func:`host_locks`) keeps the file open for the life of
the process, and counts, per byte ("stripe"), the threads of the process that hold it: the byte is locked
when the first takes it and unlocked when the last gives it back, so two threads holding different keys of
one stripe never release each other's. Stripes are taken in ascending order (the caller's numbering puts
them in its lock hierarchy), so two takers never wait on each other in a cycle.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from pathlib import Path

# Waiting for a byte another process holds: non-blocking tries with back-off, not a blocking F_SETLKW. A
# blocking wait cannot be abandoned when the wait budget runs out (only a signal interrupts it; a helper
# thread that gets the byte after its caller gave up would have to hand it back, racing the caller's next
# request), and F_SETLKW's deadlock detection counts all threads of a process as one owner, so it reports
# deadlocks that are not there. A try is one system call; the pauses between tries double from 1 ms up to
# 20 ms, so a waiter sleeps (no busy loop) and sees a release within 20 ms.
FIRST_PAUSE = 0.001
MAX_PAUSE = 0.02


class Busy(Exception):
    """Another process still held a stripe when the deadline passed; the caller holds none of them."""


class HostLocks:
    """The write locks of one lock file in this process: per-key thread locks and per-stripe byte locks."""

    def __init__(self, path: Path, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._sleep = sleep
        self._clock = clock
        self._changed = threading.Condition()
        self._holders: dict[int, int] = {}  # stripe -> threads of this process holding it (its byte is locked)
        self._taking: set[int] = set()  # stripes a thread of this process is locking (the others wait for it)
        self._keys: dict[str, threading.Lock] = {}
        self._keys_guard = threading.Lock()

    def key_lock(self, key: str) -> threading.Lock:
        """The lock of ``key`` shared by every user of this lock file in this process."""
        with self._keys_guard:
            return self._keys.setdefault(key, threading.Lock())

    def holders(self, stripe: int) -> int:
        """How many threads of this process hold ``stripe``."""
        with self._changed:
            return self._holders.get(stripe, 0)

    def acquire(self, stripes: Iterable[int], wait: float) -> list[int]:
        """Take ``stripes`` in ascending order for the calling thread, waiting for other processes up to
        ``wait`` seconds in all. Returns the stripes taken, to give back with :meth:`release`; raises
        :class:`Busy` (holding none) when the time is up."""
        deadline = self._clock() + wait
        taken: list[int] = []
        try:
            for stripe in sorted(set(stripes)):
                self._take(stripe, deadline)
                taken.append(stripe)
        except BaseException:
            self.release(taken)
            raise
        return taken

    def release(self, stripes: Iterable[int]) -> None:
        """Give back stripes taken by :meth:`acquire`; a byte is unlocked when its last holder gives it back.
        The unlock happens under the guard, so no thread can count itself in on a byte being unlocked."""
        with self._changed:
            for stripe in stripes:
                left = self._holders[stripe] - 1
                if left:
                    self._holders[stripe] = left
                    continue
                del self._holders[stripe]
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, stripe, os.SEEK_SET)
            self._changed.notify_all()

    def _take(self, stripe: int, deadline: float) -> None:
        with self._changed:
            while stripe in self._taking:  # another thread of this process is locking the byte: its result counts
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise Busy(stripe)
                self._changed.wait(remaining)
            if stripe in self._holders:
                self._holders[stripe] += 1
                return
            self._taking.add(stripe)
        locked = False
        try:
            locked = self._lock_byte(stripe, deadline)
        finally:
            with self._changed:
                self._taking.discard(stripe)
                if locked:
                    self._holders[stripe] = 1
                self._changed.notify_all()
        if not locked:
            raise Busy(stripe)

    def _lock_byte(self, stripe: int, deadline: float) -> bool:
        pause = FIRST_PAUSE
        while True:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, stripe, os.SEEK_SET)
                return True
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EAGAIN):
                    raise
            remaining = deadline - self._clock()
            if remaining <= 0:
                return False
            self._sleep(min(pause, remaining))
            pause = min(pause * 2, MAX_PAUSE)

    def forget(self) -> None:
        """In a forked child: close the inherited descriptor (the child holds no POSIX lock of its parent)."""
        os.close(self._fd)


_open: dict[str, HostLocks] = {}
_open_guard = threading.Lock()


def host_locks(path: Path) -> HostLocks:
    """The one :class:`HostLocks` of the lock file at ``path`` in this process (opened on first use, never
    closed: closing would drop the locks of every thread)."""
    key = os.path.realpath(path)
    with _open_guard:
        found = _open.get(key)
        if found is None:
            found = _open[key] = HostLocks(Path(key))
        return found


def _forget_after_fork() -> None:
    global _open_guard
    _open_guard = threading.Lock()  # the parent's may have been held by another thread at the fork
    for locks in _open.values():
        locks.forget()
    _open.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
