"""What every write of the service layer shares: a compensation log for upstream calls, and per-resource
write locks (a lock in this process plus, on SQLite, a byte-range lock on a file beside the database that
every worker of the host sees, or, on PostgreSQL, a lease in the store that all replicas see, renewed while
held).

A write takes the locks of the resources it changes, reads them and checks ``If-Match`` under the locks,
writes upstream (each call noting how to undo it), and rolls the log back when a later call fails, so the
request applies whole or not at all.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import ExitStack
from contextlib import contextmanager
from typing import Any

from scim_bridge.directory import errors as d
from scim_bridge.scim import errors
from scim_bridge.store.filelocks import Busy
from scim_bridge.store.filelocks import HostLocks
from scim_bridge.store.filelocks import host_locks
from scim_bridge.store.store import Store

log = logging.getLogger(__name__)

# A write lease lasts this long unless renewed; the holder renews it every third of that while it writes.
LEASE_TTL = 120.0
LEASE_POLL = 0.02

# On SQLite, the keys of each kind share this many byte locks (stripes) of the lock file: two keys of one
# stripe exclude each other across workers (rarely: 1 in 4096), never within one worker's threads.
STRIPES = 4096
# The kinds of keys in sorted order, which is also the order nested holds take them (a team's or a role's
# lock, then its users'): their stripes are numbered in that order, so sorted stripes keep the hierarchy.
KINDS = ("role-write", "team-write", "user-write")


class Compensation:
    """Compensating upstream calls, run newest first when a multi-call change fails midway."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Callable[[], Any]]] = []

    def add(self, what: str, step: Callable[[], Any]) -> None:
        self._steps.append((what, step))

    def rollback(self) -> None:
        for what, step in reversed(self._steps):
            try:
                step()
            except (d.DirectoryError, errors.ScimError) as exc:
                log.error("could not undo a partial change (%s): %s", what, exc)
        self._steps.clear()

    @contextmanager
    def applying(self) -> Iterator[Compensation]:
        """Roll back everything noted so far when the block raises (then re-raise)."""
        try:
            yield self
        except BaseException:
            self.rollback()
            raise


def user_key(user_id: str) -> str:
    return f"user-write:{user_id}"


def team_key(team_id: str) -> str:
    return f"team-write:{team_id}"


def role_key(role: str) -> str:
    """The lock of a role group (and its aliases): the role's holders change together."""
    return f"role-write:{role.lower()}"


class WriteLocks:
    """Per-resource write locks shared by the services of one bridge process.

    ``hold(*keys)`` takes, in sorted order (so two writers never wait on each other in a cycle), a lock in
    this process for each key, then what excludes the other processes: on SQLite (every worker on one host)
    the keys' stripes of the lock file beside the database (store/filelocks.py; no database write, no
    renewal: a worker that dies frees them), on PostgreSQL a lease in the store per key, kept alive while
    the block runs. A key this thread already holds is not taken again. Waiting for another worker or
    replica ends with 503 after ``wait_budget`` seconds.
    """

    def __init__(self, store: Store, *, wait_budget: float, lease_ttl: float = LEASE_TTL,
                 host: HostLocks | None = None) -> None:
        self.store = store
        self.wait_budget = max(wait_budget, 1.0)
        self.lease_ttl = lease_ttl
        self._lock_file = store.lock_file
        self._host = host
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._held = threading.local()

    @property
    def host(self) -> HostLocks | None:
        """On SQLite, this process's locks of the database's lock file (looked up each time: a forked worker
        gets its own, not its parent's); None on PostgreSQL."""
        if self._host is not None or self._lock_file is None:
            return self._host
        return host_locks(self._lock_file)

    def _lock(self, key: str, host: HostLocks | None) -> threading.Lock:
        if host is not None:  # shared with every bridge over this database in this process
            return host.key_lock(key)
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _mine(self) -> set[str]:
        held: set[str] | None = getattr(self._held, "keys", None)
        if held is None:
            held = self._held.keys = set()
        return held

    @contextmanager
    def hold(self, *keys: str) -> Iterator[None]:
        mine = self._mine()
        wanted = sorted(set(keys) - mine)
        if not wanted:
            yield
            return
        host = self.host
        with ExitStack() as stack:
            for key in wanted:
                stack.enter_context(self._lock(key, host))
            if host is not None:
                stripes = self._acquire_stripes(host, wanted)
                stack.callback(host.release, stripes)
            else:
                owner = uuid.uuid4().hex
                self._acquire_leases(wanted, owner)
                stack.callback(self.store.release_leases, wanted, owner)
                stack.enter_context(self._renewing(wanted, owner))
            mine.update(wanted)
            stack.callback(mine.difference_update, wanted)
            yield

    def _acquire_stripes(self, host: HostLocks, keys: list[str]) -> list[int]:
        try:
            return host.acquire((stripe_of(key) for key in keys), self.wait_budget)
        except Busy:
            raise _still_changing("worker", keys) from None

    def _acquire_leases(self, keys: list[str], owner: str) -> None:
        deadline = time.monotonic() + self.wait_budget
        while not self.store.try_acquire_leases(keys, owner, ttl_seconds=self.lease_ttl):
            if time.monotonic() > deadline:
                raise _still_changing("replica", keys)
            time.sleep(LEASE_POLL)

    @contextmanager
    def _renewing(self, keys: list[str], owner: str) -> Iterator[None]:
        """Renew the leases on ``keys`` every third of their lifetime until the block ends."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.lease_ttl / 3):
                try:
                    if not self.store.try_acquire_leases(keys, owner, ttl_seconds=self.lease_ttl):
                        log.warning("write leases %s were lost while held", keys[:3])
                except Exception as exc:  # the next round tries again; the write itself goes on
                    log.warning("could not renew write leases %s: %s", keys[:3], exc)

        thread = threading.Thread(target=renew, name="write-lease-renewal", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def stripe_of(key: str) -> int:
    """The stripe (byte of the lock file) of ``key``: its kind's block of STRIPES, then a hash of the key that
    every process computes alike (CRC-32; Python's ``hash`` differs between processes)."""
    kind = key.partition(":")[0]
    block = KINDS.index(kind) if kind in KINDS else len(KINDS)
    return block * STRIPES + zlib.crc32(key.encode()) % STRIPES


def _still_changing(other: str, keys: list[str]) -> errors.ServiceUnavailable:
    what = ", ".join(key.split(":", 1)[-1] for key in keys[:3]) + (" ..." if len(keys) > 3 else "")
    return errors.ServiceUnavailable(f"Another bridge {other} is still changing {what}; retry later", retry_after=5)
