"""The console's counts, changes and sync runs on SQLite and PostgreSQL: counts from several writers add up,
refusals group per credential and source, and old rows are pruned (bounded growth)."""

from __future__ import annotations

from scim_bridge.store.console_log import CHANGES_KEEP
from scim_bridge.store.console_log import TRAFFIC_KEEP
from scim_bridge.store.console_log import Change
from scim_bridge.store.console_log import ConsoleLog
from scim_bridge.store.console_log import SyncRun
from scim_bridge.store.store import Store

NOW = 1_800_000_000.0
MINUTE = int(NOW // 60)


def test_counts_from_two_writers_add_up_and_refusals_group(store: Store) -> None:
    worker_a, worker_b = ConsoleLog(store.engine), ConsoleLog(store.engine)  # two workers, one database
    worker_a.add_counts({(MINUTE, "read", "okta", "10.0.0.1", 200): 3, (MINUTE, "rejected", "", "10.0.0.9", 401): 2})
    worker_b.add_counts({(MINUTE, "read", "okta", "10.0.0.1", 200): 4, (MINUTE, "rejected", "", "10.0.0.9", 401): 1,
                         (MINUTE - 5, "rejected", "entra", "10.0.0.7", 403): 1})
    assert (MINUTE, "read", 200, 7) in worker_a.per_minute(MINUTE - 10)
    assert [(r.credential, r.source, r.status, r.count, r.last_minute) for r in worker_b.rejections(MINUTE - 10)] == [
        ("", "10.0.0.9", 401, 3, MINUTE), ("entra", "10.0.0.7", 403, 1, MINUTE - 5)]
    assert worker_a.last_call_by_credential() == {"okta": MINUTE}  # refusals are no call


def test_changes_are_found_by_request_id_and_name_and_old_rows_are_pruned(store: Store) -> None:
    log = ConsoleLog(store.engine)
    log.add_change(Change("req-1", NOW - CHANGES_KEEP - 10, "Old.User@example.com", None, None, {"userName": "o"}))
    log.add_change(Change("req-2", NOW, "Ben.Ortiz@example.com", {"userName": "Ben.Ortiz@example.com"}, None, None))
    log.add_counts({(int((NOW - TRAFFIC_KEEP) // 60) - 1, "read", "okta", "x", 200): 1, (MINUTE, "read", "okta", "x",
                                                                                        200): 1})
    log.add_sync_run(SyncRun(NOW - 8 * 86400, True, 1.5, "old"))
    log.add_sync_run(SyncRun(NOW - 60, False, 0.2, "OpsGenie is unavailable"))
    assert log.request_ids_naming("ben.ORTIZ") == ["req-2"]
    assert log.request_ids_naming("100%") == []  # wildcards are literal
    assert log.changes(["req-2"])["req-2"].body == {"userName": "Ben.Ortiz@example.com"}

    log.prune(NOW)
    assert set(log.changes(["req-1", "req-2"])) == {"req-2"}
    assert [m for m, *_ in log.per_minute(0)] == [MINUTE]
    assert [(r.ok, r.detail) for r in log.sync_runs(0)] == [(False, "OpsGenie is unavailable")]


def test_a_spray_of_source_addresses_stays_a_bounded_number_of_rows(store: Store) -> None:
    from scim_bridge.web.console_record import MAX_KEYS_PER_MINUTE
    from scim_bridge.web.console_record import OTHER_SOURCES
    from scim_bridge.web.console_record import TrafficCounter

    log = ConsoleLog(store.engine)
    counter = TrafficCounter(log, clock=lambda: NOW)  # one minute, never due for a flush on its own
    for n in range(MAX_KEYS_PER_MINUTE + 300):
        counter.count("rejected", "", f"192.0.2.{n}", 401)
        if n % 100 == 0:
            counter.flush()  # the bound holds across flushes within the minute
    counter.flush()
    found = log.rejections(MINUTE)
    assert len(found) == MAX_KEYS_PER_MINUTE + 1
    assert sum(r.count for r in found) == MAX_KEYS_PER_MINUTE + 300
    assert next(r.count for r in found if r.source == OTHER_SOURCES) == 300
