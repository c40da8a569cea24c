"""Route the upstream client's call records to the request being served (audit log, metrics)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

_current: ContextVar[list[dict[str, Any]] | None] = ContextVar("upstream_calls", default=None)


def collect_into(calls: list[dict[str, Any]]) -> object:
    """Send the calls made by this thread/context into ``calls`` until ``reset``."""
    return _current.set(calls)


def reset(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def record_call(call: dict[str, Any]) -> None:
    calls = _current.get()
    if calls is not None:
        calls.append(call)
