"""WSGI entry point: ``gunicorn 'scim_bridge.wsgi:app'`` with settings from the environment."""

from __future__ import annotations

from scim_bridge import bootstrap
from scim_bridge.config import Settings
from scim_bridge.web.app import create_app

settings = Settings.from_env()
app = create_app(settings, components=bootstrap.build(settings), start_sync=True)
