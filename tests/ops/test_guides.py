"""The example requests of docs/okta.md, docs/entra-id.md and docs/saviynt.md, executed in order
against a real bridge configured as the guide's ``env`` block says.

Guide format: an ```env block holds the settings (KEY=VALUE lines). Each ```http request block
(``METHOD PATH HTTP/1.1``, headers, blank line, optional JSON body) is followed by an ```http
response block (``HTTP/1.1 STATUS Reason``, headers, optional JSON body). In them,
``scim-bridge.example.com`` is the bridge's host, ``<token>`` its bearer token and ``<id of NAME>``
the id of the user with that userName (or, as ``<id of group NAME>``, of the group with that
displayName), looked up when the request is sent. The documented status must be the real one; every
top-level key of a documented JSON body must be in the real body, with the same value when the
documented value is a plain string, number or boolean.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN
from conftest import Running

from scim_bridge.config import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDES = ["okta.md", "entra-id.md", "saviynt.md"]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)
PLACEHOLDER = re.compile(r"<id of (group )?([^>]+)>")
HOST = "scim-bridge.example.com"


@dataclass
class Exchange:
    method: str
    target: str
    headers: dict[str, str]
    body: str
    status: int
    response_body: str


def _split(block: str) -> tuple[str, dict[str, str], str]:
    head, _, body = block.partition("\n\n")
    first, *header_lines = head.strip().splitlines()
    headers = dict(line.split(":", 1) for line in header_lines)
    return first.strip(), {k.strip(): v.strip() for k, v in headers.items()}, body.strip()


def parse_guide(text: str) -> tuple[dict[str, str], list[Exchange]]:
    env: dict[str, str] = {}
    exchanges: list[Exchange] = []
    pending: tuple[str, str, dict[str, str], str] | None = None
    for match in FENCE.finditer(text):
        kind, block = match.group(1), match.group(2)
        if kind == "env":
            for line in block.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    key, _, value = line.partition("=")
                    env[key.strip()] = value.strip()
        elif kind == "http":
            first, headers, body = _split(block)
            if first.startswith("HTTP/1.1 "):
                assert pending is not None, f"a response without a request: {first}"
                exchanges.append(Exchange(*pending, status=int(first.split()[1]), response_body=body))
                pending = None
            else:
                assert pending is None, f"a request without a documented response before {first}"
                method, target, version = first.split(" ", 1)[0], *first.split(" ", 1)[1].rsplit(" ", 1)
                assert version == "HTTP/1.1" and target.startswith("/scim/v2/"), first
                assert headers.get("Host") == HOST, first
                pending = (method, target, headers, body)
    assert pending is None, "the last request has no documented response"
    return env, exchanges


def bridge_overrides(env: dict[str, str]) -> dict[str, Any]:
    """The guide's settings, read by Settings.from_env itself; connection settings stay the test's."""
    documented = dict(env)
    documented["OPSGENIE_API_URL"] = documented.get("OPSGENIE_API_URL", "").replace("<", "").replace(">", "")
    documented["OPSGENIE_API_KEY"] = "placeholder"
    documented.pop("SCIM_BEARER_TOKEN_FILE", None)
    documented.pop("OPSGENIE_API_KEY_FILE", None)
    if "SCIM_BEARER_TOKEN_HASHES" in documented:
        # The guide's token entry, with the scopes it documents, stands for the test's token.
        digest = hashlib.sha256(TOKEN.encode()).hexdigest()
        documented["SCIM_BEARER_TOKEN_HASHES"] = re.sub(r"<sha256[^>]*>", digest,
                                                        documented["SCIM_BEARER_TOKEN_HASHES"])
    else:
        documented["SCIM_BEARER_TOKEN"] = TOKEN
    settings = Settings.from_env(documented)
    return {
        "tokens": settings.tokens,
        "deactivation": settings.deactivation,
        "suspended_role": settings.suspended_role,
        "default_role": settings.default_role,
        "role_group_aliases": settings.role_group_aliases,
    }


class Runner:
    def __init__(self, bridge: Running) -> None:
        self.bridge = bridge

    def resolve(self, text: str) -> str:
        def lookup(match: re.Match[str]) -> str:
            group, name = bool(match.group(1)), match.group(2)
            path, attribute = ("/Groups", "displayName") if group else ("/Users", "userName")
            found = self.bridge.scim.get(path, params={"filter": f'{attribute} eq "{name}"'})
            assert found.status_code == 200, found.text
            resources = found.json()["Resources"]
            assert len(resources) == 1, f"no single {attribute} {name!r}"
            return str(resources[0]["id"])

        return PLACEHOLDER.sub(lookup, text.replace("<token>", TOKEN))

    def send(self, exchange: Exchange) -> Any:
        target = self.resolve(exchange.target)
        path, _, query = target.partition("?")
        params = [(item.partition("=")[0], item.partition("=")[2]) for item in query.split("&") if item]
        headers = {k: self.resolve(v) for k, v in exchange.headers.items() if k != "Host"}
        body = self.resolve(exchange.body).encode() if exchange.body else None
        return self.bridge.scim.http.request(
            exchange.method, self.bridge.root + path, params=params, data=body, headers=headers, timeout=60
        )


def check_body(documented: str, actual: Any, where: str) -> None:
    if not documented:
        return
    expected = json.loads(documented)
    problem = mismatch(expected, actual.json(), "")
    assert problem is None, f"{where}: {problem}"


def mismatch(documented: Any, real: Any, path: str) -> str | None:
    """Where a documented body differs from the real one, or None. Objects list a subset of the keys;
    lists show their first elements in order (an empty list: an empty one); a string with "<...>" stands
    for any value."""
    if isinstance(documented, str) and "<" in documented:
        return None
    if isinstance(documented, dict):
        if not isinstance(real, dict):
            return f"{path or 'the body'} is {real!r}, the guide shows an object"
        for key, value in documented.items():
            if key not in real:
                return f"{path or 'the body'} has no {key!r}: {real}"
            found = mismatch(value, real[key], f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    if isinstance(documented, list):
        if not isinstance(real, list) or len(real) < len(documented) or (not documented and real):
            return f"{path} is {real!r}, the guide shows {documented!r}"
        for index, (value, item) in enumerate(zip(documented, real, strict=False)):
            found = mismatch(value, item, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if real == documented else f"{path} is {real!r}, the guide says {documented!r}"


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_examples_run_as_documented(guide: str, bridge_factory: Any) -> None:
    env, exchanges = parse_guide((DOCS / guide).read_text())
    assert len(exchanges) >= 8, f"{guide} documents too few requests"
    bridge: Running = bridge_factory(**bridge_overrides(env))
    runner = Runner(bridge)
    for number, exchange in enumerate(exchanges, 1):
        where = f"{guide} example {number} ({exchange.method} {exchange.target})"
        response = runner.send(exchange)
        assert response.status_code == exchange.status, f"{where}: {response.status_code} {response.text}"
        if exchange.response_body:
            check_body(exchange.response_body, response, where)


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_covers_the_required_topics(guide: str) -> None:
    text = (DOCS / guide).read_text()
    for topic in ("API key management", "Read", "Create and Update", "Delete", "Configuration Access",
                  "https://scim-bridge.example.com/scim/v2", "userName", "role:", "SCIM_BRIDGE_ROLE_GROUPS",
                  "SCIM_BRIDGE_DEACTIVATION", "SCIM_BRIDGE_SUSPENDED_ROLE", "scim-bridge audit", "/metrics",
                  "scim-bridge check", "https://api.eu.opsgenie.com", "--scopes read+write", "'roles' scope"):
        assert topic in text, f"{guide} does not mention {topic}"
