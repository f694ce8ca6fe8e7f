#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine (as root), then run
# the whole suite. Usage: tests/run.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests drive for real. postfix is configured by the tests
# themselves on loopback; "No configuration" keeps the package from touching /etc.
# nginx, apache2, shellcheck, systemd (systemd-analyze), openssl and iproute2 (a client from
# outside, in a network namespace): the appliance tests;
# binutils and libpython3-dev: PyInstaller (objdump, and the shared libpython it bundles);
# python3-venv: Debian's python3 is externally managed, so the Python packages go into .venv;
# debootstrap and systemd-container (systemd-nspawn): the booted-appliance test
# (tests/test_booted.py) builds a Debian 12 and a Debian 13 root and boots them;
# zbar-tools (zbarimg): a real decoder reads the QR code of TOTP enrolment (test_admin_recovery_codes.py).
APT_PACKAGES="postfix chromium postgresql nginx apache2 shellcheck systemd openssl binutils libpython3-dev iproute2
  python3-venv debootstrap systemd-container zbar-tools"
missing=$(for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086 # a list of package names
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

# The Python packages (webcrypt itself, editable, and the test extras) in a virtual environment
# of this checkout, made on the first run and reused: pip may not install into the system's python3.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# Its bin first on PATH: the tests call bandit, pip-audit and pyinstaller by name.
export VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH"
exec .venv/bin/python -m pytest "$@"
