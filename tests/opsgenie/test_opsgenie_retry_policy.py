"""RetryPolicy rules in isolation (no HTTP)."""

from __future__ import annotations

import pytest

from scim_bridge.opsgenie import Conflict
from scim_bridge.opsgenie import OpsGenieError
from scim_bridge.opsgenie import RateLimited
from scim_bridge.opsgenie import RetryPolicy
from scim_bridge.opsgenie import ServerError
from scim_bridge.opsgenie import TransportError

POLICY = RetryPolicy(base_delay=0.5, max_delay=4.0, total_budget=20.0, random=lambda: 1.0)


@pytest.mark.parametrize(
    ("error", "repeatable", "expected"),
    [
        (TransportError("refused", maybe_applied=False), False, True),
        (TransportError("read timeout", maybe_applied=True), False, False),
        (TransportError("read timeout", maybe_applied=True), True, True),
        (RateLimited("slow down", status=429), False, True),
        (ServerError("boom", status=503), True, True),
        (ServerError("boom", status=503), False, False),
        (ServerError("not implemented", status=501), True, False),
        (Conflict("taken", status=409), True, False),
    ],
)
def test_should_retry(error: OpsGenieError, repeatable: bool, expected: bool) -> None:
    assert POLICY.should_retry(error, attempt=1, repeatable=repeatable) is expected


def test_attempts_are_capped() -> None:
    error = ServerError("boom", status=500)
    assert POLICY.should_retry(error, attempt=4, repeatable=True)
    assert not POLICY.should_retry(error, attempt=5, repeatable=True)


def test_backoff_is_capped_exponential_with_jitter() -> None:
    assert [POLICY.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    low = RetryPolicy(base_delay=0.5, max_delay=4.0, random=lambda: 0.0)
    assert [low.backoff(n) for n in range(1, 5)] == [0.25, 0.5, 1.0, 2.0]


def test_server_hints() -> None:
    retry_after = RateLimited("slow", status=429, headers={"Retry-After": "7"})
    assert POLICY.delay_for(retry_after, 1) == 7.0
    period = RateLimited("slow", status=429, headers={"X-RateLimit-Period-In-Sec": "60"})
    assert POLICY.delay_for(period, 1) == 4.0  # capped at max_delay
    assert POLICY.delay_for(RateLimited("slow", status=429, headers={"Retry-After": "soon"}), 1) == 0.5


def test_time_budget() -> None:
    error = ServerError("boom", status=500)
    assert POLICY.next_delay(error, attempt=1, repeatable=True, elapsed=19.0) == 0.5
    assert POLICY.next_delay(error, attempt=1, repeatable=True, elapsed=19.6) is None
    long_wait = RateLimited("slow", status=429, headers={"Retry-After": "60"})
    assert POLICY.next_delay(long_wait, attempt=1, repeatable=True, elapsed=0.0) is None
