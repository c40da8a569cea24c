"""Drift: where a team's roster, as the mirror holds it since the last sync, differs from what the IdP last
pushed through SCIM (the member ids a team write leaves in the team's ``PUSHED_MEMBERS``, service/teams.py).
The operator console shows it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field

from scim_bridge.service.teams import PUSHED_MEMBERS
from scim_bridge.store.browse import Browser
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.store import Store

# (user id, user name)
Named = tuple[str, str]


@dataclass
class TeamDrift:
    """One team whose upstream roster (as of the last sync) differs from what the IdP last pushed."""

    id: str
    name: str
    added: list[Named] = field(default_factory=list)  # in the upstream only
    removed: list[Named] = field(default_factory=list)  # pushed by the IdP, gone from the upstream
    suspended: list[Named] = field(default_factory=list)  # held back by the bridge's suspension


@dataclass
class DriftReport:
    drifted: list[TeamDrift]
    in_step: int
    unmanaged: list[Named]  # (team id, name) never written through SCIM


def _pushed(team: GroupRecord) -> list[str] | None:
    pushed = team.scim.get(PUSHED_MEMBERS)
    return [str(uid) for uid in pushed] if isinstance(pushed, list) else None


def drift_report(store: Store) -> DriftReport:
    """The drift of every team, by name."""
    teams = Browser(store).teams()
    managed = [t for t in teams if _pushed(t) is not None]
    drifted = _drifted(store, managed)
    unmanaged = [(t.id, t.display_name) for t in teams if _pushed(t) is None]
    return DriftReport(drifted=drifted, in_step=len(managed) - len(drifted), unmanaged=unmanaged)


def drift_of(store: Store, team_id: str) -> TeamDrift | None:
    """The drift of one team; None when it is in step, or was never written through SCIM."""
    team = store.get_group(team_id)
    if team is None or _pushed(team) is None:
        return None
    return next(iter(_drifted(store, [team])), None)


def _drifted(store: Store, managed: Sequence[GroupRecord]) -> list[TeamDrift]:
    rosters = store.members_for_groups([t.id for t in managed])
    pushed_ids = {t.id: _pushed(t) or [] for t in managed}
    everyone: set[str] = set()
    for team in managed:
        everyone.update(pushed_ids[team.id])
        everyone.update(m.user_id for m in rosters.get(team.id, []))
    names = store.user_names(sorted(everyone))
    suspended = Browser(store).suspended(sorted(everyone))
    drifted: list[TeamDrift] = []
    for team in managed:
        mirror = {m.user_id for m in rosters.get(team.id, [])}
        pushed = {uid for uid in pushed_ids[team.id] if uid in names}  # users deleted since are no drift
        report = TeamDrift(team.id, team.display_name)
        report.added = _named(mirror - pushed, names)
        missing = pushed - mirror
        report.removed = _named(missing - suspended, names)
        report.suspended = _named(missing & suspended, names)
        if report.added or report.removed:
            drifted.append(report)
    return drifted


def _named(ids: set[str], names: dict[str, str]) -> list[Named]:
    return sorted(((uid, names.get(uid, "")) for uid in ids), key=lambda item: (item[1].lower(), item[0]))
