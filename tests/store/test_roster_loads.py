"""roster_loads: when each team's roster was read from the upstream, and which rosters are due first."""

from __future__ import annotations

from scim_bridge.store import GroupRecord
from scim_bridge.store import Store
from scim_bridge.store import SyncUser
from scim_bridge.store.rosters import RosterLedger
from tests.store.store_fakes import FakeClock
from tests.store.test_store_sync import team
from tests.store.test_store_sync import up


def test_roster_stamps_order_the_rosters_due(store: Store, clock: FakeClock) -> None:
    ledger = RosterLedger(store)
    users: list[SyncUser] = [up("u1", "alice@x.com"), up("u2", "bob@x.com")]
    store.apply_sync_page(users, None)
    # t1..t3 listed without rosters: outstanding, due first.
    store.apply_sync_page(None, [team("t1", "One", None), team("t2", "Two", None), team("t3", "Three", None)])
    assert ledger.outstanding() == ["t1", "t2", "t3"]
    assert ledger.outstanding(["t2", "t9"]) == ["t2"]
    clock.advance(10)
    store.apply_sync_page(None, [team("t2", "Two", [("u1", "user")])])
    read_t2 = clock.now
    clock.advance(10)
    store.apply_sync_page(None, [team("t1", "One", [("u2", "admin")])])
    # A roster written whole by the bridge is held but was never read: due before those read.
    store.upsert_group(GroupRecord(id="t4", kind="team", display_name="Four", members_known=True))
    assert ledger.outstanding() == ["t3"]
    assert ledger.loaded_at(["t1", "t2", "t4"]) == {"t1": clock.now, "t2": read_t2}
    clock.advance(10)
    assert ledger.due(clock.now, 10) == ["t3", "t4", "t2", "t1"]
    assert ledger.due(clock.now, 2) == ["t3", "t4"]
    assert ledger.due(read_t2, 10) == ["t3", "t4"]  # read since then: not due
    assert ledger.oldest() == read_t2
    # A team deleted takes its stamp along.
    store.delete_group("t2")
    assert ledger.loaded_at(["t2"]) == {}


def test_unseen_users_are_those_neither_synced_nor_written_since(store: Store, clock: FakeClock) -> None:
    ledger = RosterLedger(store)
    store.apply_sync_page([up("u1", "alice@x.com"), up("u2", "bob@x.com"), up("u3", "carol@x.com")], None)
    clock.advance(60)
    began = clock.now
    clock.advance(1)
    store.apply_sync_page([up("u2", "bob@x.com")], None)
    assert ledger.unseen_users(began, 10) == ["u1", "u3"]
    assert ledger.unseen_users(began, 1) == ["u1"]
