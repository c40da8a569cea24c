"""The store knows no upstream: it imports neither client package, and the rate-window arithmetic it shares with
the OpsGenie client lives in a module that imports nothing of the project."""

from __future__ import annotations

import ast
from pathlib import Path

import scim_bridge

PACKAGE = Path(scim_bridge.__file__).parent


def project_imports(source: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("scim_bridge")}


def test_the_store_imports_no_upstream_client() -> None:
    sources = sorted((PACKAGE / "store").rglob("*.py"))
    assert any(source.name == "budget.py" for source in sources)
    for source in sources:
        clients = {name for name in project_imports(source)
                   if name.startswith(("scim_bridge.opsgenie", "scim_bridge.atlassian"))}
        assert not clients, f"{source.relative_to(PACKAGE)} imports {sorted(clients)}"


def test_the_rate_window_module_is_neutral() -> None:
    assert project_imports(PACKAGE / "ratewindow.py") == set()
    for client in ("opsgenie/ratelimit.py", "store/budget.py"):
        assert "scim_bridge.ratewindow" in project_imports(PACKAGE / client)
