"""OpsGenieClient: one method per OpsGenie REST operation the bridge uses.

Methods return the response's ``data`` (dicts, as OpsGenie sends them) or a small typed result.
Failures raise the classes of :mod:`scim_bridge.opsgenie.errors`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any
from typing import Literal
from typing import cast
from urllib.parse import quote

import requests

from scim_bridge.opsgenie.errors import AuthenticationFailed
from scim_bridge.opsgenie.errors import NotFound
from scim_bridge.opsgenie.errors import PermissionDenied
from scim_bridge.opsgenie.ratelimit import SEARCH
from scim_bridge.opsgenie.ratelimit import AdaptiveBudget
from scim_bridge.opsgenie.ratelimit import RateBudget
from scim_bridge.opsgenie.ratelimit import UnlimitedBudget
from scim_bridge.opsgenie.ratelimit import parse_request_limits
from scim_bridge.opsgenie.records import CallRecord
from scim_bridge.opsgenie.records import Created
from scim_bridge.opsgenie.records import UsersPage
from scim_bridge.opsgenie.retry import RetryPolicy
from scim_bridge.opsgenie.transport import Transport
from scim_bridge.ratewindow import CALIBRATED
from scim_bridge.ratewindow import FALLBACK
from scim_bridge.ratewindow import LEARNING
from scim_bridge.ratewindow import RateLimit
from scim_bridge.upstream_http import PooledClient

IdentifierType = Literal["id", "name"]
Json = dict[str, Any]

MAX_PAGE_SIZE = 100


class OpsGenieClient(PooledClient[Transport]):
    """A thread-safe client for the OpsGenie v2 REST API (users, teams, members, roles, contacts).

    :param api_key: a global API key with Read, Create and Update, Delete and Configuration Access.
    :param session: an existing session to use; by default the client owns one pooled session.
    :param timeout: (connect, read) timeouts of each HTTP attempt, in seconds.
    :param retry: the retry policy; see :mod:`scim_bridge.opsgenie.retry`.
    :param budget: the client-side rate budget; by default nothing waits.
    :param on_call: called with a CallRecord after every attempt.
    :param pool_size: connections kept per host; size it for the number of concurrent workers.
    :param clock: the monotonic clock of the calls' time budget (the rate budget's, when it has one injected).
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = "https://api.opsgenie.com",
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (3.05, 30.0),
        retry: RetryPolicy | None = None,
        budget: RateBudget | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
        pool_size: int = 32,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = Transport(
            api_key,
            base_url=base_url,
            session=session,
            timeout=timeout,
            retry=retry or RetryPolicy(),
            budget=budget or UnlimitedBudget(),
            on_call=on_call,
            pool_size=pool_size,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"OpsGenieClient(base_url={self._http.base_url!r})"

    @property
    def base_url(self) -> str:
        return self._http.base_url

    @property
    def retry(self) -> RetryPolicy:
        return self._http.retry

    @property
    def budget(self) -> RateBudget:
        return self._http.budget

    def before_each_call(self, hook: Callable[[], None] | None) -> None:
        """Run ``hook`` before each logical call (None: nothing); the lazy re-calibration uses it."""
        self._http.before_send = hook

    # --- users ------------------------------------------------------------------------------
    def create_user(self, body: Mapping[str, Any]) -> Created:
        """POST /v2/users. Not repeated on a 5xx or a lost response: the caller looks up first."""
        return _created(self._http.request("POST", "/v2/users", body=dict(body)))

    def get_user(self, identifier: str, *, expand_contacts: bool = False) -> Json:
        """GET /v2/users/{id or username}, with ``userContacts`` when ``expand_contacts``."""
        params = {"expand": "contact"} if expand_contacts else None
        return _data(self._http.request("GET", f"/v2/users/{_seg(identifier)}", params=params))

    def update_user(self, identifier: str, body: Mapping[str, Any]) -> None:
        """PATCH /v2/users/{identifier}: fields left out keep their value."""
        self._http.request("PATCH", f"/v2/users/{_seg(identifier)}", body=dict(body))

    def delete_user(self, identifier: str) -> None:
        self._http.request("DELETE", f"/v2/users/{_seg(identifier)}")

    def list_users(
        self,
        *,
        offset: int = 0,
        limit: int = MAX_PAGE_SIZE,
        sort: str | None = None,
        order: Literal["asc", "desc"] | None = None,
        query: str | None = None,
    ) -> UsersPage:
        """GET /v2/users: one page (``limit`` at most 100). Counts against the search domain."""
        if not 0 < limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        params = {"offset": offset, "limit": limit, "sort": sort, "order": order, "query": query}
        body = self._http.request("GET", "/v2/users", params=params, domain=SEARCH)
        users = [u for u in body.get("data") or [] if isinstance(u, dict)]
        paging = body.get("paging")
        has_next = bool(paging.get("next")) if isinstance(paging, dict) else False
        total = body.get("totalCount")
        total_count = total if isinstance(total, int) else offset + len(users)
        return UsersPage(users=users, total_count=total_count, offset=offset, has_next=has_next)

    def iter_users(self, *, sort: str = "username", query: str | None = None) -> Iterator[Json]:
        """Every user, following pages of 100 until OpsGenie gives no next page.

        A user that shifts onto a later page while we page (because another was created) is
        yielded once.
        """
        seen: set[str] = set()
        offset: int | None = 0
        while offset is not None:
            page = self.list_users(offset=offset, limit=MAX_PAGE_SIZE, sort=sort, order="asc", query=query)
            for user in page.users:
                user_id = str(user.get("id"))
                if user_id not in seen:
                    seen.add(user_id)
                    yield user
            offset = page.next_offset

    def user_teams(self, identifier: str) -> list[Json]:
        """GET /v2/users/{identifier}/teams: ``[{id, name}]``."""
        return _data_list(self._http.request("GET", f"/v2/users/{_seg(identifier)}/teams"))

    # --- teams ------------------------------------------------------------------------------
    def create_team(self, body: Mapping[str, Any]) -> Created:
        """POST /v2/teams. Not repeated on a 5xx or a lost response: the caller looks up first."""
        return _created(self._http.request("POST", "/v2/teams", body=dict(body)))

    def get_team(self, identifier: str, *, identifier_type: IdentifierType = "id") -> Json:
        """GET /v2/teams/{identifier}: the team with its members."""
        params = {"identifierType": identifier_type}
        return _data(self._http.request("GET", f"/v2/teams/{_seg(identifier)}", params=params))

    def update_team(self, team_id: str, body: Mapping[str, Any]) -> None:
        """PATCH /v2/teams/{id} (by id only); ``members``, when sent, replaces the roster."""
        self._http.request("PATCH", f"/v2/teams/{_seg(team_id)}", body=dict(body))

    def delete_team(self, identifier: str, *, identifier_type: IdentifierType = "id") -> None:
        params = {"identifierType": identifier_type}
        self._http.request("DELETE", f"/v2/teams/{_seg(identifier)}", params=params)

    def list_teams(self) -> list[Json]:
        """GET /v2/teams: every team, without members."""
        return _data_list(self._http.request("GET", "/v2/teams"))

    def add_team_member(
        self,
        team: str,
        *,
        user_id: str | None = None,
        username: str | None = None,
        role: str = "user",
        team_identifier_type: IdentifierType = "id",
    ) -> None:
        """POST /v2/teams/{team}/members. Adding a member twice is harmless, so it is retried."""
        user = {k: v for k, v in (("id", user_id), ("username", username)) if v}
        if not user:
            raise ValueError("add_team_member needs a user_id or a username")
        self._http.request(
            "POST",
            f"/v2/teams/{_seg(team)}/members",
            params={"teamIdentifierType": team_identifier_type},
            body={"user": user, "role": role},
            repeatable=True,
        )

    def remove_team_member(
        self, team: str, member: str, *, team_identifier_type: IdentifierType = "id"
    ) -> None:
        """DELETE /v2/teams/{team}/members/{user id or username}."""
        self._http.request(
            "DELETE",
            f"/v2/teams/{_seg(team)}/members/{_seg(member)}",
            params={"teamIdentifierType": team_identifier_type},
        )

    # --- roles ------------------------------------------------------------------------------
    def list_roles(self) -> list[Json]:
        """GET /v2/roles: the custom user roles (OpsGenie does not list the built-in ones)."""
        return _data_list(self._http.request("GET", "/v2/roles"))

    def get_role(self, identifier: str, *, identifier_type: IdentifierType = "id") -> Json:
        params = {"identifierType": identifier_type}
        return _data(self._http.request("GET", f"/v2/roles/{_seg(identifier)}", params=params))

    # --- contacts ---------------------------------------------------------------------------
    def list_contacts(self, user: str) -> list[Json]:
        """GET /v2/users/{user}/contacts: ``[{id, method, to, status: {enabled}}]``."""
        return _data_list(self._http.request("GET", f"/v2/users/{_seg(user)}/contacts"))

    def create_contact(self, user: str, method: str, to: str) -> Created:
        """POST /v2/users/{user}/contacts with ``method`` email, sms or voice."""
        path = f"/v2/users/{_seg(user)}/contacts"
        return _created(self._http.request("POST", path, body={"method": method, "to": to}))

    def update_contact(self, user: str, contact_id: str, to: str) -> None:
        path = f"/v2/users/{_seg(user)}/contacts/{_seg(contact_id)}"
        self._http.request("PATCH", path, body={"to": to})

    def delete_contact(self, user: str, contact_id: str) -> None:
        self._http.request("DELETE", f"/v2/users/{_seg(user)}/contacts/{_seg(contact_id)}")

    # --- rate limits ------------------------------------------------------------------------
    def request_limits(self) -> dict[str, tuple[RateLimit, ...]]:
        """GET /v2/request-limits/: the account's limits per domain (global keys only).

        Sent without waiting for a slot of the rate budget: the call that sizes the budget must not depend on it
        (a batch job may have filled the shared window; the budget would then never be sized)."""
        return parse_request_limits(self._http.request("GET", "/v2/request-limits/", metered=False).get("data"))

    def calibrate_budget(self, share: float = 1.0) -> str:
        """Size the rate budget from GET /v2/request-limits/, at ``share`` of each limit (at least one request
        per window), and return the budget's mode (``ratewindow.CALIBRATED``, ``LEARNING`` or ``FALLBACK``).

        When the key may not read the limits (401/403: team keys) or the endpoint is missing (404), or it lists
        none, the budget learns them from the answers instead, starting from the limits in force. Other errors
        (unreachable, 5xx, 429 after the retries) propagate and the budget keeps its mode.
        """
        budget = self._http.budget
        if not callable(getattr(budget, "configure", None)) or not callable(getattr(budget, "learn", None)):
            return FALLBACK
        adaptive = cast(AdaptiveBudget, budget)
        try:
            limits = self.request_limits()
        except (AuthenticationFailed, PermissionDenied, NotFound):
            limits = {}
        found = {domain: tuple(RateLimit(max(1, int(lim.limit * share)), lim.period) for lim in listed)
                 for domain, listed in limits.items() if listed}
        if found:
            adaptive.configure(found)
            return CALIBRATED
        adaptive.learn()
        return LEARNING


def _seg(value: str) -> str:
    """Quote one path segment (ids, usernames, team names)."""
    return quote(value, safe="@")


def _data(body: Json) -> Json:
    data = body.get("data")
    return data if isinstance(data, dict) else {}


def _data_list(body: Json) -> list[Json]:
    data = body.get("data")
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _created(body: Json) -> Created:
    data = _data(body)
    return Created(id=str(data.get("id", "")), name=str(data.get("name") or ""))
