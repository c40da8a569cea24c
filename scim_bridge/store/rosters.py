"""Which team rosters the mirror holds, and how old each one is (table ``roster_loads``).

A team's roster is *held* when ``groups.members_known`` is true (read from the upstream, or written whole by
the bridge); ``roster_loads`` says when it was last read from the upstream. Every sync write of a roster
stamps it (``store.sync.stamp_rosters``); the service reads the stamps here, to load outstanding rosters
before an answer uses them and to refresh the oldest ones first.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from scim_bridge.scim.schema import GROUP
from scim_bridge.store import order
from scim_bridge.store.engine import WRITE_OPTION
from scim_bridge.store.records import GroupKind
from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.store import Store
from scim_bridge.store.tables import groups
from scim_bridge.store.tables import roster_loads
from scim_bridge.store.tables import users

# The teams whose roster the mirror does not hold.
NOT_HELD = select(groups.c.id).where(groups.c.kind == GroupKind.TEAM, groups.c.members_known.is_(False))


class RosterLedger:
    """Read side of the roster stamps, over the store's connections."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # (generation of Groups, whether some roster was outstanding then): see any_outstanding.
        self._outstanding: tuple[int, bool] | None = None

    def outstanding(self, among: Collection[str] | None = None) -> list[str]:
        """Ids of the teams (of ``among``, or all) whose roster the mirror does not hold, in id order."""
        stmt = NOT_HELD
        with self.store.connection() as conn:
            if among is None:
                return list(conn.execute(stmt.order_by(groups.c.id)).scalars())
            found: list[str] = []
            for part in chunks(sorted(set(among))):
                found.extend(conn.execute(stmt.where(groups.c.id.in_(part))).scalars())
            return sorted(found)

    def any_outstanding(self) -> bool:
        """Whether some team's roster is not held.

        Asked before every answer that shows members or groups, so the answer is remembered per generation of
        Groups, as the totals of filters are (store/keyset.py): every transaction that adds a team or changes
        which rosters are held moves that generation, in this process or another (a replica, another worker on
        the same SQLite file). While it stands still, the answer costs one read of the generation's row, not a
        query over the groups. The generation is read first: a change committed between the two reads moves
        it past the one the answer is remembered under.
        """
        stmt = NOT_HELD.limit(1)
        with self.store.connection() as conn:
            # Asked inside a write transaction, whose changes may yet be rolled back: not remembered.
            if conn.get_execution_options().get(WRITE_OPTION):
                return conn.execute(stmt).first() is not None
            generation = order.generation(conn, GROUP.id)
            remembered = self._outstanding
            if remembered is not None and remembered[0] == generation:
                return remembered[1]
            found = conn.execute(stmt).first() is not None
        self._outstanding = (generation, found)
        return found

    def due(self, read_before: datetime, limit: int) -> list[str]:
        """Up to ``limit`` team ids whose roster was not read from the upstream since ``read_before``: the
        rosters not held first, then never read (written by the bridge only), then oldest read first."""
        if limit <= 0:
            return []
        joined = groups.outerjoin(roster_loads, roster_loads.c.group_id == groups.c.id)
        stmt = (
            select(groups.c.id)
            .select_from(joined)
            .where(groups.c.kind == GroupKind.TEAM,
                   or_(groups.c.members_known.is_(False), roster_loads.c.loaded_at.is_(None),
                       roster_loads.c.loaded_at < read_before))
            .order_by(groups.c.members_known, roster_loads.c.loaded_at.is_not(None), roster_loads.c.loaded_at,
                      groups.c.id)
            .limit(limit)
        )
        with self.store.connection() as conn:
            return list(conn.execute(stmt).scalars())

    def loaded_at(self, group_ids: Collection[str]) -> dict[str, datetime]:
        """When each of ``group_ids`` that has a stamp had its roster read from the upstream."""
        found: dict[str, datetime] = {}
        with self.store.connection() as conn:
            for part in chunks(sorted(set(group_ids))):
                stmt = select(roster_loads.c.group_id, roster_loads.c.loaded_at).where(
                    roster_loads.c.group_id.in_(part))
                found.update({row.group_id: row.loaded_at for row in conn.execute(stmt)})
        return found

    def oldest(self) -> datetime | None:
        """The oldest stamp of a team that has one (None: none has)."""
        joined = roster_loads.join(groups, groups.c.id == roster_loads.c.group_id)
        with self.store.connection() as conn:
            return conn.execute(select(func.min(roster_loads.c.loaded_at)).select_from(joined).where(
                groups.c.kind == GroupKind.TEAM)).scalar()

    def unseen_users(self, since: datetime, limit: int) -> list[str]:
        """Up to ``limit`` ids of users neither read from the upstream nor written since ``since``, in id order:
        those a sync cycle begun then did not see."""
        stmt = (select(users.c.id)
                .where(and_(or_(users.c.synced_at.is_(None), users.c.synced_at < since),
                            users.c.last_modified < since))
                .order_by(users.c.id).limit(limit))
        with self.store.connection() as conn:
            return list(conn.execute(stmt).scalars())
