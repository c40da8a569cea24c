"""The incremental sync loop over JSM, whose user listing has no offsets: a tick reads the users in one step,
and a cycle ends with every roster held and every user seen."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from scim_bridge.config import Settings
from scim_bridge.directory.links import MemoryLinkStore
from scim_bridge.service.sync import SyncService
from scim_bridge.store.rosters import RosterLedger
from scim_bridge.store.store import Store
from scim_bridge.web.app import create_app
from tests.atlassian.test_jsm_bridge import Scim
from tests.atlassian.test_jsm_bridge import jsm_env
from tests.atlassian.test_jsm_bridge import make_user_in_team
from tests.atlassian_sim import AtlassianSim
from tests.conftest import serve_app


def test_a_cycle_over_jsm_finishes_and_holds_every_roster(asim: AtlassianSim, tmp_path: Path) -> None:
    settings = Settings.from_env(jsm_env(asim.base_url, SCIM_BRIDGE_DATABASE_URL=f"sqlite:///{tmp_path}/j.db"))
    settings = replace(settings, sync_interval=0, sync_import_rosters=0)
    store = Store.from_url(settings.database_url)
    store.upgrade()
    app = create_app(settings, store=store, links=MemoryLinkStore())
    server = serve_app(app)
    try:
        user_id, group_id = make_user_in_team(Scim(f"http://127.0.0.1:{server.server_port}"))
        sync: SyncService = app.extensions["scim_bridge"].sync
        result = sync.tick()  # no interval: the whole cycle's budget in one tick
        assert result is not None and result.finished is not None, result
        assert result.finished["ok"] and result.finished["users"] == store.count_users() >= 1
        assert store.get_user(user_id) is not None
        assert [m.user_id for m in store.members_of(group_id)] == [user_id]
        assert RosterLedger(store).outstanding() == []
        assert sync.last() == result.finished
    finally:
        server.shutdown()
        server.server_close()
        store.close()
