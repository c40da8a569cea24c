"""Shared fixtures: a real OpsGenie simulator and a real bridge, both over HTTP on loopback."""

from __future__ import annotations

import functools
import os
import shutil
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.engine import Engine

from scim_bridge.bootstrap import UpstreamPolicy
from scim_bridge.config import Settings
from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.httpserver import PromptServer
from scim_bridge.simulator.server import SimulatorServer
from scim_bridge.simulator.state import StateSnapshot
from scim_bridge.store import tables
from scim_bridge.store.engine import create_store_engine
from scim_bridge.store.store import Store
from scim_bridge.store.tables import metadata
from scim_bridge.web.app import create_app
from tests.upstream_views import SimulatorControl

TOKEN = "test-token-0123456789abcdef"
SIM_KEY = "sim-key"
SCIM_JSON = "application/scim+json"


class SimControl(SimulatorControl):
    """The OpsGenie simulator's control surface and API, over HTTP."""

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"GenieKey {SIM_KEY}", **kwargs.pop("headers", {})}
        return self.http.request(method, self.base_url + path, headers=headers, timeout=10, **kwargs)

    def user(self, username: str) -> dict[str, Any] | None:
        for user in self.state()["users"]:
            if user["username"] == username.lower():
                found: dict[str, Any] = user
                return found
        return None

    def team(self, name: str) -> dict[str, Any] | None:
        for team in self.state()["teams"]:
            if team["name"] == name:
                found: dict[str, Any] = team
                return found
        return None


class ScimClient:
    """A SCIM client for the bridge under test: paths are relative to /scim/v2."""

    def __init__(self, base_url: str, token: str = TOKEN) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if body is not None:
            headers.setdefault("Content-Type", SCIM_JSON)
            kwargs["json"] = body
        return self.http.request(method, self.base_url + path, headers=headers, timeout=60, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


class RecordedBackoff:
    """A bridge's retry sleep that records each back-off instead of waiting it out.

    The upstream faults of the tests are counted (fail the next N calls), not timed, so nothing needs the wall
    clock to move between attempts. Each wait is still checked: never negative, never more than the time budget
    of one upstream call (``Settings.upstream_wait_budget``); a violation fails the test when its bridge stops.
    Tests whose upstream limits are timed windows give their bridges a ``policy`` whose clock the simulator's rate
    windows share (``RateLimiter.use_clock``), so those waits move that clock instead of the wall clock.
    """

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.waits: list[float] = []
        self.violations: list[float] = []

    def __call__(self, seconds: float) -> None:
        if not 0 <= seconds <= self.budget:
            self.violations.append(seconds)
        self.waits.append(seconds)

    def check(self) -> None:
        assert not self.violations, f"back-off waits outside [0, {self.budget}] s: {self.violations}"


@dataclass
class Running:
    scim: ScimClient
    sim: SimControl
    settings: Settings
    root: str
    app: Any
    backoff: RecordedBackoff | None = None  # the retry waits the bridge skipped (None: it really slept)


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorServer]:
    server = SimulatorServer(SimulatorConfig(), seed=None).start()
    yield server
    server.stop()


# Test modules whose bridges run on SQLite and on PostgreSQL (each test twice); the others use SQLite.
BOTH_BACKENDS = frozenset({"api/test_users.py", "api/test_groups.py", "api/test_mirror_reads.py",
                           "mirror/test_mirror_api.py", "idp/test_migration.py", "ops/test_batch_sync.py"})


# Under pytest-xdist (`make test`: two workers, --dist loadgroup) the tests of one group run on one worker, one
# after the other. The browser tests share a group (one Chromium per run instead of one per worker), and so do
# the tests that start `scim-bridge serve` with gunicorn workers (tests/ops/serving.py), so that two multi-process
# servers never compete for the two cores while their clients wait on deadlines.
def xdist_group(item: pytest.Item) -> str | None:
    if "browser" in getattr(item, "fixturenames", ()):
        return "browser"
    module = getattr(item, "module", None)
    if getattr(getattr(module, "serve", None), "__module__", "") == "ops.serving":
        return "gunicorn"
    return None


# The longest tests (several seconds each: big directories, subprocesses, real rate windows), run first: xdist
# hands out the groups above first (the largest units), then single tests in collection order, so a long test
# collected last would keep one worker busy after the other has run out of work.
LONG_FIRST = (
    "mirror/test_mirror_scale.py", "api/test_big_groups.py", "replicas/", "compliance/", "faults/test_chaos.py",
    "security/test_member_operations.py", "ops/test_batch_sync.py", "ops/test_first_hour.py",
    "mirror/test_index_properties.py", "store/test_store_sync.py", "mirror/test_shared_budget.py",
    "store/test_store_concurrency.py", "store/test_store_migrations.py", "faults/test_write_races.py",
)


def runs_long(item: pytest.Item) -> bool:
    path = Path(str(item.path)).as_posix()
    return any(f"/tests/{prefix}" in path for prefix in LONG_FIRST)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not runs_long(item))  # stable: the long ones first, each set in its own order
    loadgroup = bool(getattr(config.option, "loadgroup", False))  # set on xdist workers under --dist loadgroup
    for item in items:
        group = xdist_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
            if loadgroup:
                # The scheduler groups by the node id's "@group" tag; pytest-xdist 3.8 sets it through an attribute
                # pytest 9.2 no longer reads (every test was its own unit), so the tag is set here.
                item._id = type(item.id).parse(f"{item.nodeid}@{group}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    path = Path(str(metafunc.definition.path)).as_posix()
    if "db_backend" in metafunc.fixturenames and any(path.endswith("/" + name) for name in BOTH_BACKENDS):
        metafunc.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture()
def db_backend(request: pytest.FixtureRequest) -> str:
    """The database the bridges of a test use: "sqlite" (default) or "postgresql"."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def bridge_pg_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the bridges of the PostgreSQL runs (emptied per test)."""
    from tests.pgserver import create_database
    from tests.pgserver import drop_database
    from tests.pgserver import shared_postgres

    url = create_database(shared_postgres(), "bridge_tests")
    store = Store.from_url(url)
    store.upgrade()
    store.close()
    yield url
    drop_database(url)


# Every table of the bridge emptied (dependent tables first) and every id sequence restarted, in one round trip:
# on tables of a test's size DELETE takes a few milliseconds where TRUNCATE, which replaces each table's and
# index's files, takes tens. But DELETE leaves the rows' space to a vacuum, and the test cluster runs none
# (tests/pgserver.py), so once a table's file has grown past a megabyte (after a 10,000-user test, or a few dozen
# refills of the synced demo's index) the tables are truncated first, and later tests do not step over its
# dead rows. TRUNCATE needs every table unused: if one is locked (NOWAIT), DELETE alone empties them, as before.
_BRIDGE_TABLES = ", ".join(table.name for table in metadata.sorted_tables)
EMPTY_POSTGRES = "; ".join(
    ["DO $$BEGIN IF (SELECT max(pg_relation_size(oid)) FROM pg_class WHERE relkind = 'r' AND relnamespace = "
     f"'public'::regnamespace) > 1048576 THEN BEGIN LOCK TABLE {_BRIDGE_TABLES} IN ACCESS EXCLUSIVE MODE NOWAIT; "
     f"TRUNCATE {_BRIDGE_TABLES}; EXCEPTION WHEN lock_not_available THEN NULL; END; END IF; END$$"]
    + [f"DELETE FROM {table.name}" for table in reversed(metadata.sorted_tables)]
    + ["SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S' AND relnamespace = 'public'::regnamespace"]
)


@functools.cache
def reset_engine(url: str) -> Engine:
    """The engine the resets of the database at ``url`` run on, kept for the test run: its connection (a server
    process whose catalog caches are warm) serves every reset, where a connection per reset cost a server
    process start and a cold plan of every table's DELETE each time."""
    return create_store_engine(url)


class RunStore(Store):
    """A test bridge's store on the run's engine of its PostgreSQL database (:func:`reset_engine`): closing it
    leaves the pooled connections, warm, to the next bridge and reset (the product's locks and settings are all
    transaction-scoped, so a connection carries nothing from one bridge to the next)."""

    def close(self) -> None:
        pass


def open_store(url: str, clock: Callable[[], datetime] | None = None, *, kept: bool = False) -> Store:
    """The store of a test bridge on ``url``: on PostgreSQL a :class:`RunStore`, on SQLite its own engine, or
    with ``kept`` the run's engine of that file (a :class:`BridgeFiles` file; closing the store closes its
    connections and keeps the engine)."""
    if url.startswith("postgresql"):
        return RunStore(reset_engine(url), clock=clock)
    if kept:
        return Store(reset_engine(url), clock=clock)
    return Store.from_url(url, clock=clock)


def run_postgres(url: str, statements: str) -> None:
    """Run ``statements`` (separated by semicolons) in one transaction, one round trip, on the database at
    ``url``."""
    with reset_engine(url).begin() as conn:
        conn.exec_driver_sql(statements)


def empty_postgres(url: str) -> str:
    """Empty every table of the bridge database at ``url`` (between tests); returns ``url``."""
    run_postgres(url, EMPTY_POSTGRES)
    return url


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    store = Store.from_url(f"sqlite:///{path}")
    store.upgrade()
    store.close()
    return path


def serve_app(app: Any, ssl_context: Any = None) -> PromptServer:
    """``app`` served on a free loopback port in a daemon thread; ``shutdown()`` + ``server_close()`` stop it
    at once (no poll interval to wait out)."""
    server = PromptServer("127.0.0.1", 0, app, ssl_context=ssl_context)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _serve(app: Any) -> tuple[str, Any]:
    server = serve_app(app)
    return f"http://127.0.0.1:{server.server_port}", server


# The suite was written when read-through was the default. Bridges of the tests under DEFAULT_MODE_DIRS run
# the default configuration (reads from the mirror) unless the test is marked ``read_through`` (it checks that
# mode's reads or call counts); bridges of the other directories still read through unless a test passes
# read_through=False.
READ_THROUGH_UNLESS_ASKED = True
DEFAULT_MODE_DIRS = ("tests/api/", "tests/idp/", "tests/mirror/")


def read_through_for(request: pytest.FixtureRequest) -> bool:
    """Whether the bridges of the requesting test read through when it does not say (see above)."""
    if request.node.get_closest_marker("read_through") is not None:
        return True
    path = Path(str(request.node.path)).as_posix()
    return not any(f"/{folder}" in path for folder in DEFAULT_MODE_DIRS)


def start_bridge(
    simulator: SimulatorServer, db_path: Path | None, template_db: Path | None, *, database_url: str = "",
    record_backoff: bool = False, clock: Callable[[], datetime] | None = None,
    synced: StateSnapshot | None = None, policy: UpstreamPolicy | None = None, kept: bool = False,
    **overrides: Any,
) -> tuple[Running, Any, Store]:
    """A bridge over HTTP on loopback; on a copy of the SQLite template at ``db_path``, or on
    ``database_url`` (e.g. PostgreSQL, shared by several bridges). ``record_backoff``: the upstream client's
    retry back-off is recorded on ``Running.backoff`` instead of slept. ``clock``: the store's (and so the
    freshness window's) clock. ``synced``: ``template_db`` is a mirror already synced from the simulator state
    ``synced`` (see :class:`SyncedDemo`): the simulator is put back to it and the bridge starts without its
    initial sync, its copies confirmed as of now (as a sync at start would leave them). ``policy``: the upstream
    client's clock and sleeps (e.g. a virtual clock shared with the simulator's rate limiter), instead of
    ``record_backoff``. ``kept``: ``db_path`` is a :class:`BridgeFiles` file, its engine kept for the run."""
    overrides.setdefault("read_through", READ_THROUGH_UNLESS_ASKED)
    if synced is not None:
        simulator.state.restore(synced)
    kept = kept and not database_url  # a bridge given another's database opens its own engine on it
    if not database_url:
        assert db_path is not None and template_db is not None
        fresh_copy(template_db, db_path)
        database_url = f"sqlite:///{db_path}"
    settings = Settings(
        opsgenie_api_url=simulator.base_url,
        opsgenie_api_key=SIM_KEY,
        database_url=database_url,
        sync_interval=0,
    ).with_token(TOKEN, "test")
    settings = replace(settings, **overrides)
    store = open_store(settings.database_url, clock, kept=kept)
    store.upgrade()
    if synced is not None:
        confirm_copies(store)
    backoff = RecordedBackoff(settings.upstream_wait_budget) if record_backoff and policy is None else None
    app = create_app(settings, store=store, retry_sleep=backoff or time.sleep, policy=policy)
    if synced is None:
        app.extensions["scim_bridge"].sync.run()  # as `serve` does at start
    else:
        simulator.state.calls.restore(synced.calls)  # the log as the snapshot's sync left it
        sync = app.extensions["scim_bridge"].sync
        for observer in sync.observers:  # e.g. the console's sync history: told of the run the snapshot stands for
            observer(sync.last() or {})
    root, server = _serve(app)
    running = Running(
        scim=ScimClient(root + "/scim/v2"), sim=SimControl(simulator.base_url), settings=settings, root=root,
        app=app, backoff=backoff,
    )
    return running, server, store


def confirm_copies(store: Store) -> None:
    """Mark every copy of a pre-synced mirror as confirmed upstream now, as the sync it stands for would: the
    freshness window then counts from the bridge's start, whenever the mirror was built."""
    moment = store.now()
    with store.engine.begin() as conn:
        conn.execute(tables.users.update().values(synced_at=moment))
        conn.execute(tables.groups.update().values(synced_at=moment))


class SyncedDemo:
    """The initial sync of the test bridges, made once per setting set and xdist worker.

    Most test bridges start over the seeded simulator with default settings, or with one of a few
    (``SNAPSHOT_SETTINGS``). For each such start the first one builds, in a throw-away bridge, the mirror its
    initial sync writes and a snapshot of the simulator after it (directory, id generator, call log); every test
    bridge of that kind, the first included, then starts on a copy of that database (on PostgreSQL: the shared
    database refilled from a copy of its tables) with the simulator restored to that snapshot, and skips its
    own sync. What a test observes is the same as after a sync of its own: the mirror, the last-sync record, the
    simulator's ids and call log; the bridge's request-limits call (made when its app is created) is in the
    restored log in the place the sync had it.
    """

    SNAPSHOT_SETTINGS = frozenset({"read_through", "upstream_wait_budget", "default_role", "phone_region"})
    # Not read by a sync (the console's and the SCIM endpoints' access settings), or not changing what it writes
    # (the upstream policy's clock): any value shares a snapshot.
    SYNC_BLIND = frozenset({"console_token", "console_secret", "tokens", "discovery_requires_auth",
                            "client_rate_limit", "client_rate_burst", "policy"})

    def __init__(self, simulator: SimulatorServer, folder: Path, template_db: Path) -> None:
        self.simulator = simulator
        self.folder = folder
        self.template_db = template_db
        self.built: dict[tuple[Any, ...], tuple[Path, StateSnapshot]] = {}
        self.built_postgres: dict[tuple[Any, ...], tuple[str, StateSnapshot]] = {}  # restoring SQL, snapshot

    def key(self, seed: str | None, overrides: dict[str, Any]) -> tuple[Any, ...] | None:
        """The snapshot a bridge with these ``start_bridge`` arguments can start from (None: it syncs)."""
        if seed not in ("demo", None) or not overrides.get("record_backoff"):
            return None
        settings = {k: v for k, v in overrides.items() if k != "record_backoff" and k not in self.SYNC_BLIND}
        if not set(settings) <= self.SNAPSHOT_SETTINGS:
            return None
        if self.simulator.state.config.to_dict() != SimulatorConfig().to_dict():
            return None
        return (seed, *sorted(settings.items()))

    def get(self, key: tuple[Any, ...], seed: str | None, overrides: dict[str, Any]) -> tuple[Path, StateSnapshot]:
        if key not in self.built:
            self.simulator.state.reset(seed=seed)
            path = self.folder / f"synced{len(self.built)}.db"
            built = {k: v for k, v in overrides.items() if k not in self.SYNC_BLIND}
            _, server, store = start_bridge(self.simulator, path, self.template_db, **built)
            server.shutdown()
            server.server_close()
            store.close()
            assert not path.with_name(path.name + "-wal").exists()
            self.built[key] = (path, self.simulator.state.snapshot())
        return self.built[key]

    def restore_postgres(self, key: tuple[Any, ...], seed: str | None, overrides: dict[str, Any],
                         url: str) -> StateSnapshot:
        """The PostgreSQL database at ``url`` set to the synced mirror of ``key`` (the first time, a throw-away
        bridge syncs it and its tables are copied into a schema of their own); the simulator snapshot to
        start from."""
        if key not in self.built_postgres:
            self.simulator.state.reset(seed=seed)
            _, server, store = start_bridge(self.simulator, None, None, database_url=empty_postgres(url),
                                            **overrides)
            server.shutdown()
            server.server_close()
            schema = f"synced{len(self.built_postgres)}"
            names = [table.name for table in metadata.sorted_tables]
            with store.engine.begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
                for name in names:
                    conn.exec_driver_sql(f"CREATE TABLE {schema}.{name} AS TABLE public.{name}")
                sequences = conn.exec_driver_sql(
                    "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
                ).all()
            store.close()
            restore = [EMPTY_POSTGRES]
            restore += [f"INSERT INTO public.{name} SELECT * FROM {schema}.{name}" for name in names]
            restore += [f"SELECT setval('public.{name}', {value}, true)" for name, value in sequences
                        if value is not None]
            self.built_postgres[key] = ("; ".join(restore), self.simulator.state.snapshot())
        statements, snapshot = self.built_postgres[key]
        run_postgres(url, statements)
        return snapshot


@pytest.fixture(scope="session")
def synced_demo(simulator: SimulatorServer, tmp_path_factory: pytest.TempPathFactory,
                template_db: Path) -> SyncedDemo:
    return SyncedDemo(simulator, tmp_path_factory.mktemp("synced"), template_db)


def fresh_copy(template: Path, path: Path) -> None:
    """``path`` replaced by a copy of the SQLite file ``template``: a new file (a connection still open on the
    old one keeps the old one), without the write-ahead log and shared-memory index of the file it replaces."""
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    part = path.with_name(path.name + ".part")
    shutil.copyfile(template, part)
    os.replace(part, path)


class BridgeFiles:
    """The SQLite files of the test bridges of an xdist worker: a test's n-th bridge (unless given a database)
    runs on file n, replaced by a fresh copy of its template for each test (:func:`fresh_copy`), on one
    engine kept for the run (:func:`reset_engine`).

    SQLAlchemy compiles a statement once per engine (its compiled cache is the engine's): with an engine per
    test bridge every test paid the compilation of every statement its bridge ran (a third of a small
    request's CPU). Each test still gets a fresh database, store, app and server; what it shares with the
    tests before it is the engine (its dialect and compiled statements; closing the store closes the pooled
    connections) and the process's write-lock file beside the database. A bridge that still holds a
    connection when its test ends (its server has finished every request then) retires the files: the later
    tests get new ones, and whatever still runs on the old engine never reaches their databases."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.generation = 0

    def path(self, n: int) -> Path:
        return self.folder / f"bridge{n}-{self.generation}.db"

    def release(self, store: Store) -> None:
        """Close ``store`` at the end of its test, retiring the files if it is still in use."""
        if store.engine.pool.checkedout():
            self.generation += 1
        store.close()


@pytest.fixture(scope="session")
def bridge_files(tmp_path_factory: pytest.TempPathFactory) -> BridgeFiles:
    return BridgeFiles(tmp_path_factory.mktemp("bridges"))


@pytest.fixture()
def bridge_factory(
    simulator: SimulatorServer, template_db: Path, db_backend: str, request: pytest.FixtureRequest,
    synced_demo: SyncedDemo, bridge_files: BridgeFiles,
) -> Iterator[Any]:
    """Start bridges with settings overrides; all share the session's simulator (reset per test).

    On PostgreSQL (``db_backend``) each bridge of a test gets the emptied shared database in turn, so start
    one bridge per test there. The bridges record their retry back-off instead of sleeping it
    (:class:`RecordedBackoff`) unless given a ``policy`` (see :func:`start_bridge`).
    """
    started: list[tuple[Any, Store]] = []
    backoffs: list[RecordedBackoff] = []
    pg_url = str(request.getfixturevalue("bridge_pg_url")) if db_backend == "postgresql" else ""
    simulator.state.update_config(SimulatorConfig().to_dict())  # knobs back to their defaults
    simulator.state.reset(seed="demo")

    def factory(seed: str | None = "demo", **overrides: Any) -> Running:
        overrides.setdefault("read_through", read_through_for(request))
        overrides.setdefault("record_backoff", True)
        key = None if started else synced_demo.key(seed, overrides)
        template = template_db
        if key is not None and pg_url:
            overrides["synced"] = synced_demo.restore_postgres(key, seed, overrides, pg_url)
            overrides["database_url"] = pg_url
        elif key is not None:
            template, overrides["synced"] = synced_demo.get(key, seed, overrides)
        else:
            if pg_url and "database_url" not in overrides:  # a bridge given the first one's database shares it
                overrides["database_url"] = empty_postgres(pg_url)
            if not started:
                simulator.state.reset(seed=seed)
        running, server, store = start_bridge(
            simulator, bridge_files.path(len(started)), template, kept=True, **overrides
        )
        started.append((server, store))
        if running.backoff is not None:
            backoffs.append(running.backoff)
        return running

    yield factory
    for server, _ in started:
        server.shutdown()
        server.server_close()  # waits for the requests in progress
    for _, store in started:
        bridge_files.release(store)
    simulator.state.reset(seed=None)
    for backoff in backoffs:
        backoff.check()


@pytest.fixture()
def bridge(bridge_factory: Any) -> Running:
    """A bridge over a simulator seeded with the demo directory."""
    running: Running = bridge_factory()
    return running


@pytest.fixture()
def empty_bridge(bridge_factory: Any) -> Running:
    """A bridge over an empty simulator (only the account owner, if the simulator keeps one)."""
    running: Running = bridge_factory(seed=None)
    return running
