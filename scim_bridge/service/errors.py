"""Translate upstream-neutral directory errors into SCIM errors, in one place."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from scim_bridge.directory import errors as d
from scim_bridge.scim import errors as s


def _quote(exc: d.DirectoryError) -> str:
    text = exc.message
    if exc.field_errors:
        text += " (" + "; ".join(f"{k}: {v}" for k, v in sorted(exc.field_errors.items())) + ")"
    if exc.request_id:
        text += f" [upstream requestId {exc.request_id}]"
    return text


_CREDENTIALS = {
    "OpsGenie": "API key; check OPSGENIE_API_KEY and OPSGENIE_API_URL",
    "Atlassian": "credentials; check ATLASSIAN_EMAIL, ATLASSIAN_API_TOKEN, ATLASSIAN_ADMIN_API_KEY and the URLs",
}


# A directory error -> the SCIM error answered for it, and what its message says first ({name}: the upstream).
_ANSWERS: tuple[tuple[type[d.DirectoryError], type[s.ScimError], str], ...] = (
    (d.NotFoundError, s.NotFound, "Not found upstream"),
    (d.ConflictError, s.Uniqueness, "Already exists upstream"),
    (d.ReadOnlyError, s.Mutability, "Read-only upstream"),
    (d.InvalidError, s.InvalidValue, "Rejected by {name}"),
    (d.ReferencedError, s.Conflict, "Still referenced in {name}"),
    (d.ForbiddenError, s.Forbidden, "{name} refused the operation"),
)


def to_scim_error(exc: d.DirectoryError) -> s.ScimError:
    name = exc.upstream
    for kind, answer, says in _ANSWERS:
        if isinstance(exc, kind):
            return answer(f"{says.format(name=name)}: {_quote(exc)}")
    if isinstance(exc, d.AuthenticationError):
        return s.BadGateway(f"{name} rejected the bridge's {_CREDENTIALS.get(name, 'credentials')} "
                            f"(run 'scim-bridge check'). {_quote(exc)}")
    if isinstance(exc, d.ThrottledError):
        return s.RateLimited(
            f"The {name} rate limit is exhausted; retry later. {_quote(exc)}",
            retry_after=math.ceil(exc.retry_after),
        )
    if isinstance(exc, d.UnavailableError):
        return s.ServiceUnavailable(
            f"{name} is unavailable; retry later. {_quote(exc)}", retry_after=math.ceil(exc.retry_after)
        )
    return s.BadGateway(f"Unexpected upstream error: {_quote(exc)}")


@contextmanager
def upstream_errors() -> Iterator[None]:
    """Re-raise any DirectoryError raised inside the block as the matching ScimError."""
    try:
        yield
    except d.DirectoryError as exc:
        raise to_scim_error(exc) from exc


OWNER_RULE = ("The Owner role is managed in OpsGenie only: the bridge never grants it, and never demotes, "
              "suspends or deletes an Owner account")


def owner_refused(who: str = "") -> s.Forbidden:
    """The one answer to any change the Owner rule forbids (users, role groups, DELETE, deactivation): 403."""
    return s.Forbidden(f"{who}: {OWNER_RULE}" if who else OWNER_RULE)


# What fixes each expected failure, per upstream (SCIM_BRIDGE_UPSTREAM): (who answered, credentials fix,
# rights fix, reachability fix).
_FIXES = {
    "opsgenie": (
        "OpsGenie",
        "set OPSGENIE_API_KEY to a global API key (Settings → API key management) of the account "
        "OPSGENIE_API_URL points to (EU accounts: https://api.eu.opsgenie.com); 'scim-bridge check' tells which",
        "give the key Read, Create and Update, Delete and Configuration Access; 'scim-bridge check' lists what "
        "is missing",
        "check OPSGENIE_API_URL and that this host can reach it (DNS, proxy, firewall)",
    ),
    "jsm": (
        "Atlassian",
        "check ATLASSIAN_EMAIL with ATLASSIAN_API_TOKEN (an API token of that account) and "
        "ATLASSIAN_ADMIN_API_KEY (an organization API key)",
        "give the ATLASSIAN_EMAIL account the Operations admin role and a JSM licence",
        "check ATLASSIAN_API_URL and ATLASSIAN_SITE_URL and that this host can reach them (DNS, proxy, firewall)",
    ),
}


def explain_failure(exc: d.DirectoryError, upstream: str = "opsgenie") -> str:
    """One line saying why the upstream could not be used and what fixes it, for the log and the CLI: an
    expected configuration error (wrong key, missing right, unreachable host) is not a crash."""
    said = _quote(exc)
    name, credentials, rights, reach = _FIXES.get(upstream, _FIXES["opsgenie"])
    if isinstance(exc, d.AuthenticationError):
        key = "API key" if upstream == "opsgenie" else "credentials"
        return f"{name} rejected the {key} ({said}); fix: {credentials}"
    if isinstance(exc, d.ForbiddenError):
        return f"the {name} credentials lack a right ({said}); fix: {rights}"
    if isinstance(exc, d.UnavailableError) and exc.status is None:
        return f"cannot reach {name} ({said}); fix: {reach}"
    if isinstance(exc, d.UnavailableError | d.ThrottledError):
        return f"{name} is unavailable or busy ({said}); the bridge tries again at the next sync"
    return said
