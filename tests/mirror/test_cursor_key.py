"""Where the cursor key comes from: SCIM_BRIDGE_CURSOR_KEY (or _FILE), else one random key per database."""

from __future__ import annotations

from pathlib import Path

import pytest

from scim_bridge.bootstrap import cursor_key
from scim_bridge.config import ConfigError
from scim_bridge.config import Settings
from scim_bridge.store import Store

BASE_ENV = {"OPSGENIE_API_KEY": "key", "SCIM_BEARER_TOKEN": "token-0123456789abcdef"}


def test_the_key_comes_from_the_environment_or_a_file(tmp_path: Path) -> None:
    assert Settings.from_env({**BASE_ENV, "SCIM_BRIDGE_CURSOR_KEY": "k" * 20}).cursor_key == "k" * 20
    secret = tmp_path / "cursor.key"
    secret.write_text("f" * 32 + "\n")
    assert Settings.from_env({**BASE_ENV, "SCIM_BRIDGE_CURSOR_KEY_FILE": str(secret)}).cursor_key == "f" * 32
    with pytest.raises(ConfigError, match="SCIM_BRIDGE_CURSOR_KEY"):
        Settings.from_env({**BASE_ENV, "SCIM_BRIDGE_CURSOR_KEY": "short"})


def test_without_a_key_every_store_of_one_database_derives_the_same_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bridge.db'}"
    first, second = Store.from_url(url), Store.from_url(url)
    first.upgrade()
    try:
        settings = Settings.from_env(BASE_ENV)
        key = cursor_key(settings, first)
        assert len(key) >= 32 and cursor_key(settings, second) == key
        other = Store.from_url(f"sqlite:///{tmp_path / 'other.db'}")
        other.upgrade()
        assert cursor_key(settings, other) != key
        other.close()
        configured = Settings.from_env({**BASE_ENV, "SCIM_BRIDGE_CURSOR_KEY": "c" * 24})
        assert cursor_key(configured, first) == b"c" * 24
    finally:
        first.close()
        second.close()
