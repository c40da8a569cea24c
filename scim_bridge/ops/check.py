"""``scim-bridge check``: can this configuration work? One plain-words line per check.

The OpsGenie checks never change anything upstream. Rights are probed with requests that OpsGenie
authorises before it looks at the target, aimed at ids that cannot exist:

- Read and Configuration Access: ``GET /v2/users?limit=1`` (a list of one user). When it is refused
  with 403, ``GET /v2/request-limits/`` (which needs Read alone) tells a missing Configuration Access
  from a missing Read.
- Create and Update: ``PATCH /v2/users/{random UUID}`` with an empty body. A key with the right gets
  404 (no such user) and a key without it gets 403. The id is a fresh random UUID, so it names no
  user, and the body is empty, so even a user that did exist would be left as it is.
- Delete: ``DELETE /v2/teams/{random UUID}?identifierType=id``: 404 with the right, 403 without. A
  fresh random UUID names no team, so nothing can be deleted.

Creating and deleting a throw-away user would prove the same rights, but it sends an invitation
e-mail, may take a paid seat, and leaves a user behind when the delete fails; the probes above
do none of that.

A key sent to the other region's host is refused with 401, exactly like a wrong key. When the
configured host is one of OpsGenie's two regional hosts (or ``other_region_url`` is given), a
refused key is tried once against the other region, which tells the two cases apart. Any other
URL (a proxy, the simulator) is a "custom endpoint", named the same way as on the console.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scim_bridge.config import ALL_SCOPES
from scim_bridge.config import REGION_URLS
from scim_bridge.config import ConfigError
from scim_bridge.config import Settings
from scim_bridge.config import api_region
from scim_bridge.config import format_scopes
from scim_bridge.config import insecure_upstream_urls
from scim_bridge.config import region_label
from scim_bridge.directory.models import BUILTIN_ROLES
from scim_bridge.opsgenie.calibration import RETRY_EVERY
from scim_bridge.opsgenie.errors import OpsGenieError
from scim_bridge.opsgenie.errors import TransportError
from scim_bridge.opsgenie.ratelimit import CONFIGURATION
from scim_bridge.opsgenie.ratelimit import FALLBACK_LIMITS
from scim_bridge.opsgenie.ratelimit import SEARCH
from scim_bridge.opsgenie.ratelimit import UnlimitedBudget
from scim_bridge.opsgenie.ratelimit import parse_request_limits
from scim_bridge.opsgenie.retry import RetryPolicy
from scim_bridge.opsgenie.transport import Transport
from scim_bridge.ratewindow import RateLimit
from scim_bridge.ratewindow import format_limits

OK = "OK"
WARN = "WARN"
FAIL = "FAIL"
SKIP = "SKIP"

KEY_HELP = ("create a key in OpsGenie under Settings > App settings > API key management with Read, "
            "Create and Update, Delete and Configuration Access, and put it in OPSGENIE_API_KEY "
            "(or in the file named by OPSGENIE_API_KEY_FILE)")


@dataclass(frozen=True)
class CheckResult:
    """One line of the report. ``FAIL`` and ``SKIP`` mean the bridge cannot work yet."""

    name: str
    status: str
    message: str
    fix: str = ""

    @property
    def passed(self) -> bool:
        return self.status in (OK, WARN)

    def line(self) -> str:
        text = f"{self.status:<4} {self.name}: {self.message}"
        if not self.fix:
            return text
        return f"{text.rstrip('.')}. Fix: {self.fix}" + ("" if self.fix.endswith(".") else ".")


@dataclass(frozen=True)
class Answer:
    """What OpsGenie answered one probe: ``status`` is None when no HTTP answer came back."""

    status: int | None
    message: str = ""
    data: Any = None


def run_checks(
    environ: Mapping[str, str],
    *,
    other_region_url: str | None = None,
    migrate: bool = True,
    timeout: float = 10.0,
) -> list[CheckResult]:
    """Every check, in order; later checks are skipped when what they need has failed."""
    try:
        settings = Settings.from_env(environ, require_key=False)
    except ConfigError as exc:
        return [
            CheckResult("configuration", FAIL, str(exc), "correct that variable and run the check again"),
            CheckResult("remaining checks", SKIP, "not run until the configuration is valid"),
        ]
    results = [_configuration(settings), _upstream_transport(settings), _secret_files(environ), _tokens(settings),
               _database(settings, migrate=migrate)]
    if settings.upstream == "jsm":
        from scim_bridge.ops.check_jsm import jsm_checks

        return results + jsm_checks(environ, timeout=timeout)
    results += _opsgenie(settings, other_region_url=other_region_url, timeout=timeout)
    return results


def all_passed(results: list[CheckResult]) -> bool:
    return all(r.passed for r in results)


# --- local checks ---------------------------------------------------------------------------------
def _configuration(settings: Settings) -> CheckResult:
    aliases = len(settings.role_group_aliases)
    upstream = (f"OpsGenie API at {settings.opsgenie_api_url} ({region_label(settings.opsgenie_api_url)})"
                if settings.atlassian is None else
                f"JSM Operations (Atlassian API at {settings.atlassian.api_url}, site {settings.atlassian.site_url}, "
                f"org {settings.atlassian.org_id}, account scope {settings.atlassian.account_scope})")
    loop = (f"sync loop: a tick every {settings.sync_interval:g}s, a full refresh every {settings.sync_cycle:g}s."
            if settings.sync_interval > 0 else "sync loop off (syncs on demand).")
    return CheckResult(
        "configuration",
        OK,
        f"settings are valid: {upstream}, deactivation={settings.deactivation}, "
        f"suspended role {settings.suspended_role!r}, "
        f"default role {settings.default_role!r}, {aliases} role-group alias{'es' if aliases != 1 else ''}, "
        f"{reads_label(settings)}; " + loop,
    )


def reads_label(settings: Settings) -> str:
    """How single reads are answered (README "Freshness"), for ``check`` and the demo banner."""
    if settings.read_through:
        return "reads through to the upstream (SCIM_BRIDGE_READ_THROUGH=true)"
    return (f"reads from the mirror, a copy older than {settings.freshness_window:g}s read again "
            "(SCIM_BRIDGE_FRESHNESS_WINDOW; SCIM_BRIDGE_READ_THROUGH=true reads every time)")


def _upstream_transport(settings: Settings) -> CheckResult:
    """https, or plain http on this machine; plain http elsewhere only when explicitly allowed (a warning)."""
    insecure = insecure_upstream_urls(settings)
    if not insecure and settings.upstream_url_schemes() == {"https"}:
        return CheckResult("upstream transport", OK, "the upstream credentials travel over https.")
    if not insecure:
        return CheckResult("upstream transport", OK, "plain http to a server on this machine (loopback): the "
                           "upstream credentials never leave it.")
    hosts = ", ".join(f"{var} ({urlsplit(url).hostname})" for var, url in insecure.items())
    return CheckResult(
        "upstream transport", WARN,
        f"plain http to {hosts}, allowed by SCIM_BRIDGE_ALLOW_INSECURE_UPSTREAM: the upstream credentials "
        "travel in clear on that path.",
        "use https, or make sure nothing between the bridge and that host can read the traffic",
    )


def _secret_files(environ: Mapping[str, str]) -> CheckResult:
    """The files named by the ``*_FILE`` settings hold secrets: only their owner should read them."""
    named = {var: environ[var].strip() for var in sorted(environ)
             if var.endswith("_FILE") and var.startswith(("SCIM_", "OPSGENIE_", "ATLASSIAN_")) and environ[var].strip()}
    exposed = []
    for var, path in named.items():
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            continue  # an unreadable file already failed the configuration check
        if mode & 0o077:
            exposed.append(f"{var} ({path}, mode {mode:04o})")
    if exposed:
        return CheckResult("secret files", WARN, "readable by group or others: " + "; ".join(exposed) + ".",
                           "chmod 600 (or 400) each file, owned by the user the bridge runs as")
    if not named:
        return CheckResult("secret files", OK, "no secret is read from a file (*_FILE settings).")
    return CheckResult("secret files", OK, f"{len(named)} secret file{'s' if len(named) != 1 else ''}, "
                       "readable by their owner only.")


def _named(name: str, scopes: frozenset[str]) -> str:
    """A credential's name, with its scopes when it lacks some ("okta: read+write")."""
    return name if scopes == ALL_SCOPES else f"{name}: {format_scopes(scopes)}"


def _tokens(settings: Settings) -> CheckResult:
    """Some way in for identity providers: bearer tokens, OAuth clients (client-credentials grant), or both."""
    if not settings.tokens and not settings.oauth_clients:
        return CheckResult(
            "scim tokens",
            FAIL,
            "no SCIM bearer token or OAuth client is configured, so every identity provider request would get 401.",
            "set SCIM_BEARER_TOKEN (or SCIM_BEARER_TOKEN_FILE), or run `scim-bridge token create NAME` and "
            "add the printed entry to SCIM_BEARER_TOKEN_HASHES, or configure SCIM_BRIDGE_OAUTH_CLIENTS",
        )
    ways = []
    if settings.tokens:
        ways.append(f"{len(settings.tokens)} bearer token{'s' if len(settings.tokens) != 1 else ''} accepted "
                    f"({', '.join(_named(t.name, t.scopes) for t in settings.tokens)})")
    if settings.oauth_clients:
        count = len(settings.oauth_clients)
        ways.append(f"{count} OAuth client{'s' if count != 1 else ''} may obtain tokens at /oauth/token "
                    f"({', '.join(_named(c.name, c.scopes) for c in settings.oauth_clients)})")
    return CheckResult("scim tokens", OK, "; ".join(ways) + ".")


def _database(settings: Settings, *, migrate: bool) -> CheckResult:
    from scim_bridge.store.migrate import head_revision
    from scim_bridge.store.store import Store

    url = settings.database_url
    scheme = url.split(":", 1)[0]
    store = None
    try:
        store = Store.from_url(url)
        before = store.schema_revision()
        head = head_revision()
        if before != head and migrate:
            store.upgrade()
        elif before != head:
            return CheckResult(
                "database", WARN,
                f"{store.dialect} is reachable; its schema is at {before or 'no revision'} and the newest is "
                f"{head}. `scim-bridge serve` applies the migrations at start (or run `scim-bridge db upgrade`).",
            )
        if not store.healthy():
            raise RuntimeError("the database does not answer SELECT 1")
        done = f"migrated from {before or 'an empty database'} to {head}" if before != head else f"schema at {head}"
        return CheckResult("database", OK, f"{store.dialect} is reachable, {done}.")
    except Exception as exc:  # any failure to open or migrate is reported, never raised
        detail = _redact(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", url)
        return CheckResult(
            "database", FAIL, f"cannot open or migrate SCIM_BRIDGE_DATABASE_URL ({scheme}): {detail}",
            "check the URL, the credentials and that the database server is reachable from here; for "
            "SQLite, that the directory exists and is writable by this user",
        )
    finally:
        if store is not None:
            store.close()


def _redact(text: str, url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password
    except Exception:  # an unparsable URL has no password to hide
        password = None
    return text.replace(str(password), "***") if password else text


# --- OpsGenie checks -----------------------------------------------------------------------------
def _opsgenie(settings: Settings, *, other_region_url: str | None, timeout: float) -> list[CheckResult]:
    skipped = ["opsgenie read", "opsgenie write", "opsgenie delete", "opsgenie roles", "opsgenie rate limits"]
    url = settings.opsgenie_api_url
    if not settings.opsgenie_api_key:
        return [
            CheckResult("opsgenie key", FAIL, "OPSGENIE_API_KEY (or OPSGENIE_API_KEY_FILE) is not set.", KEY_HELP),
            *(CheckResult(name, SKIP, "not checked without an API key") for name in skipped),
        ]
    http = _transport(settings.opsgenie_api_key, url, timeout)
    try:
        first = _ask(http, "GET", "/v2/users", params={"limit": 1}, domain=SEARCH)
        key = _key_result(first, settings, other_region_url, timeout)
        if key.status != OK:
            reason = "OpsGenie was not reached" if first.status is None else "the key was not accepted"
            return [key, *(CheckResult(name, SKIP, f"not checked: {reason}") for name in skipped)]
        results = [key]
        limits = _ask(http, "GET", "/v2/request-limits/")  # needs Read alone: serves two checks
        read = _read_result(first, limits)
        results.append(read)
        results.append(_write_result(http, read))
        results.append(_delete_result(http, read))
        results.append(_roles_result(http, settings, read))
        results.append(_limits_result(limits, settings))
        return results
    finally:
        http.close()


def _transport(api_key: str, url: str, timeout: float) -> Transport:
    return Transport(
        api_key,
        base_url=url,
        session=None,
        timeout=(min(3.05, timeout), timeout),
        retry=RetryPolicy(max_attempts=2, base_delay=0.2, total_budget=timeout),
        budget=UnlimitedBudget(),
        on_call=None,
        pool_size=2,
    )


def _ask(http: Transport, method: str, path: str, *, params: Mapping[str, str | int | None] | None = None,
         body: Any = None, domain: str = CONFIGURATION) -> Answer:
    try:
        data = http.request(method, path, params=params, body=body, domain=domain)
    except TransportError as exc:
        return Answer(None, exc.message)
    except OpsGenieError as exc:
        return Answer(exc.status, exc.message)
    return Answer(200, "", data)


def _key_result(first: Answer, settings: Settings, other_region_url: str | None, timeout: float) -> CheckResult:
    url = settings.opsgenie_api_url
    if first.status is None:
        return CheckResult(
            "opsgenie key", FAIL, f"cannot reach OpsGenie at {url}: {first.message}.",
            "check OPSGENIE_API_URL and that this host may open HTTPS connections to it (proxy, firewall, "
            "Kubernetes NetworkPolicy egress)",
        )
    if first.status == 401:
        return _refused_key(settings, other_region_url, timeout, first.message)
    if first.status in (200, 403):
        return CheckResult("opsgenie key", OK, f"accepted by {url} ({region_label(url)}).")
    return CheckResult(
        "opsgenie key", FAIL, f"OpsGenie at {url} answered {first.status} ({first.message}).",
        "wait a minute and run the check again; if the answer stays the same, OpsGenie is having trouble",
    )


def _refused_key(settings: Settings, other_region_url: str | None, timeout: float, message: str) -> CheckResult:
    url = settings.opsgenie_api_url
    region = api_region(url)
    # The official other region, when the configured URL is one of OpsGenie's two hosts.
    official_name, official_other = next(((n, u) for n, u in REGION_URLS.items() if region and n != region), ("", ""))
    other = (other_region_url or "").rstrip("/") or official_other
    # Name the other region only when it is known: the other URL is official, or the configured one is.
    other_name = (api_region(other) if other else None) or official_name or None
    belongs = f"the {other_name} region" if other_name else f"the region {other} serves"
    if other and other != url:
        http = _transport(settings.opsgenie_api_key, other, timeout)
        try:
            there = _ask(http, "GET", "/v2/users", params={"limit": 1}, domain=SEARCH)
        finally:
            http.close()
        if there.status is not None and there.status != 401:
            return CheckResult(
                "opsgenie key", FAIL,
                f"{url} refused the API key (401) but {other} accepts it: the key belongs to {belongs}.",
                f"set OPSGENIE_API_URL={other}",
            )
        if there.status == 401:
            return CheckResult(
                "opsgenie key", FAIL,
                f"OpsGenie refused the API key in both regions ({url} and {other} answered 401): the key is "
                "wrong, was deleted or is disabled.",
                KEY_HELP,
            )
    if official_other:
        where = f"the key may belong to the {official_name} region: set OPSGENIE_API_URL={official_other}"
    else:
        where = ("a key works only in the region it was created in: OpsGenie's API hosts are "
                 + " and ".join(f"{u} ({name})" for name, u in REGION_URLS.items())
                 + f"; {url} is neither (a proxy or a test server), so check which one it forwards to")
    return CheckResult(
        "opsgenie key", FAIL, f"OpsGenie at {url} refused the API key (401 {message}).",
        "check OPSGENIE_API_KEY: the key may be mistyped, deleted or disabled (copy it again from Settings > "
        f"App settings > API key management). If the key is right, {where}",
    )


def _read_result(first: Answer, limits: Answer) -> CheckResult:
    if first.status == 200:
        total = first.data.get("totalCount") if isinstance(first.data, dict) else None
        seen = f"{total} users visible" if isinstance(total, int) else "users are readable"
        return CheckResult("opsgenie read", OK, f"Read and Configuration Access granted ({seen}).")
    if limits.status == 200:
        return CheckResult(
            "opsgenie read", FAIL,
            "the key may read but lacks Configuration Access: OpsGenie refused GET /v2/users with 403.",
            "in API key management, edit the key and tick Configuration Access (and Read, Create and Update, "
            "Delete)",
        )
    return CheckResult(
        "opsgenie read", FAIL,
        "the key lacks Read (or is a team key): OpsGenie refused GET /v2/users with 403.",
        "use a global key from API key management with Read, Create and Update, Delete and Configuration "
        "Access; team integration keys cannot manage users",
    )


def _missing_configuration(read: CheckResult) -> str:
    return "" if read.status == OK else " (Configuration Access is missing as well, which alone refuses it)"


def _write_result(http: Transport, read: CheckResult) -> CheckResult:
    probe = f"/v2/users/{uuid.uuid4()}"
    answer = _ask(http, "PATCH", probe, body={})
    if answer.status in (200, 400, 404, 422):
        return CheckResult(
            "opsgenie write", OK,
            f"Create and Update granted (an empty PATCH of a user id that cannot exist was answered "
            f"{answer.status}, not 403; nothing was changed).",
        )
    if answer.status == 403:
        return CheckResult(
            "opsgenie write", FAIL,
            "the key lacks Create and Update: OpsGenie refused a PATCH of a user with 403"
            f"{_missing_configuration(read)}. The bridge could read but not create or change anyone.",
            "in API key management, edit the key and tick Create and Update",
        )
    return _unexpected("opsgenie write", "PATCH /v2/users/{id}", answer)


def _delete_result(http: Transport, read: CheckResult) -> CheckResult:
    answer = _ask(http, "DELETE", f"/v2/teams/{uuid.uuid4()}", params={"identifierType": "id"})
    if answer.status in (200, 404):
        return CheckResult(
            "opsgenie delete", OK,
            f"Delete granted (deleting a team id that cannot exist was answered {answer.status}, not 403).",
        )
    if answer.status == 403:
        return CheckResult(
            "opsgenie delete", FAIL,
            "the key lacks Delete: OpsGenie refused a team delete with 403"
            f"{_missing_configuration(read)}. Removing team members, deleting groups and "
            "SCIM_BRIDGE_DEACTIVATION=delete would fail.",
            "in API key management, edit the key and tick Delete",
        )
    return _unexpected("opsgenie delete", "DELETE /v2/teams/{id}", answer)


def _unexpected(name: str, call: str, answer: Answer) -> CheckResult:
    what = "no answer" if answer.status is None else f"{answer.status} ({answer.message})"
    return CheckResult(name, FAIL, f"{call} got {what}, so the right could not be confirmed.",
                       "run the check again; if it persists, look at the OpsGenie status page")


def _roles_result(http: Transport, settings: Settings, read: CheckResult) -> CheckResult:
    if read.status != OK:
        return CheckResult("opsgenie roles", SKIP, "not checked: the key cannot read the configuration")
    answer = _ask(http, "GET", "/v2/roles")
    if answer.status != 200:
        return _unexpected("opsgenie roles", "GET /v2/roles", answer)
    custom = [str(r.get("name")) for r in answer.data.get("data") or [] if isinstance(r, dict) and r.get("name")]
    known = {name.lower() for name in (*BUILTIN_ROLES, *custom)}
    wanted = [("SCIM_BRIDGE_DEFAULT_ROLE", settings.default_role),
              ("SCIM_BRIDGE_SUSPENDED_ROLE", settings.suspended_role)]
    wanted += [(f"SCIM_BRIDGE_ROLE_GROUPS ({alias})", role) for alias, role in settings.role_group_aliases.items()]
    missing = [(var, role) for var, role in wanted if role.lower() not in known]
    if missing:
        names = "; ".join(f"{var} names {role!r}" for var, role in missing)
        return CheckResult(
            "opsgenie roles", FAIL, f"{names}, which OpsGenie does not have.",
            f"create the role in OpsGenie (Settings > Roles) or use one of: {', '.join([*BUILTIN_ROLES, *custom])}",
        )
    return CheckResult(
        "opsgenie roles", OK,
        f"the default, suspended and aliased roles exist ({len(custom)} custom role{'s' if len(custom) != 1 else ''}).",
    )


def _limits_result(answer: Answer, settings: Settings) -> CheckResult:
    """Which mode the rate budget will be in, and its figures."""
    limits = parse_request_limits(answer.data.get("data") if isinstance(answer.data, dict) else None)
    if answer.status == 200 and any(limits.values()):
        return CheckResult("opsgenie rate limits", OK, f"calibrated: the rate budget is sized from GET "
                           f"/v2/request-limits/: {format_limits(limits)}.")
    if answer.status not in (200, 401, 403, 404):
        return CheckResult(
            "opsgenie rate limits", WARN,
            f"GET /v2/request-limits/ answered {answer.status or 'nothing'}: the bridge starts on its fallback "
            f"limits ({format_limits(FALLBACK_LIMITS)}), learns from OpsGenie's answers meanwhile and asks again "
            f"every {RETRY_EVERY:g} s.")
    why = "lists no limits" if answer.status == 200 else f"answered {answer.status} (team keys and older accounts " \
        "cannot read the limits)"
    learned = _learned_limits(settings)
    now = (f"learned so far, shared by the replicas: {format_limits(learned)}" if learned else
           "nothing learned yet" if learned is not None else "each process learns on its own")
    return CheckResult(
        "opsgenie rate limits", OK,
        f"learning: GET /v2/request-limits/ {why}, so the rate budget learns the limits from OpsGenie's 429s and "
        f"X-RateLimit-* headers, starting from {format_limits(FALLBACK_LIMITS)}; {now}.")


def _learned_limits(settings: Settings) -> dict[str, tuple[RateLimit, ...]] | None:
    """The limits learned by the replicas sharing a PostgreSQL database; None where each process learns alone
    (SQLite) or the database cannot be read."""
    from scim_bridge.store.budget import learned_limits
    from scim_bridge.store.store import Store

    try:
        store = Store.from_url(settings.database_url)
    except Exception:  # the database check says what is wrong with it
        return None
    try:
        return learned_limits(store.engine) if store.dialect == "postgresql" else None
    except Exception:
        return None
    finally:
        store.close()
