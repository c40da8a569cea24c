"""The bridge's own state: SQLite or PostgreSQL through SQLAlchemy Core, migrated by Alembic."""

from __future__ import annotations

from scim_bridge.store.errors import StoreConflict
from scim_bridge.store.errors import StoreError
from scim_bridge.store.errors import StoreNotFound
from scim_bridge.store.records import GROUP_KINDS
from scim_bridge.store.records import AuditEvent
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.records import Membership
from scim_bridge.store.records import Suspension
from scim_bridge.store.records import SyncGroup
from scim_bridge.store.records import SyncStats
from scim_bridge.store.records import SyncUser
from scim_bridge.store.records import UserRecord
from scim_bridge.store.store import Store

__all__ = [
    "GROUP_KINDS",
    "AuditEvent",
    "GroupKind",
    "GroupRecord",
    "Membership",
    "Store",
    "StoreConflict",
    "StoreError",
    "StoreNotFound",
    "Suspension",
    "SyncGroup",
    "SyncStats",
    "SyncUser",
    "UserRecord",
]
