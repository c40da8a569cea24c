"""The write locks of a bridge on SQLite: byte-range locks on the lock file beside the database, shared by the
processes of the host (store/filelocks.py, service/writes.py). Other processes are real child processes; a
wait that must run out does so on an injected clock."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sim_http import FakeClock

from scim_bridge.scim import errors
from scim_bridge.service.writes import STRIPES
from scim_bridge.service.writes import WriteLocks
from scim_bridge.service.writes import stripe_of
from scim_bridge.service.writes import user_key
from scim_bridge.store import Store
from scim_bridge.store.filelocks import Busy
from scim_bridge.store.filelocks import HostLocks
from tests.processes import run_together
from tests.store.workers import count_under_lock

# A child process that holds one key's write lock (WriteLocks over the same database) until told, or is killed.
HOLDER = """
import sys
from scim_bridge.service.writes import WriteLocks
from scim_bridge.store import Store
locks = WriteLocks(Store.from_url(sys.argv[1]), wait_budget=30)
with locks.hold(sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()
print("released", flush=True)
sys.stdin.readline()
"""

# A child process that says whether one byte of the lock file is free (and leaves it so).
PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, int(sys.argv[2]), os.SEEK_SET)
    print("free")
except OSError:
    print("busy")
"""


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.from_url(f"sqlite:///{tmp_path / 'bridge.db'}")
    yield store
    store.close()


def lock_file(store: Store) -> Path:
    path = store.lock_file
    assert path is not None
    return path


def url(store: Store) -> str:
    return str(store.engine.url)


class Holder:
    """A child process holding ``key``'s write lock."""

    def __init__(self, store: Store, key: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", HOLDER, url(store), key], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None and self.process.stdout.readline() == "held\n"

    def release(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline() == "released\n"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def probe(path: Path, stripe: int) -> str:
    return subprocess.run([sys.executable, "-c", PROBE, str(path), str(stripe)], capture_output=True, text=True,
                          check=True).stdout.strip()


def same_stripe(key: str) -> str:
    """Another user key of ``key``'s stripe."""
    return next(other for n in range(100 * STRIPES)
                if (other := user_key(f"u{n}")) != key and stripe_of(other) == stripe_of(key))


def test_the_lock_file_lies_beside_the_sqlite_database(store: Store, tmp_path: Path) -> None:
    assert store.lock_file == tmp_path / "bridge.db-writelocks"
    assert WriteLocks(store, wait_budget=1).host is not None


def test_a_key_held_by_another_process_waits_then_ends_in_503(store: Store) -> None:
    """While another worker holds the key, a write waits out its budget with growing pauses (no busy loop)
    and answers 503; once the other lets go, the key is taken at the first try."""
    key = user_key("tom")
    time = FakeClock(0.0)
    locks = WriteLocks(store, wait_budget=5, host=HostLocks(lock_file(store), sleep=time.sleep, clock=time))
    holder = Holder(store, key)
    try:
        with pytest.raises(errors.ServiceUnavailable), locks.hold(key):
            pass
        assert time.now == pytest.approx(5.0)
        assert time.slept[:6] == pytest.approx([0.001, 0.002, 0.004, 0.008, 0.016, 0.02])
        assert max(time.slept) == pytest.approx(0.02)
        holder.release()
        time.slept.clear()
        with locks.hold(key):
            assert probe(lock_file(store), stripe_of(key)) == "busy"
        assert time.slept == []
        assert probe(lock_file(store), stripe_of(key)) == "free"
    finally:
        holder.stop()


def test_two_processes_writing_under_one_key_never_interleave(store: Store, tmp_path: Path) -> None:
    """Two processes each add one to a shared counter file 300 times under the same key's write lock: no
    read-modify-write is lost."""
    counter = tmp_path / "counter"
    counter.write_text("0")
    run_together(count_under_lock, [(url(store), user_key("tom"), str(counter), 300)] * 2)
    assert counter.read_text() == "600"


def test_threads_holding_two_keys_of_one_stripe_do_not_release_each_other(store: Store) -> None:
    """Two threads of one process hold two keys that share a stripe: they do not wait on each other, and the
    first to finish leaves the stripe locked for the other (another process still cannot take the key)."""
    locks = WriteLocks(store, wait_budget=30)
    assert locks.host is not None
    first = user_key("tom")
    second = same_stripe(first)
    stripe = stripe_of(first)
    inside, done = threading.Event(), threading.Event()

    def hold_first() -> None:
        with locks.hold(first):
            inside.set()
            done.wait()

    thread = threading.Thread(target=hold_first)
    thread.start()
    try:
        assert inside.wait(30)
        with locks.hold(second):
            assert locks.host.holders(stripe) == 2
        assert locks.host.holders(stripe) == 1
        assert probe(lock_file(store), stripe) == "busy"
    finally:
        done.set()
        thread.join()
    assert locks.host.holders(stripe) == 0
    assert probe(lock_file(store), stripe) == "free"


def test_a_thread_holding_a_stripe_takes_another_key_of_it_without_waiting(store: Store) -> None:
    locks = WriteLocks(store, wait_budget=30)
    first = user_key("tom")
    with locks.hold(first), locks.hold(same_stripe(first)):
        assert locks.host is not None and locks.host.holders(stripe_of(first)) == 2
    assert probe(lock_file(store), stripe_of(first)) == "free"


def test_a_crashed_holder_frees_its_lock(store: Store) -> None:
    """A worker killed while it writes holds nothing afterwards: no lease to wait out, no renewal to stop."""
    key = user_key("tom")
    time = FakeClock(0.0)
    host = HostLocks(lock_file(store), sleep=time.sleep, clock=time)
    holder = Holder(store, key)
    try:
        with pytest.raises(Busy):
            host.acquire([stripe_of(key)], 0)
    finally:
        holder.stop()
    assert host.acquire([stripe_of(key)], 0) == [stripe_of(key)]
    host.release([stripe_of(key)])
    assert time.slept == []


def test_stripes_keep_the_order_of_the_key_kinds() -> None:
    """Nested holds take a team's or a role's lock before its users': their stripes come first in that order."""
    assert stripe_of("role-write:admin") < STRIPES <= stripe_of("team-write:t1") < 2 * STRIPES \
        <= stripe_of(user_key("u1")) < 3 * STRIPES
    assert stripe_of(user_key("u1")) == stripe_of(user_key("u1"))


def test_a_forked_worker_gets_its_own_locks_not_its_parents(store: Store) -> None:
    """A worker forked from a process that holds a key (gunicorn forks its workers) does not inherit the hold:
    the key is busy for the child until the parent lets go."""
    locks = WriteLocks(store, wait_budget=30)
    key = user_key("tom")
    with locks.hold(key):
        parent_host = locks.host
        pid = os.fork()
        if pid == 0:  # the child: exit 0 only if it has its own locks and finds the key held by its parent
            code = 1
            try:
                host = locks.host
                if host is not None and host is not parent_host:
                    try:
                        host.acquire([stripe_of(key)], 0)
                    except Busy:
                        code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert probe(lock_file(store), stripe_of(key)) == "free"
