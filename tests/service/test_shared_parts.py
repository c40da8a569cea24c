"""The parts the composition root builds once per process and hands to every service, in process."""

from __future__ import annotations

from inprocess import InProcessBridge

from scim_bridge.web.state import Bridge


def bridge_of(inprocess: InProcessBridge) -> Bridge:
    found = inprocess.app.extensions["scim_bridge"]
    assert isinstance(found, Bridge)
    return found


def test_users_teams_and_role_groups_share_one_ledger_and_one_role_catalogue(
        inprocess_bridge: InProcessBridge) -> None:
    parts = bridge_of(inprocess_bridge)
    users, groups = parts.users, parts.groups
    ledgers = {id(users.ledger), id(users.deactivation.ledger), id(groups.ledger), id(groups.teams.ledger),
               id(groups.roles.ledger)}
    catalogues = {id(users.roles), id(users.deactivation.roles), id(groups.catalogue), id(groups.teams.catalogue),
                  id(groups.roles.catalogue)}
    mirrors = {id(users.mirror), id(groups.teams.mirror), id(groups.roles.mirror)}
    assert (len(ledgers), len(catalogues), len(mirrors)) == (1, 1, 1)
    assert users.ledger.store is inprocess_bridge.store and users.roles.store is inprocess_bridge.store
