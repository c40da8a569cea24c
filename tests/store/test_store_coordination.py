from __future__ import annotations

from datetime import timedelta

from scim_bridge.store import AuditEvent
from scim_bridge.store import Store
from scim_bridge.store import Suspension
from tests.store.store_fakes import FakeClock


def test_lease_two_owners_and_expiry(store: Store, clock: FakeClock) -> None:
    assert store.try_acquire_lease("sync", "a", 30)
    assert not store.try_acquire_lease("sync", "b", 30)
    assert store.lease_owner("sync") == "a"
    clock.advance(20)
    assert store.try_acquire_lease("sync", "a", 30)  # renew until t+50
    clock.advance(20)
    assert not store.try_acquire_lease("sync", "b", 30)
    clock.advance(10)
    assert store.lease_owner("sync") is None
    assert store.try_acquire_lease("sync", "b", 30)
    assert not store.try_acquire_lease("sync", "a", 30)
    assert store.lease_owner("sync") == "b"


def test_lease_release(store: Store) -> None:
    assert store.try_acquire_lease("sync", "a", 60)
    assert store.release_lease("sync", "b") is False
    assert not store.try_acquire_lease("sync", "b", 60)
    assert store.release_lease("sync", "a") is True
    assert store.try_acquire_lease("sync", "b", 60)
    assert store.try_acquire_lease("other", "a", 60)


def test_settings(store: Store) -> None:
    assert store.get_setting("last_sync") is None
    assert store.get_setting("last_sync", {"never": True}) == {"never": True}
    store.put_setting("last_sync", {"at": "2024-01-01T00:00:00Z", "outcome": "ok", "users": 3})
    store.put_setting("last_sync", {"at": "2024-01-02T00:00:00Z", "outcome": "error"})
    assert store.get_setting("last_sync") == {"at": "2024-01-02T00:00:00Z", "outcome": "error"}
    store.put_setting("count", 3)
    assert store.get_setting("count") == 3


def test_suspensions(store: Store, clock: FakeClock) -> None:
    assert store.get_suspension("u1") is None
    store.put_suspension(Suspension("u1", "Admin", [{"id": "t1", "role": "admin"}], clock.now))
    got = store.get_suspension("u1")
    assert got == Suspension("u1", "Admin", [{"id": "t1", "role": "admin"}], clock.now)
    store.put_suspension(Suspension("u1", "User", [], clock.now))
    assert store.get_suspension("u1") == Suspension("u1", "User", [], clock.now)
    assert store.delete_suspension("u1") is True
    assert store.delete_suspension("u1") is False


def test_audit_filters_and_order(store: Store, clock: FakeClock) -> None:
    t0 = clock.now
    calls = [{"method": "POST", "path": "/v2/users", "status": 201, "request_id": "r", "duration_ms": 12.5}]
    for n in range(6):
        store.add_audit(
            AuditEvent(
                at=t0 + timedelta(seconds=n),
                actor="okta" if n % 2 else "azure",
                request_id=f"req-{n}",
                method="POST",
                path="/scim/v2/Users",
                resource_type="User",
                resource_id="u1" if n < 3 else "u2",
                operation="create",
                status=201 if n != 4 else 409,
                outcome="ok" if n != 4 else "error",
                detail="",
                upstream_calls=calls,
            )
        )
    events = store.list_audit()
    assert [e.request_id for e in events] == [f"req-{n}" for n in range(5, -1, -1)]
    assert events[0].upstream_calls == calls and events[0].id is not None
    assert events[0].at == t0 + timedelta(seconds=5)
    assert [e.request_id for e in store.list_audit(limit=2)] == ["req-5", "req-4"]
    assert [e.request_id for e in store.list_audit(resource_id="u1")] == ["req-2", "req-1", "req-0"]
    assert [e.request_id for e in store.list_audit(actor="okta")] == ["req-5", "req-3", "req-1"]
    assert [e.request_id for e in store.list_audit(outcome="error")] == ["req-4"]
    since = t0 + timedelta(seconds=4)
    assert [e.request_id for e in store.list_audit(since=since)] == ["req-5", "req-4"]
    assert [e.request_id for e in store.list_audit(since=since, actor="azure")] == ["req-4"]
    assert store.prune_audit(t0 + timedelta(seconds=2)) == 2
    assert len(store.list_audit()) == 4


def test_healthy(store: Store) -> None:
    assert store.healthy()
    store.close()
    broken = Store.from_url("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    assert not broken.healthy()
