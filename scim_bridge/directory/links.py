"""Links between the bridge's own ids and the ids of an upstream that does not keep them.

OpsGenie ids are the bridge's ids (SCIM ``id`` = OpsGenie id). Jira Service Management Operations
identifies people by Atlassian ``accountId`` and teams by Atlassian ``teamId``, and a bridge migrated from
OpsGenie must keep answering under the ids its identity provider already holds. A directory for such an
upstream speaks the bridge's ids to the service layer and translates them through a :class:`LinkStore`.

A link also keeps what the upstream cannot hold for a person (time zone, locale, address, tags, details,
phone contacts, the role the bridge gave): ``profile`` is a :meth:`DirectoryUser.to_json` subset, and the
directory merges it with what the upstream answers.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Generic
from typing import Protocol
from typing import TypeVar
from typing import overload


@dataclass(frozen=True)
class UserLink:
    """One person: the bridge's id, the upstream account, and what only the bridge keeps of it."""

    local_id: str
    account_id: str
    username: str
    profile: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TeamLink:
    """One team: the bridge's id and the upstream team id."""

    local_id: str
    team_id: str
    name: str


class LinkStore(Protocol):
    """Persistent, transactional per call. Look-ups by either side; ``save_*`` inserts or replaces."""

    def user_by_local(self, local_id: str) -> UserLink | None: ...

    def user_by_account(self, account_id: str) -> UserLink | None: ...

    def user_by_username(self, username: str) -> UserLink | None:
        """Case-insensitive."""
        ...

    def save_user(self, link: UserLink) -> None: ...

    def forget_user(self, local_id: str) -> None: ...

    def iter_user_links(self) -> Iterator[UserLink]: ...

    def team_by_local(self, local_id: str) -> TeamLink | None: ...

    def team_by_upstream(self, team_id: str) -> TeamLink | None: ...

    def save_team(self, link: TeamLink) -> None: ...

    def forget_team(self, local_id: str) -> None: ...

    def iter_team_links(self) -> Iterator[TeamLink]: ...


class _Keyed(Protocol):
    @property
    def local_id(self) -> str: ...


L = TypeVar("L", bound=_Keyed)
F = TypeVar("F")


class _Links(Generic[L]):
    """One kind of link in memory, keyed by the bridge's id."""

    def __init__(self) -> None:
        self._by_local: dict[str, L] = {}

    def by_local(self, local_id: str) -> L | None:
        return self._by_local.get(local_id)

    def find(self, wanted: Callable[[L], bool]) -> L | None:
        return next((link for link in self._by_local.values() if wanted(link)), None)

    def save(self, link: L) -> None:
        self._by_local[link.local_id] = link

    def forget(self, local_id: str) -> None:
        self._by_local.pop(local_id, None)

    def __iter__(self) -> Iterator[L]:
        """A snapshot: the caller may save or forget links while iterating."""
        return iter(list(self._by_local.values()))


class _OfKind(Generic[F]):
    """A :class:`LinkStore` method of :class:`MemoryLinkStore` that is an operation of one kind's collection.

    The protocol names the same operation once per kind (``save_user``, ``save_team``); the store keeps one
    :class:`_Links` per kind, and this descriptor answers each name with the operation of that kind's
    collection, bound (``pick`` chooses it). A subclass may still override one such name with a method."""

    def __init__(self, pick: Callable[[MemoryLinkStore], F]) -> None:
        self._pick = pick

    @overload
    def __get__(self, store: None, owner: type[MemoryLinkStore]) -> _OfKind[F]: ...

    @overload
    def __get__(self, store: MemoryLinkStore, owner: type[MemoryLinkStore]) -> F: ...

    def __get__(self, store: MemoryLinkStore | None, owner: type[MemoryLinkStore]) -> _OfKind[F] | F:
        return self if store is None else self._pick(store)


class MemoryLinkStore:
    """A :class:`LinkStore` in memory, for the in-process directory tests and dry runs: one keyed collection
    of user links and one of team links. The protocol's look-ups by the bridge's id, saves, forgets and
    listings are those collections' operations; the look-ups by another field of a link search them."""

    def __init__(self) -> None:
        self._users: _Links[UserLink] = _Links()
        self._teams: _Links[TeamLink] = _Links()

    user_by_local = _OfKind(lambda store: store._users.by_local)
    save_user = _OfKind(lambda store: store._users.save)
    forget_user = _OfKind(lambda store: store._users.forget)
    iter_user_links = _OfKind(lambda store: store._users.__iter__)

    team_by_local = _OfKind(lambda store: store._teams.by_local)
    save_team = _OfKind(lambda store: store._teams.save)
    forget_team = _OfKind(lambda store: store._teams.forget)
    iter_team_links = _OfKind(lambda store: store._teams.__iter__)

    def user_by_account(self, account_id: str) -> UserLink | None:
        return self._users.find(lambda link: link.account_id == account_id)

    def user_by_username(self, username: str) -> UserLink | None:
        wanted = username.lower()
        return self._users.find(lambda link: link.username.lower() == wanted)

    def team_by_upstream(self, team_id: str) -> TeamLink | None:
        return self._teams.find(lambda link: link.team_id == team_id)
