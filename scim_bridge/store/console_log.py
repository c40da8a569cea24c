"""What the operator console keeps beyond the audit log: each write's body and before/after state, requests
counted per minute (shared by every worker and replica through the database), and the history of sync runs.

Growth is bounded by age: traffic counts older than ``TRAFFIC_KEEP`` seconds, changes older than
``CHANGES_KEEP`` and sync runs older than ``SYNC_KEEP`` are deleted by :meth:`ConsoleLog.prune`.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.sqlutil import normalize_json
from scim_bridge.store.tables import console_changes
from scim_bridge.store.tables import console_sync_runs
from scim_bridge.store.tables import console_traffic

DAY = 86400
TRAFFIC_KEEP = 2 * DAY
CHANGES_KEEP = 90 * DAY
SYNC_KEEP = 7 * DAY
REJECTED = "rejected"


@dataclass(frozen=True)
class Change:
    request_id: str
    at: float
    name: str
    body: Any
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class Rejection:
    """Refused requests from one credential name and source address with one status."""

    credential: str
    source: str
    status: int
    count: int
    last_minute: int


@dataclass(frozen=True)
class SyncRun:
    at: float
    ok: bool
    seconds: float
    detail: str


TrafficKey = tuple[int, str, str, str, int]  # minute, kind, credential, source, status


class ConsoleLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- traffic ---------------------------------------------------------------------------------
    def add_counts(self, counts: Mapping[TrafficKey, int]) -> None:
        """Add ``counts`` to the per-minute totals (an upsert, so workers and replicas add up)."""
        if not counts:
            return
        rows = [{"minute": k[0], "kind": k[1], "credential": k[2][:200], "source": k[3][:100], "status": k[4],
                 "count": n} for k, n in counts.items()]
        with self.engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = dialect.insert(console_traffic)
            stmt = stmt.on_conflict_do_update(
                index_elements=["minute", "kind", "credential", "source", "status"],
                set_={"count": console_traffic.c.count + stmt.excluded.count},
            )
            for part in chunks(rows, 200):
                conn.execute(stmt, part)

    def per_minute(self, first_minute: int) -> list[tuple[int, str, int, int]]:
        """(minute, kind, status, count) from ``first_minute`` on, all credentials and sources together."""
        c = console_traffic.c
        stmt = (select(c.minute, c.kind, c.status, func.sum(c.count)).where(c.minute >= first_minute)
                .group_by(c.minute, c.kind, c.status))
        with self.engine.connect() as conn:
            return [(int(m), str(k), int(s), int(n)) for m, k, s, n in conn.execute(stmt)]

    def rejections(self, first_minute: int) -> list[Rejection]:
        """Refused requests since ``first_minute`` per credential, source and status, most frequent first."""
        c = console_traffic.c
        stmt = (select(c.credential, c.source, c.status, func.sum(c.count), func.max(c.minute))
                .where(c.minute >= first_minute, c.kind == REJECTED)
                .group_by(c.credential, c.source, c.status))
        with self.engine.connect() as conn:
            found = [Rejection(str(cr), str(src), int(st), int(n), int(last))
                     for cr, src, st, n, last in conn.execute(stmt)]
        return sorted(found, key=lambda r: (-r.count, r.credential, r.source, r.status))

    def last_call_by_credential(self) -> dict[str, int]:
        """Credential name -> the last minute it made a request that was accepted (read or write)."""
        c = console_traffic.c
        stmt = (select(c.credential, func.max(c.minute)).where(c.kind.in_(("read", "write")), c.credential != "")
                .group_by(c.credential))
        with self.engine.connect() as conn:
            return {str(name): int(minute) for name, minute in conn.execute(stmt)}

    # --- changes ---------------------------------------------------------------------------------
    def add_change(self, change: Change) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(console_changes).values(
                request_id=change.request_id, at=change.at, name_lower=change.name.lower()[:300],
                body=normalize_json(change.body), before=normalize_json(change.before),
                after=normalize_json(change.after)))

    def changes(self, request_ids: Sequence[str]) -> dict[str, Change]:
        """The latest change recorded under each of ``request_ids``."""
        found: dict[str, Change] = {}
        with self.engine.connect() as conn:
            for part in chunks(list(set(request_ids))):
                stmt = (select(console_changes).where(console_changes.c.request_id.in_(part))
                        .order_by(console_changes.c.id))
                for row in conn.execute(stmt).mappings():
                    found[row["request_id"]] = _change(row)
        return found

    def request_ids_naming(self, text: str, limit: int = 5000) -> list[str]:
        """Request ids of the changes whose userName or displayName contains ``text`` (case-insensitive)."""
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = (select(console_changes.c.request_id).where(console_changes.c.name_lower.like(f"%{escaped}%",
                                                                                             escape="\\"))
                .order_by(console_changes.c.id.desc()).limit(limit))
        with self.engine.connect() as conn:
            return list(dict.fromkeys(str(r) for r in conn.execute(stmt).scalars()))

    # --- sync runs -------------------------------------------------------------------------------
    def add_sync_run(self, run: SyncRun) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(console_sync_runs).values(at=run.at, ok=run.ok, seconds=run.seconds,
                                                          detail=run.detail[:500]))

    def sync_runs(self, since: float) -> list[SyncRun]:
        stmt = select(console_sync_runs).where(console_sync_runs.c.at >= since).order_by(console_sync_runs.c.at)
        with self.engine.connect() as conn:
            return [SyncRun(float(r["at"]), bool(r["ok"]), float(r["seconds"]), str(r["detail"]))
                    for r in conn.execute(stmt).mappings()]

    # --- bounded growth --------------------------------------------------------------------------
    def prune(self, now: float) -> None:
        with self.engine.begin() as conn:
            _prune(conn, now)


def _prune(conn: Connection, now: float) -> None:
    conn.execute(delete(console_traffic).where(console_traffic.c.minute < int((now - TRAFFIC_KEEP) // 60)))
    conn.execute(delete(console_changes).where(console_changes.c.at < now - CHANGES_KEEP))
    conn.execute(delete(console_sync_runs).where(console_sync_runs.c.at < now - SYNC_KEEP))


def _change(row: Mapping[Any, Any]) -> Change:
    return Change(request_id=row["request_id"], at=float(row["at"]), name=row["name_lower"], body=row["body"],
                  before=row["before"], after=row["after"])
