"""What the services of one process share, built once (by the composition root, scim_bridge.bootstrap): the
upstream directory, the store, the settings, the sync service, the write locks (a user write and a team write
touching that user exclude each other), the mirror gateway (one single-flight table for every re-read), the
suspension ledger and the role catalogue (users, teams and role groups read and change the same ones)."""

from __future__ import annotations

from dataclasses import dataclass

from scim_bridge.config import Settings
from scim_bridge.directory.base import Directory
from scim_bridge.service.mirror import MirrorGateway
from scim_bridge.service.roles import RoleCatalogue
from scim_bridge.service.suspensions import SuspensionLedger
from scim_bridge.service.sync import SyncService
from scim_bridge.service.writes import WriteLocks
from scim_bridge.store.store import Store


@dataclass(frozen=True)
class ServiceParts:
    directory: Directory
    store: Store
    settings: Settings
    sync: SyncService
    locks: WriteLocks
    mirror: MirrorGateway
    ledger: SuspensionLedger
    catalogue: RoleCatalogue

    @classmethod
    def build(cls, directory: Directory, store: Store, settings: Settings, sync: SyncService) -> ServiceParts:
        """A fresh set for ``directory`` and ``store`` (one per process: share it between services)."""
        return cls(
            directory=directory, store=store, settings=settings, sync=sync,
            locks=WriteLocks(store, wait_budget=settings.upstream_wait_budget, lease_ttl=settings.write_lease_ttl),
            mirror=MirrorGateway(directory, store, settings),
            ledger=SuspensionLedger(store),
            catalogue=RoleCatalogue(directory, store, settings, sync),
        )


class UsesParts:
    """A service built from the shared :class:`ServiceParts`, reachable as its own attributes."""

    def __init__(self, parts: ServiceParts) -> None:
        self.parts = parts
        self.directory = parts.directory
        self.store = parts.store
        self.settings = parts.settings
        self.sync = parts.sync
        self.locks = parts.locks
        self.mirror = parts.mirror
        self.ledger = parts.ledger
        self.catalogue = parts.catalogue
