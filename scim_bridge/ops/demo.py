"""``scim-bridge demo --upstream jsm``: the move from OpsGenie to JSM Operations, played on two simulators.

The demo OpsGenie account is mirrored into the bridge's store (as a bridge that served it would hold it), the
Atlassian simulator is seeded as Atlassian's own OpsGenie-to-JSM migration leaves that account
(:func:`migrated_seed`), ``migrate --to jsm --apply`` links the two, and the bridge then serves
``SCIM_BRIDGE_UPSTREAM=jsm``: the same directory under the same SCIM ids, now written to Atlassian.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from scim_bridge.ops.migrate import MigrationReport

# OpsGenie's own roles; any other role name is a custom role.
OPSGENIE_BUILTIN_ROLES = ("owner", "admin", "user", "stakeholder", "observer")
JSM_RESOURCE = "ari:cloud:jira-servicedesk::site/{site_id}"


def migrated_seed(opsgenie_state: dict[str, Any], site_id: str) -> dict[str, Any]:
    """A ``POST /__sim/seed`` body for the Atlassian simulator from the OpsGenie simulator's ``/__sim/state``:
    each user an account with JSM access (``atlassian/stakeholder`` for Stakeholders; a custom role kept), each
    team an ops-enabled team of the same name and members, each custom role a JSM Operations custom role."""
    resource = JSM_RESOURCE.format(site_id=site_id)
    accounts = []
    for user in opsgenie_state["users"]:
        role = str(user["role"]["name"])
        account: dict[str, Any] = {"email": user["username"], "name": user.get("fullName", "")}
        if role.lower() == "stakeholder":
            account["productRoles"] = [{"role": "atlassian/stakeholder", "resource": resource}]
        elif role.lower() not in OPSGENIE_BUILTIN_ROLES:
            account["customRole"] = role
        accounts.append(account)
    teams = [{"displayName": t["name"], "description": t.get("description", ""),
              "members": [m["user"]["username"] for m in t["members"]]} for t in opsgenie_state["teams"]]
    roles = [{"name": r["name"], "extendedRole": r.get("extendedRole") or "user",
              "grantedRights": r.get("grantedRights", []), "disallowedRights": r.get("disallowedRights", [])}
             for r in opsgenie_state.get("roles", [])]
    return {"customRoles": roles, "accounts": accounts, "teams": teams}


@dataclass
class JsmDemo:
    """The running Atlassian simulator and what the migration did."""

    simulator: Any
    report: MigrationReport
    env: dict[str, str]


def start_jsm_demo(env: dict[str, str], opsgenie_url: str, *, port: int = 0) -> JsmDemo:
    """Start the Atlassian simulator and migrate the store of ``env`` (an OpsGenie demo's settings) to it.
    Returns the settings to serve with (``SCIM_BRIDGE_UPSTREAM=jsm`` and the simulator's ATLASSIAN_*)."""
    from scim_bridge.atlassian.client import AtlassianClient
    from scim_bridge.bootstrap import build_directory
    from scim_bridge.config import Settings
    from scim_bridge.ops.migrate import plan
    from scim_bridge.service.sync import SyncService
    from scim_bridge.simulator.atlassian import AtlassianSimulatorServer
    from scim_bridge.store.links import SqlLinkStore
    from scim_bridge.store.store import Store

    simulator = AtlassianSimulatorServer(port=port, seed=None).start()
    config = simulator.config
    jsm_env = {**env, "SCIM_BRIDGE_UPSTREAM": "jsm", "ATLASSIAN_API_URL": simulator.base_url,
               "ATLASSIAN_SITE_URL": simulator.base_url, "ATLASSIAN_ORG_ID": config.org_id,
               "ATLASSIAN_CLOUD_ID": config.cloud_id, "ATLASSIAN_SITE_ID": config.site_id,
               "ATLASSIAN_EMAIL": config.admin_email, "ATLASSIAN_API_TOKEN": config.api_token,
               "ATLASSIAN_ADMIN_API_KEY": config.admin_api_key}
    before = Settings.from_env({**env, "SCIM_BRIDGE_UPSTREAM": "opsgenie"})
    store = Store.from_url(before.database_url)
    try:
        store.upgrade()
        directory, client = build_directory(before, store)
        try:
            SyncService(directory, store, interval=0).run()  # what a bridge on OpsGenie holds
        finally:
            if client is not None:
                client.close()
        with requests.Session() as http:
            state = http.get(f"{opsgenie_url}/__sim/state", timeout=30).json()
            http.post(f"{simulator.base_url}/__sim/seed", json=migrated_seed(state, config.site_id),
                      timeout=30).raise_for_status()
        after = Settings.from_env(jsm_env)
        assert after.atlassian is not None
        with AtlassianClient.from_settings(after.atlassian) as atlassian:
            report = plan(store, atlassian, SqlLinkStore(store), apply=True)
    except Exception:
        simulator.stop()
        raise
    finally:
        store.close()
    return JsmDemo(simulator, report, jsm_env)
