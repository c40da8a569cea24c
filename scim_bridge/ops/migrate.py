"""``scim-bridge migrate --to jsm``: carry the bridge's SCIM ids from OpsGenie to JSM Operations.

Atlassian's own OpsGenie-to-JSM migration creates an Atlassian account for each OpsGenie user (with JSM
access) and an Atlassian team with operations enabled for each OpsGenie team. This module finds, for every
user and team of the bridge's store (the mirror of the OpsGenie directory), the account (by e-mail, through
the organization directory search) and the team (by name, case-insensitively, among every ops-enabled team
of the site), and records links ``SCIM id → accountId / teamId`` so that with ``SCIM_BRIDGE_UPSTREAM=jsm`` the
same SCIM ids keep working: the identity provider is not re-linked and nothing is re-provisioned.

Rules: one match is *matched*; none is *unmatched*; several are *ambiguous*, reported with the candidates and
never guessed. A user link also carries the user's profile: what Atlassian does not hold (name, role, time
zone, locale, address, tags, details, Skype name, phone contacts), from the mirror's upstream snapshot. Role
groups are checked too: ``User`` and ``Stakeholder`` map to JSM product roles, custom roles must exist in JSM
Operations by name, and ``Admin``/``Owner`` holders are *not migratable* (no API grants the Operations global
admin role: Atlassian's admin UI does). Existing links are never changed, so a second ``--apply`` writes
nothing. Upstream, everything is a read: the dry run and ``--apply`` make the same Atlassian calls (``--apply``
also reads from OpsGenie the contacts the mirror lacks), and only ``--apply`` writes, to the bridge's database,
in one transaction.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Protocol

from scim_bridge.directory.links import LinkStore
from scim_bridge.directory.links import TeamLink
from scim_bridge.directory.links import UserLink
from scim_bridge.service.naming import role_group_id
from scim_bridge.store.errors import StoreError
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.records import UserRecord
from scim_bridge.store.store import Store

KINDS = ("user", "team", "role")
MATCHED, UNMATCHED, AMBIGUOUS, NOT_MIGRATABLE = "matched", "unmatched", "ambiguous", "not migratable"
OUTCOMES = (MATCHED, UNMATCHED, AMBIGUOUS, NOT_MIGRATABLE)
PRODUCT_ROLE_NAMES = {"user": "atlassian/user", "stakeholder": "atlassian/stakeholder"}
ADMIN_ROLES = ("owner", "admin")
# What a user link keeps of the mirror's snapshot (DirectoryUser.to_json names): what Atlassian does not hold.
PROFILE_KEYS = ("full_name", "role", "role_id", "skype_username", "time_zone", "locale", "address", "tags",
                "details", "contacts")
CLOSED_STATUSES = ("closed", "removed", "inactive")


class Atlassian(Protocol):
    """The Atlassian calls the migration makes (all reads): :class:`scim_bridge.atlassian.AtlassianClient`."""

    def search_directory_users(self, term: str) -> Iterator[dict[str, Any]]: ...

    def iter_teams(self) -> Iterator[dict[str, Any]]: ...

    def iter_ops_teams(self) -> Iterator[dict[str, Any]]: ...

    def list_custom_roles(self) -> list[dict[str, Any]]: ...

    def team_members(self, team_id: str) -> list[str]: ...


class Links(LinkStore, Protocol):
    def transaction(self) -> Any: ...


@dataclass(frozen=True)
class Finding:
    """One user, team or role group of the store and what became of it.

    ``local_id``: the SCIM id; ``upstream_id``: the accountId or teamId found (or the JSM role); ``linked``:
    the link was written now (``--apply``) or already existed before (``already``).
    """

    kind: str
    local_id: str
    name: str
    outcome: str
    upstream_id: str = ""
    detail: str = ""
    linked: str = ""  # "" (not linked), "new" (written by this run), "already" (an earlier run's link)


@dataclass
class MigrationReport:
    findings: list[Finding] = field(default_factory=list)
    applied: bool = False

    def counts(self) -> dict[str, dict[str, int]]:
        table = {kind: dict.fromkeys(OUTCOMES, 0) for kind in KINDS}
        for finding in self.findings:
            table[finding.kind][finding.outcome] += 1
        return table

    @property
    def written(self) -> int:
        return sum(1 for f in self.findings if f.linked == "new")

    @property
    def complete(self) -> bool:
        """Every user and team matched: the switch to jsm loses no SCIM id."""
        return all(f.outcome == MATCHED for f in self.findings if f.kind in ("user", "team"))


class MigrationError(Exception):
    """The migration cannot run (its message says why, in one line)."""


ContactReader = Callable[[str], "list[dict[str, Any]] | None"]


def plan(store: Store, atlassian: Atlassian, links: Links, *, apply: bool = False,
         read_contacts: ContactReader | None = None) -> MigrationReport:
    """Match the store's users, teams and role groups to Atlassian; with ``apply`` record the links.

    ``read_contacts(user_id)``: the user's phone contacts read from OpsGenie (``DirectoryUser.to_json`` form),
    or None; called on ``apply`` for each user linked now whose mirror snapshot never held its contacts (the
    user list OpsGenie pages through carries none)."""
    report = MigrationReport(applied=apply)
    users = store.list_users()
    suspensions = store.all_suspensions()
    user_findings = [_match_user(record, suspensions.get(record.id) is not None, atlassian, links) for record in users]
    ops_ids = {str(t.get("teamId")) for t in atlassian.iter_ops_teams()}
    candidates = _teams_by_name(atlassian.iter_teams())
    team_records = store.list_groups(GroupKind.TEAM)
    team_findings = [_match_team(record, candidates, ops_ids, links) for record in team_records]
    team_findings = _compare_rosters(store, atlassian, team_records, team_findings, user_findings)
    report.findings = user_findings + team_findings + _role_findings(users, suspensions, atlassian)
    if not apply:
        return report
    by_user = {r.id: r for r in users}
    by_team = {r.id: r for r in team_records}
    new_users = {f.local_id: _user_link(by_user[f.local_id], f.upstream_id, read_contacts)
                 for f in report.findings if f.kind == "user" and f.outcome == MATCHED and not f.linked}
    new_teams = {f.local_id: TeamLink(f.local_id, f.upstream_id, by_team[f.local_id].display_name)
                 for f in report.findings if f.kind == "team" and f.outcome == MATCHED and not f.linked}
    with links.transaction():  # upstream reads are done: the transaction only writes
        for link in new_users.values():
            links.save_user(link)
        for team in new_teams.values():
            links.save_team(team)
    linked_now = {("user", i) for i in new_users} | {("team", i) for i in new_teams}
    report.findings = [_linked(f, "new") if (f.kind, f.local_id) in linked_now else f for f in report.findings]
    return report


# --- users --------------------------------------------------------------------------------------------
def _match_user(record: UserRecord, suspended: bool, atlassian: Atlassian, links: LinkStore) -> Finding:
    email = record.user_name.lower()
    found = [a for a in atlassian.search_directory_users(email)
             if str(a.get("email") or "").lower() == email
             and str(a.get("accountStatus") or a.get("status") or "active").lower() not in CLOSED_STATUSES]
    accounts = list(dict.fromkeys(str(a.get("accountId")) for a in found if a.get("accountId")))
    note = "suspended: reactivation gives back its role and teams" if suspended else ""
    if not accounts:
        return Finding("user", record.id, email, UNMATCHED, detail="no active Atlassian account with this e-mail")
    if len(accounts) > 1:
        return Finding("user", record.id, email, AMBIGUOUS, detail="accounts " + ", ".join(accounts))
    account_id = accounts[0]
    existing = links.user_by_local(record.id)
    if existing is not None:  # an earlier run's link (or one made under jsm) is kept as it is
        moved = "" if existing.account_id == account_id else f"the directory now finds account {account_id}"
        return Finding("user", record.id, email, MATCHED, existing.account_id, moved or note, "already")
    holder = links.user_by_account(account_id) or links.user_by_username(email)
    if holder is not None:
        return Finding("user", record.id, email, AMBIGUOUS,
                       detail=f"account {holder.account_id} ({holder.username}) is already linked to SCIM id "
                              f"{holder.local_id}")
    return Finding("user", record.id, email, MATCHED, account_id, note)


def _user_link(record: UserRecord, account_id: str, read_contacts: ContactReader | None) -> UserLink:
    snapshot = record.upstream or {}
    profile = {key: snapshot[key] for key in PROFILE_KEYS if snapshot.get(key) not in (None, "", [], {})}
    profile.setdefault("role", "User")
    if snapshot.get("contacts") is None and read_contacts is not None:
        profile["contacts"] = read_contacts(record.id) or []
    profile.setdefault("contacts", [])
    return UserLink(local_id=record.id, account_id=account_id, username=record.user_name.lower(), profile=profile)


# --- teams --------------------------------------------------------------------------------------------
def _teams_by_name(teams: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for team in teams:
        if str(team.get("state") or "ACTIVE").upper() != "ACTIVE":
            continue
        by_name.setdefault(str(team.get("displayName") or "").lower(), []).append(team)
    return by_name


def _match_team(record: GroupRecord, candidates: dict[str, list[dict[str, Any]]], ops_ids: set[str],
                links: LinkStore) -> Finding:
    name = record.display_name
    existing = links.team_by_local(record.id)
    if existing is not None:  # an earlier run's link (or one made under jsm) is kept as it is
        gone = "" if existing.team_id in ops_ids else "the linked team is no longer listed with operations enabled"
        return Finding("team", record.id, name, MATCHED, existing.team_id, gone, "already")
    same_name = candidates.get(name.lower(), [])
    ops = [str(t["teamId"]) for t in same_name if str(t.get("teamId")) in ops_ids]
    if not ops:
        detail = (f"{len(same_name)} team(s) of this name without operations enabled" if same_name
                  else "no Atlassian team of this name")
        return Finding("team", record.id, name, UNMATCHED, detail=detail)
    if len(ops) > 1:
        return Finding("team", record.id, name, AMBIGUOUS, detail="teams " + ", ".join(ops))
    holder = links.team_by_upstream(ops[0])
    if holder is not None:
        return Finding("team", record.id, name, AMBIGUOUS,
                       detail=f"team {ops[0]} is already linked to SCIM id {holder.local_id}")
    return Finding("team", record.id, name, MATCHED, ops[0])


def _compare_rosters(store: Store, atlassian: Atlassian, records: list[GroupRecord], findings: list[Finding],
                     users: list[Finding]) -> list[Finding]:
    """Note, on each matched team, the members that differ between the store and Atlassian (one members call
    per team): after the switch the bridge serves Atlassian's roster, and the IdP's next push restores its own."""
    account_of = {f.local_id: f.upstream_id for f in users if f.outcome == MATCHED}
    name_of = {f.upstream_id: f.name for f in users if f.outcome == MATCHED}
    rosters = store.members_for_groups([r.id for r in records])
    known = {r.id for r in records if r.members_known}
    noted = []
    for finding in findings:
        if finding.outcome != MATCHED or finding.local_id not in known:
            noted.append(finding)
            continue
        wanted = {account_of.get(m.user_id, f"unlinked SCIM id {m.user_id}") for m in rosters[finding.local_id]}
        held = set(atlassian.team_members(finding.upstream_id))
        parts = []
        if wanted - held:
            parts.append("not in the Atlassian team: " + ", ".join(sorted(name_of.get(a, a) for a in wanted - held)))
        if held - wanted:
            parts.append("only in the Atlassian team: " + ", ".join(sorted(name_of.get(a, a) for a in held - wanted)))
        detail = "; ".join(p for p in (finding.detail, *parts) if p)
        noted.append(Finding(**{**asdict(finding), "detail": detail}))
    return noted


# --- role groups --------------------------------------------------------------------------------------
def _role_findings(users: list[UserRecord], suspensions: dict[str, Any], atlassian: Atlassian) -> list[Finding]:
    """One finding per role group member: the role each user holds (or gets back on reactivation)."""
    custom = {str(r.get("name") or "").lower(): str(r.get("id") or r.get("name"))
              for r in atlassian.list_custom_roles()}
    findings = []
    for record in users:
        suspension = suspensions.get(record.id)
        role = str(suspension.role if suspension is not None else (record.upstream or {}).get("role") or "User")
        group_id = role_group_id(role)
        label = f"{record.user_name.lower()} in role:{role}"
        if role.lower() in ADMIN_ROLES:
            findings.append(Finding("role", group_id, label, NOT_MIGRATABLE, detail=(
                "no API grants the Operations global admin role: give it in Atlassian's admin UI "
                "(the role group stays read-only under jsm)")))
        elif role.lower() in PRODUCT_ROLE_NAMES:
            findings.append(Finding("role", group_id, label, MATCHED, PRODUCT_ROLE_NAMES[role.lower()]))
        elif role.lower() in custom:
            findings.append(Finding("role", group_id, label, MATCHED, f"custom role {custom[role.lower()]}"))
        else:
            findings.append(Finding("role", group_id, label, UNMATCHED,
                                    detail="no JSM Operations custom role of this name"))
    return findings


def _linked(finding: Finding, how: str) -> Finding:
    return Finding(**{**asdict(finding), "linked": how})


# --- output -------------------------------------------------------------------------------------------
def render(report: MigrationReport, fmt: str) -> str:
    """The report as ``text`` (a summary per kind, then every finding that needs attention), ``csv`` (one row
    per finding) or ``json``."""
    if fmt == "json":
        return json.dumps({"applied": report.applied, "written": report.written, "complete": report.complete,
                           "counts": report.counts(), "findings": [asdict(f) for f in report.findings]},
                          indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["kind", "scim_id", "name", "outcome", "upstream_id", "linked", "detail"])
        for f in report.findings:
            writer.writerow([f.kind, f.local_id, f.name, f.outcome, f.upstream_id, f.linked, f.detail])
        return out.getvalue()
    return _text(report)


def _text(report: MigrationReport) -> str:
    lines = ["migration to jsm: " + ("applied" if report.applied else "dry run (nothing written; --apply records "
                                                                       "the links)")]
    for kind, counts in report.counts().items():
        lines.append(f"  {kind + 's':<6} " + ", ".join(f"{counts[o]} {o}" for o in OUTCOMES))
    for f in report.findings:
        if f.outcome != MATCHED or f.detail:
            where = f" ({f.local_id})" if f.local_id else ""
            lines.append(f"  {f.outcome}: {f.kind} {f.name}{where}" + (f": {f.detail}" if f.detail else ""))
    if report.applied:
        kept = sum(1 for f in report.findings if f.linked == "already")
        lines.append(f"links written: {report.written}; already linked before: {kept}")
    lines.append("every user and team is matched: SCIM_BRIDGE_UPSTREAM=jsm keeps every SCIM id" if report.complete
                 else "some users or teams are not matched: they would be missing under SCIM_BRIDGE_UPSTREAM=jsm")
    return "\n".join(lines) + "\n"


# --- from the environment (the command) -----------------------------------------------------------------
def run_from_env(env: Mapping[str, str], *, apply: bool) -> MigrationReport:
    """The migration with the settings ``serve`` reads: ``SCIM_BRIDGE_DATABASE_URL`` and the ATLASSIAN_* names
    (whatever ``SCIM_BRIDGE_UPSTREAM`` says: the migration runs before the switch). Raises ConfigError or
    MigrationError."""
    from scim_bridge.atlassian import errors as at
    from scim_bridge.atlassian.client import AtlassianClient
    from scim_bridge.bootstrap import build_directory
    from scim_bridge.bootstrap import open_store
    from scim_bridge.config import AtlassianSettings
    from scim_bridge.config import Settings
    from scim_bridge.store.links import SqlLinkStore

    atlassian_settings = AtlassianSettings.from_env(env)
    settings = Settings.from_env(env, require_key=False)
    try:
        store = open_store(settings)
    except Exception as exc:  # a bad URL or unreachable database: one clear line
        raise MigrationError(f"SCIM_BRIDGE_DATABASE_URL: cannot open the database: {exc}") from exc
    try:
        if store.count_users() == 0 and store.count_groups(GroupKind.TEAM) == 0:
            raise MigrationError("the bridge's store holds no users and no teams: run `scim-bridge sync` with the "
                                 "OpsGenie settings first, so the mirror holds what the identity provider knows")
        with AtlassianClient.from_settings(atlassian_settings) as client:
            if not settings.opsgenie_api_key:  # the contacts the mirror holds are all that is carried
                return plan(store, client, SqlLinkStore(store), apply=apply)
            opsgenie, opsgenie_client = build_directory(settings, store, upstream="opsgenie")
            try:
                return plan(store, client, SqlLinkStore(store), apply=apply, read_contacts=contact_reader(opsgenie))
            finally:
                if opsgenie_client is not None:
                    opsgenie_client.close()
    except at.AtlassianError as exc:
        raise MigrationError(f"Atlassian answered {exc.status or 'nothing'}: {exc.message}") from exc
    except StoreError as exc:  # a link made meanwhile (a bridge serving jsm): nothing was written
        raise MigrationError(f"no link was written: {exc}; run the command again") from exc
    finally:
        store.close()



def contact_reader(directory: Any) -> ContactReader:
    """A user's contacts read from OpsGenie (still serving until it is turned off), one call per user."""
    from scim_bridge.directory.errors import DirectoryError

    def read(user_id: str) -> list[dict[str, Any]] | None:
        try:
            contacts = directory.get_user(user_id, with_contacts=True).to_json()["contacts"]
        except DirectoryError:
            return None  # gone from OpsGenie, or OpsGenie unreachable: what the mirror holds is kept
        return None if contacts is None else list(contacts)

    return read
