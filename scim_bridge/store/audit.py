"""Queries on the audit log."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.engine import Connection

from scim_bridge.store.records import AuditEvent
from scim_bridge.store.sqlutil import Row
from scim_bridge.store.sqlutil import first_row
from scim_bridge.store.sqlutil import normalize_json
from scim_bridge.store.sqlutil import record_from_row
from scim_bridge.store.tables import audit_events


def audit_from_row(row: Row) -> AuditEvent:
    return record_from_row(AuditEvent, row, scopes=row["scopes"] or "")


def add_audit(conn: Connection, event: AuditEvent) -> AuditEvent:
    values = {
        "at": event.at,
        "actor": event.actor,
        "request_id": event.request_id,
        "method": event.method,
        "path": event.path,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "operation": event.operation,
        "status": event.status,
        "outcome": event.outcome,
        "detail": event.detail,
        "upstream_calls": normalize_json(event.upstream_calls),
        "scopes": event.scopes,
    }
    result = conn.execute(insert(audit_events).values(values).returning(audit_events.c.id))
    return replace(event, id=int(result.scalar_one()), upstream_calls=values["upstream_calls"])


def get_audit(conn: Connection, event_id: int) -> AuditEvent | None:
    return first_row(conn, select(audit_events).where(audit_events.c.id == event_id), audit_from_row)


def list_audit(
    conn: Connection,
    limit: int,
    since: datetime | None,
    resource_id: str | None,
    actor: str | None,
    outcome: str | None,
) -> list[AuditEvent]:
    stmt = select(audit_events).order_by(audit_events.c.at.desc(), audit_events.c.id.desc())
    if since is not None:
        stmt = stmt.where(audit_events.c.at >= since)
    if resource_id is not None:
        stmt = stmt.where(audit_events.c.resource_id == resource_id)
    if actor is not None:
        stmt = stmt.where(audit_events.c.actor == actor)
    if outcome is not None:
        stmt = stmt.where(audit_events.c.outcome == outcome)
    return [audit_from_row(row) for row in conn.execute(stmt.limit(limit)).mappings()]


def prune_audit(conn: Connection, before: datetime) -> int:
    return int(conn.execute(delete(audit_events).where(audit_events.c.at < before)).rowcount)
