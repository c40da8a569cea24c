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

if [ "${1:-}" = "--missing" ]; then  # print the Debian packages still to install (scripts/ensure-system.sh)
    [ -n "${SCIM_BRIDGE_TEST_POSTGRES_URL:-}" ] || have_server || echo "postgresql"
    exit 0
fi

if [ -n "${SCIM_BRIDGE_TEST_POSTGRES_URL:-}" ] || have_server; then
    exit 0
fi

bash "$(dirname "$0")/apt-install.sh" ensure-postgres postgresql

if ! have_server; then
    echo "ensure-postgres: installation finished but initdb/pg_ctl were not found" >&2
    exit 1
fi
