"""WSGI entry point: ``gunicorn 'scim_bridge.wsgi:app'`` with settings from the environment."""

from __future__ import annotations

from scim_bridge.config import Settings
from scim_bridge.web.app import create_app

app = create_app(Settings.from_env(), start_sync=True)
