#!/usr/bin/env bash
# Install Debian packages quietly for a test prerequisite: apt-install.sh WHO PACKAGE...
# Runs `apt-get update` only when the first install attempt fails (a fresh machine's lists may be old).
set -euo pipefail
who="$1"
shift

if ! command -v apt-get >/dev/null 2>&1; then
    echo "$who: $* missing and apt-get is not available; install them by hand" >&2
    exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo -n)
    else
        echo "$who: need root to install $*" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
install() {
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

echo "$who: installing $*" >&2
if ! install "$@" 2>/dev/null; then
    "${SUDO[@]}" apt-get update -qq >/dev/null
    install "$@"
fi
