#!/bin/sh
# Remove the webcrypt appliance, as root. Keeps the data (configuration, master key, database,
# TLS certificate) and the system user unless --purge is given:
#
#   appliance/uninstall.sh            # programs, units, front-end site and Postfix wiring go
#   appliance/uninstall.sh --purge    # ... and /etc/webcrypt, /var/lib/webcrypt and the user
#
# The locations follow the same WEBCRYPT_* environment variables as install.sh.
set -eu

die() { echo "uninstall.sh: error: $*" >&2; exit 1; }
say() { echo "uninstall.sh: $*"; }

PREFIX=${WEBCRYPT_PREFIX:-/opt/webcrypt}
BIN=${WEBCRYPT_BIN:-/usr/local/bin}
ETC=${WEBCRYPT_ETC:-/etc/webcrypt}
VAR=${WEBCRYPT_VAR:-/var/lib/webcrypt}
BACKUPS=${WEBCRYPT_BACKUPS:-/var/backups/webcrypt}
UNITS=${WEBCRYPT_UNITS:-/etc/systemd/system}
NGINX=${WEBCRYPT_NGINX:-/etc/nginx}
APACHE=${WEBCRYPT_APACHE:-/etc/apache2}
TLS=${WEBCRYPT_TLS:-/etc/ssl/webcrypt}
POSTFIX=${WEBCRYPT_POSTFIX:-/etc/postfix}
ACCOUNT=${WEBCRYPT_USER:-webcrypt}

PURGE=no
for arg in "$@"; do
    case "$arg" in
        --purge) PURGE=yes ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) die "unknown option $arg (only --purge)" ;;
    esac
done
[ "$(id -u)" = 0 ] || die "run as root"

systemd_running() { [ -d /run/systemd/system ]; }
UNIT_NAMES="webcrypt-portal.service webcrypt-relay.service webcrypt-maintain.timer webcrypt-maintain.service"

if systemd_running; then
    # shellcheck disable=SC2086 # a list of unit names
    systemctl disable --now $UNIT_NAMES 2>/dev/null || true
    # a service that ended "failed" while stopping (the relay, killed mid-connection) is forgotten too
    # shellcheck disable=SC2086 # a list of unit names
    systemctl reset-failed $UNIT_NAMES 2>/dev/null || true
fi
for unit in $UNIT_NAMES; do
    rm -f "$UNITS/$unit"
done
if systemd_running; then systemctl daemon-reload; fi

# Postfix: drop the entries between the markers install.sh wrote, and put back the settings
# it changed on existing entries and in main.cf (recorded in postfix-wiring.undo).
begin="# BEGIN webcrypt (appliance/install.sh; replaced on upgrade)"
if [ -f "$POSTFIX/master.cf" ] && grep -qxF "$begin" "$POSTFIX/master.cf"; then
    awk -v begin="$begin" -v end="# END webcrypt" '
        $0 == begin { skip = 1; next }
        skip { if ($0 == end) skip = 0; next }
        { print }
    ' "$POSTFIX/master.cf" >"$POSTFIX/master.cf.new"
    cat "$POSTFIX/master.cf.new" >"$POSTFIX/master.cf"
    rm -f "$POSTFIX/master.cf.new"
    say "removed the webcrypt entries from $POSTFIX/master.cf"
fi
undo="$ETC/postfix-wiring.undo"
if [ -f "$undo" ] && command -v postconf >/dev/null 2>&1; then
    tab=$(printf '\t')
    while IFS="$tab" read -r parameter previous; do
        case "$parameter:$previous" in
            main:*:"(unset)") postconf -c "$POSTFIX" -X "${parameter#main:}" ;;
            main:*) postconf -c "$POSTFIX" -e "${parameter#main:}=$previous" ;;
            *:"(unset)") postconf -c "$POSTFIX" -PX "$parameter" ;;
            *) postconf -c "$POSTFIX" -P "$parameter=$previous" ;;
        esac
    done <"$undo"
    rm -f "$undo"
    say "restored the Postfix settings install.sh had changed"
fi
if [ "$POSTFIX" = /etc/postfix ] && systemd_running; then systemctl reload postfix || true; fi

rm -f "$NGINX/sites-enabled/webcrypt.conf" "$NGINX/sites-available/webcrypt.conf"
if [ "$NGINX" = /etc/nginx ] && systemd_running && command -v nginx >/dev/null 2>&1; then
    systemctl reload nginx || true
fi
if [ "$APACHE" = /etc/apache2 ] && command -v a2dissite >/dev/null 2>&1; then
    a2dissite -q webcrypt >/dev/null 2>&1 || true
    if systemd_running; then systemctl reload apache2 || true; fi
fi
rm -f "$APACHE/sites-available/webcrypt.conf"

rm -rf "$PREFIX" "$PREFIX.new" "$PREFIX.old"
rm -f "$BIN/webcrypt"
say "removed the programs, units and front-end site"

if [ "$PURGE" = yes ]; then
    rm -rf "$ETC" "$VAR" "$TLS"
    # Backups are the administrator's: an empty folder goes, one with copies in it stays.
    if [ -d "$BACKUPS" ] && ! rmdir "$BACKUPS" 2>/dev/null; then
        chown -R root:root "$BACKUPS"
        say "kept the backups in $BACKUPS (now owned by root)"
    fi
    if id "$ACCOUNT" >/dev/null 2>&1; then
        userdel "$ACCOUNT" 2>/dev/null || say "could not remove user $ACCOUNT (still running processes?)"
    fi
    say "purged $ETC, $VAR, $TLS and the user $ACCOUNT: the master key is gone, old mail is unreadable"
else
    say "kept $ETC (configuration, master key), $VAR (database), $TLS and the user $ACCOUNT; --purge removes them"
fi
