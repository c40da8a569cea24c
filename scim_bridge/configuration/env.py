"""Reading settings from the environment: the typed readers every settings group uses, and ConfigError."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


def read_secret(env: Mapping[str, str], name: str) -> str:
    """Read NAME, or the file named by NAME_FILE (for container secrets)."""
    value = env.get(name, "").strip()
    file_var = f"{name}_FILE"
    path = env.get(file_var, "").strip()
    if path and not value:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{file_var} points to {path!r}, which cannot be read: {exc.strerror}") from None
    return value


def read_url(env: Mapping[str, str], name: str, default: str = "") -> str:
    """An http(s) URL without its trailing slash; ``default`` when unset ("" = not configured)."""
    url = (env.get(name, "").strip() or default).rstrip("/")
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http(s) URL, got {url!r}")
    return url


def read_name(env: Mapping[str, str], var: str, default: str) -> str:
    value = env.get(var, default).strip()
    if not value:
        raise ConfigError(f"{var} must not be empty")
    return value


def read_number(env: Mapping[str, str], var: str, default: float, *, minimum: float) -> float:
    raw = env.get(var)
    if raw is None or not raw.strip():
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{var} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{var} must be at least {minimum:g}, got {raw!r}")
    return value


def read_flag(env: Mapping[str, str], var: str, default: bool) -> bool:
    raw = env.get(var)
    if raw is None or not raw.strip():
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{var} must be true or false, got {raw!r}")


def read_share(env: Mapping[str, str], name: str, default: float) -> float:
    value = read_number(env, name, default, minimum=0.0)
    if not 0.0 < value <= 1.0:
        raise ConfigError(f"{name} must be a fraction above 0 and at most 1, e.g. 0.5")
    return value
