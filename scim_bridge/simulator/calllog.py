"""The log of every ``/v2`` request the simulator received (``GET /__sim/calls``)."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from flask import Response
from flask import g
from flask import request


class CallLog:
    """Bounded, thread-safe list of calls; ``seq`` keeps counting across clears."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)
        self._seq = 0

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            stored = {"seq": self._seq, **entry}
            self._entries.append(stored)
            return stored

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries if e["seq"] > since]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def snapshot(self) -> tuple[list[dict[str, Any]], int]:
        """The entries and the running number, for :meth:`restore`."""
        with self._lock:
            return [dict(e) for e in self._entries], self._seq

    def restore(self, saved: tuple[list[dict[str, Any]], int]) -> None:
        entries, seq = saved
        with self._lock:
            self._entries = deque((dict(e) for e in entries), maxlen=self._entries.maxlen)
            self._seq = seq

    def resize(self, max_entries: int) -> None:
        with self._lock:
            if self._entries.maxlen != max_entries:
                self._entries = deque(self._entries, maxlen=max_entries)


def call_entry(response: Response, **details: Any) -> dict[str, Any]:
    """The log entry of the request being answered with ``response``: what both simulators record, then
    ``details``. ``status`` is None for a dropped connection; ``body`` is the parsed JSON, else the raw text."""
    body = g.get("body")
    if body is None:
        raw = request.get_data(cache=True)
        body = raw.decode("utf-8", "replace") if raw else None
    return {
        "time": time.time(),
        "method": request.method,
        "path": request.path,
        "query": {k: request.args.get(k) for k in request.args},
        "status": None if g.get("dropped") else response.status_code,
        "body": body,
        "fault": g.get("fault"),
        **details,
    }
