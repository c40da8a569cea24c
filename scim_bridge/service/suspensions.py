"""The suspension ledger: what each suspended user gets back at reactivation (its role and teams).

Users, teams and role groups change a record only through these compare-and-set updates (the store
locks the record from its read to its write), so two requests changing one user's record at once, for
two teams say, never lose each other's change.
"""

from __future__ import annotations

from dataclasses import replace

from scim_bridge.store.records import Suspension
from scim_bridge.store.store import Store


class SuspensionLedger:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, user_id: str) -> Suspension | None:
        return self.store.get_suspension(user_id)

    def open(self, suspension: Suspension) -> None:
        """Record a suspension just applied upstream (the user's write lock is held)."""
        self.store.put_suspension(suspension)

    def close(self, user_id: str) -> None:
        """Forget the suspension of a user just reactivated (the user's write lock is held)."""
        self.store.delete_suspension(user_id)

    def hold_team(self, user_id: str, team_id: str, role: str = "user") -> bool:
        """Note that reactivation puts the user in ``team_id``; False when the user is not suspended."""

        def change(held: Suspension) -> Suspension:
            if any(t.get("id") == team_id for t in held.teams):
                return held
            return replace(held, teams=[*held.teams, {"id": team_id, "role": role}])

        return self.store.update_suspension(user_id, change) is not None

    def drop_team(self, user_id: str, team_id: str) -> None:
        """Take ``team_id`` out of what reactivation gives the user back."""
        self.store.update_suspension(
            user_id, lambda held: replace(held, teams=[t for t in held.teams if t.get("id") != team_id]))

    def set_role(self, user_id: str, role: str) -> bool:
        """Make ``role`` the one reactivation gives back; False when the user is not suspended."""
        return self.store.update_suspension(user_id, lambda held: replace(held, role=role)) is not None
