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

if [ "${1:-}" = "--missing" ]; then  # print the Debian packages still to install (scripts/ensure-system.sh)
    have_browser || echo "chromium chromium-driver"
    exit 0
fi

if have_browser; then
    exit 0
fi

bash "$(dirname "$0")/apt-install.sh" ensure-browser chromium chromium-driver

if ! have_browser; then
    echo "ensure-browser: installation finished but chromium/chromedriver were not found" >&2
    exit 1
fi
