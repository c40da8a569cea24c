#!/usr/bin/env bash
# Make sure a headless browser and its WebDriver are installed for the operator console's browser tests
# (tests/console/): Debian's `chromium` and `chromium-driver`. Idempotent and quiet: exits at once when
# both are present; otherwise installs them with apt-get, running `apt-get update` only if the first
# install attempt fails. SCIM_BRIDGE_TEST_CHROMIUM / SCIM_BRIDGE_TEST_CHROMEDRIVER name other binaries.
set -euo pipefail

browser="${SCIM_BRIDGE_TEST_CHROMIUM:-}"
driver="${SCIM_BRIDGE_TEST_CHROMEDRIVER:-}"

have_browser() {
    if [ -n "$browser" ] || [ -n "$driver" ]; then
        [ -x "${browser:-/usr/bin/chromium}" ] && [ -x "${driver:-/usr/bin/chromedriver}" ]
        return
    fi
    command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1
}

if have_browser; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-browser: chromium and chromedriver are missing and apt-get is not available;" >&2
    echo "ensure-browser: install them, or set SCIM_BRIDGE_TEST_CHROMIUM and SCIM_BRIDGE_TEST_CHROMEDRIVER" >&2
    exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo -n)
    else
        echo "ensure-browser: need root to install chromium and chromium-driver" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
install() {
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
}

echo "ensure-browser: installing chromium and chromium-driver for the console tests" >&2
if ! install 2>/dev/null; then
    "${SUDO[@]}" apt-get update -qq >/dev/null
    install
fi

if ! have_browser; then
    echo "ensure-browser: installation finished but chromium/chromedriver were not found" >&2
    exit 1
fi
