"""scim2-tester's compliance checks for Users and Groups, run against the bridge over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize("read_through", [True, False], ids=["read-through", "mirror-reads"])
def test_scim2_tester_users_and_groups(bridge_factory: Any, read_through: bool,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from compliance.scim2_checks import PASSING
    from compliance.scim2_checks import ResourceManager
    from compliance.scim2_checks import accepted_deviation
    from compliance.scim2_checks import describe
    from compliance.scim2_checks import forget_deleted
    from compliance.scim2_checks import run_checks

    cleanup = ResourceManager.cleanup
    monkeypatch.setattr(ResourceManager, "cleanup", lambda manager: forget_deleted(manager, cleanup))
    bridge = bridge_factory(read_through=read_through, phone_region="US")
    results = run_checks(bridge, ["User", "Group"])
    failing = [r for r in results if r.status not in PASSING and accepted_deviation(r) is None]
    assert not failing, "\n".join(describe(r) for r in failing)
    passed = {(r.resource_type, r.title) for r in results if r.status in PASSING}
    for kind in ("User", "Group"):
        for title in ("object_creation", "object_query", "object_query_without_id", "object_replacement",
                      "object_deletion", "object_query_with_attributes", "object_list_with_attributes",
                      "check_add_attribute", "check_remove_attribute", "check_replace_attribute"):
            assert (kind, title) in passed, (kind, title)
    assert len([r for r in results if r.status in PASSING]) > 60
    # The simulator holds no leftovers: every user and team the checker made was deleted.
    state = bridge.sim.state()
    assert not [u["username"] for u in state["users"] if u["username"].endswith("@example.com")
                and len(u["username"].split("@")[0]) == 36]
