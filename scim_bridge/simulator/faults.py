"""Scripted faults: rules matched on method and path, consumed in order.

A rule's ``action`` is one of:

- ``"503"`` or ``"status:503"``: answer that status with the simulated API's error body; nothing is applied.
- ``"drop"``: close the connection without a response; nothing is applied.
- ``"delay:250"``: wait 250 ms, then handle the request normally.
- ``"after_write:503"``: apply the request, then answer 503 instead of the real response.
- ``"after_write:drop"``: apply the request, then close the connection without a response.

``path`` is a regular expression that must match the whole request path (``/v2/users`` does not
match ``/v2/users/x``). ``method`` is an HTTP method or ``"*"``. ``times`` is how many requests the
rule applies to before it is used up.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import Response
from flask import g
from flask import request

_ACTION_RE = re.compile(r"^(?:(?:status:)?(\d{3})|drop|delay:(\d+)|after_write:(?:(\d{3})|drop))$")


@dataclass(frozen=True)
class FaultAction:
    kind: str  # "status", "drop", "delay" or "after_write"
    status: int | None = None  # for "status" and "after_write" (None: drop after the write)
    delay_ms: int = 0

    @classmethod
    def parse(cls, text: str) -> FaultAction:
        text = str(text).strip()
        match = _ACTION_RE.match(text)
        if not match:
            raise ValueError(
                f"unknown fault action {text!r}; use '<status>', 'drop', 'delay:<ms>', "
                "'after_write:<status>' or 'after_write:drop'"
            )
        if match.group(1):
            return cls("status", status=_status(match.group(1)))
        if match.group(2):
            return cls("delay", delay_ms=int(match.group(2)))
        if text.startswith("after_write:"):
            return cls("after_write", status=_status(match.group(3)) if match.group(3) else None)
        return cls("drop")


def _status(text: str) -> int:
    status = int(text)
    if not 400 <= status <= 599:
        raise ValueError(f"fault status must be 4xx or 5xx, got {status}")
    return status


@dataclass
class FaultRule:
    method: str
    path: str
    action: str
    times: int = 1
    parsed: FaultAction = field(init=False, repr=False)
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.parsed = FaultAction.parse(self.action)
        try:
            self.pattern = re.compile(self.path)
        except re.error as exc:
            raise ValueError(f"bad path regex {self.path!r}: {exc}") from None
        if self.times < 1:
            raise ValueError("times must be at least 1")

    @classmethod
    def from_dict(cls, data: Any) -> FaultRule:
        if not isinstance(data, dict) or "action" not in data:
            raise ValueError("a fault rule is an object with action, and optionally method, path, times")
        times = data.get("times", 1)
        if isinstance(times, bool) or not isinstance(times, int):
            raise ValueError("times must be an integer")
        return cls(str(data.get("method", "*")), str(data.get("path", ".*")), str(data["action"]), times)

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and self.pattern.fullmatch(path) is not None

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "action": self.action, "times": self.times}


class FaultQueue:
    """Thread-safe ordered rules; the first matching rule is used and its ``times`` decremented."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules.extend(rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    def take(self, method: str, path: str) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.times -= 1
                    if rule.times == 0:
                        self._rules.remove(rule)
                    return rule
            return None


class ConnectionDropped(Exception):
    """Raised in place of a drop when no raw socket is available (in-process test client)."""


def drop_connection() -> Response:
    """Mark the client connection to be closed without an answer: :func:`close_dropped` closes it once the
    request is in the call log (so a client that sees the drop finds the call logged), and the response written
    after that is lost."""
    g.dropped = True
    if request.environ.get("werkzeug.socket") is None:
        raise ConnectionDropped("simulated connection drop")
    return Response(b"", status=500)


def close_dropped() -> None:
    """Close the connection of a request whose answer a fault drops (see :func:`drop_connection`)."""
    sock: Any = request.environ.get("werkzeug.socket")
    if g.get("dropped") and sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def perform(
    action: FaultAction, *, sleep: Callable[[float], None], fail: Callable[[int], Exception]
) -> Response | None:
    """Carry out a fault before the request is served: wait (``sleep``), drop the connection, raise the
    simulator's error for a status (``fail``), or mark the write to fail once applied (see ``after_write``)."""
    if action.kind == "delay":
        sleep(action.delay_ms / 1000)
    elif action.kind == "drop":
        return drop_connection()
    elif action.kind == "status":
        raise fail(action.status or 500)
    elif action.kind == "after_write":
        g.after_write = action
    return None


def after_write(response: Response, error: Callable[[int], Response]) -> Response:
    """The answer to a request whose fault was ``after_write``: once the write went through (a success that was
    not dropped), the connection is closed or ``error(status)`` replaces the real response."""
    action: FaultAction | None = g.get("after_write")
    if action is None or response.status_code >= 400 or g.get("dropped"):
        return response
    return drop_connection() if action.status is None else error(action.status)
