"""appliance/install.sh on this machine (root, no systemd running), with the built executable.

install.sh runs against a fresh temporary root (every location moved by the WEBCRYPT_*
variables it documents), creating the real `webcrypt` system user. Services are then started
the way their installed units say (tests/unit_runner.py: same ExecStart, user, umask, working
directory, NoNewPrivileges, MemoryDenyWriteExecute and system-call filter), nginx with the site
install.sh wrote, and a private Postfix instance wired by install.sh from appliance/postfix/.
Ports: 12800-12899.
"""

import json
import os
import pwd
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

import unit_runner
from appliance_support import ROOT, built, has_command
from conftest import write_settings
import outside as outside_module
from gateway_support import Sink, without_crlf
from outside import ADDRESSES as OUTSIDE_ADDRESSES, HOST_SIDE as OUTSIDE_HOST, Outside

HTTPS_PORT = 12843
HTTP_PORT = 12880
APACHE_HTTPS_PORT = 12844
APACHE_HTTP_PORT = 12881
PORTAL_PORT = 12808
POSTFIX_SUBMIT = 12825
POSTFIX_REINJECT = 12827
SINK_PORT = 12826
RELAY_PORT = 12830
HOST = "localhost"
ACCOUNT = "webcrypt"
UNITS = ("webcrypt-portal.service", "webcrypt-relay.service", "webcrypt-maintain.service", "webcrypt-maintain.timer")
SENDER = "clerk@corp.example"
ARTIFACTS = ROOT / "tests" / "artifacts"  # screenshots of the HTTPS flow (not in git)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="install.sh needs root (tests/run.sh runs as root)")


@dataclass
class Appliance:
    root: Path
    env: dict
    install_output: str

    def path(self, name: str) -> Path:
        return Path(self.env[name])

    @property
    def exe(self) -> Path:
        return self.path("WEBCRYPT_PREFIX") / "webcrypt"

    @property
    def admin(self) -> Path:
        return self.path("WEBCRYPT_BIN") / "webcrypt"

    @property
    def config(self) -> Path:
        return self.path("WEBCRYPT_ETC") / "webcrypt.toml"

    def unit(self, name: str) -> Path:
        return self.path("WEBCRYPT_UNITS") / name

    def install(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(ROOT / "appliance" / "install.sh"), *args], env=self.env,
                              capture_output=True, text=True, timeout=300)

    def webcrypt(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
        """The admin command as root types it (the wrapper switches to the webcrypt user)."""
        return subprocess.run([str(self.admin), "--config", str(self.config), *args], input=input,
                              capture_output=True, timeout=120, cwd="/")


def layout(root: Path) -> dict:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("WEBCRYPT_")},
        # other Postfix snippets than appliance/postfix/ can be tried with this variable
        **{k: v for k, v in os.environ.items() if k == "WEBCRYPT_POSTFIX_SNIPPETS"},
        "WEBCRYPT_PREFIX": str(root / "opt/webcrypt"),
        "WEBCRYPT_BIN": str(root / "usr/local/bin"),
        "WEBCRYPT_ETC": str(root / "etc/webcrypt"),
        "WEBCRYPT_VAR": str(root / "var/lib/webcrypt"),
        "WEBCRYPT_BACKUPS": str(root / "var/backups/webcrypt"),
        "WEBCRYPT_UNITS": str(root / "etc/systemd/system"),
        "WEBCRYPT_NGINX": str(root / "etc/nginx"),
        "WEBCRYPT_APACHE": str(root / "etc/apache2"),
        "WEBCRYPT_TLS": str(root / "etc/ssl/webcrypt"),
        "WEBCRYPT_POSTFIX": str(root / "etc/postfix"),
        "WEBCRYPT_HTTPS_PORT": str(HTTPS_PORT),
        "WEBCRYPT_HTTP_PORT": str(HTTP_PORT),
        "WEBCRYPT_PORTAL_LISTEN": f"127.0.0.1:{PORTAL_PORT}",
        "WEBCRYPT_REINJECT_PORT": str(POSTFIX_REINJECT),
        "WEBCRYPT_RELAY_PORT": str(RELAY_PORT),
        # pattern A filters the submission service; here that is the test's submission port
        "WEBCRYPT_POSTFIX_SUBMISSION": f"127.0.0.1:{POSTFIX_SUBMIT}",
    }


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture(scope="module")
def appliance():
    builds = built()
    # Not under pytest's 0700 temporary folder: the webcrypt user must reach its files.
    root = Path(tempfile.mkdtemp(prefix="webcrypt-appliance-", dir="/tmp"))
    root.chmod(0o755)
    had_user = user_exists(ACCOUNT)
    env = layout(root)
    try:
        postfix_base(root / "etc/postfix", root)
        result = subprocess.run([str(ROOT / "appliance/install.sh"), "--hostname", HOST,
                                 "--executable", str(builds["onedir"].parent)],
                                env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        yield Appliance(root, env, result.stdout + result.stderr)
    finally:
        stop_postfix(root / "etc/postfix")
        wait_for_no_processes_of(ACCOUNT)  # Postfix's pipe children end after 'postfix stop' returns
        # --purge also removes the system user, unless it was there before the test
        subprocess.run([str(ROOT / "appliance/uninstall.sh"), *([] if had_user else ["--purge"])],
                       env=env, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


# --- what install.sh made ------------------------------------------------------------------

def test_install_creates_user_config_key_and_database(appliance):
    user = pwd.getpwnam(ACCOUNT)
    assert user.pw_uid < 1000 and user.pw_shell.endswith("nologin")
    etc, var = appliance.path("WEBCRYPT_ETC"), appliance.path("WEBCRYPT_VAR")
    key = etc / "master.key"
    assert key.stat().st_mode & 0o777 == 0o600 and key.stat().st_uid == user.pw_uid
    assert appliance.config.stat().st_mode & 0o007 == 0
    text = appliance.config.read_text()
    assert f'url = "sqlite:///{var}/webcrypt.db"' in text
    assert f'listen = "127.0.0.1:{PORTAL_PORT}"' in text and 'trusted_proxies = ["127.0.0.1", "::1"]' in text
    # the fast path by default: the pipe hands each message to the relay service on loopback
    assert re.search(rf'(?ms)^\[pipe\]$[^\[]*^relay = "127\.0\.0\.1:{RELAY_PORT}"$', text), text
    assert (var / "webcrypt.db").stat().st_uid == user.pw_uid
    assert not (etc / "webcrypt.db").exists()  # the database is under /var/lib, not /etc
    assert appliance.exe.stat().st_uid == 0 and not appliance.exe.stat().st_mode & 0o022


def test_admin_command_as_root_runs_as_the_webcrypt_user(appliance):
    result = appliance.webcrypt("useradd", "admin-check@example.org", "--password-stdin", input=b"a long enough password 1\n")
    assert result.returncode == 0, result.stderr
    uid = pwd.getpwnam(ACCOUNT).pw_uid
    var = appliance.path("WEBCRYPT_VAR")
    assert all(p.stat().st_uid == uid for p in var.iterdir()), [(p, p.stat().st_uid) for p in var.iterdir()]
    assert all(p.stat().st_mode & 0o077 == 0 for p in var.iterdir() if p.name.startswith("webcrypt.db-"))


def test_units_pass_systemd_analyze_verify(appliance):
    units = [str(appliance.unit(name)) for name in UNITS]
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(appliance.exe) in appliance.unit("webcrypt-portal.service").read_text()


@pytest.mark.parametrize("name", ["webcrypt-portal.service", "webcrypt-relay.service", "webcrypt-maintain.service"])
def test_units_are_rated_ok_or_better_by_systemd_analyze_security(appliance, name):
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(appliance.unit(name))],
                            capture_output=True, text=True)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert match.group(2) in ("OK", "SAFE"), match.group(0)


def test_every_non_default_unit_line_is_commented():
    """Each directive has a comment above it (directly or heading its group of lines),
    except the self-explanatory ones."""
    plain = ("Description=", "Documentation=", "WantedBy=", "Type=simple")
    for name in UNITS:
        lines = (ROOT / "systemd" / name).read_text().splitlines()
        for i, line in enumerate(lines):
            if not line or line.startswith(("#", "[")) or line.startswith(plain):
                continue
            nearest = next(l for l in reversed(lines[:i]) if not re.match(r"[A-Za-z]+=", l))
            assert nearest.startswith("#"), f"{name}: '{line}' has no comment"


def test_rerun_upgrades_in_place_and_keeps_config_key_and_data(appliance):
    key = appliance.path("WEBCRYPT_ETC") / "master.key"
    before = (appliance.config.read_bytes(), key.read_bytes())
    created = appliance.webcrypt("useradd", "kept@example.org", "--password-stdin", input=b"a long enough password 2\n")
    assert created.returncode == 0, created.stderr
    result = appliance.install("--hostname", HOST, "--executable", str(built()["onedir"].parent))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "upgraded in place" in result.stdout and "Database schema at version" in result.stdout
    assert (appliance.config.read_bytes(), key.read_bytes()) == before
    shown = appliance.webcrypt("user", "show", "kept@example.org", "--json")
    assert shown.returncode == 0 and b"kept@example.org" in shown.stdout
    assert not Path(str(appliance.path("WEBCRYPT_PREFIX")) + ".old").exists()


def test_a_failed_upgrade_puts_the_previous_executable_back(appliance):
    text = appliance.config.read_text()
    appliance.config.write_text(text + "\n[no_such_section]\n")  # the new version's init refuses it
    try:
        result = appliance.install("--hostname", HOST, "--executable", str(built()["onedir"].parent))
    finally:
        appliance.config.write_text(text)
    assert result.returncode != 0
    assert "unknown section [no_such_section]" in result.stderr
    assert "the previous executable is back" in result.stderr
    prefix = appliance.path("WEBCRYPT_PREFIX")
    assert not Path(f"{prefix}.old").exists() and not Path(f"{prefix}.new").exists()
    assert appliance.webcrypt("user", "list").returncode == 0


def test_nginx_site_for_debian_13_uses_the_http2_directive(appliance, tmp_path):
    """nginx >= 1.25 (Debian 13) deprecates 'listen ... http2'; 1.22 (Debian 12) needs it."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "nginx").write_text("#!/bin/sh\necho 'nginx version: nginx/1.26.3' >&2\n")
    (fake / "nginx").chmod(0o755)
    sites = tmp_path / "nginx"
    env = {**appliance.env, "PATH": f"{fake}:{os.environ['PATH']}", "WEBCRYPT_NGINX": str(sites)}
    result = subprocess.run([str(ROOT / "appliance/install.sh"), "--hostname", HOST, "--no-postfix",
                             "--executable", str(built()["onedir"].parent)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    site = (sites / "sites-available/webcrypt.conf").read_text()
    assert "http2 on;" in site and " http2;" not in site
    # and the site for the nginx installed here follows that nginx's version
    installed = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr if shutil.which("nginx") else ""
    version = re.search(r"nginx/(\d+)\.(\d+)", installed)
    if version:
        current = (appliance.path("WEBCRYPT_NGINX") / "sites-available/webcrypt.conf").read_text()
        modern = (int(version.group(1)), int(version.group(2))) >= (1, 25)
        assert ("http2 on;" in current) == modern and ("ssl http2;" in current) != modern


def test_the_admins_certificate_is_used_instead_of_a_self_signed_one(appliance, tmp_path):
    tls = appliance.path("WEBCRYPT_TLS")
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    shutil.copy(tls / "webcrypt.crt", cert)
    shutil.copy(tls / "webcrypt.key", key)
    sites = tmp_path / "nginx"
    env = {**appliance.env, "WEBCRYPT_NGINX": str(sites)}
    result = subprocess.run([str(ROOT / "appliance/install.sh"), "--hostname", HOST, "--no-postfix",
                             "--cert", str(cert), "--key", str(key), "--executable", str(built()["onedir"].parent)],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    site = (sites / "sites-available/webcrypt.conf").read_text()
    assert f"ssl_certificate {cert};" in site and f"ssl_certificate_key {key};" in site
    assert "self-signed" not in result.stdout


def test_install_refuses_bad_input_with_one_line(appliance):
    for args, message in ((["--web", "lighttpd"], "--web must be"), (["--cert", "/nonexistent"], "--cert and --key"),
                          (["--executable", "/nonexistent"], "no executable at"),
                          (["--postfix", "sendmail"], "--postfix must be")):
        result = appliance.install("--hostname", HOST, *args)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)


def test_postfix_wiring_is_idempotent_and_uninstall_restores_master_cf(appliance):
    """A snippet entry named like a stock one replaces it; a second run changes nothing; uninstall
    gives back the original master.cf (with a made-up snippet, independent of appliance/postfix/)."""
    root = Path(tempfile.mkdtemp(prefix="webcrypt-wiring-", dir="/tmp"))
    root.chmod(0o755)
    try:
        check_postfix_wiring(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def check_postfix_wiring(root: Path) -> None:
    etc, snippets = root / "postfix", root / "snippets"
    etc.mkdir()
    snippets.mkdir()
    shutil.copy("/etc/postfix/master.cf", etc / "master.cf")
    (etc / "main.cf").write_text("compatibility_level = 3.6\nrelayhost = [mail.corp.example]\n")
    (snippets / "master.cf.content-filter").write_text(
        "# made-up pattern: the stock smtpd gets a filter, a new pipe service is added\n"
        "smtp      inet  n       -       y       -       -       smtpd\n  -o content_filter=webcrypt:dummy\n"
        "#  a comment inside the entry\n\n"
        "# the pipe\nwebcrypt  unix  -       n       n       -       10      pipe\n"
        "  flags=q user=webcrypt argv=/usr/bin/webcrypt pipe -f ${sender} -- ${recipient}\n")
    (snippets / "main.cf.content-filter").write_text(
        "# a comment\nwebcrypt_destination_recipient_limit = 50\nrelayhost = [10.0.0.1]\n")
    postconf = ["postconf", "-c", str(etc)]

    def state() -> tuple[str, str]:
        return (subprocess.run([*postconf, "-M"], capture_output=True, text=True).stdout,
                subprocess.run([*postconf, "-n"], capture_output=True, text=True).stdout)

    original = state()
    env = {**layout(root), "WEBCRYPT_POSTFIX": str(etc), "WEBCRYPT_POSTFIX_SNIPPETS": str(snippets),
           "WEBCRYPT_POSTFIX_SUBMISSION": "submission"}
    command = [str(ROOT / "appliance/install.sh"), "--hostname", HOST, "--web", "none",
               "--executable", str(built()["onedir"].parent)]
    first = subprocess.run(command, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    once = (etc / "master.cf").read_text(), state()
    assert subprocess.run(command, env=env, capture_output=True).returncode == 0
    assert ((etc / "master.cf").read_text(), state()) == once
    services, main_cf = once[1]
    smtpd = [line for line in services.splitlines() if re.match(r"smtp\s+inet", line)]
    assert len(smtpd) == 1 and "content_filter=webcrypt:dummy" in smtpd[0]  # the stock entry, merged
    assert f"argv={root}/opt/webcrypt/webcrypt -c {root}/etc/webcrypt/webcrypt.toml pipe" in services
    assert "webcrypt_destination_recipient_limit = 50" in main_cf and "relayhost = [10.0.0.1]" in main_cf
    removed = subprocess.run([str(ROOT / "appliance/uninstall.sh")], env=env, capture_output=True, text=True)
    assert removed.returncode == 0, removed.stderr
    assert state() == original


@pytest.mark.parametrize("pattern", ["content-filter", "transport", "relay"])
def test_each_postfix_pattern_of_the_gateway_installs_checks_and_uninstalls(appliance, pattern):
    """appliance/postfix/ as shipped: postfix check accepts the wired instance, a second run
    changes nothing, uninstall.sh gives the configuration back."""
    if not (ROOT / "appliance/postfix" / f"master.cf.{pattern}").exists():
        pytest.skip(f"appliance/postfix/master.cf.{pattern} does not exist (issue 3)")
    root = Path(tempfile.mkdtemp(prefix="webcrypt-pattern-", dir="/tmp"))
    root.chmod(0o755)
    try:
        etc = root / "etc/postfix"
        postfix_base(etc, root)
        env = {**layout(root), "WEBCRYPT_POSTFIX_SUBMISSION": "submission"}
        postconf = ["postconf", "-c", str(etc)]
        state = lambda: (subprocess.run([*postconf, "-M"], capture_output=True, text=True).stdout,  # noqa: E731
                         subprocess.run([*postconf, "-n"], capture_output=True, text=True).stdout)
        original = state()
        command = [str(ROOT / "appliance/install.sh"), "--hostname", HOST, "--web", "none", "--postfix", pattern,
                   "--executable", str(built()["onedir"].parent)]
        first = subprocess.run(command, env=env, capture_output=True, text=True)
        assert first.returncode == 0, first.stdout + first.stderr
        check = subprocess.run(["postfix", "-c", str(etc), "check"], capture_output=True, text=True)
        assert check.returncode == 0 and "fatal" not in check.stderr, check.stderr
        wired = state()
        assert "webcrypt" in wired[0] and f"127.0.0.1:{POSTFIX_REINJECT}" in wired[0]
        assert subprocess.run(command, env=env, capture_output=True).returncode == 0
        assert state() == wired
        removed = subprocess.run([str(ROOT / "appliance/uninstall.sh")], env=env, capture_output=True, text=True)
        assert removed.returncode == 0, removed.stderr
        assert state() == original
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_scripts_are_shellcheck_clean():
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck is not installed (tests/run.sh installs it)")
    scripts = sorted(str(p) for p in (ROOT / "appliance").glob("*.sh"))
    result = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


# --- services started the way the units start them ------------------------------------------

def test_maintain_runs_under_the_units_user_and_hardening(appliance):
    if not has_command(appliance.exe, "maintain"):
        pytest.skip("'webcrypt maintain' does not exist yet (issue 5)")
    process = unit_runner.start(appliance.unit("webcrypt-maintain.service"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    assert b"message keys destroyed" in out or out  # it reports what it did


def test_a_forbidden_system_call_group_really_stops_the_program(appliance, tmp_path):
    """The unit emulation is not a no-op: without @file-system the executable cannot start."""
    unit = tmp_path / "broken.service"
    text = appliance.unit("webcrypt-maintain.service").read_text()
    unit.write_text(re.sub(r"(?m)^SystemCallFilter=~.*$", "SystemCallFilter=~@file-system", text))
    process = unit_runner.start(unit, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.communicate(timeout=60)
    assert process.returncode != 0


def test_relay_runs_under_the_units_user_and_hardening(appliance):
    write_settings(appliance.config, {
        "relay": {"listen": f'"127.0.0.1:{RELAY_PORT}"'},
        "mail": {"reinject": f'"smtp://127.0.0.1:{SINK_PORT}"'},
        "accounts": {"scrypt_log_n": "12"},
    })
    relay = unit_runner.start(appliance.unit("webcrypt-relay.service"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_listening(RELAY_PORT, relay)
        with Sink(SINK_PORT) as sink:
            with smtplib.SMTP("127.0.0.1", RELAY_PORT, timeout=60) as client:
                client.sendmail(SENDER, ["relay-check@example.org"],
                                b"From: clerk@corp.example\r\nTo: relay-check@example.org\r\n"
                                b"Subject: [secure] via relay\r\n\r\nbalance 4711.08\r\n")
            carriers = sink.carriers("relay-check@example.org")
        assert len(carriers) == 1 and b"balance 4711.08" not in carriers[0].data
    finally:
        relay.terminate()
        relay.wait(timeout=30)


def tls_handshake(port: int, version: str) -> str:
    result = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", f"-{version}",
                             "-servername", HOST], input="", capture_output=True, text=True, timeout=30)
    return result.stdout + result.stderr


def negotiated(port: int, version: ssl.TLSVersion) -> tuple[str, str]:
    context = ssl._create_unverified_context()
    context.minimum_version = context.maximum_version = version
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with context.wrap_socket(raw, server_hostname=HOST) as tls:
            return tls.version(), tls.cipher()[0]


@pytest.mark.parametrize("front_end", ["nginx", "apache"])
def test_front_end_speaks_tls_12_and_13_only_with_hsts_and_redirects_http(appliance, front_end, request):
    https, http = request.getfixturevalue(front_end)
    assert negotiated(https, ssl.TLSVersion.TLSv1_3)[0] == "TLSv1.3"
    version, cipher = negotiated(https, ssl.TLSVersion.TLSv1_2)
    assert version == "TLSv1.2" and re.fullmatch(r"ECDHE-\w+-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)", cipher), cipher
    refused = tls_handshake(https, "tls1_1")
    assert "alert protocol version" in refused, refused[-500:]  # the server refused, not the client
    context = ssl._create_unverified_context()
    try:
        response = urllib.request.urlopen(f"https://127.0.0.1:{https}/healthz", context=context, timeout=30)
    except urllib.error.HTTPError as e:  # 502/503 while no portal runs: the front end itself answered
        response = e
    assert response.headers.get_all("Strict-Transport-Security") == ["max-age=63072000"]
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(f"http://127.0.0.1:{http}/x", timeout=30)
    assert answer.value.code == 301
    assert re.fullmatch(rf"https://(127\.0\.0\.1|{HOST}):{https}/x", answer.value.headers["Location"])


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.parametrize("front_end", ["nginx", "apache"])
def test_portal_through_the_front_end_as_the_unit_runs_it(appliance, portal, front_end, request):
    https, _ = request.getfixturevalue(front_end)
    context = ssl._create_unverified_context()
    with urllib.request.urlopen(f"https://127.0.0.1:{https}/healthz", context=context, timeout=30) as response:
        assert response.status == 200
        assert response.headers.get_all("Strict-Transport-Security") == ["max-age=63072000"]


# --- who the client is, through the real front end -------------------------------------------

@pytest.fixture(scope="module")
def outside():
    if not Outside.available():
        pytest.skip("network namespaces need root and iproute2 (tests/run.sh installs it)")
    with Outside() as namespace:
        yield namespace


@pytest.mark.parametrize("front_end, source", [("nginx", OUTSIDE_ADDRESSES[0]), ("apache", OUTSIDE_ADDRESSES[1])])
def test_the_portal_sees_the_real_client_through_the_front_end(appliance, portal, outside, front_end, source, request):
    """Behind the installed front end, the client from the internet (not the proxy's 127.0.0.1)
    is what the console's and /metrics' networks, the throttles and the audit trail see."""
    https, _ = request.getfixturevalue(front_end)
    base, inside = f"https://{OUTSIDE_HOST}:{https}", f"https://127.0.0.1:{https}"
    assert outside.run("status", source, base + "/admin/login") == 403
    assert outside.run("status", source, base + "/metrics") == 403
    assert outside_module.status("127.0.0.1", inside + "/admin/login") == 200
    assert outside_module.status("127.0.0.1", inside + "/metrics") == 200
    # forged from outside: the front end puts the real client last, and only the last hop counts
    assert outside.run("forged", source, base + "/admin/login", "127.0.0.1") == 403

    address, password = f"proxied-{front_end}@example.org", "a long enough password 7"
    created = appliance.webcrypt("useradd", address, "--password-stdin", input=password.encode() + b"\n")
    assert created.returncode == 0, created.stderr
    per_client = 30  # [throttle] login_failures_per_client, as installed
    attempts = outside.run("login", source, base, f"guess{{n}}-{front_end}@example.org", "wrong password!", per_client + 1)
    assert attempts[:per_client] == [401] * per_client and attempts[-1] == 429
    # the outsider is blocked; the customer logging in from elsewhere is not
    assert outside_module.login("127.0.0.1", inside, address, password) == [303]

    audit = appliance.webcrypt("audit", "--action", "login_failed", "--json")
    assert audit.returncode == 0, audit.stderr
    clients = {event["client"] for event in json.loads(audit.stdout) if front_end in event["subject"]}
    assert clients == {source}


# --- mail through Postfix, read in Chromium over HTTPS ----------------------------------------

def test_mail_submitted_to_postfix_leaves_encrypted_and_opens(appliance, postfix):
    sink, _ = postfix
    address = "postfix-check@example.org"
    created = appliance.webcrypt("useradd", address, "--password-stdin", input=b"a long enough password 3\n")
    assert created.returncode == 0, created.stderr
    submit(b"Subject: [secure] Through Postfix\r\n\r\nThe figures.\r\n", address)
    carrier = wait_for(lambda: sink.carriers(address), "a carrier mail at the sink")[0]
    assert b"The figures." not in carrier.data
    path = appliance.path("WEBCRYPT_VAR") / "carrier.eml"
    path.write_bytes(without_crlf(carrier.data))
    shutil.chown(path, ACCOUNT)
    opened = appliance.webcrypt("open", str(path), "--as", address, "--password-stdin", input=b"a long enough password 3\n")
    assert opened.returncode == 0, opened.stderr
    assert b"The figures." in opened.stdout


def test_chromium_opens_secure_htm_over_https_logs_in_reads_and_replies(appliance, postfix, nginx, portal, tmp_path):
    from playwright.sync_api import sync_playwright

    sink, _ = postfix
    address = "reader@example.org"
    password = "a long enough password 4"
    created = appliance.webcrypt("useradd", address, "--password-stdin", input=password.encode() + b"\n")
    assert created.returncode == 0, created.stderr
    submit(b"Subject: [secure] Your statement\r\n\r\nBalance: 1234.56 EUR\r\n", address)
    carrier = wait_for(lambda: sink.carriers(address), "a carrier mail at the sink")[0]
    secure_htm = tmp_path / "secure.htm"
    secure_htm.write_bytes(secure_htm_of(without_crlf(carrier.data)))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_context(ignore_https_errors=True).new_page()
        page.goto(secure_htm.as_uri())
        page.wait_for_url(f"https://{HOST}:{HTTPS_PORT}/**", timeout=30000)
        page.fill("#address", address)
        page.fill("#password", password)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_load_state()
        if page.locator("form[action='/password']").count():  # forced password change
            page.fill("#new", "a brand new long password 5")
            page.fill("#repeat", "a brand new long password 5")
            page.click("form[action='/password'] button[type=submit]")
            page.wait_for_load_state()
        # the body is shown in the page or in its sandboxed iframe
        body = page.get_by_text("Balance: 1234.56 EUR")
        if body.count() == 0:
            body = page.frame_locator("iframe").first.get_by_text("Balance: 1234.56 EUR")
        body.first.wait_for(timeout=30000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "appliance-read-over-nginx.png"), full_page=True)
        page.get_by_role("link", name=re.compile("reply", re.I)).first.click()
        page.fill("textarea#text", "Thank you, received.")
        page.click("form[action$='/reply'] button[type=submit]")
        page.wait_for_load_state()
        form_again = page.locator("form[action$='/reply']").count()  # shown again: refused, with an error
        page.screenshot(path=str(ARTIFACTS / "appliance-replied-over-nginx.png"), full_page=True)
        browser.close()
    assert form_again == 0
    reply = wait_for(lambda: [m for m in sink.to(SENDER) if "Thank you, received." in text_of(m.data)],
                     "the reply at the sink")
    assert reply[0].recipients == [SENDER]


def text_of(raw: bytes) -> str:
    """All text parts of a mail, decoded (a reply may be quoted-printable or base64)."""
    import email
    import email.policy

    message = email.message_from_bytes(raw, policy=email.policy.default)
    parts = [p.get_content() for p in message.walk() if p.get_content_type() in ("text/plain", "text/html")]
    return "\n".join(str(p) for p in parts)


def test_postfix_pattern_c_hands_mail_to_the_relay_unit(appliance):
    """Pattern C (advanced content filter): Postfix -> webcrypt relay (as its unit runs it) ->
    Postfix reinjection -> the outside world, here an SMTP sink."""
    submit_port, reinject, relay_port, sink_port = 12850, 12851, 12852, 12853
    root = Path(tempfile.mkdtemp(prefix="webcrypt-relay-pattern-", dir="/tmp"))
    root.chmod(0o755)
    etc = root / "etc/postfix"
    env = {**layout(root), "WEBCRYPT_REINJECT_PORT": str(reinject), "WEBCRYPT_RELAY_PORT": str(relay_port),
           "WEBCRYPT_POSTFIX_SUBMISSION": f"127.0.0.1:{submit_port}"}
    relay = None
    try:
        postfix_base(etc, root, submit=submit_port, sink=sink_port)
        result = subprocess.run([str(ROOT / "appliance/install.sh"), "--hostname", HOST, "--web", "none",
                                 "--postfix", "relay", "--executable", str(built()["onedir"].parent)],
                                env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        config = root / "etc/webcrypt/webcrypt.toml"
        assert f'listen = "127.0.0.1:{relay_port}"' in config.read_text()
        write_settings(config, {"accounts": {"scrypt_log_n": "12"}, "mail": {"internal_domains": '["corp.example"]'}})
        relay = unit_runner.start(root / "etc/systemd/system/webcrypt-relay.service",
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_listening(relay_port, relay)
        with Sink(sink_port) as sink:
            start = subprocess.run(["script", "-qec", f"postfix -c {etc} start", "/dev/null"], capture_output=True, text=True)
            assert start.returncode == 0, start.stdout
            wait_listening(submit_port)
            submit(b"Subject: [secure] Via the relay\r\n\r\nIBAN DE02 1203 0000 0000 2020 51\r\n",
                   "relay-pattern@example.org", submit_port)
            plain = submit(b"Subject: lunch\r\n\r\nSee you at noon.\r\n", "friend@example.net", submit_port)
            carrier = wait_for(lambda: sink.carriers("relay-pattern@example.org"), "a carrier via the relay")[0]
            passed = wait_for(lambda: sink.to("friend@example.net"), "the plain mail via the relay")[0]
        assert b"IBAN DE02" not in carrier.data
        assert passed.data.endswith(plain.split(b"\r\n\r\n", 1)[1])  # unchanged body
    finally:
        stop_postfix(etc)
        if relay is not None:
            relay.terminate()
            relay.wait(timeout=30)
        subprocess.run([str(ROOT / "appliance/uninstall.sh")], env=env, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


# --- fixtures: nginx, portal, Postfix -------------------------------------------------------

@pytest.fixture(scope="module")
def nginx(appliance):
    if not shutil.which("nginx"):
        pytest.skip("nginx is not installed (tests/run.sh installs it)")
    root = appliance.root
    for folder in ("run", "var/log/nginx", "var/lib/nginx"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    conf = root / "etc/nginx/nginx.conf"
    # Debian's /etc/nginx/nginx.conf in miniature: same user, the site install.sh enabled.
    conf.write_text(f"""user www-data;
worker_processes 1;
pid {root}/run/nginx.pid;
error_log {root}/var/log/nginx/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {root}/var/log/nginx/access.log;
    client_body_temp_path {root}/var/lib/nginx/body;
    proxy_temp_path {root}/var/lib/nginx/proxy;
    fastcgi_temp_path {root}/var/lib/nginx/fastcgi;
    uwsgi_temp_path {root}/var/lib/nginx/uwsgi;
    scgi_temp_path {root}/var/lib/nginx/scgi;
    include {root}/etc/nginx/sites-enabled/*;
}}
""")
    check = subprocess.run(["nginx", "-t", "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    # As Debian's nginx.service runs it, in the foreground so that the test owns the process.
    process = subprocess.Popen(["nginx", "-c", str(conf), "-g", "daemon off; master_process on;"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_listening(HTTPS_PORT, process)
    yield HTTPS_PORT, HTTP_PORT
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def apache(appliance):
    """The Apache alternative: install.sh --web apache, then apache2 with Debian's modules."""
    if not shutil.which("apache2"):
        pytest.skip("apache2 is not installed (tests/run.sh installs it)")
    env = {**appliance.env, "WEBCRYPT_HTTPS_PORT": str(APACHE_HTTPS_PORT), "WEBCRYPT_HTTP_PORT": str(APACHE_HTTP_PORT)}
    result = subprocess.run([str(ROOT / "appliance/install.sh"), "--hostname", HOST, "--web", "apache", "--no-postfix",
                             "--executable", str(built()["onedir"].parent)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    root = appliance.root
    run = root / "run/apache2"
    for folder in (run, root / "var/log/apache2"):
        folder.mkdir(parents=True, exist_ok=True)
    modules = "/usr/lib/apache2/modules"
    loads = "".join(f"LoadModule {name}_module {modules}/mod_{name}.so\n" for name in (
        "mpm_event", "authz_core", "alias", "headers", "proxy", "proxy_http", "socache_shmcb", "ssl"))
    conf = root / "etc/apache2/apache2.conf"
    # What a2enmod ssl proxy proxy_http headers and a2ensite webcrypt give, in one file.
    conf.write_text(f"""ServerRoot /etc/apache2
ServerName {HOST}
PidFile {run}/apache2.pid
Mutex file:{run} default
DefaultRuntimeDir {run}
ErrorLog {root}/var/log/apache2/error.log
User www-data
Group www-data
{loads}Include {root}/etc/apache2/sites-available/webcrypt.conf
""")
    check = subprocess.run(["apache2", "-t", "-f", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(["apache2", "-f", str(conf), "-DFOREGROUND"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_listening(APACHE_HTTPS_PORT, process)
    yield APACHE_HTTPS_PORT, APACHE_HTTP_PORT
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def portal(appliance):
    if not has_command(appliance.exe, "serve"):
        pytest.skip("'webcrypt serve' does not exist yet (issue 4, the portal): the HTTPS flow cannot run")
    write_settings(appliance.config, {"portal": {"url": f'"https://{HOST}:{HTTPS_PORT}"'},
                                      "accounts": {"scrypt_log_n": "12"}})
    process = unit_runner.start(appliance.unit("webcrypt-portal.service"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_listening(PORTAL_PORT, process)
    yield process
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def postfix(appliance):
    snippets = Path(appliance.env.get("WEBCRYPT_POSTFIX_SNIPPETS", ROOT / "appliance/postfix")) / "master.cf.content-filter"
    if not snippets.exists():
        pytest.skip(f"{snippets} does not exist yet (issue 3, the gateway): install.sh cannot wire Postfix")
    if "wired Postfix" not in appliance.install_output:
        rerun = appliance.install("--hostname", HOST, "--executable", str(built()["onedir"].parent))
        assert rerun.returncode == 0 and "wired Postfix" in rerun.stdout, rerun.stdout + rerun.stderr
    etc = appliance.root / "etc/postfix"
    # Mail leaves through the reinjection service install.sh wired (the relay test changed it).
    write_settings(appliance.config, {"portal": {"url": f'"https://{HOST}:{HTTPS_PORT}"'},
                                      "mail": {"reinject": f'"smtp://127.0.0.1:{POSTFIX_REINJECT}"'},
                                      "accounts": {"scrypt_log_n": "12"}})
    with Sink(SINK_PORT) as sink:
        start = subprocess.run(["script", "-qec", f"postfix -c {etc} start", "/dev/null"], capture_output=True, text=True)
        assert start.returncode == 0, start.stdout + start.stderr
        wait_listening(POSTFIX_SUBMIT)
        yield sink, etc
        stop_postfix(etc)


def postfix_base(etc: Path, root: Path, submit: int = POSTFIX_SUBMIT, sink: int = SINK_PORT) -> None:
    """A private Postfix instance before install.sh wires it: submission on loopback, every
    outgoing message relayed to the test's SMTP sink."""
    spool, data = root / "var/spool/postfix", root / "var/lib/postfix"
    for folder in (etc, spool, data):
        folder.mkdir(parents=True, exist_ok=True)
    shutil.chown(data, "postfix", "postfix")
    data.chmod(0o700)
    shutil.copy("/etc/postfix/master.cf", etc / "master.cf")
    settings = {
        "compatibility_level": "3.6", "queue_directory": spool, "data_directory": data,
        "maillog_file": root / "maillog", "maillog_file_prefixes": root,
        "myhostname": "mx.corp.example", "mydomain": "corp.example", "myorigin": "corp.example",
        "mydestination": "", "inet_interfaces": "loopback-only", "inet_protocols": "ipv4",
        "mynetworks": "127.0.0.0/8", "smtpd_relay_restrictions": "permit_mynetworks, reject",
        "relayhost": f"[127.0.0.1]:{sink}", "smtp_dns_support_level": "disabled",
        "disable_dns_lookups": "yes", "smtputf8_enable": "no", "biff": "no",
        "alias_maps": "", "alias_database": "", "local_recipient_maps": "",
    }
    (etc / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
    postconf = ["postconf", "-c", str(etc)]
    subprocess.run([*postconf, "-F", "*/*/chroot = n"], check=True)
    subprocess.run([*postconf, "-MX", "smtp/inet"], check=True)
    subprocess.run([*postconf, "-M", f"127.0.0.1:{submit}/inet=127.0.0.1:{submit} inet n - n - - smtpd"], check=True)


def stop_postfix(etc: Path) -> None:
    subprocess.run(["postfix", "-c", str(etc), "stop"], capture_output=True)


def submit(body: bytes, recipient: str, port: int = POSTFIX_SUBMIT) -> bytes:
    message = (f"From: Clerk <{SENDER}>\r\nTo: {recipient}\r\n"
               f"Message-ID: <{time.time_ns()}@corp.example>\r\n").encode() + body
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.sendmail(SENDER, [recipient], message)
    return message


def secure_htm_of(carrier: bytes) -> bytes:
    from webcrypt.core import mime

    return mime.secure_htm_of(carrier)


def wait_for_no_processes_of(user: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if subprocess.run(["pgrep", "-u", user], capture_output=True).returncode != 0:
            return
        time.sleep(0.2)


def wait_for(probe, what: str, seconds: float = 90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no {what} after {seconds} s")


def wait_listening(port: int, process: subprocess.Popen | None = None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}: {process.stderr.read().decode(errors='replace')[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")
