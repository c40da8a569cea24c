"""The audit log cannot be grown by strangers, and does not grow forever: requests rejected before
authentication write nothing, and the sync deletes events older than SCIM_BRIDGE_AUDIT_RETENTION_DAYS."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import requests
from conftest import Running

from scim_bridge.store.records import AuditEvent

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def test_requests_rejected_before_authentication_write_no_audit_rows(bridge: Running) -> None:
    store = bridge.app.extensions["scim_bridge"].store
    user_id = bridge.scim.get("/Users", params={"count": 1}).json()["Resources"][0]["id"]
    before = len(store.list_audit(limit=1000))
    base = bridge.root + "/scim/v2"
    body = {"schemas": [CORE], "userName": "stranger@example.com"}
    patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}
    for headers in ({}, {"Authorization": "Bearer not-a-valid-token-0123456789"}, {"Authorization": "Basic eDp5"}):
        answers = [
            requests.post(f"{base}/Users", json=body, headers=headers, timeout=10),
            requests.put(f"{base}/Users/{user_id}", json=body, headers=headers, timeout=10),
            requests.patch(f"{base}/Users/{user_id}", json=patch, headers=headers, timeout=10),
            requests.delete(f"{base}/Users/{user_id}", headers=headers, timeout=10),
            requests.post(f"{base}/Groups", json={"displayName": "x"}, headers=headers, timeout=10),
        ]
        assert [a.status_code for a in answers] == [401] * 5
    assert len(store.list_audit(limit=1000)) == before

    # An authenticated write, even a refused one, is audited.
    refused = bridge.scim.post("/Users", {"schemas": [CORE], "userName": "not an e-mail"})
    assert refused.status_code == 400
    events = store.list_audit(limit=1000)
    assert len(events) == before + 1 and events[0].actor == "test" and events[0].outcome == "error"


def test_sync_prunes_audit_events_past_the_retention(bridge: Running) -> None:
    services = bridge.app.extensions["scim_bridge"]
    assert services.settings.audit_retention_days == 90  # the default
    now = datetime.now(UTC)
    for age in (400, 91, 89, 1):
        services.store.add_audit(AuditEvent(at=now - timedelta(days=age), actor="test", method="POST",
                                            path="/scim/v2/Users", operation="create", status=201,
                                            request_id=f"aged-{age}"))
    created = bridge.scim.post("/Users", {"schemas": [CORE], "userName": "fresh@example.com"})
    assert created.status_code == 201, created.text

    services.sync.run()  # what the background loop runs every SCIM_BRIDGE_SYNC_INTERVAL
    kept = {event.request_id for event in services.store.list_audit(limit=1000)}
    assert {"aged-89", "aged-1"} <= kept
    assert not {"aged-400", "aged-91"} & kept
    assert any(event.resource_id == created.json()["id"] for event in services.store.list_audit(limit=1000))
