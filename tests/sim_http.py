"""Test helpers both simulators share: plain ``requests`` with the HTTP verbs, the ``/__sim`` control calls
the OpsGenie and the Atlassian simulator answer alike, a sleep that only records, a fake clock, and the sample
user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from typing import TypeVar

import requests

from scim_bridge.directory.models import Address
from scim_bridge.directory.models import UserFields


class HttpApi:
    """``requests`` on one session; paths are joined to ``base_url`` by :meth:`url`."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.url(path), **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


class SimControl:
    """The ``/__sim`` control calls both simulators answer the same way."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def sim_url(self, path: str) -> str:
        return f"{self.base_url}/__sim/{path}"

    def clear(self) -> None:
        """Reset the data, drop the faults and forget the call log."""
        self.http.post(self.sim_url("reset"), json={}).raise_for_status()
        self.http.delete(self.sim_url("faults")).raise_for_status()
        self.http.delete(self.sim_url("calls")).raise_for_status()

    def configure(self, **knobs: Any) -> None:
        response = self.http.patch(self.sim_url("config"), json=knobs)
        assert response.status_code == 200, response.text

    def config(self) -> dict[str, Any]:
        data: dict[str, Any] = self.http.get(self.sim_url("config")).json()
        return data

    def reset(self, defaults: dict[str, Any]) -> None:
        """Put every knob but the seed back to ``defaults`` (a ``config()`` taken at start), then :meth:`clear`."""
        self.configure(**{k: v for k, v in defaults.items() if k != "seed"})
        self.clear()

    def fault(self, method: str, path: str, action: str, times: int = 1) -> None:
        rule = {"method": method, "path": path, "action": action, "times": times}
        response = self.http.post(self.sim_url("faults"), json=rule)
        assert response.status_code == 201, response.text

    def calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = self.http.get(self.sim_url("calls")).json()["calls"]
        return calls


Control = TypeVar("Control", bound=SimControl)


def fresh(control: Control, defaults: dict[str, Any]) -> Iterator[Control]:
    """For a per-test fixture: ``control`` with its simulator reset to ``defaults``, its session closed after."""
    control.reset(defaults)
    yield control
    control.http.close()


class RecordingSleep:
    """A ``sleep`` that does not wait: it remembers what it was asked in ``waits``."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class FakeClock:
    """A monotonic clock and a ``sleep`` for a rate budget: time moves only when the budget sleeps (or the test
    moves ``now``); ``slept`` remembers each wait."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def ada(role: str) -> UserFields:
    """The sample user with every field the directories map, in the given role."""
    return UserFields(
        username="Ada@Example.com",
        full_name="Ada Lovelace",
        role=role,
        time_zone="Europe/London",
        locale="en_GB",
        address=Address(country="UK", city="London", line="1 Main St", zip_code="N1"),
        tags=("math",),
        details={"dept": ["R&D"]},
        invitation_disabled=True,
    )
