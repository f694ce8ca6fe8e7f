#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine (as root), then run
# the whole suite. Usage: tests/run.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests drive for real. postfix is configured by the tests
# themselves on loopback; "No configuration" keeps the package from touching /etc.
# nginx, apache2, shellcheck, systemd (systemd-analyze), openssl and iproute2 (a client from
# outside, in a network namespace): the appliance tests;
# binutils and libpython3-dev: PyInstaller (objdump, and the shared libpython it bundles).
APT_PACKAGES="postfix chromium postgresql nginx apache2 shellcheck systemd openssl binutils libpython3-dev iproute2"
missing=$(for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'
exec python3 -m pytest "$@"
