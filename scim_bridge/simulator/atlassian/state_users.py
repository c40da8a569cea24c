"""Accounts: the org directory search, invitations, product roles, suspend/restore/remove and Jira user search."""

from __future__ import annotations

import re
from typing import Any

from scim_bridge.simulator.atlassian.errors import ApiError
from scim_bridge.simulator.atlassian.errors import bad_request
from scim_bridge.simulator.atlassian.models import PRODUCT_ROLES
from scim_bridge.simulator.atlassian.models import Account
from scim_bridge.simulator.atlassian.state_base import StateBase

MAX_INVITE_EMAILS = 25
RESOURCE_PRODUCTS = ("jira-servicedesk", "jira-software", "jira-core", "jira", "confluence", "platform")
"""Products whose site ARI ``ari:cloud:<product>::site/<siteId>`` names a resource of this site."""
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def invalid_resource() -> ApiError:
    """The documented answer to a resource the admin API does not accept (ID-8887)."""
    return ApiError(400, "Cloud Resource is invalid", code="ADMIN-UAM-400-5", title="Empty/Invalid Resource")


class UsersMixin(StateBase):
    # ------------------------------------------------------------------ accounts

    def add_account(
        self,
        email: str,
        name: str | None = None,
        *,
        product_roles: list[tuple[str, str]] | None = None,
        account_id: str | None = None,
        status: str = "active",
        custom_role_id: str | None = None,
    ) -> Account:
        """A new account (no checks beyond a free e-mail and id: callers validate)."""
        with self._lock:
            email = email.strip().lower()
            if self._by_email(email) is not None:
                raise ApiError(409, f"An account with the e-mail {email} exists")
            account_id = account_id or self.new_account_id()
            if account_id in self._accounts:
                raise ApiError(409, f"An account with the id {account_id} exists")
            display = name or email.split("@", 1)[0].replace(".", " ").title()
            account = Account(account_id, email, display, status, list(product_roles or []), custom_role_id)
            self._accounts[account_id] = account
            return account

    def find_account(self, ref: str) -> Account | None:
        """An account by e-mail (when ``ref`` has an @) or by id, removed ones included."""
        with self._lock:
            return self._by_email(ref) if "@" in ref else self._account(ref, removed_ok=True)

    def check_permission_rule(self, role: Any, resource: Any) -> tuple[str, str]:
        """A validated ``(role, resource)``: unknown roles and foreign or invalid resources are 400."""
        if not isinstance(role, str) or role not in PRODUCT_ROLES:
            raise ApiError(400, f"Role {role!r} is not valid", code="ADMIN-UAM-400-1", title="Invalid Role")
        if role == "atlassian/org-admin":
            return role, ""
        if not isinstance(resource, str) or resource not in self.valid_resources():
            raise invalid_resource()
        return role, resource

    def valid_resources(self) -> set[str]:
        return {f"ari:cloud:{product}::site/{self.config.site_id}" for product in RESOURCE_PRODUCTS}

    # ------------------------------------------------------------------ org directory (admin API)

    def directory_search(self, term: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int | None]:
        """Accounts of the org matching ``term`` in e-mail, name or nickname; ``(page, next offset)``."""
        wanted = term.strip().lower()
        with self._lock:
            found = [
                a
                for a in self._accounts.values()
                if a.status != "removed"
                and (not wanted or wanted in a.email or wanted in a.name.lower() or wanted in a.nickname.lower())
            ]
            page = found[offset : offset + limit]
            more = offset + limit < len(found)
            return [a.directory_json() for a in page], offset + limit if more else None

    def invite(self, emails: list[str], rules: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """Invite each e-mail with the permission rules: new accounts are created active, existing
        ones are not duplicated (they get the rules' roles; a removed one comes back)."""
        if not emails or len(emails) > MAX_INVITE_EMAILS:
            raise bad_request(f"emails must hold 1 to {MAX_INVITE_EMAILS} addresses", code="ADMIN-400")
        bad = [e for e in emails if not _EMAIL_RE.match(e)]
        if bad:
            raise bad_request(f"Invalid e-mail address {bad[0]!r}", code="ADMIN-400")
        results: list[dict[str, Any]] = []
        with self._lock:
            for email in dict.fromkeys(e.strip().lower() for e in emails):
                account = self._by_email(email)
                outcome = "EXISTING"
                if account is None:
                    account, outcome = self.add_account(email), "INVITED"
                elif account.status == "removed":
                    account.status, outcome = "active", "INVITED"
                for rule in rules:
                    if rule not in account.product_roles:
                        account.product_roles.append(rule)
                item: dict[str, Any] = {"email": email, "status": outcome}
                if self.config.invite_returns_account_id:
                    item["accountId"] = account.account_id
                results.append(item)
        return results

    def assign_role(self, account_id: str, role: Any, resource: Any) -> None:
        with self._lock:
            account = self._admin_account(account_id)
            rule = self.check_permission_rule(role, resource)
            if rule not in account.product_roles:
                account.product_roles.append(rule)

    def revoke_role(self, account_id: str, role: Any, resource: Any) -> None:
        """Revoking a role the account does not hold is accepted (nothing changes)."""
        with self._lock:
            account = self._admin_account(account_id)
            rule = self.check_permission_rule(role, resource)
            if rule in account.product_roles:
                account.product_roles.remove(rule)

    def _not_the_caller(self, account: Account, action: str) -> None:
        if account.account_id == self._caller().account_id:
            raise ApiError(403, f"You cannot {action} your own account", code="ADMIN-403")

    def suspend(self, account_id: str) -> str:
        """Access suspended; roles and memberships are kept for the restore."""
        with self._lock:
            account = self._admin_account(account_id)
            self._not_the_caller(account, "suspend")
            account.status = "suspended"
            return f"User {account_id} access suspended"

    def restore(self, account_id: str) -> str:
        with self._lock:
            account = self._admin_account(account_id)
            account.status = "active"
            return f"User {account_id} access restored"

    def remove(self, account_id: str) -> None:
        """Out of the org: product access is gone, team memberships stay (contract notes 9.8)."""
        with self._lock:
            account = self._admin_account(account_id)
            self._not_the_caller(account, "remove")
            account.status = "removed"
            account.product_roles.clear()

    # ------------------------------------------------------------------ Jira (site, Basic)

    def jira_search(self, query: str | None, account_id: str | None, start: int, limit: int) -> list[Account]:
        """Active accounts whose e-mail or a word of the display name starts with ``query``."""
        wanted = (query or "").strip().lower()
        statuses = ("active", "suspended") if self.config.jira_search_includes_suspended else ("active",)
        with self._lock:
            found = [
                a
                for a in self._accounts.values()
                if a.status in statuses
                and (account_id is None or a.account_id == account_id)
                and (not wanted or a.email.startswith(wanted) or _word_prefix(a.name, wanted))
            ]
            return found[start : start + limit]

    def jira_user(self, account_id: str) -> Account | None:
        with self._lock:
            return self._account(account_id)


def _word_prefix(name: str, wanted: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(wanted) or any(word.startswith(wanted) for word in lowered.split())
