"""AtlassianClient: the calls of the four API families the bridge uses (atlassian-api.md section 7).

Methods return the JSON objects as Atlassian sends them, or small typed results; failures raise the classes
of :mod:`scim_bridge.atlassian.errors`. Paging is followed here (cursor for Teams and the admin directory,
``first``/``after`` for team members, offset for JSM Operations), member changes are cut into batches of at
most 50, and the one write Atlassian cannot repeat safely (a member batch whose answer was lost) is resent
only for the members a fresh read shows missing. Knows nothing of SCIM.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import quote
from urllib.parse import urlsplit

import requests

from scim_bridge.atlassian.errors import ADMIN
from scim_bridge.atlassian.errors import JIRA
from scim_bridge.atlassian.errors import OPS
from scim_bridge.atlassian.errors import TEAMS
from scim_bridge.atlassian.errors import AtlassianError
from scim_bridge.atlassian.errors import Conflict
from scim_bridge.atlassian.errors import NotFound
from scim_bridge.atlassian.errors import PermissionDenied
from scim_bridge.atlassian.errors import ServerError
from scim_bridge.atlassian.errors import TransportError
from scim_bridge.atlassian.errors import Unprocessable
from scim_bridge.atlassian.records import MemberFailure
from scim_bridge.atlassian.retry import RetryPolicy
from scim_bridge.atlassian.transport import Endpoint
from scim_bridge.atlassian.transport import Transport
from scim_bridge.config import AtlassianSettings
from scim_bridge.upstream_http import CallRecord
from scim_bridge.upstream_http import PooledClient

Json = dict[str, Any]

MEMBER_BATCH = 50  # Teams API: 1-50 members per add/remove call, and per members page
TEAMS_PAGE = 300
DIRECTORY_PAGE = 100
OPS_PAGE = 100
JIRA_PAGE = 100
JSM_PRODUCT = "jira-servicedesk"
# enable-ops answers these for a while after the team is created (atlassian-api.md 6.1)
ENABLE_OPS_TRANSIENT = (NotFound, PermissionDenied, Unprocessable)


class AtlassianClient(PooledClient[Transport]):
    """A thread-safe client for the Teams, JSM Operations, Jira and Organizations admin REST APIs.

    :param api_url: JSM Operations and Organizations admin host (``https://api.atlassian.com``).
    :param site_url: the site (``https://<site>.atlassian.net``): Teams gateway and Jira.
    :param email, api_token: Basic credentials of a licensed account with Operations admin rights.
    :param admin_api_key: organization API key (Bearer) for the admin API.
    :param retry: retry rules, sleep and clock (injectable); see :mod:`scim_bridge.atlassian.retry`.
    :param on_call: called with a CallRecord after every attempt (``domain`` = family).
    """

    def __init__(
        self,
        *,
        api_url: str,
        site_url: str,
        org_id: str,
        cloud_id: str,
        site_id: str,
        email: str,
        api_token: str,
        admin_api_key: str,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (3.05, 30.0),
        retry: RetryPolicy | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
        pool_size: int = 32,
    ) -> None:
        self.org_id, self.cloud_id, self.site_id = org_id, cloud_id, site_id
        self.email = email
        self.jsm_resource = f"ari:cloud:{JSM_PRODUCT}::site/{site_id}"
        endpoints = {
            TEAMS: Endpoint.basic(site_url, email, api_token),
            JIRA: Endpoint.basic(site_url, email, api_token),
            OPS: Endpoint.basic(api_url, email, api_token),
            ADMIN: Endpoint.bearer(api_url, admin_api_key),
        }
        self._http = Transport(endpoints, session=session, timeout=timeout, retry=retry or RetryPolicy(),
                               on_call=on_call, pool_size=pool_size)
        self._teams = f"/gateway/api/public/teams/v1/org/{_seg(org_id)}"
        self._ops = f"/jsm/ops/api/{_seg(cloud_id)}/v1"

    @classmethod
    def from_settings(cls, settings: AtlassianSettings, **kwargs: Any) -> AtlassianClient:
        return cls(api_url=settings.api_url, site_url=settings.site_url, org_id=settings.org_id,
                   cloud_id=settings.cloud_id, site_id=settings.site_id, email=settings.email,
                   api_token=settings.api_token, admin_api_key=settings.admin_api_key, **kwargs)

    def __repr__(self) -> str:
        return f"AtlassianClient(org_id={self.org_id!r}, site_id={self.site_id!r})"

    @property
    def retry(self) -> RetryPolicy:
        return self._http.retry

    # --- Organizations admin: accounts (Bearer) -----------------------------------------------
    def search_directory_users(self, term: str, *, limit: int = DIRECTORY_PAGE) -> Iterator[Json]:
        """GET /admin/v2/orgs/{org}/directories/-/users?searchTerm=: every match, page by page."""
        path = f"/admin/v2/orgs/{_seg(self.org_id)}/directories/-/users"
        cursor: str | None = None
        while True:
            params = {"searchTerm": term or None, "limit": limit, "cursor": cursor}
            body = self._http.request(ADMIN, "GET", path, params=params)
            yield from _dicts(_get(body, "data"))
            links = _get(body, "links")
            cursor = str(links["next"]) if isinstance(links, dict) and links.get("next") else None
            if cursor is None:
                return

    def iter_directory_users(self) -> Iterator[Json]:
        """Every account of the organization's directories."""
        return self.search_directory_users("")

    def find_account(self, email: str) -> Json | None:
        """The directory account whose e-mail is ``email`` (case-insensitive), or None."""
        wanted = email.strip().lower()
        for account in self.search_directory_users(wanted):
            if str(account.get("email") or "").lower() == wanted:
                return account
        return None

    def invite(self, email: str, roles: Sequence[str], *, send_notification: bool) -> list[Json]:
        """POST /admin/v2/orgs/{org}/users/invite with ``roles`` on the JSM resource. Never repeated on a lost
        answer: the caller searches for the account before inviting again."""
        rules = [{"role": role, "resource": self.jsm_resource} for role in roles]
        body = {"emails": [email], "permissionRules": rules, "additionalGroups": [],
                "sendNotification": send_notification}
        answer = self._http.request(ADMIN, "POST", f"/admin/v2/orgs/{_seg(self.org_id)}/users/invite", body=body)
        return list(_dicts(_get(answer, "data")))

    def assign_role(self, account_id: str, role: str) -> None:
        """POST .../users/{accountId}/roles/assign: ``role`` on the JSM resource (repeating it is harmless)."""
        self._role_call(account_id, role, "assign")

    def revoke_role(self, account_id: str, role: str) -> None:
        """POST .../users/{accountId}/roles/revoke: ``role`` on the JSM resource (repeating it is harmless)."""
        self._role_call(account_id, role, "revoke")

    def _role_call(self, account_id: str, role: str, action: str) -> None:
        path = f"/admin/v1/orgs/{_seg(self.org_id)}/users/{_seg(account_id)}/roles/{action}"
        self._http.request(ADMIN, "POST", path, body={"role": role, "resource": self.jsm_resource},
                           repeatable=True)

    def suspend_access(self, account_id: str) -> None:
        """POST .../directory/users/{accountId}/suspend-access: every product, directory-wide."""
        self._http.request(ADMIN, "POST", f"{self._directory_user(account_id)}/suspend-access", repeatable=True)

    def restore_access(self, account_id: str) -> None:
        self._http.request(ADMIN, "POST", f"{self._directory_user(account_id)}/restore-access", repeatable=True)

    def remove_account(self, account_id: str) -> None:
        """DELETE .../directory/users/{accountId}: removed from the organization (queued by Atlassian)."""
        self._http.request(ADMIN, "DELETE", self._directory_user(account_id))

    def _directory_user(self, account_id: str) -> str:
        return f"/admin/v1/orgs/{_seg(self.org_id)}/directory/users/{_seg(account_id)}"

    # --- Jira (Basic) ---------------------------------------------------------------------------
    def jira_user(self, account_id: str) -> Json:
        """GET /rest/api/3/user?accountId=: displayName, emailAddress (may be hidden), active, timeZone, locale."""
        body = self._http.request(JIRA, "GET", "/rest/api/3/user", params={"accountId": account_id})
        return body if isinstance(body, dict) else {}

    def jira_search(self, query: str) -> Iterator[Json]:
        """GET /rest/api/3/user/search?query=, every page (``startAt``/``maxResults``): active users whose name or
        e-mail starts with ``query``. Jira stops at the thousandth user; the admin directory search does not."""
        start = 0
        while True:
            page = list(_dicts(self._http.request(JIRA, "GET", "/rest/api/3/user/search",
                                                  params={"query": query, "startAt": start,
                                                          "maxResults": JIRA_PAGE})))
            yield from page
            if len(page) < JIRA_PAGE:
                return
            start += len(page)

    # --- Teams (Basic) --------------------------------------------------------------------------
    def create_team(self, display_name: str, description: str) -> Json:
        """POST /teams (MEMBER_INVITE, on the site); the caller becomes its first member. Not repeated on a
        lost answer: the caller lists the teams before creating again."""
        body = {"displayName": display_name, "description": description, "teamType": "MEMBER_INVITE",
                "siteId": self.site_id}
        answer = self._http.request(TEAMS, "POST", f"{self._teams}/teams", body=body)
        return answer if isinstance(answer, dict) else {}

    def get_team(self, team_id: str) -> Json:
        answer = self._http.request(TEAMS, "GET", f"{self._teams}/teams/{_seg(team_id)}",
                                    params={"siteId": self.site_id})
        return answer if isinstance(answer, dict) else {}

    def update_team(self, team_id: str, *, display_name: str | None = None, description: str | None = None) -> None:
        """PATCH /teams/{id}: only the fields given change."""
        body = {k: v for k, v in (("displayName", display_name), ("description", description)) if v is not None}
        if body:
            self._http.request(TEAMS, "PATCH", f"{self._teams}/teams/{_seg(team_id)}", body=body)

    def delete_team(self, team_id: str) -> None:
        self._http.request(TEAMS, "DELETE", f"{self._teams}/teams/{_seg(team_id)}")

    def iter_teams(self) -> Iterator[Json]:
        """GET /teams?siteId=&size=&cursor=: every team of the site, page by page."""
        cursor: str | None = None
        while True:
            params: dict[str, str | int | None] = {"siteId": self.site_id, "size": TEAMS_PAGE, "cursor": cursor}
            body = self._http.request(TEAMS, "GET", f"{self._teams}/teams", params=params)
            yield from _dicts(_get(body, "entities"))
            nxt = _get(body, "cursor")
            cursor = str(nxt) if nxt else None
            if cursor is None:
                return

    def team_members(self, team_id: str) -> list[str]:
        """POST /teams/{id}/members, every page: the members' account ids (a read: safe to repeat)."""
        found: list[str] = []
        after: str | None = None
        while True:
            body: Json = {"first": MEMBER_BATCH}
            if after:
                body["after"] = after
            answer = self._http.request(TEAMS, "POST", f"{self._teams}/teams/{_seg(team_id)}/members", body=body,
                                        repeatable=True)
            found += [str(m["accountId"]) for m in _dicts(_get(answer, "results")) if m.get("accountId")]
            info = _get(answer, "pageInfo")
            more = isinstance(info, dict) and info.get("hasNextPage") and info.get("endCursor")
            if not more:
                return found
            after = str(info["endCursor"])

    def add_members(self, team_id: str, account_ids: Sequence[str]) -> dict[str, MemberFailure]:
        """POST /teams/{id}/members/add in batches of at most 50; the members Atlassian refused, by account id
        (the others were added)."""
        return self._member_batches(team_id, account_ids, "add")

    def remove_members(self, team_id: str, account_ids: Sequence[str]) -> dict[str, MemberFailure]:
        """POST /teams/{id}/members/remove in batches of at most 50; the members Atlassian refused."""
        return self._member_batches(team_id, account_ids, "remove")

    def _member_batches(self, team_id: str, account_ids: Sequence[str], action: str) -> dict[str, MemberFailure]:
        failures: dict[str, MemberFailure] = {}
        unique = list(dict.fromkeys(account_ids))
        for start in range(0, len(unique), MEMBER_BATCH):
            failures.update(self._member_batch(team_id, unique[start:start + MEMBER_BATCH], action))
        return failures

    def _member_batch(self, team_id: str, batch: list[str], action: str) -> dict[str, MemberFailure]:
        """One batch. When its answer is lost (5xx, timeout), the roster is read and only what is still to do is
        sent again: a blind repeat would report the members applied the first time as errors."""
        path = f"{self._teams}/teams/{_seg(team_id)}/members/{action}"
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = self._http.request(TEAMS, "POST", path, body={"members": [{"accountId": a} for a in batch]},
                                            repeatable=False)
            except (ServerError, TransportError) as exc:
                if isinstance(exc, TransportError) and not exc.maybe_applied:
                    raise
                if attempt >= self.retry.max_attempts:
                    raise
                present = set(self.team_members(team_id))
                batch = [a for a in batch if (a in present) != (action == "add")]
                if not batch:
                    return {}
                self.retry.sleep(self.retry.backoff(attempt))
                continue
            return {
                str(e["accountId"]): MemberFailure(str(e["accountId"]), str(e.get("code") or ""),
                                                   str(e.get("message") or ""))
                for e in _dicts(_get(answer, "errors")) if e.get("accountId")
            }

    # --- JSM Operations (Basic) -----------------------------------------------------------------
    def enable_ops(self, team_id: str, admin_account_ids: Sequence[str]) -> bool:
        """POST /v1/teams/{id}/enable-ops. Right after the team's creation Atlassian answers 404, 403 or 422 for
        a while: those are retried with back-off for ``retry.enable_ops_window`` seconds. False when operations
        were already enabled (409)."""
        body = {"platformTeamId": team_id, "adminAccountIds": list(admin_account_ids), "inviteUsernames": []}
        path = f"{self._ops}/teams/{_seg(team_id)}/enable-ops"
        policy = self.retry
        start = policy.clock()
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                self._http.request(OPS, "POST", path, body=body, repeatable=True)
                return True
            except Conflict:
                return False
            except ENABLE_OPS_TRANSIENT:
                delay = policy.backoff(attempt)
                if max(policy.clock() - start, waited) + delay > policy.enable_ops_window:
                    raise
                policy.sleep(delay)
                waited += delay

    def iter_ops_teams(self) -> Iterator[Json]:
        """GET /v1/teams: the teams with operations enabled (offset paging)."""
        return self._offset_pages(f"{self._ops}/teams")

    def list_custom_roles(self) -> list[Json]:
        """GET /v1/roles: the custom user roles of JSM Operations (every page)."""
        return list(self._offset_pages(f"{self._ops}/roles"))

    def assign_custom_role(self, account_id: str, role_name: str) -> None:
        """POST /v1/roles/assign: give the account the custom role (``user`` gives the plain role back)."""
        self._http.request(OPS, "POST", f"{self._ops}/roles/assign",
                           body={"accountId": account_id, "roleName": role_name}, repeatable=True)

    def _offset_pages(self, path: str) -> Iterator[Json]:
        offset: int | None = 0
        while offset is not None:
            body = self._http.request(OPS, "GET", path, params={"offset": offset, "size": OPS_PAGE})
            values = list(_dicts(_get(body, "values")))
            yield from values
            links = _get(body, "links")
            nxt = links.get("next") if isinstance(links, dict) else None
            offset = _next_offset(nxt, offset + len(values)) if nxt and values else None


def _next_offset(link: Any, fallback: int) -> int:
    """The ``offset`` of a ``links.next`` path (relative to the API base), else where this page ended."""
    found = parse_qs(urlsplit(str(link)).query).get("offset")
    try:
        return int(found[0]) if found else fallback
    except ValueError:
        return fallback


def _get(body: Any, key: str) -> Any:
    return body.get(key) if isinstance(body, dict) else None


def _dicts(items: Any) -> Iterator[Json]:
    if isinstance(items, list):
        yield from (item for item in items if isinstance(item, dict))


def _seg(value: str) -> str:
    """Quote one path segment (account ids hold ':')."""
    return quote(value, safe=":")


__all__ = ["AtlassianClient", "AtlassianError", "MemberFailure"]
