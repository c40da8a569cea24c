"""Test doubles shared by the store tests."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

T0 = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 1.0) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now
