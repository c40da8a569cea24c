"""Queries on the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.engine import Connection

from scim_bridge.store.records import AuditEvent
from scim_bridge.store.sqlutil import Row
from scim_bridge.store.sqlutil import first_row
from scim_bridge.store.sqlutil import normalize_json
from scim_bridge.store.sqlutil import record_from_row
from scim_bridge.store.tables import audit_events


@dataclass(frozen=True)
class NameMatch:
    """Events about any of these resources or with any of these request ids (the console's name filter)."""

    resource_ids: tuple[str, ...] = ()
    request_ids: tuple[str, ...] = ()


# The columns of ``audit_events`` an audit listing can ask to equal a value.
AuditColumn = Literal["actor", "outcome", "operation", "resource_type", "resource_id"]


@dataclass(frozen=True)
class AuditFilter:
    """Which audit events a listing shows: those that meet every criterion given. ``equal``: columns and the
    value each must have (an empty value asks nothing, so a form's empty fields pass through); ``since`` is
    inclusive; ``named``: None asks nothing."""

    since: datetime | None = None
    equal: Mapping[AuditColumn, str] = field(default_factory=dict)
    named: NameMatch | None = None


def audit_where(flt: AuditFilter) -> ColumnElement[bool]:
    """The condition on ``audit_events`` that ``flt`` stands for."""
    c = audit_events.c
    clauses = [c[column] == value for column, value in flt.equal.items() if value]
    if flt.since is not None:
        clauses.append(c.at >= flt.since)
    if flt.named is not None:
        clauses.append(or_(c.resource_id.in_(flt.named.resource_ids), c.request_id.in_(flt.named.request_ids)))
    return and_(true(), *clauses)


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


def list_audit(conn: Connection, flt: AuditFilter, limit: int, offset: int = 0) -> list[AuditEvent]:
    """Newest first."""
    stmt = (select(audit_events).where(audit_where(flt))
            .order_by(audit_events.c.at.desc(), audit_events.c.id.desc()).offset(offset).limit(limit))
    return [audit_from_row(row) for row in conn.execute(stmt).mappings()]


def prune_audit(conn: Connection, before: datetime) -> int:
    return int(conn.execute(delete(audit_events).where(audit_events.c.at < before)).rowcount)
