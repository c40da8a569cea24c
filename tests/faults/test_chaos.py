"""A reduced fault suite (``bench/chaos.py``; ``make chaos`` runs the full one)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import TOKEN
from conftest import Running

from bench import chaos

REDUCED = chaos.Options(
    users=40,
    groups=5,
    members_per_group=8,
    removals_per_group=2,
    deleted_users=3,
    workers=4,
    spike_rate=0.03,
    spike_ms=250,
    burst_every=1.5,
    burst_length=0.5,
)


@pytest.mark.parametrize("read_through", [True, False], ids=["read-through", "mirror-reads"])
def test_reduced_fault_suite_loses_nothing(bridge_factory: Any, read_through: bool) -> None:
    bridge: Running = bridge_factory(seed=None, read_through=read_through)
    figures = chaos.run(bridge.scim.base_url, TOKEN, bridge.sim.base_url, REDUCED)

    faults = figures["faults_injected"]
    assert sum(faults.values()) > 0, "no fault was injected: the run proves nothing"
    verdict = figures["verdict"]
    assert figures["unexpected_5xx"] == 0, figures["unexpected_responses"]
    assert figures["gave_up"] == []
    assert verdict["duplicates"] == 0
    assert verdict["lost_users"] == [] and verdict["phantom_users"] == []
    assert verdict["client_ids_not_upstream"] == []
    assert verdict["phantom_teams"] == []
    assert verdict["lost_memberships"] == [] and verdict["phantom_memberships"] == []
    assert verdict["bridge_view_differs"] == []
    assert figures["ok"] is True
    assert verdict["intended_users"] == 37
