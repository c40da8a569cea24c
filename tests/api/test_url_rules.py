"""The bridge's URL rules share their URL builders between apps (scim_bridge/web/routing.py)."""

from __future__ import annotations

from flask import Flask
from flask import url_for

from scim_bridge.web.routing import SharedBuilderRule


def app_with_rules(name: str, default_page: int) -> Flask:
    app = Flask(name)
    app.url_rule_class = SharedBuilderRule
    app.add_url_rule("/users/<item_id>", "user", lambda item_id: item_id)
    app.add_url_rule("/pages/<int:page>", "page", lambda page: str(page), defaults={"page": default_page})
    return app


def urls(app: Flask) -> list[str]:
    with app.test_request_context("/"):
        return [url_for("user", item_id="a b/c"), url_for("user", item_id="x", next="/console?q=1"),
                url_for("page")]


def test_apps_build_their_own_urls_with_shared_builders() -> None:
    first, second, other = app_with_rules("one", 3), app_with_rules("two", 3), app_with_rules("three", 7)
    expected = ["/users/a%20b/c", "/users/x?next=/console?q%3D1", "/pages/3"]
    assert urls(first) == urls(second) == expected
    assert urls(other) == [*expected[:2], "/pages/7"]  # a different folded default: a builder of its own
    rule_of = {app: {rule.endpoint: rule for rule in app.url_map.iter_rules()} for app in (first, second, other)}
    assert rule_of[first]["user"]._build.__func__ is rule_of[second]["user"]._build.__func__  # type: ignore[attr-defined]
    assert rule_of[first]["page"]._build.__func__ is not rule_of[other]["page"]._build.__func__  # type: ignore[attr-defined]
    assert isinstance(rule_of[first]["user"], SharedBuilderRule)
