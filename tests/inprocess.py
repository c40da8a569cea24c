"""A bridge without sockets: the Flask app over the in-process directory (MemoryDirectory) and a copy of the
migrated SQLite template, driven through Flask's test client. For service-level tests that need neither the
simulator's wire behaviour nor a real HTTP server; the over-HTTP bridges of tests/conftest.py stay the
end-to-end layer.

A conftest.py makes the fixture: ``yield from running_inprocess(tmp_path, template_db)`` (see
tests/service/conftest.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from scim_bridge import bootstrap
from scim_bridge.config import Settings
from scim_bridge.directory.memory import MemoryDirectory
from scim_bridge.store.store import Store
from scim_bridge.web.app import create_app

TOKEN = "inprocess-token-0123456789"
SCIM_JSON = "application/scim+json"


class ScimTestClient:
    """SCIM calls on the app's test client: paths are relative to /scim/v2; bodies are sent as SCIM JSON."""

    def __init__(self, client: FlaskClient, token: str = TOKEN) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if body is not None:
            headers.setdefault("Content-Type", SCIM_JSON)
            kwargs["json"] = body
        return self.client.open("/scim/v2" + path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)


@dataclass
class InProcessBridge:
    app: Flask
    scim: ScimTestClient
    directory: MemoryDirectory
    store: Store
    settings: Settings


def start_inprocess(db_path: Path, template_db: Path, **overrides: Any) -> InProcessBridge:
    """A bridge on ``bootstrap.build(..., upstream="memory")`` over a copy of the SQLite template."""
    shutil.copyfile(template_db, db_path)
    settings = replace(Settings(database_url=f"sqlite:///{db_path}", sync_interval=0).with_token(TOKEN, "test"),
                       **overrides)
    store = Store.from_url(settings.database_url)
    components = bootstrap.build(settings, store=store, upstream="memory")
    assert isinstance(components.directory, MemoryDirectory)
    app = create_app(settings, components=components)
    return InProcessBridge(app, ScimTestClient(app.test_client()), components.directory, store, settings)


def running_inprocess(tmp_path: Path, template_db: Path, **overrides: Any) -> Iterator[InProcessBridge]:
    """An in-process bridge for one test (the body of a fixture); its store is closed afterwards."""
    bridge = start_inprocess(tmp_path / "inprocess.db", template_db, **overrides)
    yield bridge
    bridge.store.close()


def body(response: TestResponse) -> dict[str, Any]:
    """The JSON object of a response."""
    found = response.get_json()
    assert isinstance(found, dict), response.get_data(as_text=True)
    return found
