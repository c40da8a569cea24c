#!/usr/bin/env bash
# Install, with one apt-get call, the Debian packages the test suite needs and this machine lacks: PostgreSQL's
# server (scripts/ensure-postgres.sh) and Chromium with its driver (scripts/ensure-browser.sh). One call, because
# two apt-get runs at once would fight over dpkg's lock. A no-op when everything is present.
set -euo pipefail
here="$(dirname "$0")"
read -r -a missing <<<"$(bash "$here/ensure-postgres.sh" --missing) $(bash "$here/ensure-browser.sh" --missing)"
if [ "${#missing[@]}" -gt 0 ]; then
    bash "$here/apt-install.sh" ensure-system "${missing[@]}"
fi
bash "$here/ensure-postgres.sh"
bash "$here/ensure-browser.sh"
