"""scim2-tester run against the bridge over real HTTP: the client, the values it is given and the deviations it
may report (tests/compliance/test_scim2_tester.py). Imported by the test when it runs: scim2-tester's models
(pydantic, a lark grammar) take seconds to import, which every pytest worker would otherwise pay at collection."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any
from typing import get_args
from typing import overload

import httpx
from conftest import TOKEN
from conftest import Running
from pydantic import BaseModel
from scim2_client import BaseSyncSCIMClient
from scim2_client import RequestNetworkException
from scim2_tester import CheckResult
from scim2_tester import Status
from scim2_tester import check_server
from scim2_tester.utils import ResourceManager

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}


class HttpxSCIMClient(BaseSyncSCIMClient):
    """scim2-client over an ``httpx.Client`` whose base URL is the bridge's /scim/v2."""

    def __init__(self, client: httpx.Client, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base = self.client.base_url
        try:
            url = self.client.build_request("GET", endpoint).url
        except httpx.InvalidURL:
            return False
        return url.scheme == base.scheme and url.netloc == base.netloc and url.raw_path.startswith(base.raw_path)

    def _parse_json(self, response: Any) -> Any:
        return response.json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.client.request(method, url, **kwargs)
        except httpx.RequestError as exc:
            raised = RequestNetworkException()
            raised.add_note(str(exc))
            raise raised from exc


class FreshValues(Sequence[str]):
    """A one-element "examples" list whose element is new at every read: unique values on demand."""

    def __init__(self, make: Callable[[], str]) -> None:
        self.make = make

    def __len__(self) -> int:
        return 1

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self.make()]
        if index not in (0, -1):
            raise IndexError(index)
        return self.make()


def _hint(model: type[BaseModel], dotted: str, examples: Sequence[str]) -> None:
    """Give the field at ``dotted`` (``attr`` or ``attr.sub``) the values scim2-tester draws from."""
    head, _, rest = dotted.partition(".")
    for name, info in model.model_fields.items():
        if (info.serialization_alias or name) != head:
            continue
        if not rest:
            info.examples = examples  # type: ignore[assignment]
            return
        inner = info.annotation
        while get_args(inner):
            inner = next(a for a in get_args(inner) if a is not type(None))
        _hint(inner, rest, examples)
        return
    raise AssertionError(f"{model.__name__} has no attribute {dotted}")


def describe(result: CheckResult) -> str:
    return f"[{result.resource_type or '-'}] {result.title}: {result.status.name}: {result.reason}\n    {result.data!r}"


def _dump(value: Any, *, without: frozenset[str] = frozenset()) -> Any:
    if isinstance(value, BaseModel):
        return {k: v for k, v in value.model_dump(exclude_none=True).items() if k not in without}
    if isinstance(value, list):
        return [_dump(v, without=without) for v in value]
    return value


def _outcome(data: dict[str, Any]) -> Any:
    for key in ("modify_actual", "actual", "actual_value"):
        if key in data:
            return data[key]
    raise AssertionError(f"no outcome in {data!r}")


USER_EXT_READ_ONLY = frozenset({"schemas", "blocked", "verified", "roleId", "suspended"})
GROUP_EXT_READ_ONLY = frozenset({"schemas", "kind"})
MEMBER_READ_ONLY = frozenset({"display"})


def accepted_deviation(result: CheckResult) -> str | None:
    """Why a non-passing result is the bridge's correct behaviour, or None when it is a failure.

    Each case checks the result's data, so that only the documented difference is let through.
    """
    data = result.data if isinstance(result.data, dict) else {}
    urn = str(data.get("urn", ""))
    kind, title = result.resource_type, result.title
    if title == "search_with_attributes" and result.status == Status.SKIPPED:
        # RFC 7644 §3.4.3: a search across every resource type at the root is optional; the
        # bridge answers 501 there and serves /Users/.search and /Groups/.search.
        return "root /.search is not offered (501)"
    if result.status != Status.ERROR or not urn:
        return None
    got = _outcome(data)
    if kind == "User" and title == "check_remove_attribute" and urn == "active" and got is True:
        # Every user is either active or suspended, and Okta and Entra both rely on reading it
        # back: removing active means "not deactivated", so the user is active again.
        return "active is always reported"
    if kind == "User" and title == "check_remove_attribute" and urn == "roles":
        # An OpsGenie user always holds exactly one role: removing roles gives the default role.
        if [_dump(r)["value"] for r in got] == ["User"]:
            return "an OpsGenie user always holds one role"
        return None
    if urn.endswith(":extension:opsgenie:2.0:User") or urn.endswith(":extension:opsgenie:2.0:Group"):
        # blocked, verified and roleId (User), kind (Group) are read-only values the server owns
        # (RFC 7643 §7 mutability readOnly); the checker compares the whole extension object.
        read_only = USER_EXT_READ_ONLY if kind == "User" else GROUP_EXT_READ_ONLY
        wanted = {} if title == "check_remove_attribute" else _dump(data["expected"], without=read_only)
        if _dump(got, without=read_only) == wanted:
            return "read-only extension attributes stay"
        return None
    if kind == "User" and title == "check_add_attribute" and urn.endswith((":User:tags", ":User:details")):
        # RFC 7644 §3.5.2.1: "add" to a multi-valued attribute appends. The checker's earlier "add"
        # of the whole extension on the same user already set values, which it does not expect.
        added = _dump(data["expected"])
        if all(item in _dump(got) for item in added) and len(_dump(got)) == len(added) + 1:
            return "add appends to a multi-valued attribute"
        return None
    if kind == "Group" and urn == "members":
        # members.display is read-only (RFC 7643 §2.4): the server fills in the member's userName.
        if _dump(got, without=MEMBER_READ_ONLY) == _dump(data["expected"], without=MEMBER_READ_ONLY):
            return "members.display is filled in by the server"
        return None
    return None


PHONES = random.Random(16)  # the same numbers at every run


def realistic_phone() -> str:
    """A phone number as HR systems hold them: national, international, punctuated, or no number at all."""
    line = f"{PHONES.randrange(10000):04d}"
    return PHONES.choice([f"(415) 555-{line}", f"415555{line}", f"+1 415 555 {line}", f"+44 20 7946 {line}",
                          f"555-{line} ext. 12", "see reception"])


# Where the checker is given values instead of random strings, and why: each is a constraint OpsGenie itself
# puts on the value, which the bridge passes on as 400 invalidValue (or OpsGenie's own refusal).
OPSGENIE_CONSTRAINTS = {
    "userName": "an OpsGenie username is an e-mail address (and unique: a fresh one per user)",
    "roles.value": "a role must exist in the OpsGenie account; a made-up role name is refused",
    "timezone": "OpsGenie accepts IANA time zone names only",
    "locale": "OpsGenie accepts the locales of its own list only",
}


def run_checks(bridge: Running, resource_types: list[str]) -> list[CheckResult]:
    """check_server through scim2-client over httpx, with realistic directory values.

    scim2-tester fills attributes with random strings unless the schema offers example values. Only
    the attributes of ``OPSGENIE_CONSTRAINTS`` get values OpsGenie accepts, as an administrator maps
    them in an identity provider; phone numbers get what real directories hold, odd ones included
    (the bridge keeps those in SCIM as sent and writes no contact for them). The server-set read-only
    attributes the checker cannot write are let through by ``accepted_deviation``; every check runs.
    """
    http = httpx.Client(
        base_url=bridge.scim.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    )
    with http:
        client = HttpxSCIMClient(http)
        client.discover()
        user = client.get_resource_model("User")
        assert user is not None
        constrained: dict[str, Sequence[str]] = {
            "userName": FreshValues(lambda: f"{uuid.uuid4()}@example.com"),
            "roles.value": ["User", "Admin", "Stakeholder"],
            "timezone": ["Europe/Paris", "America/New_York", "Asia/Tokyo"],
            "locale": ["en-US", "fr-FR", "de-DE"],
        }
        assert set(constrained) == set(OPSGENIE_CONSTRAINTS)
        for dotted, examples in constrained.items():
            _hint(user, dotted, examples)
        _hint(user, "phoneNumbers.value", FreshValues(realistic_phone))
        return check_server(client, resource_types=resource_types)


def forget_deleted(manager: ResourceManager, cleanup: Callable[[ResourceManager], None]) -> None:
    """scim2-tester's clean-up after each check, then forget what it deleted.

    scim2-tester (0.5) cleans up after every check but keeps the list of what it created, so each later check
    deletes every earlier check's resources again: hundreds of DELETEs of resources already gone, whose 404
    it ignores. Forgetting them keeps the one DELETE per resource that checks anything.
    """
    try:
        cleanup(manager)
    finally:
        manager.resources.clear()
