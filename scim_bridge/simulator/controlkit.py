"""Control-surface pieces both simulators share: JSON bodies and the state, reset, config, call-log and
fault-rule routes.

Each simulator passes how it answers (``respond``) and how it refuses a bad request (``fail``), so
errors keep that simulator's body shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from typing import Protocol

from flask import Blueprint
from flask import Response
from flask import request

from scim_bridge.simulator.calllog import CallLog
from scim_bridge.simulator.faults import FaultQueue
from scim_bridge.simulator.faults import FaultRule


class Knobs(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class Controllable(Protocol):
    """What a simulator state offers to the shared control routes."""

    calls: CallLog
    faults: FaultQueue

    @property
    def config(self) -> Knobs: ...

    def dump(self) -> dict[str, Any]: ...

    def reset(self, seed: str | None = None) -> None: ...

    def counts(self) -> dict[str, int]: ...

    def update_config(self, changes: dict[str, Any]) -> dict[str, Any]: ...


Fail = Callable[[str], Exception]
Respond = Callable[[Any, int], Response]


def json_object(
    raw: bytes, unparsable: Callable[[], Exception], not_object: Callable[[], Exception]
) -> dict[str, Any]:
    """A request body that is not blank as a JSON object: ``unparsable()`` is raised for what is not JSON (or
    not UTF-8), ``not_object()`` for JSON that is not an object. Each simulator names its own refusals."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise unparsable() from None
    if not isinstance(body, dict):
        raise not_object()
    return body


def json_body(fail: Fail) -> Any:
    """The request's JSON (an empty body is ``{}``); unparsable JSON raises ``fail(...)``."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    parsed = request.get_json(force=True, silent=True)
    if parsed is None:
        raise fail("Could not parse the request body as JSON")
    return parsed


def object_body(fail: Fail) -> dict[str, Any]:
    parsed = json_body(fail)
    if not isinstance(parsed, dict):
        raise fail("Request body must be a JSON object")
    return parsed


def add_common_routes(bp: Blueprint, target: Controllable, respond: Respond, fail: Fail) -> None:
    """On ``bp``: ``GET /state``, ``POST /reset`` ``{"seed"?}``, ``GET|PATCH /config``, ``GET|DELETE /calls``
    (``?since=<seq>``) and ``GET|POST|DELETE /faults``.

    ``POST /faults`` takes a rule object, a list of rules, or ``{"rules": [...]}``; all or none are added.
    """
    calls, faults = target.calls, target.faults

    @bp.get("/state")
    def dump() -> Response:
        return respond(target.dump(), 200)

    @bp.post("/reset")
    def reset() -> Response:
        seed = object_body(fail).get("seed")
        target.reset(None if seed is None else str(seed))
        return respond({"result": "Reset", **target.counts()}, 200)

    @bp.get("/config")
    def get_config() -> Response:
        return respond(target.config.to_dict(), 200)

    @bp.patch("/config")
    def patch_config() -> Response:
        try:
            return respond(target.update_config(object_body(fail)), 200)
        except (ValueError, KeyError, TypeError) as exc:
            raise fail(str(exc)) from None

    @bp.get("/calls")
    def list_calls() -> Response:
        since = request.args.get("since", "0")
        return respond({"calls": calls.entries(int(since) if since.isdigit() else 0)}, 200)

    @bp.delete("/calls")
    def clear_calls() -> Response:
        calls.clear()
        return respond({"result": "Cleared"}, 200)

    @bp.get("/faults")
    def list_faults() -> Response:
        return respond({"rules": faults.rules()}, 200)

    @bp.post("/faults")
    def add_faults() -> Response:
        data = json_body(fail)
        rules = data.get("rules", [data]) if isinstance(data, dict) else data
        if not isinstance(rules, list):
            raise fail('Send a rule object, a list of rules, or {"rules": [...]}')
        try:
            faults.add([FaultRule.from_dict(rule) for rule in rules])
        except (ValueError, TypeError) as exc:
            raise fail(str(exc)) from None
        return respond({"rules": faults.rules()}, 201)

    @bp.delete("/faults")
    def clear_faults() -> Response:
        faults.clear()
        return respond({"result": "Cleared"}, 200)
