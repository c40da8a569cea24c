"""The layers of docs/architecture.md, as imports. The store knows no upstream: it imports neither client package,
and the rate-window arithmetic it shares with the OpsGenie client lives in a module that imports nothing of the
project. The protocol and the domain know no web framework and no upstream client; the protocol knows no database
either. No private name crosses a module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import scim_bridge

PACKAGE = Path(scim_bridge.__file__).parent


def all_imports(source: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def project_imports(source: Path) -> set[str]:
    return {name for name in all_imports(source) if name.startswith("scim_bridge")}


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


FORBIDDEN = {
    "scim": ("flask", "sqlalchemy", "requests", "scim_bridge.opsgenie", "scim_bridge.atlassian",
             "scim_bridge.directory", "scim_bridge.service", "scim_bridge.store", "scim_bridge.web"),
    "service": ("flask", "sqlalchemy", "requests", "scim_bridge.opsgenie", "scim_bridge.atlassian", "scim_bridge.web"),
    "directory": ("flask", "scim_bridge.scim", "scim_bridge.service", "scim_bridge.web"),
    "opsgenie": ("flask", "scim_bridge.scim", "scim_bridge.service", "scim_bridge.store", "scim_bridge.web"),
    "atlassian": ("flask", "scim_bridge.scim", "scim_bridge.service", "scim_bridge.store", "scim_bridge.web"),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_or_beside_it(layer: str) -> None:
    sources = sorted((PACKAGE / layer).rglob("*.py"))
    assert sources, layer
    for source in sources:
        bad = {name for name in all_imports(source)
               if any(name == prefix or name.startswith(prefix + ".") for prefix in FORBIDDEN[layer])}
        assert not bad, f"{source.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_no_private_name_is_imported_across_modules() -> None:
    for source in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("scim_bridge"):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                assert not private, f"{source.relative_to(PACKAGE)} imports {private} from {node.module}"
