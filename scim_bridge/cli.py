"""The ``scim-bridge`` command."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any
from typing import NoReturn

import click

from scim_bridge import __version__
from scim_bridge.config import BearerToken
from scim_bridge.config import ConfigError
from scim_bridge.config import Settings
from scim_bridge.config import generate_token
from scim_bridge.config import parse_scopes


def _port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, or None when it can (checked by binding it once)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"scim-bridge: {message}", err=True)
    sys.exit(code)


def _settings(*, require_key: bool = True) -> Settings:
    try:
        settings = Settings.from_env(require_key=require_key)
    except ConfigError as exc:
        _fail(str(exc))
    return settings


def _store(settings: Settings) -> Any:
    from scim_bridge.store import Store  # not bootstrap: `audit` and `db upgrade` need no upstream client

    try:
        store = Store.migrated(settings.database_url)
    except Exception as exc:  # a bad URL or unreachable database: one clear line
        _fail(f"SCIM_BRIDGE_DATABASE_URL: cannot open the database: {exc.__class__.__name__}: {exc}")
    return store


def _one_process_metrics() -> None:
    """Commands of one process keep their metrics in memory: prometheus_client's multiprocess folder
    (PROMETHEUS_MULTIPROC_DIR, set for `serve`) is not theirs to write, and may not exist where they run."""
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


def _logging(level: str = "INFO") -> None:
    from scim_bridge import logs

    logs.configure(level)  # one JSON object per line on stderr


@click.group()
@click.version_option(__version__, prog_name="scim-bridge")
def main() -> None:
    """SCIM 2.0 bridge for OpsGenie users, teams and roles."""


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=None, type=click.IntRange(1, 64), help="gunicorn workers (default 2).")
@click.option("--threads", default=32, show_default=True, type=click.IntRange(1, 256))
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM).")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), help="TLS private key (PEM).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              envvar="SCIM_BRIDGE_GUNICORN_CONFIG",
              help="gunicorn settings file such as deploy/gunicorn.conf.py; options given here win over it.")
def serve(host: str, port: int, workers: int | None, threads: int, certfile: str | None,
          keyfile: str | None, config_file: str | None) -> None:
    """Serve SCIM under gunicorn (production)."""
    settings = _settings()
    if not settings.tokens and not settings.oauth_clients:
        _fail("SCIM_BEARER_TOKEN (or SCIM_BEARER_TOKEN_FILE, SCIM_BEARER_TOKEN_HASHES or SCIM_BRIDGE_OAUTH_CLIENTS) "
              "is not set")
    if bool(certfile) != bool(keyfile):
        _fail("--certfile and --keyfile go together")
    _store(settings).close()
    _logging("INFO")  # one JSON line per request on stderr (logger scim_bridge.access)
    from scim_bridge.web.gunicorn import BridgeApplication
    from scim_bridge.web.gunicorn import gunicorn_options

    options = gunicorn_options(host=host, port=port, workers=workers or 2, threads=threads,
                               certfile=certfile, keyfile=keyfile)
    if config_file:
        options = _with_config_file(options, config_file)
    BridgeApplication(settings, options).run()


def _with_config_file(options: dict[str, Any], path: str) -> dict[str, Any]:
    """Settings of a gunicorn config file over the defaults; options given on the command line win."""
    import runpy
    import types

    from click.core import ParameterSource

    try:
        found = runpy.run_path(path)
    except Exception as exc:  # a broken config file: one clear line
        _fail(f"--config {path}: {exc.__class__.__name__}: {exc}")
    merged = dict(options)
    merged.update({k: v for k, v in found.items()
                   if not k.startswith("_") and not isinstance(v, types.ModuleType) and v is not None})
    ctx = click.get_current_context()
    given = {name for name in ("host", "port", "workers", "threads", "certfile", "keyfile")
             if ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)}
    if given & {"host", "port"}:
        merged["bind"] = options["bind"]
    for name in given - {"host", "port"}:
        merged[name] = options[name]
    return merged


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--simulator-port", default=0, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--upstream", type=click.Choice(["opsgenie", "jsm"]), default="opsgenie", show_default=True,
              help="jsm: the demo directory migrated to the Atlassian simulator, served with SCIM_BRIDGE_UPSTREAM=jsm.")
def demo(host: str, port: int, simulator_port: int, upstream: str) -> None:
    """Bridge + built-in OpsGenie simulator (or, with --upstream jsm, Atlassian simulator) + SQLite, no account
    needed."""
    _one_process_metrics()  # before prometheus_client is imported
    busy = _port_in_use(host, port)
    if busy:
        _fail(f"cannot listen on {host}:{port}: {busy}")  # before anything is started, reset or imported
    env = dict(os.environ)
    token = env.get("SCIM_BEARER_TOKEN", "").strip() or generate_token()
    sim_key = "demo-" + hashlib.sha256(token.encode()).hexdigest()[:16]
    database = env.get("SCIM_BRIDGE_DATABASE_URL", "").strip()
    if not database or database == "sqlite:///var/demo.db":  # the default, perhaps loaded from var/demo.env
        path = Path("var/demo.db")
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.with_suffix(".lock").open("w")  # open (and locked) while this function serves
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _fail(f"another demo is running on {path}: stop it, or give this one its own "
                  "SCIM_BRIDGE_DATABASE_URL (e.g. sqlite:///var/demo2.db)")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)  # the simulator starts afresh too
        database = f"sqlite:///{path}"
    # The server's modules, once the checks above have passed: a demo refused there ends without loading them.
    from werkzeug.serving import make_server

    from scim_bridge.simulator.config import SimulatorConfig
    from scim_bridge.simulator.server import SimulatorServer
    from scim_bridge.web.app import create_app

    _logging("WARNING")
    console_token = env.get("SCIM_BRIDGE_CONSOLE_TOKEN", "").strip() or generate_token()
    simulator = SimulatorServer(SimulatorConfig.from_cli(sim_key), port=simulator_port, seed="demo").start()
    env.update({"OPSGENIE_API_URL": simulator.base_url, "OPSGENIE_API_KEY": sim_key,
                "SCIM_BEARER_TOKEN": token, "SCIM_BRIDGE_DATABASE_URL": database,
                "SCIM_BRIDGE_CONSOLE_TOKEN": console_token})
    jsm = None
    if upstream == "jsm":
        from scim_bridge.ops.demo import start_jsm_demo

        try:
            jsm = start_jsm_demo(env, simulator.base_url)
        except ConfigError as exc:
            _fail(str(exc))
        env = jsm.env
    try:
        settings = Settings.from_env(env)
    except ConfigError as exc:
        _fail(str(exc))
    store = _store(settings)
    app = create_app(settings, store=store, start_sync=True)
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror}")
    base = f"http://{host}:{port}/scim/v2"
    env_file = _write_demo_env(env, base)
    click.echo(f"scim-bridge {__version__} demo: SCIM at {base}")
    click.echo(f"  OpsGenie simulator at {simulator.base_url} (GenieKey {sim_key}); "
               f"its call log: {simulator.base_url}/__sim/calls")
    if jsm is not None:
        linked = jsm.report.counts()
        click.echo(f"  upstream: JSM Operations on the Atlassian simulator at {jsm.simulator.base_url} "
                   f"(its call log: {jsm.simulator.base_url}/__sim/calls); the OpsGenie account above was migrated "
                   f"to it: {linked['user']['matched']} users and {linked['team']['matched']} teams keep their SCIM "
                   "ids")
    click.echo(f"  state: {database}")
    from scim_bridge.ops.check import reads_label

    click.echo("  single reads: " + reads_label(settings))
    if env.get("SCIM_BEARER_TOKEN") == os.environ.get("SCIM_BEARER_TOKEN", "").strip():
        click.echo("  bearer token: from SCIM_BEARER_TOKEN")
    else:
        click.echo(f"  bearer token: {token}")
    click.echo(f"  try: curl -H 'Authorization: Bearer {token}' {base}/Users")
    click.echo(f"  console: http://{host}:{port}/console (login token: {console_token})")
    click.echo(f"  CLI against this demo: set -a; . {env_file}; set +a   then e.g. .venv/bin/scim-bridge check")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
        if jsm is not None:
            jsm.simulator.stop()


DEMO_ENV = Path("var/demo.env")
DEMO_ENV_KEYS = ("OPSGENIE_API_URL", "OPSGENIE_API_KEY", "SCIM_BEARER_TOKEN", "SCIM_BRIDGE_DATABASE_URL",
                 "SCIM_BRIDGE_CONSOLE_TOKEN")


def _demo_env_keys(env: dict[str, str]) -> list[str]:
    """The settings the demo runs with that the CLI needs, whichever upstream it simulates."""
    upstream = sorted(k for k in env if k.startswith("ATLASSIAN_") or k == "SCIM_BRIDGE_UPSTREAM")
    return [key for key in (*DEMO_ENV_KEYS, *upstream) if env.get(key)]


def _write_demo_env(env: dict[str, str], base: str) -> Path:
    """var/demo.env: what the CLI needs to work on the running demo (``set -a; . var/demo.env; set +a``)."""
    import shlex

    lines = ["# Written by 'scim-bridge demo' for the demo it started; rewritten at each start.",
             "# Load it into a shell with: set -a; . var/demo.env; set +a",
             *(f"{key}={shlex.quote(env[key])}" for key in _demo_env_keys(env)),
             f"SCIM_BASE_URL={shlex.quote(base)}"]
    DEMO_ENV.parent.mkdir(parents=True, exist_ok=True)
    DEMO_ENV.touch(mode=0o600)
    DEMO_ENV.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return DEMO_ENV


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9100, show_default=True, type=click.IntRange(0, 65535))
@click.option("--upstream", type=click.Choice(["opsgenie", "jsm"]), default="opsgenie", show_default=True,
              help="jsm: the Atlassian simulator (Teams, JSM Operations, Jira, Organizations admin on one host).")
@click.option("--api-key", default=None, help="The GenieKey the OpsGenie simulator accepts (required for opsgenie).")
@click.option("--latency-ms", default=None, type=click.IntRange(0, 60_000))
@click.option("--rate-limit", "rate_limits", multiple=True, metavar="DOMAIN=PER_SEC/PER_MIN",
              help="e.g. configuration=10/600 (repeatable).")
@click.option("--fail-rate", default=None, type=float, help="Share of requests answered with a 5xx.")
@click.option("--seed", default="demo", show_default=True, help="'demo' for sample data, 'empty' for none.")
def simulator(host: str, port: int, upstream: str, api_key: str | None, latency_ms: int | None,
              rate_limits: tuple[str, ...], fail_rate: float | None, seed: str) -> None:
    """Run the OpsGenie-compatible (or, with --upstream jsm, the Atlassian-compatible) simulator alone."""
    if upstream == "jsm":
        _atlassian_simulator(host, port, latency_ms, seed)
        return
    if not api_key:
        _fail("--api-key is required for the OpsGenie simulator")
    from scim_bridge.simulator.config import SimulatorConfig
    from scim_bridge.simulator.server import SimulatorServer

    try:
        config = SimulatorConfig.from_cli(api_key, latency_ms, list(rate_limits), fail_rate, None)
    except ValueError as exc:
        _fail(str(exc))
    server = SimulatorServer(config, host=host, port=port, seed=None if seed == "empty" else seed)
    click.echo(f"OpsGenie simulator on {server.base_url} (GenieKey {api_key})")
    sys.stdout.flush()
    server.serve_forever()


def _atlassian_simulator(host: str, port: int, latency_ms: int | None, seed: str) -> None:
    from scim_bridge.simulator.atlassian import AtlassianSimConfig
    from scim_bridge.simulator.atlassian import AtlassianSimulatorServer

    config = AtlassianSimConfig(latency_ms=latency_ms or 0)
    server = AtlassianSimulatorServer(config, host=host, port=port, seed=None if seed == "empty" else seed)
    click.echo(f"Atlassian simulator on {server.base_url} (Basic {config.admin_email}:{config.api_token}, "
               f"Bearer {config.admin_api_key}, org {config.org_id}, cloud {config.cloud_id}, site {config.site_id})")
    sys.stdout.flush()
    server.serve_forever()


@main.group()
def db() -> None:
    """Manage the state database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations (serve and demo do it on start)."""
    settings = _settings(require_key=False)
    _store(settings).close()
    click.echo("database is up to date")


@main.group()
def token() -> None:
    """Manage SCIM bearer tokens."""


@token.command("create")
@click.argument("name")
@click.option("--scopes", default="read+write+roles", show_default=True, metavar="SCOPE+SCOPE",
              help="What the token may do: read (GET, .search), write (create, change, delete users and teams), "
                   "roles (change a user's OpsGenie role, with write).")
def token_create(name: str, scopes: str) -> None:
    """Print a new token and the configuration line that accepts it."""
    if not name.replace("-", "").replace("_", "").isalnum():
        _fail("NAME may contain only letters, digits, '-' and '_'")
    try:
        granted = parse_scopes(scopes, "--scopes")
    except ConfigError as exc:
        _fail(str(exc))
    secret = generate_token()
    click.echo(f"token (give it to the identity provider; it is not stored anywhere): {secret}")
    click.echo("add this entry to SCIM_BEARER_TOKEN_HASHES (comma-separated, keep the old one during rotation):")
    click.echo(f"  {BearerToken.from_secret(name, secret, granted).entry()}")


@main.command()
def sync() -> None:
    """Run one full sync of the mirror now (an interrupted one goes on from where it stopped)."""
    _one_process_metrics()  # before prometheus_client is imported
    from scim_bridge.ops.batch import batch_directory

    settings = _settings()
    store = _store(settings)
    directory, _client = batch_directory(settings, store)
    from scim_bridge.directory.errors import DirectoryError
    from scim_bridge.ops.progress import progress_on_terminal
    from scim_bridge.service.errors import explain_failure
    from scim_bridge.service.sync import SyncService

    try:
        with progress_on_terminal() as progress:
            result = SyncService.for_settings(directory, store, settings, progress=progress).run()
    except DirectoryError as exc:
        _fail(f"sync failed: {explain_failure(exc, settings.upstream)}", 1)
    if result is None:
        click.echo("another replica is syncing right now; nothing done")
        return
    click.echo(f"synced {result.users} users, {result.teams} teams, {result.roles} roles in {result.seconds:.1f}s")


@main.command()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--resource", "resource_id", default=None, help="Only events about this resource id.")
@click.option("--actor", default=None, help="Only events from this token or client name.")
@click.option("--outcome", type=click.Choice(["ok", "error"]), default=None)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def audit(limit: int, resource_id: str | None, actor: str | None, outcome: str | None, as_json: bool) -> None:
    """Print the audit log, newest first."""
    settings = _settings(require_key=False)
    store = _store(settings)
    for event in store.list_audit(limit=limit, resource_id=resource_id, actor=actor, outcome=outcome):
        if as_json:
            click.echo(json.dumps({
                "at": event.at.isoformat(), "actor": event.actor, "request_id": event.request_id,
                "operation": event.operation, "path": event.path, "status": event.status,
                "outcome": event.outcome, "detail": event.detail, "scopes": event.scopes,
                "upstream_calls": event.upstream_calls,
            }))
        else:
            calls = len(event.upstream_calls)
            counted = f"{calls} upstream call" + ("" if calls == 1 else "s")
            click.echo(f"{event.at:%Y-%m-%d %H:%M:%S} {event.actor:<12} {event.operation:<8} {event.path} "
                       f"-> {event.status} {event.outcome} ({counted}, scopes {event.scopes or '-'}) "
                       f"{event.detail}".rstrip())


@main.command()
@click.option("--other-region-url", default=None, metavar="URL",
              help="Where to try a key that the configured host refuses (default: the other OpsGenie region's "
                   "API host, when OPSGENIE_API_URL is one of the two).")
@click.option("--no-migrate", is_flag=True, help="Compare the schema revision only; apply no migration.")
def check(other_region_url: str | None, no_migrate: bool) -> None:
    """Check configuration, OpsGenie key, rights and region, database and tokens; exit 0 when all can work."""
    from scim_bridge.ops.check import all_passed
    from scim_bridge.ops.check import run_checks

    results = run_checks(os.environ, other_region_url=other_region_url, migrate=not no_migrate)
    for result in results:
        click.echo(result.line())
    if not all_passed(results):
        failed = sum(1 for r in results if r.status == "FAIL")
        skipped = sum(1 for r in results if r.status == "SKIP")
        waiting = f" ({skipped} more could not run until then)" if skipped else ""
        click.echo(f"{failed} of {len(results)} checks failed{waiting}: "
                   "the bridge cannot work until they are fixed.")
        sys.exit(1)
    click.echo("all checks passed: the bridge can work.")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["scim", "csv"]), default="scim", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="File to write (default: stdout).")
@click.option("--base-url", default="/scim/v2", show_default=True,
              help="SCIM base URL used in meta.location and $ref, e.g. https://scim.example.com/scim/v2.")
@click.option("--no-sync", is_flag=True,
              help="Export the mirror as last synced, without reading OpsGenie first (no API key needed).")
def export(fmt: str, output: str | None, base_url: str, no_sync: bool) -> None:
    """Export the whole OpsGenie directory: users, teams with members, roles with holders."""
    _one_process_metrics()  # before prometheus_client is imported
    from scim_bridge.ops.batch import batch_directory
    from scim_bridge.ops.export import ExportError
    from scim_bridge.ops.export import export as run_export
    from scim_bridge.ops.progress import progress_on_terminal

    _logging("WARNING")
    settings = _settings(require_key=not no_sync)
    store = _store(settings)
    directory, client = batch_directory(settings, store, reads_upstream=not no_sync)
    target = Path(output) if output is not None else None
    partial = target.with_name(target.name + ".partial") if target is not None else None
    try:
        with progress_on_terminal() as progress:
            if partial is None:
                snapshot = run_export(settings, store, directory, sys.stdout, fmt=fmt, base_url=base_url,
                                      sync=not no_sync, progress=progress)
            else:
                with partial.open("w", encoding="utf-8", newline="") as out:
                    snapshot = run_export(settings, store, directory, out, fmt=fmt, base_url=base_url,
                                          sync=not no_sync, progress=progress)
    except ExportError as exc:
        if partial is not None:
            partial.unlink(missing_ok=True)
        _fail(str(exc), 1)
    finally:
        client.close()
        store.close()
    if partial is not None and target is not None:
        partial.replace(target)
    what = (f"{snapshot.users} users (with their {snapshot.teams} teams)" if fmt == "csv" else
            f"{snapshot.users} users, {snapshot.teams} teams and {snapshot.role_groups} role groups")
    click.echo(f"exported {what}" + (f" to {output}" if output else ""), err=True)
    if snapshot.rosters_not_loaded:
        click.echo(f"warning: {snapshot.rosters_not_loaded} team rosters were never read from OpsGenie (the bridge "
                   "loads them as it needs them): those teams are exported without members and the users' "
                   "groups leave them out; run 'scim-bridge sync' first, or export without --no-sync",
                   err=True)


@main.command()
@click.option("--to", "target", type=click.Choice(["jsm"]), required=True, help="The upstream to move to.")
@click.option("--apply", "apply_links", is_flag=True, help="Record the links (default: a dry run that writes nothing).")
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "json"]), default="text", show_default=True)
def migrate(target: str, apply_links: bool, fmt: str) -> None:
    """Link the store's users and teams to their JSM (Atlassian) counterparts, keeping every SCIM id.

    Exits 0 when every user and team is matched, 1 when some are not (see the report), 2 on a setting error.
    """
    from scim_bridge.ops.migrate import MigrationError
    from scim_bridge.ops.migrate import render
    from scim_bridge.ops.migrate import run_from_env

    _logging("WARNING")
    try:
        report = run_from_env(os.environ, apply=apply_links)
    except ConfigError as exc:
        _fail(str(exc))
    except MigrationError as exc:
        _fail(str(exc), 1)
    click.echo(render(report, fmt), nl=False)
    if not report.complete:
        sys.exit(1)


if __name__ == "__main__":
    main()
