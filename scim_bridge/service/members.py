"""Group members as clients send them: the user ids of a ``members`` list, checked to be users (the mirror
first, the upstream for ids the mirror lacks) before anything upstream is written; and ``GroupParts``, what
the services of teams and of role groups are built from."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from scim_bridge.directory.base import Directory
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.scim import errors
from scim_bridge.scim.patch import PatchResult
from scim_bridge.service.errors import upstream_errors
from scim_bridge.service.mirror import remember_user
from scim_bridge.service.naming import ROLE_ID_PREFIX
from scim_bridge.service.parts import ServiceParts
from scim_bridge.service.parts import UsesParts
from scim_bridge.store.store import Store

# Up to this many member ids unknown to the mirror are checked one GET each; more are checked
# against one paged listing of the upstream users.
MEMBER_LOOKUPS = 20

# user id -> user_name, for the users the mirror holds.
Known = dict[str, str]

# A write request as the group services get it: ``new_of(current)`` applies it to the current resource and
# returns the change record (the wanted resource, and the member ids added and removed).
NewResource = Callable[[dict[str, Any]], PatchResult]


def member_ids(members: Any, *, strict: bool = False) -> list[str]:
    """Member user ids in order, without repeats. ``strict``: 400 for a member without a value or
    of another type than User."""
    ids: list[str] = []
    seen: set[str] = set()
    for item in members or []:
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str) or not value:
            if strict:
                raise errors.InvalidValue("Every member needs a 'value' holding a User id")
            continue
        kind = item.get("type")
        if strict and kind is not None and str(kind).lower() != "user":
            raise errors.InvalidValue(f"Member {value!r} has type {kind!r}: only Users can be members")
        if value not in seen:
            seen.add(value)
            ids.append(value)
    return ids


class MemberLookup:
    """Which member ids are users: the mirror's answer, completed by the upstream's."""

    def __init__(self, directory: Directory, store: Store) -> None:
        self.directory = directory
        self.store = store

    def known(self, user_ids: Sequence[str]) -> Known:
        """The user names of those users the mirror holds."""
        return self.store.user_names(user_ids)

    def check(self, user_ids: Sequence[str]) -> Known:
        """400 naming every id that is not an existing user; nothing upstream is written. Returns
        what the mirror knows of them."""
        if not user_ids:
            return {}
        known = self.known(user_ids)
        self.upstream([uid for uid in user_ids if uid not in known])
        return known

    def remember_missing(self, user_ids: Sequence[str]) -> None:
        """Check ``user_ids`` (400 as :meth:`check`) and store the users the mirror lacks (made outside the
        bridge), so that their records can be written."""
        known = self.store.get_users(user_ids)
        for found in self.upstream([uid for uid in user_ids if uid not in known]).values():
            remember_user(self.store, found)

    def upstream(self, user_ids: Sequence[str]) -> dict[str, DirectoryUser]:
        """The upstream users behind ids the mirror does not hold, or a 400 naming every id that is no user
        (nothing upstream is written)."""
        found = self.look_up([uid for uid in user_ids if not uid.startswith(ROLE_ID_PREFIX)])
        unknown = [uid for uid in user_ids if uid not in found]
        if unknown:
            raise errors.InvalidValue(
                "No user with id " + ", ".join(sorted(unknown)) + ": unknown member(s), nothing was changed"
            )
        return found

    def gone(self, user_ids: Sequence[str]) -> list[str]:
        """Those of ``user_ids`` the upstream has no user for."""
        found = self.look_up(user_ids)
        return [uid for uid in user_ids if uid not in found]

    def look_up(self, user_ids: Sequence[str]) -> dict[str, DirectoryUser]:
        """{id: upstream user} for those of ``user_ids`` that are users upstream: one look-up each for a few,
        else one list of all users."""
        if len(user_ids) > MEMBER_LOOKUPS:
            wanted = set(user_ids)
            with upstream_errors():
                return {u.id: u for u in self.directory.iter_users() if u.id in wanted}
        found: dict[str, DirectoryUser] = {}
        for uid in user_ids:
            try:
                with upstream_errors():
                    upstream = self.directory.get_user(uid, with_contacts=False)
            except errors.NotFound:
                continue
            if upstream.id == uid:  # a user name would also find the user: only ids count
                found[uid] = upstream
        return found


class GroupParts(UsesParts):
    """What the team and role-group services are built from: the process's shared parts and a member lookup."""

    def __init__(self, parts: ServiceParts) -> None:
        super().__init__(parts)
        self.members = MemberLookup(parts.directory, parts.store)
