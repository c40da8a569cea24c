#!/usr/bin/env bash
# Make sure the PostgreSQL server binaries (initdb, pg_ctl, postgres) are installed, so the test
# suite can start a throw-away cluster (see tests/pgserver.py). Idempotent and quiet: exits at
# once when they are present; otherwise installs Debian's `postgresql` package with apt-get,
# running `apt-get update` only if the first install attempt fails. Tests that are given
# SCIM_BRIDGE_TEST_POSTGRES_URL do not need the binaries, so this is then a no-op.
set -euo pipefail

have_server() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && return 0
    done
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}

if [ -n "${SCIM_BRIDGE_TEST_POSTGRES_URL:-}" ] || have_server; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-postgres: PostgreSQL server binaries are missing and apt-get is not available;" >&2
    echo "ensure-postgres: install PostgreSQL or set SCIM_BRIDGE_TEST_POSTGRES_URL" >&2
    exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo -n)
    else
        echo "ensure-postgres: need root to install PostgreSQL (or set SCIM_BRIDGE_TEST_POSTGRES_URL)" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
install() {
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

echo "ensure-postgres: installing PostgreSQL server for the test suite" >&2
if ! install 2>/dev/null; then
    "${SUDO[@]}" apt-get update -qq >/dev/null
    install
fi

if ! have_server; then
    echo "ensure-postgres: installation finished but initdb/pg_ctl were not found" >&2
    exit 1
fi
