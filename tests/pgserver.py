"""A throw-away PostgreSQL server for the test suite.

``start_postgres()`` runs ``initdb`` and ``pg_ctl`` from the installed server binaries (Debian
puts them in /usr/lib/postgresql/<version>/bin; ``scripts/ensure-postgres.sh`` installs them
when missing) on a free port in a temporary directory, and returns the server's URL and a
function that stops it and removes the directory. initdb refuses to run as root, so as root
the server runs as the ``postgres`` system user (``runuser``), which then owns the directory.

``shared_postgres()`` is what test fixtures should use: it returns
``SCIM_BRIDGE_TEST_POSTGRES_URL`` when set, otherwise starts one server per test process
(stopped at exit) and publishes its URL in that variable, so every test folder and any
subprocess reuses it. ``create_database()`` gives each user of the server its own database.

Import it as ``from tests.pgserver import shared_postgres`` with the repository root on
``sys.path`` (``python -m pytest`` from the root puts it there).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

ENV_URL = "SCIM_BRIDGE_TEST_POSTGRES_URL"
ROOT = Path(__file__).resolve().parents[1]
ENSURE_SCRIPT = ROOT / "scripts" / "ensure-postgres.sh"
SERVER_USER = "postgres"


def find_bindir() -> Path | None:
    """The newest installed server's bin directory (with initdb and pg_ctl), if any."""

    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if os.access(Path(candidate) / "initdb", os.X_OK) and os.access(Path(candidate) / "pg_ctl", os.X_OK):
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def ensure_bindir() -> Path:
    bindir = find_bindir()
    if bindir is None and ENSURE_SCRIPT.exists():
        subprocess.run(["bash", str(ENSURE_SCRIPT)], check=True)
        bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(f"PostgreSQL server binaries not found; run {ENSURE_SCRIPT} or set {ENV_URL}")
    return bindir


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", SERVER_USER, "--", *argv]


def _run(argv: list[str], cwd: Path) -> None:
    result = subprocess.run(
        _as_server_user(argv), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}")


# The cluster's directory goes on a memory file system when the machine has one with room to spare: the server
# creates and deletes a file per table, index and fork (initdb, CREATE and DROP DATABASE, migrations), and on a
# disk file system that costs several times the CPU (a CREATE + DROP DATABASE pair: ~130-280 ms of server CPU on
# ext4, ~15-40 ms on tmpfs). Otherwise it goes to the temporary directory.
MEMORY_DIRS = ("/dev/shm",)
MEMORY_ROOM = 1 << 30  # bytes free: a cluster of a whole test run stays well under 300 MB (max_wal_size below)


def cluster_parent() -> str | None:
    """The directory to create the cluster's directory in (None: the temporary directory)."""
    for candidate in MEMORY_DIRS:
        try:
            stat = os.statvfs(candidate)
        except OSError:
            continue
        if stat.f_bavail * stat.f_frsize >= MEMORY_ROOM and os.access(candidate, os.W_OK | os.X_OK):
            return candidate
    return None


def start_postgres() -> tuple[str, Callable[[], None]]:
    """Start a private server; return ``(url, stop)``. ``stop`` may be called more than once."""
    bindir = ensure_bindir()
    base = Path(tempfile.mkdtemp(prefix="scim-bridge-pg-", dir=cluster_parent()))
    if os.geteuid() == 0:
        account = pwd.getpwnam(SERVER_USER)
        os.chown(base, account.pw_uid, account.pw_gid)
    base.chmod(0o700)
    data = base / "data"
    log = base / "server.log"
    try:
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            base,
        )
        port = _start(bindir, base, data, log)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        with contextlib.suppress(Exception):
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], base)
        shutil.rmtree(base, ignore_errors=True)

    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", stop


# Settings for a throw-away cluster (a production server keeps the defaults): nothing is made durable or
# replicable. No autovacuum: the tests empty their tables with DELETE (see tests/conftest.py), and an autovacuum
# that happened to run while a table was empty left statistics of zero rows on its dead pages, so the planner
# took the next test's 10,000 users for none (a 10,000-user sync then cost seconds of server CPU instead of ~1 s,
# depending on when the daemon woke); without it the planner estimates from each table's size on disk, the same
# in every run. No JIT: a test's statements are too short to win back LLVM's compile time.
SERVER_SETTINGS = (
    "listen_addresses=127.0.0.1",
    "max_connections=200",
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "wal_level=minimal",
    "max_wal_senders=0",
    "max_wal_size=128MB",
    "autovacuum=off",
    "jit=off",
)


def _start(bindir: Path, base: Path, data: Path, log: Path) -> int:
    """Start the server on a free port, retrying if another process takes the port first."""
    error: Exception | None = None
    for _attempt in range(5):
        port = _free_port()
        options = f"-p {port} -k {base} " + " ".join(f"-c {setting}" for setting in SERVER_SETTINGS)
        try:
            _run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                base,
            )
            return port
        except RuntimeError as exc:
            error = exc
    raise RuntimeError(f"could not start PostgreSQL: {error}\n{log.read_text(errors='replace')}")


_shared_stop: Callable[[], None] | None = None


def shared_postgres() -> str:
    """The URL of the server for this test run (see the module docstring)."""
    global _shared_stop
    url = os.environ.get(ENV_URL)
    if url:
        return url
    url, _shared_stop = start_postgres()
    atexit.register(stop_shared_postgres)
    os.environ[ENV_URL] = url
    return url


def stop_shared_postgres() -> None:
    """Stop the server ``shared_postgres()`` started, if it started one."""
    global _shared_stop
    if _shared_stop is not None:
        _shared_stop()
        _shared_stop = None
        os.environ.pop(ENV_URL, None)


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(server_url: str, prefix: str = "test") -> str:
    """Create an empty database with a unique name on the server; return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_conninfo(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(database_url: str) -> None:
    """Drop a database made by ``create_database`` (closing its remaining connections)."""
    target = make_url(database_url)
    admin = target.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(_conninfo(admin), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target.database or ""))
        )
