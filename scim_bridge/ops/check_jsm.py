"""``scim-bridge check`` with ``SCIM_BRIDGE_UPSTREAM=jsm``: the Atlassian settings, both credentials and the
rights the bridge needs. Like the OpsGenie checks, nothing changes upstream:

- the organization API key (Bearer) and ``ATLASSIAN_ORG_ID``: one page of one account of the organization
  directory, the call user provisioning starts with (a key created with scopes is refused here);
- the API token (Basic) and ``ATLASSIAN_EMAIL``: Jira's ``/myself``, then the same account in the directory;
- ``ATLASSIAN_SITE_ID``: one page of the site's teams (Teams API);
- ``ATLASSIAN_CLOUD_ID`` and Operations admin rights: one page of the custom user roles (JSM Operations),
  which only an Operations admin may read;
- enabling operations: ``POST /v1/teams/{random UUID}/enable-ops`` is authorised before the team is looked
  up, so a token with the right gets 404 (no such team) and one without gets 403; the random id names no team.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from scim_bridge.atlassian.errors import ADMIN
from scim_bridge.atlassian.errors import JIRA
from scim_bridge.atlassian.errors import OPS
from scim_bridge.atlassian.errors import TEAMS
from scim_bridge.atlassian.errors import AtlassianError
from scim_bridge.atlassian.errors import TransportError
from scim_bridge.atlassian.retry import RetryPolicy
from scim_bridge.atlassian.transport import Endpoint
from scim_bridge.atlassian.transport import Transport
from scim_bridge.config import AtlassianSettings
from scim_bridge.config import ConfigError
from scim_bridge.ops.check import FAIL
from scim_bridge.ops.check import OK
from scim_bridge.ops.check import SKIP
from scim_bridge.ops.check import WARN
from scim_bridge.ops.check import Answer
from scim_bridge.ops.check import CheckResult

NAMES = ("atlassian admin key", "atlassian api token", "atlassian teams", "jsm operations rights",
         "jsm enable-ops", "jsm links")
KEY_HELP = ("create an organization API key without scopes in admin.atlassian.com > Settings > API keys and put "
            "it in ATLASSIAN_ADMIN_API_KEY (or the file named by ATLASSIAN_ADMIN_API_KEY_FILE)")
TOKEN_HELP = ("create an API token at id.atlassian.com > Security > API tokens for the licensed account named by "
              "ATLASSIAN_EMAIL (service accounts may not call JSM Operations) and put it in ATLASSIAN_API_TOKEN "
              "(or the file named by ATLASSIAN_API_TOKEN_FILE)")
OPS_ADMIN_HELP = "give the account of ATLASSIAN_EMAIL the Operations admin role in Jira Service Management"


def jsm_checks(environ: Mapping[str, str], *, timeout: float) -> list[CheckResult]:
    """Every jsm check, in order; a check is skipped when one it depends on failed."""
    try:
        settings = AtlassianSettings.from_env(environ)
    except ConfigError as exc:
        return [CheckResult("atlassian settings", FAIL, str(exc), "set them as README's configuration table says"),
                *(CheckResult(name, SKIP, "not checked without the ATLASSIAN_* settings") for name in NAMES)]
    http = Transport(
        {ADMIN: Endpoint.bearer(settings.api_url, settings.admin_api_key),
         OPS: Endpoint.basic(settings.api_url, settings.email, settings.api_token),
         TEAMS: Endpoint.basic(settings.site_url, settings.email, settings.api_token),
         JIRA: Endpoint.basic(settings.site_url, settings.email, settings.api_token)},
        session=None, timeout=(min(3.05, timeout), timeout),
        retry=RetryPolicy(max_attempts=2, base_delay=0.2, total_budget=timeout), on_call=None, pool_size=2)
    try:
        return _run(http, settings) + [_links(environ)]
    finally:
        http.close()


def _links(environ: Mapping[str, str]) -> CheckResult:
    """Whether the store's users and teams are linked to Atlassian: under jsm only linked ones exist, so a
    bridge switched without ``migrate --to jsm --apply`` would stop serving the ids its IdP holds."""
    from scim_bridge.config import Settings
    from scim_bridge.store.links import SqlLinkStore
    from scim_bridge.store.records import GroupKind
    from scim_bridge.store.store import Store

    try:
        store = Store.from_url(Settings.from_env(environ, require_key=False).database_url)
    except Exception as exc:  # reported by the database check already
        return CheckResult("jsm links", SKIP, f"not checked: the database cannot be opened ({type(exc).__name__}).")
    try:
        links = SqlLinkStore(store)
        users = {u.id for u in store.list_users()} - {link.local_id for link in links.iter_user_links()}
        teams = {t.id for t in store.list_groups(GroupKind.TEAM)} - {link.local_id for link in links.iter_team_links()}
    except Exception as exc:  # an unmigrated schema: the database check says so
        return CheckResult("jsm links", SKIP, f"not checked: {type(exc).__name__} reading the links.")
    finally:
        store.close()
    if users or teams:
        return CheckResult("jsm links", WARN,
                           f"{len(users)} users and {len(teams)} teams of the store have no Atlassian link: under jsm "
                           "the identity provider would no longer find them under their SCIM ids.",
                           "run `scim-bridge migrate --to jsm` (then with --apply) before switching, see "
                           "docs/migrating-to-jsm.md")
    return CheckResult("jsm links", OK, "every user and team of the store is linked to its Atlassian account or team.")


def _run(http: Transport, s: AtlassianSettings) -> list[CheckResult]:
    def ask(family: str, method: str, path: str, **kwargs: Any) -> Answer:
        try:
            return Answer(200, "", http.request(family, method, path, **kwargs))
        except TransportError as exc:
            return Answer(None, exc.message)
        except AtlassianError as exc:
            return Answer(exc.status, exc.message)

    directory = f"/admin/v2/orgs/{s.org_id}/directories/-/users"
    key = _result("atlassian admin key", ask(ADMIN, "GET", directory, params={"limit": 1}), s.api_url, {
        401: ("the organization API key was refused", KEY_HELP),
        403: ("the organization API key may not read the user directory (a key with scopes is refused)", KEY_HELP),
        404: (f"organization {s.org_id!r} was not found", "set ATLASSIAN_ORG_ID to the id in the admin.atlassian.com "
                                                           "URL"),
    }, lambda _: f"organization {s.org_id} reached at {s.api_url}, its directory is readable.")
    results = [key]
    me = ask(JIRA, "GET", "/rest/api/3/myself")
    token = _result("atlassian api token", me, s.site_url, {
        401: (f"the API token of {s.email} was refused", TOKEN_HELP),
        403: (f"{s.email} may not use the site's REST API", TOKEN_HELP)}, lambda _: "")
    if token.status == OK:
        token = _calling_account(s, me, ask(ADMIN, "GET", directory, params={"searchTerm": s.email}), key)
    results.append(token)
    if token.status == FAIL and me.status != 200:
        unreached = NAMES[2:-1]  # the link check reads the database only
        return results + [CheckResult(name, SKIP, "not checked: the API token was not accepted") for name in unreached]
    teams = ask(TEAMS, "GET", f"/gateway/api/public/teams/v1/org/{s.org_id}/teams",
                params={"siteId": s.site_id, "size": 1})
    results.append(_result("atlassian teams", teams, s.site_url, {
        400: (f"the Teams API refused site {s.site_id!r}", "set ATLASSIAN_SITE_ID to the site's id"),
        403: (f"{s.email} may not read the organization's teams", TOKEN_HELP),
        404: (f"organization {s.org_id!r} has no teams API here", "check ATLASSIAN_ORG_ID and ATLASSIAN_SITE_URL")},
        lambda _: f"the teams of site {s.site_id} are readable at {s.site_url}."))
    ops = f"/jsm/ops/api/{s.cloud_id}/v1"
    results.append(_result("jsm operations rights", ask(OPS, "GET", f"{ops}/roles", params={"size": 1}), s.api_url, {
        403: (f"{s.email} is not an Operations admin: custom role groups cannot be read or written", OPS_ADMIN_HELP),
        404: (f"JSM Operations has no site {s.cloud_id!r}", "set ATLASSIAN_CLOUD_ID to the site's cloud id "
                                                             "(https://<site>.atlassian.net/_edge/tenant_info)")},
        lambda _: f"JSM Operations of cloud {s.cloud_id} answers and {s.email} has Operations admin rights."))
    probe = str(uuid.uuid4())
    enable = ask(OPS, "POST", f"{ops}/teams/{probe}/enable-ops",
                 body={"platformTeamId": probe, "adminAccountIds": [], "inviteUsernames": []})
    if enable.status in (400, 404, 422):  # authorised, then refused for the team that does not exist
        results.append(CheckResult("jsm enable-ops", OK, f"{s.email} may enable operations for teams (a probe "
                                                         "naming no team was refused only for that)."))
    else:
        results.append(_result("jsm enable-ops", enable, s.api_url, {
            403: (f"{s.email} may not enable operations for teams: new team groups would fail", OPS_ADMIN_HELP)},
            lambda _: "enable-ops accepted a team that does not exist; Atlassian behaves unexpectedly."))
    return results


def _result(name: str, answer: Answer, url: str, failures: dict[int, tuple[str, str]],
            ok: Callable[[Answer], str]) -> CheckResult:
    if answer.status is None:
        return CheckResult(name, FAIL, f"cannot reach {url}: {answer.message}.",
                           "check ATLASSIAN_API_URL and ATLASSIAN_SITE_URL and that this host may open HTTPS "
                           "connections to them (proxy, firewall, egress rules)")
    if answer.status == 200:
        return CheckResult(name, OK, ok(answer))
    message, fix = failures.get(answer.status, (f"Atlassian answered {answer.status} ({answer.message})",
                                                "run the check again in a minute; if it stays, see the message"))
    return CheckResult(name, FAIL, message + ".", fix)


def _calling_account(s: AtlassianSettings, me: Answer, found: Answer, key: CheckResult) -> CheckResult:
    account_id = str((me.data or {}).get("accountId") or "") if isinstance(me.data, dict) else ""
    if key.status != OK:
        return CheckResult("atlassian api token", OK, f"accepted for {s.email} ({account_id}); its place in the "
                                                      "organization is not checked without the admin key.")
    accounts = (found.data or {}).get("data", []) if isinstance(found.data, dict) else []
    if not any(str(a.get("accountId")) == account_id for a in accounts if isinstance(a, dict)):
        return CheckResult("atlassian api token", FAIL,
                           f"the API token's account {account_id} ({s.email}) is not in organization {s.org_id}.",
                           "use a token of an account of this organization, or correct ATLASSIAN_ORG_ID")
    return CheckResult("atlassian api token", OK, f"accepted for {s.email} ({account_id}), an account of "
                                                  f"organization {s.org_id}.")
