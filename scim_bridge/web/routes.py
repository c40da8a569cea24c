"""The URL maps of the bridge apps: one per route table and process, shared by the apps that register it.

Binding a werkzeug rule to its map compiles it (two URL builders generated and run through ``compile()``):
about 0.4 ms of CPU a rule, 7 ms for the bridge's routes, half the cost of building an app. A process that
builds several apps with the same routes (``demo``, the test suite) paid it for each. Here an app collects its
rules unbound while its blueprints register (:class:`PendingRoutes`, its ``url_map_class``), and
:func:`seal` then gives it the process's map of exactly those rules and map settings, bound once
(:class:`SealedRoutes`). A map only matches and builds URLs (each app keeps its own view functions, looked up by
endpoint), so apps with equal rules can share one; no rule can be added to a sealed map.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from flask import Flask
from werkzeug.routing import Map
from werkzeug.routing import Rule
from werkzeug.routing import RuleFactory


class PendingRoutes(Map):
    """An app's map while its routes are registered: it keeps the rules, unbound, for :func:`seal`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.pending: list[Rule] = []
        super().__init__(*args, **kwargs)

    def add(self, rulefactory: RuleFactory) -> None:
        self.pending.extend(rulefactory.get_rules(self))

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the app's routes are not sealed yet (routes.seal)")

    def bind_to_environ(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the app's routes are not sealed yet (routes.seal)")


class SealedRoutes(Map):
    """A complete route table, bound once and shared by the apps of this process that register it."""

    sealed = False

    def add(self, rulefactory: RuleFactory) -> None:
        if self.sealed:
            raise RuntimeError("routes cannot be added to a sealed map (register them before routes.seal)")
        super().add(rulefactory)


_tables: dict[Hashable, SealedRoutes] = {}
_tables_lock = threading.Lock()


def seal(app: Flask) -> None:
    """Give ``app`` (whose ``url_map_class`` is :class:`PendingRoutes`) the sealed map of the rules it registered;
    the first app with these rules and map settings binds them, the later ones share its map."""
    pending = app.url_map
    if not isinstance(pending, PendingRoutes):
        raise TypeError(f"{app.name}: url_map_class must be PendingRoutes")
    settings: dict[str, Any] = {
        "default_subdomain": pending.default_subdomain, "strict_slashes": pending.strict_slashes,
        "merge_slashes": pending.merge_slashes, "redirect_defaults": pending.redirect_defaults,
        "converters": pending.converters, "sort_parameters": pending.sort_parameters,
        "sort_key": pending.sort_key, "host_matching": pending.host_matching,
    }
    key = (_frozen(settings), tuple(_rule_key(rule) for rule in pending.pending))
    with _tables_lock:
        table = _tables.get(key)
        if table is None:
            table = SealedRoutes(pending.pending, **settings)
            table.sealed = True
            _tables[key] = table
    app.url_map = table


def _rule_key(rule: Rule) -> Hashable:
    """Everything that makes ``rule`` what it is: its class, pattern, constructor arguments and Flask's
    automatic-OPTIONS flag."""
    return (type(rule), rule.rule, getattr(rule, "provide_automatic_options", None),
            _frozen(dict(rule.get_empty_kwargs())))


def _frozen(value: Any) -> Hashable:
    if isinstance(value, dict):
        return tuple(sorted((key, _frozen(item)) for key, item in value.items()))
    if isinstance(value, (set, frozenset)):
        return frozenset(value)
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    return value  # type: ignore[no-any-return]
