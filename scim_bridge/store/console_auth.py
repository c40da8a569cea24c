"""The operator console's sessions and failed logins, kept in the database so every worker and replica
shares them: a logout ends the session everywhere, and the login throttle counts every process's failures.

Session ids are stored as SHA-256 digests, so the table alone gives nobody a session. Times are seconds
since the epoch (the local wall clock, as the clock every worker of a host agrees on).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from scim_bridge.store.engine import WRITE_OPTION
from scim_bridge.store.tables import console_login_failures
from scim_bridge.store.tables import console_sessions


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class ConsoleAuthStore:
    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock

    def _write(self) -> Connection:
        conn = self._engine.connect()
        conn.execution_options(**{WRITE_OPTION: True})
        return conn

    # --- sessions --------------------------------------------------------------------------------
    def open_session(self, session_id: str, lifetime: float) -> None:
        """Record a new session valid ``lifetime`` seconds; forget sessions that have expired."""
        now = self._clock()
        with self._write() as conn, conn.begin():
            conn.execute(delete(console_sessions).where(console_sessions.c.expires_at <= now))
            conn.execute(insert(console_sessions).values(id_sha256=_digest(session_id), created_at=now,
                                                         expires_at=now + lifetime))

    def session_valid(self, session_id: str) -> bool:
        with self._engine.connect() as conn:
            expires = conn.execute(select(console_sessions.c.expires_at).where(
                console_sessions.c.id_sha256 == _digest(session_id))).scalar_one_or_none()
        return expires is not None and float(expires) > self._clock()

    def close_session(self, session_id: str) -> None:
        with self._write() as conn, conn.begin():
            conn.execute(delete(console_sessions).where(console_sessions.c.id_sha256 == _digest(session_id)))

    # --- failed logins ---------------------------------------------------------------------------
    def failures(self, key: str, window: float) -> tuple[int, float]:
        """(failures of ``key`` in the last ``window`` seconds, the time of the oldest of them)."""
        since = self._clock() - window
        with self._engine.connect() as conn:
            row = conn.execute(select(func.count(), func.min(console_login_failures.c.at)).where(
                console_login_failures.c.key == key, console_login_failures.c.at > since)).one()
        return int(row[0]), float(row[1] or 0.0)

    def add_failure(self, keys: Sequence[str], window: float) -> None:
        """One failed login under each of ``keys``; failures older than ``window`` are forgotten."""
        now = self._clock()
        with self._write() as conn, conn.begin():
            conn.execute(delete(console_login_failures).where(console_login_failures.c.at <= now - window))
            conn.execute(insert(console_login_failures), [{"key": key, "at": now} for key in keys])

    def now(self) -> float:
        return self._clock()
