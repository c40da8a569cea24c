"""The objects one bridge app is made of, reachable from any view."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import current_app

from scim_bridge.config import Settings
from scim_bridge.directory.base import Directory
from scim_bridge.service.groups import GroupService
from scim_bridge.service.sync import SyncService
from scim_bridge.service.users import UserService
from scim_bridge.store.store import Store


@dataclass
class Bridge:
    settings: Settings
    store: Store
    directory: Directory
    sync: SyncService
    users: UserService
    groups: GroupService
    extras: dict[str, Any] = field(default_factory=dict)


def bridge() -> Bridge:
    found = current_app.extensions["scim_bridge"]
    assert isinstance(found, Bridge)
    return found
