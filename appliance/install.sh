#!/bin/sh
# Install or upgrade the webcrypt appliance on Debian 12/13, as root, in one command:
#
#   appliance/install.sh --hostname secure.example.com [--cert FULLCHAIN.pem --key KEY.pem]
#
# It installs the executable (/opt/webcrypt), the admin command (/usr/local/bin/webcrypt),
# the system user `webcrypt`, the configuration and master key (/etc/webcrypt), the database
# (/var/lib/webcrypt), the systemd units, the Postfix wiring and the TLS front end (nginx, or
# Apache with --web apache). Running it again upgrades in place: the executable is replaced,
# the database migrated, configuration and key kept. See docs/admin.md.
#
# Every location can be moved with an environment variable (the tests install into a temporary
# root this way); the defaults are the real paths:
#   WEBCRYPT_PREFIX=/opt/webcrypt  WEBCRYPT_BIN=/usr/local/bin  WEBCRYPT_ETC=/etc/webcrypt
#   WEBCRYPT_VAR=/var/lib/webcrypt  WEBCRYPT_BACKUPS=/var/backups/webcrypt
#   WEBCRYPT_UNITS=/etc/systemd/system
#   WEBCRYPT_NGINX=/etc/nginx  WEBCRYPT_APACHE=/etc/apache2  WEBCRYPT_TLS=/etc/ssl/webcrypt
#   WEBCRYPT_POSTFIX=/etc/postfix  WEBCRYPT_HTTPS_PORT=443  WEBCRYPT_HTTP_PORT=80
#   WEBCRYPT_PORTAL_LISTEN=127.0.0.1:8080  WEBCRYPT_REINJECT_PORT=10026  WEBCRYPT_RELAY_PORT=10025
#   WEBCRYPT_USER=webcrypt
#   WEBCRYPT_POSTFIX_SNIPPETS=<this folder>/postfix (master.cf.PATTERN, main.cf.PATTERN)
#   WEBCRYPT_POSTFIX_SUBMISSION=submission (the service that gets the content filter)
set -eu

usage() {
    cat <<'EOF'
usage: install.sh [options]
  --hostname NAME     public name of the portal (default: this host's FQDN)
  --cert FILE         TLS certificate chain (PEM) for the portal
  --key FILE          its private key (PEM); without --cert/--key a self-signed
                      certificate is made (for testing only)
  --web nginx|apache|none
                      TLS front end to configure (default: nginx)
  --executable PATH   the built one-folder build (folder) or one-file build (file)
                      (default: dist/webcrypt-onedir or build/dist/webcrypt-onedir
                      next to this script's parent folder)
  --database URL      the database of a new configuration (default: SQLite in
                      /var/lib/webcrypt); postgresql://USER@HOST:PORT/NAME for several
                      portal nodes on one PostgreSQL (docs/admin.md, "Several nodes")
  --relay             also enable the SMTP relay service (Exchange/Domino smarthost); with
                      the content-filter and transport patterns it is enabled anyway, on
                      loopback, for the pipe to hand mail to (below)
  --pipe-in-process   the content-filter and transport patterns' pipe encrypts each message
                      itself instead of handing it to the relay service (the fast path, and
                      the default: a pipe that finds the relay down does the work itself)
  --postfix PATTERN   how Postfix hands mail to webcrypt (appliance/postfix/README.md):
                      content-filter (default: mail submitted on the submission
                      service), transport (a transport map), relay (webcrypt relay
                      as advanced content filter; enables the relay service), none
  --no-postfix        the same as --postfix none
  -h, --help          this text
EOF
}

die() { echo "install.sh: error: $*" >&2; exit 1; }
say() { echo "install.sh: $*"; }

HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE=$(dirname "$HERE")
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
HTTPS_PORT=${WEBCRYPT_HTTPS_PORT:-443}
HTTP_PORT=${WEBCRYPT_HTTP_PORT:-80}
LISTEN=${WEBCRYPT_PORTAL_LISTEN:-127.0.0.1:8080}
REINJECT_PORT=${WEBCRYPT_REINJECT_PORT:-10026}
RELAY_PORT=${WEBCRYPT_RELAY_PORT:-10025}
SNIPPETS=${WEBCRYPT_POSTFIX_SNIPPETS:-$HERE/postfix}
SUBMISSION=${WEBCRYPT_POSTFIX_SUBMISSION:-submission}
ACCOUNT=${WEBCRYPT_USER:-webcrypt}

HOSTNAME_=""
CERT=""
KEY=""
WEB=nginx
EXECUTABLE=""
RELAY=no
PIPE_TO_RELAY=yes
POSTFIX_PATTERN=content-filter
DATABASE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --hostname) HOSTNAME_=${2:?--hostname needs a value}; shift 2 ;;
        --cert) CERT=${2:?--cert needs a file}; shift 2 ;;
        --key) KEY=${2:?--key needs a file}; shift 2 ;;
        --web) WEB=${2:?--web needs nginx, apache or none}; shift 2 ;;
        --executable) EXECUTABLE=${2:?--executable needs a path}; shift 2 ;;
        --database) DATABASE=${2:?--database needs a URL}; shift 2 ;;
        --relay) RELAY=yes; shift ;;
        --pipe-in-process) PIPE_TO_RELAY=no; shift ;;
        --postfix) POSTFIX_PATTERN=${2:?--postfix needs a pattern}; shift 2 ;;
        --no-postfix) POSTFIX_PATTERN=none; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option $1" ;;
    esac
done

case "$WEB" in nginx|apache|none) ;; *) die "--web must be nginx, apache or none, not $WEB" ;; esac
case "$POSTFIX_PATTERN" in
    content-filter|transport) [ "$PIPE_TO_RELAY" = no ] || RELAY=yes ;;  # the pipe's fast path
    none) PIPE_TO_RELAY=no ;;
    relay) RELAY=yes; PIPE_TO_RELAY=no ;;
    *) die "--postfix must be content-filter, transport, relay or none, not $POSTFIX_PATTERN" ;;
esac
[ "$(id -u)" = 0 ] || die "run as root (it creates a system user and installs services)"
case "$DATABASE" in
    ""|postgresql://*|postgres://*) ;;
    sqlite:///*) ;;
    *) die "--database must be a postgresql:// (or sqlite:///) URL" ;;
esac
case "$DATABASE" in *\"*|*\\*) die "--database: the URL must not contain \" or \\" ;; esac
# An existing site keeps its database: moving one is 'webcrypt db copy', not a reinstall.
if [ -n "$DATABASE" ] && [ -f "$ETC/webcrypt.toml" ] && ! grep -qxF "url = \"$DATABASE\"" "$ETC/webcrypt.toml"; then
    die "$ETC/webcrypt.toml names another database; a site moves with 'webcrypt db copy --to URL', then [database] url is set by hand (docs/admin.md)"
fi
if [ -n "$CERT$KEY" ] && { [ -z "$CERT" ] || [ -z "$KEY" ]; }; then
    die "--cert and --key go together"
fi
[ -z "$CERT" ] || [ -r "$CERT" ] || die "cannot read certificate $CERT"
[ -z "$KEY" ] || [ -r "$KEY" ] || die "cannot read key $KEY"
[ -n "$HOSTNAME_" ] || HOSTNAME_=$(hostname -f 2>/dev/null || hostname)
case "$HOSTNAME_" in *[!A-Za-z0-9.-]*|"") die "not a host name: $HOSTNAME_" ;; esac

# Programs and front-end files are world-readable; what runs as webcrypt (database, key)
# creates files for the webcrypt user only (umask 077 in as_webcrypt and the admin command).
umask 022
systemd_running() { [ -d /run/systemd/system ]; }
as_webcrypt() { (umask 077 && runuser -u "$ACCOUNT" -- "$@"); }

find_executable() {
    if [ -n "$EXECUTABLE" ]; then
        [ -e "$EXECUTABLE" ] || die "no executable at $EXECUTABLE"
        echo "$EXECUTABLE"
        return
    fi
    for candidate in "$HERE/webcrypt-onedir" "$SOURCE/dist/webcrypt-onedir" "$SOURCE/build/dist/webcrypt-onedir"; do
        if [ -x "$candidate/webcrypt" ]; then
            echo "$candidate"
            return
        fi
    done
    die "no built executable: run 'pyinstaller build.spec' in $SOURCE (see docs/admin.md) or pass --executable"
}

# --- the system user -----------------------------------------------------------------------
create_user() {
    if id "$ACCOUNT" >/dev/null 2>&1; then
        return
    fi
    useradd --system --user-group --home-dir "$VAR" --no-create-home \
        --shell /usr/sbin/nologin --comment "webcrypt appliance" "$ACCOUNT"
    say "created system user $ACCOUNT"
}

# --- the executable: copied beside the old one, then swapped, so a failed copy changes nothing
install_executable() {
    source_path=$1
    mkdir -p "$(dirname "$PREFIX")"
    rm -rf "$PREFIX.new"
    if [ -d "$source_path" ]; then
        cp -a "$source_path" "$PREFIX.new"
    else
        mkdir -p "$PREFIX.new"
        cp "$source_path" "$PREFIX.new/webcrypt"
    fi
    chown -R root:root "$PREFIX.new"
    chmod -R go-w,a+rX "$PREFIX.new"
    chmod 0755 "$PREFIX.new/webcrypt"
    "$PREFIX.new/webcrypt" --help >/dev/null || die "the new executable does not start; nothing changed"
    mkdir -p "$PREFIX.new/docs"
    for doc in admin.md performance.md; do
        [ ! -f "$SOURCE/docs/$doc" ] || cp "$SOURCE/docs/$doc" "$PREFIX.new/docs/"
    done
    if [ -e "$PREFIX" ]; then
        rm -rf "$PREFIX.old"
        mv "$PREFIX" "$PREFIX.old"
    fi
    mv "$PREFIX.new" "$PREFIX"
    mkdir -p "$BIN"
    # The admin command runs as the webcrypt user, so that what it creates (database journal,
    # rotated key file) stays readable by the services.
    cat >"$BIN/webcrypt" <<EOF
#!/bin/sh
# webcrypt for administrators (written by appliance/install.sh): as root, runs as $ACCOUNT.
umask 077
if [ "\$(id -u)" = 0 ]; then
    exec runuser -u $ACCOUNT -- $PREFIX/webcrypt "\$@"
fi
exec $PREFIX/webcrypt "\$@"
EOF
    chmod 0755 "$BIN/webcrypt"
    say "installed $PREFIX/webcrypt and $BIN/webcrypt"
}

# --- configuration, key and database -------------------------------------------------------
# Set KEY in [SECTION] of a TOML file to VALUE (a TOML literal), adding the line if missing.
toml_set() {
    file=$1 section=$2 key=$3 value=$4
    awk -v section="[$section]" -v key="$key" -v value="$value" '
        function emit() { print key " = " value; done = 1 }
        /^\[/ { if (inside && !done) emit(); inside = ($0 == section) }
        inside && !done && $0 ~ "^" key "[ \t]*=" { emit(); next }
        { print }
        END { if (inside && !done) emit(); else if (!done) { print ""; print section; emit() } }
    ' "$file" >"$file.tmp"
    cat "$file.tmp" >"$file"
    rm -f "$file.tmp"
}

# The database URL without its password, for messages.
shown_database() {
    printf '%s' "${DATABASE:-sqlite:///$VAR/webcrypt.db}" | sed 's#\(://[^:/@]*:\)[^@/]*@#\1***@#'
}

configure() {
    mkdir -p "$ETC" "$VAR"
    chown "$ACCOUNT:$ACCOUNT" "$ETC" "$VAR"
    chmod 0750 "$ETC" "$VAR"
    # 'webcrypt backup' as root runs as the webcrypt user (the admin command), so it needs a
    # folder of its own to write to; nobody else may read the wrapped keys in a copy.
    mkdir -p "$BACKUPS"
    chown "$ACCOUNT:$ACCOUNT" "$BACKUPS"
    chmod 0700 "$BACKUPS"
    config="$ETC/webcrypt.toml"
    if [ -f "$config" ]; then
        say "keeping $config"
    else
        # Let the program write its own commented template, then point it at this layout.
        scratch=$(mktemp -d)
        chown "$ACCOUNT" "$scratch"
        as_webcrypt "$PREFIX/webcrypt" init --home "$scratch" --portal-url "https://$HOSTNAME_" >/dev/null
        cp "$scratch/webcrypt.toml" "$config.new"
        rm -rf "$scratch"
        toml_set "$config.new" database url "\"${DATABASE:-sqlite:///$VAR/webcrypt.db}\""
        toml_set "$config.new" portal listen "\"$LISTEN\""
        toml_set "$config.new" portal trusted_proxies '["127.0.0.1", "::1"]'
        if postfix_snippets_present; then
            # Back into Postfix by SMTP, on the reinjection service of the snippets: the portal
            # cannot use sendmail (its unit forbids setgid postdrop and writes to the spool).
            toml_set "$config.new" mail reinject "\"smtp://127.0.0.1:$REINJECT_PORT\""
        fi
        if [ "$RELAY_PORT" != 10025 ]; then
            toml_set "$config.new" relay listen "\"127.0.0.1:$RELAY_PORT\""
        fi
        if [ "$PIPE_TO_RELAY" = yes ]; then
            # The fast path: each pipe hands the message to the relay service on loopback (it
            # processes the message itself when the relay cannot take it).
            toml_set "$config.new" pipe relay "\"127.0.0.1:$RELAY_PORT\""
        fi
        chown "$ACCOUNT:$ACCOUNT" "$config.new"
        chmod 0640 "$config.new"
        mv "$config.new" "$config"
        say "wrote $config (database: $(shown_database))"
    fi
    # Creates the master key (0600, owned by webcrypt) and the database if missing; never
    # replaces either.
    as_webcrypt "$PREFIX/webcrypt" init --home "$ETC" --portal-url "https://$HOSTNAME_" >/dev/null
    as_webcrypt "$PREFIX/webcrypt" --config "$config" migrate
    if [ -f "$ETC/master.key" ]; then
        chown "$ACCOUNT:$ACCOUNT" "$ETC/master.key"
        chmod 0600 "$ETC/master.key"
    fi
}

# --- systemd units ---------------------------------------------------------------------------
install_units() {
    mkdir -p "$UNITS"
    for unit in webcrypt-portal.service webcrypt-relay.service webcrypt-maintain.service webcrypt-maintain.timer; do
        sed -e "s|/opt/webcrypt|$PREFIX|g" -e "s|/etc/webcrypt|$ETC|g" \
            -e "s|/var/lib/webcrypt|$VAR|g" -e "s|^User=webcrypt|User=$ACCOUNT|" \
            -e "s|^Group=webcrypt|Group=$ACCOUNT|" "$SOURCE/systemd/$unit" >"$UNITS/$unit.new"
        chmod 0644 "$UNITS/$unit.new"
        mv "$UNITS/$unit.new" "$UNITS/$unit"
    done
    if systemd_running; then
        systemctl daemon-reload
        systemctl enable --now webcrypt-portal.service webcrypt-maintain.timer
        systemctl restart webcrypt-portal.service
        if [ "$RELAY" = yes ]; then
            systemctl enable --now webcrypt-relay.service
        fi
        if systemctl -q is-enabled webcrypt-relay.service 2>/dev/null; then
            systemctl restart webcrypt-relay.service
        fi
    else
        say "systemd is not running: units installed in $UNITS, not started"
    fi
}

# --- Postfix -------------------------------------------------------------------------------
# The gateway's snippets (appliance/postfix/) are the single source: main.cf settings are
# applied with postconf, the master.cf entries are kept between markers and replaced on upgrade.
postfix_snippets_present() {
    [ "$POSTFIX_PATTERN" != none ] && [ -f "$SNIPPETS/master.cf.$POSTFIX_PATTERN" ]
}

# A snippet with this appliance's paths, user and ports.
localised() {
    sed -e "s|/opt/webcrypt|$PREFIX|g" -e "s|/etc/webcrypt|$ETC|g" \
        -e "s|/usr/local/bin/webcrypt|$PREFIX/webcrypt|g" -e "s|argv=/usr/bin/webcrypt|argv=$PREFIX/webcrypt|g" \
        -e "s|user=webcrypt|user=$ACCOUNT|g" -e "s|/etc/postfix/|$POSTFIX/|g" \
        -e "s|127.0.0.1:10026|127.0.0.1:$REINJECT_PORT|g" -e "s|127.0.0.1\]:10025|127.0.0.1]:$RELAY_PORT|g" \
        -e "s|^submission |$SUBMISSION |" "$1" |
        # pipe finds /etc/webcrypt/webcrypt.toml by default; elsewhere it must be told.
        if [ "$ETC" != /etc/webcrypt ]; then
            sed "s|\(argv=$PREFIX/webcrypt\) pipe|\1 -c $ETC/webcrypt.toml pipe|"
        else
            cat
        fi
}

# The gateway's snippets (appliance/postfix/) are the single source. Entries of master.cf that
# Postfix does not have yet go into a block between markers, replaced on upgrade. An entry it
# has already (your submission service, with its TLS and SASL options) is kept and only gets
# the snippet's "-o" settings, with postconf -P; the earlier values are written to
# $ETC/postfix-wiring.undo so that uninstall.sh can put them back.
wire_postfix() {
    if [ "$POSTFIX_PATTERN" = none ]; then
        return
    fi
    if ! command -v postconf >/dev/null 2>&1; then
        say "Postfix is not installed: skipping mail wiring (see docs/admin.md)"
        return
    fi
    snippet="$SNIPPETS/master.cf.$POSTFIX_PATTERN"
    [ -f "$snippet" ] || die "no Postfix snippet $snippet"
    begin="# BEGIN webcrypt (appliance/install.sh; replaced on upgrade)"
    end="# END webcrypt"
    work=$(mktemp -d)
    localised "$snippet" >"$work/snippet"
    # Postfix's own entries (outside our block), as name/type.
    awk -v begin="$begin" -v end="$end" '
        $0 == begin { skip = 1; next }
        skip { if ($0 == end) skip = 0; next }
        /^[^#[:space:]]/ { print $1 "/" $2 }
    ' "$POSTFIX/master.cf" >"$work/existing"
    # Split the snippet: new entries (with their comments) for the block; for existing
    # entries, their "-o name=value" settings, one "service/type/name=value" a line.
    awk -v block="$work/block" -v merge="$work/merge" '
        NR == FNR { existing[$1] = 1; next }
        /^[^#[:space:]]/ { key = $1 "/" $2; merging = (key in existing); if (!merging) { printf "%s", pending > block; pending = "" } }
        /^#/ || /^$/ { if (!merging || $0 ~ /^$/) pending = pending $0 "\n"; if ($0 ~ /^$/) merging = 0; next }
        merging { if ($1 == "-o") print key "/" $2 > merge; next }
        { print > block }
        END { printf "%s", pending > block }
    ' "$work/existing" "$work/snippet"
    awk -v begin="$begin" -v end="$end" '
        $0 == begin { skip = 1; next }
        skip { if ($0 == end) skip = 0; next }
        { print }
    ' "$POSTFIX/master.cf" >"$work/master.cf"
    {
        echo "$begin"
        cat "$work/block" 2>/dev/null || true
        echo "$end"
    } >>"$work/master.cf"
    cat "$work/master.cf" >"$POSTFIX/master.cf"
    undo="$ETC/postfix-wiring.undo"
    if [ -f "$work/merge" ]; then
        while IFS= read -r setting; do
            parameter=${setting%%=*}
            if ! grep -q "^$parameter	" "$undo" 2>/dev/null; then
                previous=$(postconf -c "$POSTFIX" -Ph "$parameter" 2>/dev/null || true)
                printf '%s\t%s\n' "$parameter" "${previous:-(unset)}" >>"$undo"
            fi
            postconf -c "$POSTFIX" -P "$setting"
        done <"$work/merge"
    fi
    main_snippet="$SNIPPETS/main.cf.$POSTFIX_PATTERN"
    if [ -f "$main_snippet" ]; then
        # Only active "name = value" lines; comments explain the choices in the snippet itself.
        localised "$main_snippet" | grep -E '^[a-z_0-9]+[[:space:]]*=' | while IFS= read -r line; do
            parameter=$(echo "${line%%=*}" | tr -d ' ')
            if ! grep -q "^main:$parameter	" "$undo" 2>/dev/null; then
                previous=$(postconf -c "$POSTFIX" -nh "$parameter" 2>/dev/null || true)
                printf 'main:%s\t%s\n' "$parameter" "${previous:-(unset)}" >>"$undo"
            fi
            postconf -c "$POSTFIX" -e "$line"
        done
    fi
    if [ "$POSTFIX_PATTERN" = transport ] && [ ! -f "$POSTFIX/webcrypt_transport" ]; then
        # Yours to edit afterwards (internal domains); an upgrade never overwrites it.
        cp "$SNIPPETS/webcrypt_transport" "$POSTFIX/webcrypt_transport"
        postmap -c "$POSTFIX" "hash:$POSTFIX/webcrypt_transport"
    fi
    rm -rf "$work"
    if [ "$POSTFIX" = /etc/postfix ]; then
        postfix check || die "Postfix refuses the wiring (see above)"
        if systemd_running; then systemctl reload postfix || true; fi
    fi
    say "wired Postfix in $POSTFIX: pattern $POSTFIX_PATTERN (appliance/postfix/README.md)"
}

# --- TLS front end -------------------------------------------------------------------------
self_signed() {
    mkdir -p "$TLS"
    chmod 0700 "$TLS"
    CERT="$TLS/webcrypt.crt"
    KEY="$TLS/webcrypt.key"
    if [ -f "$CERT" ] && [ -f "$KEY" ]; then
        return
    fi
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
        -subj "/CN=$HOSTNAME_" -addext "subjectAltName=DNS:$HOSTNAME_" \
        -keyout "$KEY.new" -out "$CERT.new" 2>/dev/null
    chmod 0600 "$KEY.new"
    mv "$KEY.new" "$KEY"
    mv "$CERT.new" "$CERT"
    say "made a self-signed certificate for $HOSTNAME_ (testing only; see docs/admin.md)"
}

portal_port() { echo "${LISTEN##*:}"; }
portal_host() { host=${LISTEN%:*}; [ "$host" != 0.0.0.0 ] || host=127.0.0.1; echo "$host"; }

nginx_site() {
    upstream="$(portal_host):$(portal_port)"
    redirect_port=""
    [ "$HTTPS_PORT" = 443 ] || redirect_port=":$HTTPS_PORT"
    http2_listen=" http2"
    http2_line="    # HTTP/2 is switched on in the listen lines (nginx before 1.25)."
    if nginx_at_least_1_25; then
        http2_listen=""
        http2_line="    http2 on;"
    fi
    cat <<EOF
# webcrypt portal behind nginx (written by appliance/install.sh; rewritten on upgrade,
# so change settings in a separate file). TLS settings: Mozilla "intermediate" (TLS 1.2 and 1.3).

server {
    listen $HTTP_PORT;
    listen [::]:$HTTP_PORT;
    server_name $HOSTNAME_;
    server_tokens off;
    # Plain HTTP only redirects: secure.htm and logins always use TLS.
    return 301 https://\$host$redirect_port\$request_uri;
}

server {
    listen $HTTPS_PORT ssl$http2_listen;
    listen [::]:$HTTPS_PORT ssl$http2_listen;
$http2_line
    server_name $HOSTNAME_;

    ssl_certificate $CERT;
    ssl_certificate_key $KEY;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    ssl_prefer_server_ciphers off;
    ssl_session_timeout 1d;
    ssl_session_cache shared:webcrypt:10m;
    ssl_session_tickets off;

    # One HSTS header, from here (the portal's own is hidden so that it is not doubled).
    proxy_hide_header Strict-Transport-Security;
    add_header Strict-Transport-Security "max-age=63072000" always;

    # secure.htm posts the whole envelope: allow the largest encryptable message (base64).
    client_max_body_size 80m;
    server_tokens off;

    location / {
        proxy_pass http://$upstream;
        proxy_http_version 1.1;
        proxy_set_header Host \$host;
        # Replace, never append: the portal trusts these only from 127.0.0.1 ([portal] trusted_proxies).
        proxy_set_header X-Forwarded-For \$remote_addr;
        proxy_set_header X-Forwarded-Proto \$scheme;
        proxy_set_header X-Forwarded-Host \$host;
        proxy_set_header X-Real-IP \$remote_addr;
        proxy_read_timeout 120s;
    }
}
EOF
}

nginx_at_least_1_25() {
    command -v nginx >/dev/null 2>&1 || return 1
    version=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9]*\)\.\([0-9]*\).*|\1 \2|p')
    [ -n "$version" ] || return 1
    # shellcheck disable=SC2086 # split "1 22" into major and minor on purpose
    set -- $version
    [ "$1" -gt 1 ] || { [ "$1" -eq 1 ] && [ "$2" -ge 25 ]; }
}

apache_site() {
    upstream="http://$(portal_host):$(portal_port)/"
    redirect_port=""
    [ "$HTTPS_PORT" = 443 ] || redirect_port=":$HTTPS_PORT"
    echo "# webcrypt portal behind Apache (written by appliance/install.sh; rewritten on upgrade)."
    echo "# Needs: a2enmod ssl proxy proxy_http headers. TLS settings: Mozilla \"intermediate\"."
    # Debian's ports.conf already listens on 80 and 443.
    [ "$HTTP_PORT" = 80 ] || echo "Listen $HTTP_PORT"
    [ "$HTTPS_PORT" = 443 ] || echo "Listen $HTTPS_PORT"
    cat <<EOF

<VirtualHost *:$HTTP_PORT>
    ServerName $HOSTNAME_
    ServerSignature Off
    Redirect permanent / https://$HOSTNAME_$redirect_port/
</VirtualHost>

<VirtualHost *:$HTTPS_PORT>
    ServerName $HOSTNAME_
    SSLEngine on
    SSLCertificateFile $CERT
    SSLCertificateKeyFile $KEY
    SSLProtocol -all +TLSv1.2 +TLSv1.3
    SSLCipherSuite ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305
    SSLHonorCipherOrder off
    SSLSessionTickets off

    Header always unset Strict-Transport-Security
    Header always set Strict-Transport-Security "max-age=63072000"
    # secure.htm posts the whole envelope: allow the largest encryptable message (base64).
    LimitRequestBody 83886080
    ServerSignature Off

    ProxyPreserveHost On
    ProxyPass / $upstream
    ProxyPassReverse / $upstream
    # mod_proxy appends X-Forwarded-For; the portal trusts it only from 127.0.0.1.
    RequestHeader set X-Forwarded-Proto "https"
</VirtualHost>
EOF
}

front_end() {
    if [ "$WEB" = none ]; then
        return
    fi
    if [ -z "$CERT" ]; then
        self_signed
    fi
    case "$WEB" in
        nginx)
            mkdir -p "$NGINX/sites-available" "$NGINX/sites-enabled"
            nginx_site >"$NGINX/sites-available/webcrypt.conf"
            ln -sfn "$NGINX/sites-available/webcrypt.conf" "$NGINX/sites-enabled/webcrypt.conf"
            if [ "$NGINX" = /etc/nginx ] && command -v nginx >/dev/null 2>&1; then
                nginx -t -q || die "nginx refuses the configuration (see above)"
                # enabled too: a front end started by hand would be gone after the next boot
                if systemd_running; then systemctl enable --quiet nginx && systemctl reload-or-restart nginx; fi
            fi
            drop_apache_site
            say "configured nginx: https://$HOSTNAME_:$HTTPS_PORT/ -> $LISTEN"
            ;;
        apache)
            mkdir -p "$APACHE/sites-available"
            apache_site >"$APACHE/sites-available/webcrypt.conf"
            if [ "$APACHE" = /etc/apache2 ] && command -v a2ensite >/dev/null 2>&1; then
                a2enmod -q ssl proxy proxy_http headers >/dev/null
                a2ensite -q webcrypt >/dev/null
                apache2ctl -t || die "Apache refuses the configuration (see above)"
                if systemd_running; then systemctl enable --quiet apache2 && systemctl reload-or-restart apache2; fi
            fi
            drop_nginx_site
            say "configured Apache: https://$HOSTNAME_:$HTTPS_PORT/ -> $LISTEN"
            ;;
    esac
}

# One front end serves the portal: switching (--web apache after nginx, or back) removes this
# script's site from the other one. Stopping the other server is yours (docs/admin.md).
drop_nginx_site() {
    [ -e "$NGINX/sites-available/webcrypt.conf" ] || return 0
    rm -f "$NGINX/sites-enabled/webcrypt.conf" "$NGINX/sites-available/webcrypt.conf"
    if [ "$NGINX" = /etc/nginx ] && systemd_running && systemctl -q is-active nginx; then
        systemctl reload nginx || true
    fi
    say "removed the webcrypt site from nginx"
}

drop_apache_site() {
    [ -e "$APACHE/sites-available/webcrypt.conf" ] || return 0
    if [ "$APACHE" = /etc/apache2 ] && command -v a2dissite >/dev/null 2>&1; then
        a2dissite -q webcrypt >/dev/null 2>&1 || true
        if systemd_running && systemctl -q is-active apache2; then systemctl reload apache2 || true; fi
    fi
    rm -f "$APACHE/sites-enabled/webcrypt.conf" "$APACHE/sites-available/webcrypt.conf"
    say "removed the webcrypt site from Apache"
}

# Refuse before anything is changed.
preflight() {
    if [ "$POSTFIX_PATTERN" != none ] && command -v postconf >/dev/null 2>&1; then
        if [ ! -f "$POSTFIX/main.cf" ] || [ ! -f "$POSTFIX/master.cf" ]; then
            die "Postfix is not configured ($POSTFIX/main.cf is missing): run 'dpkg-reconfigure postfix' first, or use --no-postfix"
        fi
        [ -f "$SNIPPETS/master.cf.$POSTFIX_PATTERN" ] || die "no Postfix snippet $SNIPPETS/master.cf.$POSTFIX_PATTERN"
    fi
    if [ "$WEB" != none ] && [ -z "$CERT" ] && ! command -v openssl >/dev/null 2>&1; then
        die "no --cert/--key and no openssl for a self-signed certificate: 'apt install openssl'"
    fi
    if [ "$WEB" = nginx ] && [ "$NGINX" = /etc/nginx ] && ! command -v nginx >/dev/null 2>&1; then
        die "nginx is not installed: 'apt install nginx' first, or use --web apache or --web none"
    fi
    if [ "$WEB" = apache ] && [ "$APACHE" = /etc/apache2 ] && ! command -v a2ensite >/dev/null 2>&1; then
        die "Apache is not installed: 'apt install apache2' first, or use --web nginx or --web none"
    fi
}

# Until the database is migrated, a failed upgrade puts the previous executable back.
roll_back() {
    status=$1
    if [ "$status" != 0 ] && [ -d "$PREFIX.old" ]; then
        rm -rf "$PREFIX"
        mv "$PREFIX.old" "$PREFIX"
        echo "install.sh: the upgrade failed: the previous executable is back in $PREFIX" >&2
        if systemd_running; then systemctl start webcrypt-portal.service || true; fi
    fi
    exit "$status"
}

main() {
    preflight
    source_path=$(find_executable)
    create_user
    upgrade=no
    [ ! -x "$PREFIX/webcrypt" ] || upgrade=yes
    if [ "$upgrade" = yes ] && systemd_running; then
        systemctl stop webcrypt-portal.service webcrypt-relay.service 2>/dev/null || true
    fi
    trap 'roll_back $?' EXIT
    install_executable "$source_path"
    configure
    # The database is migrated now: the previous version may no longer read it.
    rm -rf "$PREFIX.old"
    trap - EXIT
    install_units
    wire_postfix
    front_end
    if [ "$upgrade" = yes ]; then
        say "upgraded in place; configuration and key kept"
    else
        say "installed. Next: docs/admin.md (DNS, certificate, Postfix pattern, smarthost)"
    fi
}

main
