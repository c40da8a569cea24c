"""JsmDirectory: the Directory protocol on Jira Service Management Operations (Atlassian accounts and Teams).

The service layer speaks the bridge's ids; this directory translates them through a :class:`LinkStore`:
a user created under jsm gets its Atlassian ``accountId`` as its id, a team a uuid4 hex; users and teams
carried over from OpsGenie keep their OpsGenie ids. Only linked users and teams exist for the bridge: an
Atlassian account the bridge did not create or migrate is adopted (linked) when a SCIM create names its
e-mail, never listed before.

What Atlassian does not hold for a person (the name the IdP gave, the role the bridge gave, time zone,
locale, address, tags, details, skype, phone contacts) lives in ``UserLink.profile``; contacts get uuid4
ids made here. The bridge manages on-call access only: an account's other products are never touched.

Roles (the ``role`` of a user): ``User`` = product role ``atlassian/user`` on the JSM resource
``ari:cloud:jira-servicedesk::site/{siteId}``; ``Stakeholder`` = ``atlassian/stakeholder``; a custom JSM
Operations role = ``atlassian/user`` plus ``POST /v1/roles/assign``; ``Admin`` and ``Owner`` (Operations global
admin) are listed but no API grants them: a write raises :class:`ReadOnlyError` (SCIM ``400 mutability``).

Suspension. Under jsm the service's suspended role (``SCIM_BRIDGE_SUSPENDED_ROLE``, default
``JSM_SUSPENDED_ROLE`` = "No JSM access") is a role meaning *no JSM product role*: setting it revokes every
JSM product role, ``atlassian/user`` and ``atlassian/stakeholder`` on the JSM resource (the admin API cannot
list which ones an adopted account holds), or with ``account_scope="account"`` calls ``suspend-access``
(every product, directory-wide); the profile remembers the role held before, and the service takes the user
out of its teams and records them. Setting a role back grants the product role that role needs
(``restore-access`` in account scope), even ``Admin`` when that is the role held before. ``delete_user``
makes the same revocation (``remove`` in account scope), leaves the linked teams and forgets the link.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from typing import Any

from scim_bridge.atlassian import errors as at
from scim_bridge.atlassian.client import AtlassianClient
from scim_bridge.directory import errors as d
from scim_bridge.directory.jsm_support import NO_ACCESS
from scim_bridge.directory.jsm_support import READ_ONLY_ROLES
from scim_bridge.directory.jsm_support import STAKEHOLDER_ROLE
from scim_bridge.directory.jsm_support import UPSTREAM
from scim_bridge.directory.jsm_support import USER_ROLE
from scim_bridge.directory.jsm_support import call
from scim_bridge.directory.jsm_support import is_custom
from scim_bridge.directory.jsm_support import product_role
from scim_bridge.directory.jsm_support import read_only
from scim_bridge.directory.jsm_support import translate
from scim_bridge.directory.jsm_teams import JsmTeams
from scim_bridge.directory.jsm_teams import new_team_id
from scim_bridge.directory.links import LinkStore
from scim_bridge.directory.links import UserLink
from scim_bridge.directory.models import Address
from scim_bridge.directory.models import Contact
from scim_bridge.directory.models import DirectoryRole
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.directory.models import TeamRef
from scim_bridge.directory.models import UserFields

Json = dict[str, Any]
INVITE_ATTEMPTS = 3
BUILTIN = (("Owner", ""), ("Admin", ""), ("User", USER_ROLE), ("Stakeholder", STAKEHOLDER_ROLE))
ACCOUNT_SCOPES = ("product", "account")


class JsmDirectory(JsmTeams):
    """The JSM Operations implementation of :class:`scim_bridge.directory.base.Directory`.

    :param client: the Atlassian client (all four API families).
    :param links: where bridge ids meet Atlassian ids, and what only the bridge keeps of a person.
    :param account_scope: "product" (revoke and give back the JSM product roles) or "account"
        (suspend-access, restore-access and remove: for IdP applications owning the whole account).
    """

    def __init__(
        self,
        client: AtlassianClient,
        links: LinkStore,
        *,
        account_scope: str = "product",
        make_team_id: Callable[[], str] = new_team_id,
        make_contact_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        if account_scope not in ACCOUNT_SCOPES:
            raise ValueError(f"account_scope must be one of {ACCOUNT_SCOPES}, got {account_scope!r}")
        self.client = client
        self.links = links
        self.account_scope = account_scope
        self.new_team_id = make_team_id
        self.new_contact_id = make_contact_id

    # --- users ------------------------------------------------------------------------------
    def get_user(self, identifier: str, *, with_contacts: bool = True) -> DirectoryUser:
        """A linked user by id or e-mail: one Jira call (the account must still exist)."""
        link = self._user_link(identifier)
        account = call(lambda: self.client.jira_user(link.account_id))
        return user_of(link, str(account.get("displayName") or ""), with_contacts=with_contacts)

    def iter_users(self) -> Iterator[DirectoryUser]:
        """Every linked user whose account is still in the organization: one pass over the admin directory
        (one call per 100 accounts), whatever the number of links."""
        names = {str(a.get("accountId")): str(a.get("name") or "")
                 for a in call(lambda: list(self.client.iter_directory_users()))
                 if str(a.get("accountStatus") or a.get("status") or "active") not in ("closed", "removed")}
        for link in self.links.iter_user_links():
            if link.account_id in names:
                yield user_of(link, names[link.account_id], with_contacts=False)

    def create_user(self, fields: UserFields) -> str:
        """Find the account by e-mail, else invite it with the JSM product role (and search again for its
        accountId); an existing account is given the product role. Returns the new id (the accountId)."""
        if not (fields.username and fields.full_name and fields.role):
            raise d.InvalidError("username, full_name and role are required to create a user", upstream=UPSTREAM)
        email, role = fields.username.lower(), fields.role
        if role.lower() in READ_ONLY_ROLES:
            raise read_only(role)
        if self.links.user_by_username(email) is not None:
            raise d.ConflictError(f"user {email!r} already exists", status=409, upstream=UPSTREAM)
        wanted = product_role(role) or USER_ROLE
        account = call(lambda: self.client.find_account(email))
        if account is None:
            account = self._invite(email, wanted, notify=not fields.invitation_disabled)
        account_id = str(account["accountId"])
        if self.links.user_by_account(account_id) is not None or self.links.user_by_local(account_id) is not None:
            raise d.ConflictError(f"the Atlassian account of {email!r} is already linked", status=409,
                                  upstream=UPSTREAM)
        call(lambda: self.client.assign_role(account_id, wanted))  # an adopted account may lack it
        if is_custom(role):
            call(lambda: self.client.assign_custom_role(account_id, role))
        profile = profile_update({"full_name": fields.full_name, "contacts": []}, fields)
        self.links.save_user(UserLink(local_id=account_id, account_id=account_id, username=email, profile=profile))
        return account_id

    def update_user(self, user_id: str, fields: UserFields) -> None:
        """Role changes go to Atlassian; every other field is the bridge's own (kept in the profile)."""
        link = self._user_link(user_id)
        if fields.username is not None and fields.username.lower() != link.username.lower():
            raise d.InvalidError("the e-mail address of an Atlassian account cannot be changed through the bridge",
                                 status=400, upstream=UPSTREAM)
        profile = dict(link.profile)
        if fields.role is not None and fields.role.lower() != role_of(link).lower():
            profile.update(self._change_role(link, role_of(link), fields.role))
        self.links.save_user(replace(link, profile=profile_update(profile, fields)))

    def delete_user(self, user_id: str) -> None:
        """Leave the linked teams, revoke the JSM product role(s) (``remove`` in account scope), forget."""
        link = self._user_link(user_id)
        for ref in self.user_teams(user_id):
            self.remove_team_member(ref.id, user_id)
        try:
            if self.account_scope == "account":
                call(lambda: self.client.remove_account(link.account_id))
            else:
                self._revoke_jsm(link.account_id)
        except d.NotFoundError:
            pass  # the account is gone already
        self.links.forget_user(link.local_id)

    def user_teams(self, user_id: str) -> list[TeamRef]:
        """The linked teams the user is a member of. Atlassian has no "teams of an account" call: this reads
        the members of every linked team, one call per team (and per further 50 members)."""
        link = self._user_link(user_id)
        found = []
        for team in self.links.iter_team_links():
            try:
                members = self.client.team_members(team.team_id)
            except (at.NotFound, at.Gone):
                continue  # deleted in Atlassian
            except at.AtlassianError as exc:
                raise translate(exc) from exc
            if link.account_id in members:
                found.append(TeamRef(id=team.local_id, name=team.name))
        return found

    # --- contacts: kept by the bridge ---------------------------------------------------------
    def create_contact(self, user_id: str, method: str, to: str) -> Contact:
        link = self._user_link(user_id)
        contact = Contact(id=self.new_contact_id(), method=method, to=to, enabled=True)
        self._save_contacts(link, [*contacts_of(link), contact])
        return contact

    def update_contact(self, user_id: str, contact_id: str, to: str) -> None:
        link = self._user_link(user_id)
        self._save_contacts(link, [replace(c, to=to) if c.id == contact_id else c
                                   for c in self._contacts_with(link, contact_id)])

    def delete_contact(self, user_id: str, contact_id: str) -> None:
        link = self._user_link(user_id)
        self._save_contacts(link, [c for c in self._contacts_with(link, contact_id) if c.id != contact_id])

    # --- roles ------------------------------------------------------------------------------
    def list_roles(self) -> list[DirectoryRole]:
        """User, Stakeholder, the read-only Owner and Admin, then the custom JSM Operations roles (one call)."""
        roles = [DirectoryRole(id=role_id, name=name, builtin=True) for name, role_id in BUILTIN]
        taken = {name.lower() for name, _ in BUILTIN}
        for raw in call(self.client.list_custom_roles):
            name = str(raw.get("name") or "")
            if name and name.lower() not in taken and name.lower() != NO_ACCESS.lower():
                roles.append(DirectoryRole(id=str(raw.get("id") or ""), name=name, builtin=False,
                                           extended_role=str(raw.get("extendedRole") or "")))
        return roles

    # --- helpers ------------------------------------------------------------------------------
    def _user_link(self, identifier: str) -> UserLink:
        link = self.links.user_by_username(identifier) if "@" in identifier else self.links.user_by_local(identifier)
        if link is None:
            raise d.NotFoundError(f"no user {identifier}", status=404, upstream=UPSTREAM)
        return link

    def _invite(self, email: str, role: str, *, notify: bool) -> Json:
        """Invite, then search for the account. A lost answer is followed by a search, never a blind repeat."""
        answer: list[Json] = []
        for attempt in range(1, INVITE_ATTEMPTS + 1):
            try:
                answer = self.client.invite(email, [role], send_notification=notify)
                break
            except (at.ServerError, at.TransportError) as exc:
                if isinstance(exc, at.TransportError) and not exc.maybe_applied or attempt == INVITE_ATTEMPTS:
                    raise translate(exc) from exc
                if call(lambda: self.client.find_account(email)) is not None:
                    break
                self.client.retry.sleep(self.client.retry.backoff(attempt))
            except at.AtlassianError as exc:
                raise translate(exc) from exc
        found = call(lambda: self.client.find_account(email))
        if found is None:
            given = next((a for a in answer if a.get("accountId")), None)
            if given is None:
                raise d.UnavailableError(f"{email} was invited but its Atlassian account is not visible yet",
                                         retry_after=5.0, upstream=UPSTREAM)
            found = given
        return found

    def _change_role(self, link: UserLink, old: str, new: str) -> Json:
        """Move the account from ``old`` to ``new`` in Atlassian; returns the profile keys that change."""
        account_id = link.account_id
        held = str(link.profile.get("held_role") or "")
        suspended = old.lower() == NO_ACCESS.lower()
        if new.lower() == NO_ACCESS.lower():
            if self.account_scope == "account":
                call(lambda: self.client.suspend_access(account_id))
            else:
                self._revoke_jsm(account_id)
            return {"role": NO_ACCESS, "role_id": None, "held_role": old}
        giving_back = suspended and new.lower() == held.lower()
        if not giving_back and (new.lower() in READ_ONLY_ROLES or old.lower() in READ_ONLY_ROLES):
            raise read_only(new if new.lower() in READ_ONLY_ROLES else old)
        if suspended and self.account_scope == "account":
            call(lambda: self.client.restore_access(account_id))
            if not giving_back:
                self._switch(account_id, held or "User", new)
        elif suspended:
            self._grant(account_id, new)
        else:
            self._switch(account_id, old, new)
        return {"role": new, "role_id": None, "held_role": None}

    def _switch(self, account_id: str, old: str, new: str) -> None:
        """Grant first, then revoke what ``old`` needed and ``new`` does not: never a moment without access.
        When a later call fails, the product role granted here is taken back."""
        before, after = product_role(old), product_role(new)
        granted = False
        try:
            if after and after != before:
                call(lambda: self.client.assign_role(account_id, after))
                granted = True
            if is_custom(new):
                call(lambda: self.client.assign_custom_role(account_id, new))
            if before and before != after:
                call(lambda: self.client.revoke_role(account_id, before))
            if is_custom(old) and not is_custom(new):
                call(lambda: self.client.assign_custom_role(account_id, "user"))
        except d.DirectoryError:
            if granted and after:
                with contextlib.suppress(d.DirectoryError):
                    call(lambda: self.client.revoke_role(account_id, after))
            raise

    def _grant(self, account_id: str, role: str) -> None:
        wanted = product_role(role)
        if wanted:
            call(lambda: self.client.assign_role(account_id, wanted))
        if is_custom(role):
            call(lambda: self.client.assign_custom_role(account_id, role))

    def _revoke_jsm(self, account_id: str) -> None:
        """Revoke every JSM product role: the admin API cannot say which ones an adopted account held, and a
        suspended user must keep none of them. Reactivation grants the one its role needs."""
        for held in (USER_ROLE, STAKEHOLDER_ROLE):
            with contextlib.suppress(d.NotFoundError):  # not held: nothing to revoke
                call(partial(self.client.revoke_role, account_id, held))

    def _contacts_with(self, link: UserLink, contact_id: str) -> list[Contact]:
        contacts = contacts_of(link)
        if not any(c.id == contact_id for c in contacts):
            raise d.NotFoundError(f"no contact {contact_id} for user {link.local_id}", status=404, upstream=UPSTREAM)
        return contacts

    def _save_contacts(self, link: UserLink, contacts: list[Contact]) -> None:
        fresh = self.links.user_by_local(link.local_id) or link
        profile = {**fresh.profile, "contacts": [c.__dict__.copy() for c in contacts]}
        self.links.save_user(replace(fresh, profile=profile))


# --- mapping ----------------------------------------------------------------------------------------
def role_of(link: UserLink) -> str:
    return str(link.profile.get("role") or "User")


def contacts_of(link: UserLink) -> list[Contact]:
    return [Contact(**c) for c in link.profile.get("contacts") or () if isinstance(c, dict)]


def user_of(link: UserLink, account_name: str, *, with_contacts: bool) -> DirectoryUser:
    """The user as the bridge serves it: the link's profile, the account's name when the profile has none."""
    p = link.profile
    address = p.get("address")
    role = role_of(link)
    builtin = dict(BUILTIN)
    return DirectoryUser(
        id=link.local_id,
        username=link.username,
        full_name=str(p.get("full_name") or account_name),
        role=role,
        role_id=(builtin.get(role) or None) if role in builtin else (p.get("role_id") or None),
        skype_username=str(p.get("skype_username") or ""),
        time_zone=str(p.get("time_zone") or ""),
        locale=str(p.get("locale") or ""),
        address=Address(**address) if isinstance(address, dict) else None,
        tags=tuple(str(t) for t in p.get("tags") or ()),
        details={str(k): [str(x) for x in v] for k, v in (p.get("details") or {}).items()},
        contacts=tuple(contacts_of(link)) if with_contacts else None,
    )


def profile_update(profile: Json, fields: UserFields) -> Json:
    """``profile`` with the bridge-kept fields that ``fields`` sets (the role is written by the caller)."""
    out = dict(profile)
    for key in ("full_name", "skype_username", "time_zone", "locale", "role"):
        value = getattr(fields, key)
        if value is not None and (key != "role" or "role" not in out):
            out[key] = value
    if fields.address is not None:
        out["address"] = fields.address.__dict__.copy()
    if fields.tags is not None:
        out["tags"] = list(fields.tags)
    if fields.details is not None:
        out["details"] = {k: list(v) for k, v in fields.details.items()}
    return out
