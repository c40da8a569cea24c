"""The bridge apps of one process share the URL map of their route table (scim_bridge/web/routes.py), and each
still serves its own state."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.inprocess import body
from tests.inprocess import start_inprocess

USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "routes@example.com",
        "name": {"givenName": "Route", "familyName": "Table"}}


def test_apps_with_the_same_routes_share_one_map_and_keep_their_own_state(tmp_path: Path,
                                                                          template_db: Path) -> None:
    first = start_inprocess(tmp_path / "first.db", template_db)
    second = start_inprocess(tmp_path / "second.db", template_db)
    try:
        assert first.app.url_map is second.app.url_map
        created = first.scim.post("/Users", USER)
        assert created.status_code == 201, created.get_data(as_text=True)
        user_id = body(created)["id"]
        assert first.scim.get(f"/Users/{user_id}").status_code == 200
        missing = second.scim.get(f"/Users/{user_id}")  # the same route, the second app's own store
        assert missing.status_code == 404
        assert body(missing)["status"] == "404"
    finally:
        first.store.close()
        second.store.close()


def test_an_app_with_other_routes_gets_its_own_map(tmp_path: Path, template_db: Path) -> None:
    plain = start_inprocess(tmp_path / "plain.db", template_db)
    console = start_inprocess(tmp_path / "console.db", template_db, console_token="console-token-0123456789")
    try:
        assert plain.app.url_map is not console.app.url_map
        endpoints = {rule.endpoint for rule in console.app.url_map.iter_rules()}
        assert "console.login" in endpoints
        assert "console.login" not in {rule.endpoint for rule in plain.app.url_map.iter_rules()}
        assert plain.app.test_client().get("/console/login").status_code == 404
        assert console.app.test_client().get("/console/login").status_code == 200
        with console.app.test_request_context():
            assert console.app.url_for("console.login") == "/console/login"
    finally:
        plain.store.close()
        console.store.close()


def test_no_route_is_added_to_a_shared_map(tmp_path: Path, template_db: Path) -> None:
    bridge = start_inprocess(tmp_path / "bridge.db", template_db)
    try:
        rules = len(list(bridge.app.url_map.iter_rules()))
        with pytest.raises(RuntimeError, match="sealed"):
            bridge.app.add_url_rule("/extra", "extra", lambda: "")
        assert len(list(bridge.app.url_map.iter_rules())) == rules
    finally:
        bridge.store.close()
