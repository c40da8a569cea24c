"""Stalled request bodies against a real ``scim-bridge serve`` (gunicorn, deploy/gunicorn.conf.py).

24 clients send their headers and the start of a body, then nothing. The bridge must keep answering
``/healthz`` and an authenticated ``GET /Users``, answer an unauthenticated stalled request at once without
reading its body, and end every other stalled read at its deadline with a 408, closing the connection.
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from conftest import SIM_KEY
from conftest import TOKEN
from gunicorn.workers.gthread import DEFAULT_WORKER_DATA_TIMEOUT
from ops.serving import Served
from ops.serving import serve

from scim_bridge.simulator.server import SimulatorServer

CONSOLE_TOKEN = "console-token-0123456789"
CLIENT_SECRET = "client-secret-0123456789abcdef"
# The per-read timeout is longer than the deadline: a stalled read ends at the deadline, which the watchdog
# enforces, not at the end of one read. The deadline outlasts the checks made while every stalled connection is
# open (still_answering: a request that takes the client's whole 2 s still ends before it); each test waits it out.
DEADLINE = 3
SETTLE = 60  # how long the test waits for the server's answer at most; never reached when it works


def stalled(base: str, path: str, headers: dict[str, str], start: bytes) -> socket.socket:
    """A connection that sent ``headers`` and ``start`` of its body, then nothing."""
    url = urlsplit(base)
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=SETTLE)
    lines = [f"POST {path} HTTP/1.1", f"Host: {url.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + start)
    return sock


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    with sock:
        while chunk := sock.recv(65536):
            received += chunk
    return received


def status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else 0


@pytest.fixture(scope="module")
def served(simulator: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``scim-bridge serve`` with the deploy config's two workers, the console and an OAuth client: one server
    for this module's tests, each of which leaves no connection open. It stops gracefully, without a traceback."""
    simulator.state.reset(seed="demo")
    with serve(simulator, tmp_path_factory.mktemp("slow-bodies"), SIM_KEY, workers=2, env={
        "SCIM_BRIDGE_CONSOLE_TOKEN": CONSOLE_TOKEN,
        "SCIM_BRIDGE_OAUTH_CLIENTS": f"idp:idp-client:{hashlib.sha256(CLIENT_SECRET.encode()).hexdigest()}",
        "SCIM_BRIDGE_OAUTH_SIGNING_KEY": "signing-key-0123456789abcdefghijklmnop",
        "SCIM_BRIDGE_BODY_READ_TIMEOUT": "20", "SCIM_BRIDGE_BODY_DEADLINE": str(DEADLINE),
    }) as running:
        yield running
    assert running.returncode == 0
    assert "Traceback" not in running.log_text()


def still_answering(base: str) -> None:
    """/healthz and an authenticated GET /Users answer within the client's 2 s."""
    assert requests.get(f"{base}/healthz", timeout=2).status_code == 200
    users = requests.get(f"{base}/scim/v2/Users", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=2)
    assert users.status_code == 200 and users.json()["totalResults"] == 7


def test_stalled_bodies_do_not_freeze_the_bridge(served: Served) -> None:
    chunked = {"Transfer-Encoding": "chunked"}
    scim = {"Content-Type": "application/scim+json"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    base = served.base
    anonymous = [stalled(base, "/scim/v2/Users", {**scim, **chunked}, b'5\r\n{"sch\r\n') for _ in range(6)]
    slow = [stalled(base, "/scim/v2/Users", {**scim, **bearer, **chunked}, b'5\r\n{"sch\r\n')
            for _ in range(3)]
    slow += [stalled(base, "/scim/v2/Groups", {**scim, **bearer, "Content-Length": "400"}, b'{"displayName')
             for _ in range(3)]
    slow += [stalled(base, "/console/login", {**form, **chunked}, b"6\r\ntoken=\r\n") for _ in range(6)]
    slow += [stalled(base, "/oauth/token", {**form, "Content-Length": "300"}, b"grant_type=client_")
             for _ in range(6)]
    assert len(anonymous) + len(slow) == 24

    still_answering(base)  # with all 24 open

    # Unauthenticated: answered without waiting for the body, and the connection closed.
    for sock in anonymous:
        raw = answer(sock)
        assert status(raw) == 401, raw[:200]
    # Authenticated SCIM, console login, OAuth token: 408 at the deadline, and the connection closed.
    for sock in slow:
        raw = answer(sock)
        assert status(raw) == 408, raw[:200]
        assert b"did not arrive in time" in raw
    # The bridge still works afterwards.
    assert requests.get(f"{base}/scim/v2/Users", headers=bearer, timeout=10).status_code == 200
    assert "Traceback" not in served.log_text()


def test_stalled_headers_and_lingering_clients_do_not_freeze_the_bridge(served: Served) -> None:
    """Clients that stop half-way through their headers, and clients that ask the server to close the
    connection but never read the answer or close their end. The header deadline counts from a connection's
    first bytes: a client that connects and stays silent longer than the worker waits for them (it then hands
    the connection back to its main loop) is still served when it speaks."""
    url = urlsplit(served.base)
    silent = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=SETTLE)
    silent_since = time.monotonic()
    half = []
    for _ in range(12):
        sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=SETTLE)
        sock.sendall(b"GET /scim/v2/Users HTTP/1.1\r\nHost: " + url.netloc.encode() + b"\r\nX-Slow: ")
        half.append(sock)
    lingering = []
    for _ in range(12):
        sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=SETTLE)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: " + url.netloc.encode() + b"\r\nConnection: close\r\n\r\n")
        lingering.append(sock)

    still_answering(served.base)  # with all 24 open

    for sock in lingering:  # answered, then closed by the server
        assert status(answer(sock)) == 200
    for sock in half:  # closed by the server once the header deadline passed, without an answer
        assert answer(sock) == b""
    time.sleep(max(0.0, silent_since + DEFAULT_WORKER_DATA_TIMEOUT + 0.5 - time.monotonic()))
    silent.sendall(b"GET /healthz HTTP/1.1\r\nHost: " + url.netloc.encode() + b"\r\nConnection: close\r\n\r\n")
    assert status(answer(silent)) == 200
    still_answering(served.base)
    assert "Traceback" not in served.log_text()
