"""Knobs of the OpsGenie simulator.

Every behaviour the OpsGenie documentation leaves open (marked UNCONFIRMED in the contract notes) is a
knob here, so a test can run the bridge against either answer. Defaults pick the most likely answer.

Defaults at a glance:

- ``api_keys``: ``{"sim-key": all four rights}``; rights are ``read``, ``create_update``, ``delete``
  and ``configuration``.
- ``region``: ``"us"``. ``key_regions`` maps a key to the region it was issued in; a key from the other
  region is refused with 401, as the real API refuses a key sent to the wrong region's host.
- ``rate_limits``: ``configuration`` 100/s and 6000/min, ``search`` 50/s and 3000/min. The real
  numbers are plan-dependent and unpublished; these are generous so that ordinary test suites are
  never throttled. Lower them to exercise back-off. Every answer within the limits carries
  ``X-RateLimit-State: OK``; a 429 carries ``THROTTLED``, ``X-RateLimit-Reason`` (the domain) and
  ``X-RateLimit-Period-In-Sec`` (1 or 60: the window that was full), and ``Retry-After`` when
  ``retry_after_header`` is on.
- ``request_limits_status``: 200 answers ``GET /v2/request-limits/`` with ``rate_limits``; 403 refuses it
  as OpsGenie refuses a team key ("Team API Keys are not authorized"), 404 as an account without the
  endpoint, 401 as a key that may not read it at all. The limits are enforced all the same.
- ``duplicate_user_status`` / ``duplicate_team_status``: 409 (422 is the alternative).
- ``delete_referenced_user``: ``"allow"`` (memberships are removed); ``"428"`` refuses while the user
  is in a team.
- ``owner_protection_status``: 403 for deleting or demoting the account owner (422 is the alternative).
- ``protected_owners``: ``"account"`` (only the account owner is protected); ``"all"`` refuses, the same way,
  deleting or demoting any user holding the Owner role (the docs: admins manage all users "except owners").
- ``team_patch_members``: ``"replace"``; ``add_existing_member``: ``"ok"``;
  ``remove_missing_member``: ``"404"``; ``unknown_team_member_status``: 422 (team create/patch bodies).
- ``users_max_limit``: 100 with ``users_over_max_limit`` ``"clamp"`` (``"422"`` refuses instead).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from scim_bridge.simulator.knobs import apply_changes
from scim_bridge.simulator.knobs import at_least
from scim_bridge.simulator.knobs import check_knobs
from scim_bridge.simulator.knobs import choice
from scim_bridge.simulator.knobs import convert_scalar
from scim_bridge.simulator.knobs import fraction

RIGHTS: frozenset[str] = frozenset({"read", "create_update", "delete", "configuration"})
"""Access rights an API key can hold (API Key Management in OpsGenie)."""

REGIONS = ("us", "eu")
DOMAINS = ("configuration", "search")

_CLI_RATE_RE = re.compile(r"^([a-z_]+)=(\d+)/(\d+)$")


@dataclass(frozen=True)
class RateLimit:
    """Token-bucket sizes of one rate-limit domain: both windows are checked on every call."""

    per_second: int
    per_minute: int

    def to_dict(self) -> dict[str, int]:
        return {"per_second": self.per_second, "per_minute": self.per_minute}


def _default_keys() -> dict[str, frozenset[str]]:
    return {"sim-key": RIGHTS}


def _default_limits() -> dict[str, RateLimit]:
    return {
        "configuration": RateLimit(per_second=100, per_minute=6000),
        "search": RateLimit(per_second=50, per_minute=3000),
    }


@dataclass
class SimulatorConfig:
    """All knobs of the simulator. Mutable: ``PATCH /__sim/config`` changes them on a live server."""

    api_keys: dict[str, frozenset[str]] = field(default_factory=_default_keys)
    key_regions: dict[str, str] = field(default_factory=dict)
    region: str = choice(*REGIONS)
    seed: str | None = None

    latency_ms: int = at_least(0)
    latency_jitter_ms: int = at_least(0)
    slow_rate: float = fraction()
    slow_ms: int = at_least(0, 2000)
    fail_rate: float = fraction()
    fail_after_write_rate: float = fraction()
    drop_rate: float = fraction()

    rate_limits: dict[str, RateLimit] = field(default_factory=_default_limits)
    rate_limit_enabled: bool = True
    retry_after_header: bool = False
    request_limits_status: int = choice(200, 401, 403, 404)

    duplicate_user_status: int = choice(409, 422)
    duplicate_team_status: int = choice(409, 422)
    delete_referenced_user: str = choice("allow", "428")
    owner_protection_status: int = choice(403, 422)
    protected_owners: str = choice("account", "all")
    default_email_contact: bool = True
    allow_username_change: bool = True
    team_patch_members: str = choice("replace", "merge")
    add_existing_member: str = choice("ok", "409")
    remove_missing_member: str = choice("404", "ok")
    unknown_team_member_status: int = choice(422, 404)
    list_builtin_roles: bool = False
    users_max_limit: int = at_least(1, 100)
    users_over_max_limit: str = choice("clamp", "422")
    default_time_zone: str = "America/New_York"
    default_locale: str = "en_US"
    call_log_max: int = at_least(1, 100_000)

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ validation and (de)serialisation

    def validate(self) -> None:
        """Raise ValueError when a knob holds an unsupported value."""
        check_knobs(self)
        for key, rights in self.api_keys.items():
            if not key or any(ch.isspace() for ch in key):
                raise ValueError(f"invalid API key {key!r}: it must be non-empty without whitespace")
            unknown = set(rights) - RIGHTS
            if unknown:
                raise ValueError(f"unknown rights {sorted(unknown)} for key {key!r}; use {sorted(RIGHTS)}")
        for key, region in self.key_regions.items():
            if region not in REGIONS:
                raise ValueError(f"key_regions[{key!r}] must be one of {list(REGIONS)}")
        for domain, limit in self.rate_limits.items():
            if domain not in DOMAINS:
                raise ValueError(f"unknown rate-limit domain {domain!r}; use one of {list(DOMAINS)}")
            if limit.per_second < 1 or limit.per_minute < 1:
                raise ValueError(f"rate limits of {domain!r} must be positive")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view of every knob (``GET /__sim/config``)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "api_keys":
                value = {key: sorted(rights) for key, rights in value.items()}
            elif f.name == "rate_limits":
                value = {domain: limit.to_dict() for domain, limit in value.items()}
            elif isinstance(value, dict):
                value = dict(value)
            out[f.name] = value
        return out

    def apply_changes(self, changes: Mapping[str, Any]) -> None:
        """Change knobs from a JSON object; all-or-nothing, ValueError on any bad name or value."""
        apply_changes(self, changes, _convert)

    @classmethod
    def from_cli(
        cls,
        api_key: str,
        latency_ms: int | None = None,
        rate_limits: list[str] | None = None,
        fail_rate: float | None = None,
        seed: str | None = None,
    ) -> SimulatorConfig:
        """Build a config from ``scim-bridge simulator`` options.

        ``rate_limits`` items look like ``configuration=20/600`` (per second / per minute).
        """
        if not api_key or any(ch.isspace() for ch in api_key):
            raise ValueError("--api-key must be a non-empty value without whitespace")
        if latency_ms is not None and latency_ms < 0:
            raise ValueError(f"--latency-ms must be >= 0, got {latency_ms}")
        if fail_rate is not None and not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"--fail-rate must be between 0 and 1, got {fail_rate}")
        limits = _default_limits()
        for item in rate_limits or []:
            domain, limit = parse_rate_limit(item)
            limits[domain] = limit
        return cls(
            api_keys={api_key: RIGHTS},
            latency_ms=latency_ms or 0,
            rate_limits=limits,
            fail_rate=fail_rate or 0.0,
            seed=seed,
        )


def parse_rate_limit(text: str) -> tuple[str, RateLimit]:
    """Parse ``DOMAIN=PER_SEC/PER_MIN`` (for example ``search=5/100``)."""
    match = _CLI_RATE_RE.match(text.strip())
    if not match:
        raise ValueError(f"--rate-limit {text!r} must look like DOMAIN=PER_SEC/PER_MIN, e.g. search=5/100")
    domain, per_sec, per_min = match.group(1), int(match.group(2)), int(match.group(3))
    if domain not in DOMAINS:
        raise ValueError(f"--rate-limit domain {domain!r} is unknown; use one of {list(DOMAINS)}")
    if per_sec < 1 or per_min < 1:
        raise ValueError(f"--rate-limit {text!r}: limits must be positive")
    return domain, RateLimit(per_second=per_sec, per_minute=per_min)


def _convert(name: str, raw: Any, current: Any) -> Any:
    """Turn a JSON value into the knob's Python type."""
    if name == "api_keys":
        if not isinstance(raw, dict):
            raise ValueError("api_keys must be an object of key -> list of rights")
        return {str(k): frozenset(str(r) for r in v) for k, v in raw.items()}
    if name == "rate_limits":
        if not isinstance(raw, dict):
            raise ValueError("rate_limits must be an object of domain -> {per_second, per_minute}")
        limits = dict(current)
        for domain, value in raw.items():
            if isinstance(value, str):
                limits[domain] = parse_rate_limit(f"{domain}={value}")[1]
            elif isinstance(value, dict):
                limits[domain] = RateLimit(int(value["per_second"]), int(value["per_minute"]))
            else:
                raise ValueError(f"rate_limits[{domain!r}] must be an object or 'PER_SEC/PER_MIN'")
        return limits
    if name == "key_regions":
        if not isinstance(raw, dict):
            raise ValueError("key_regions must be an object of key -> region")
        return {str(k): str(v) for k, v in raw.items()}
    return convert_scalar(name, raw, current)
