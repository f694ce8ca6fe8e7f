"""The appliance as an administrator deploys it: a fresh Debian 12 booted with systemd as PID 1
(and README.md's set-up and build on a fresh Debian 13, booted too).

tests/booted_support.py boots a copy of a cached minimal Debian root under systemd-nspawn; this
file does there what README.md and docs/admin.md say, in their words (each command is checked
to stand in the documents before it runs): the demo and the build with Debian's own python3,
install.sh with nginx and then Apache, Postfix, a reboot, and the day-2 commands (backup,
restore, key rotation, upgrade, the monitoring check, uninstall). From this machine, the host
side of the container's network: mail into the container's Postfix and out to an SMTP sink
here, Chromium reading and answering a message over HTTPS, and clients from the internet and
from a private network through the real front end. Last, README.md's demo and build again, on
Debian 13 (trixie): its own cached root, a container with loopback only.

The tests run in order and build on each other (one appliance, as in life). Run alone with
``pytest -m booted``. Ports on this side: 13100-13199.
"""

import json
import os
import re
import shlex
import shutil
import smtplib
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest

import outside
from appliance_support import ROOT
from booted_support import CONTAINER, CONTAINER_OUTSIDE, HOST_SIDE, OUTSIDE, TRIXIE, Container
from gateway_support import Sink, without_crlf
from test_appliance import secure_htm_of, text_of

SINK_PORT = 13125
NAME = "secure.example.com"
CHECKOUT = "/root/webcrypt"
SENDER = "clerk@corp.example"
READER, READER_PASSWORD = "reader@example.org", "a long enough password 11"
LIVE = f"/etc/letsencrypt/live/{NAME}"
SERVICES = ("webcrypt-portal.service", "webcrypt-maintain.service", "webcrypt-relay.service")
UNIT_FILES = (*SERVICES, "webcrypt-maintain.timer")
README = (ROOT / "README.md").read_text()
ADMIN = (ROOT / "docs" / "admin.md").read_text()

pytestmark = [
    pytest.mark.booted,
    pytest.mark.skipif(os.geteuid() != 0, reason="booting a container needs root (tests/run.sh runs as root)"),
    pytest.mark.skipif(not (shutil.which("debootstrap") and shutil.which("systemd-nspawn")),
                       reason="debootstrap and systemd-nspawn missing (tests/run.sh installs them)"),
]


def documented(document: str, command: str) -> str:
    """*command* as it stands in *document* (line continuations joined); the test runs only that."""
    flat = " ".join(document.replace("\\\n", " ").split())
    assert " ".join(command.split()) in flat, f"not in the documentation: {command}"
    return command


@dataclass
class Appliance:
    box: Container
    sink: Sink
    notes: dict = field(default_factory=dict)

    def sh(self, command: str, **kwargs) -> subprocess.CompletedProcess:
        return self.box.run(command, **kwargs)

    def webcrypt(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        """The admin command as root types it (/usr/local/bin/webcrypt switches to webcrypt)."""
        return self.sh("webcrypt " + " ".join(map(shlex.quote, args)), check=False,
                       input=input.encode() if input is not None else None)

    def is_active(self, unit: str) -> str:
        return self.sh(f"systemctl is-active {unit}", check=False).stdout.strip()

    def is_enabled(self, unit: str) -> str:
        return self.sh(f"systemctl is-enabled {unit}", check=False).stdout.strip()


@pytest.fixture(scope="module")
def appliance():
    with Container(f"wcb{os.getpid() % 100000}") as box:
        _copy_checkout(box.root / CHECKOUT.lstrip("/"))
        _site_postfix(box)
        with Sink(SINK_PORT, host=HOST_SIDE) as sink:
            yield Appliance(box, sink)


def _copy_checkout(target: Path) -> None:
    """The sources as a release folder holds them: tracked and new files, nothing git ignores."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    target.mkdir(parents=True)
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _site_postfix(box: Container) -> None:
    """The site's own mail routing (not webcrypt's): this side's network may send, and mail
    for the world leaves through the sink here, as it would through the organisation's relay."""
    box.run(f"postconf -e 'relayhost = [{HOST_SIDE}]:{SINK_PORT}' "
            f"'mynetworks = 127.0.0.0/8 [::1]/128 {HOST_SIDE}/32' && systemctl reload postfix")
    # The name the portal is installed under resolves to the appliance (DNS, inside: itself).
    box.run(f"echo '127.0.0.1 {NAME}' >> /etc/hosts")


def wait_for(check, what: str, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


# --- README.md: the demo and the build with Debian's python3 ---------------------------------

def test_readme_demo_runs_with_the_systems_python(appliance):
    readme_demo(appliance.box)


def test_readme_build_and_install_with_the_systems_python(appliance):
    readme_build_and_install(appliance.box)


def readme_demo(box: Container) -> None:
    apt = documented(README, "apt install python3-venv")
    line = documented(README, "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/webcrypt demo")
    assert box.run("python3 -c 'import sys; print(sys.prefix)'").stdout.strip() == "/usr"
    box.run(apt, network="host")
    install, demo = line.rsplit(" && ", 1)
    # pip needs the internet: this machine's network; the demo serves in the container's.
    box.run(f"cd {CHECKOUT} && {install}", network="host")
    served = box.run(
        f"cd {CHECKOUT} && ({demo} >/tmp/demo.log 2>&1 & echo $! >/tmp/demo.pid); "
        "for i in $(seq 120); do curl -fsS http://127.0.0.1:8080/healthz && break; sleep 0.5; done; "
        "kill $(cat /tmp/demo.pid); cat /tmp/demo.log", check=False)
    assert served.returncode == 0, served.stdout + served.stderr
    assert "demo-home" in served.stdout and "8080" in served.stdout, served.stdout


def readme_build_and_install(box: Container) -> None:
    # The packages are in the root already: apt finds every name in this release and has nothing to do.
    box.run(documented(README, "apt install python3-venv binutils libpython3-dev nginx postfix"), network="host")
    line = documented(README, "python3 -m venv .venv && .venv/bin/pip install '.[build]' && "
                              f".venv/bin/pyinstaller --noconfirm build.spec && appliance/install.sh --hostname {NAME}")
    make_venv, pip, build, install = line.split(" && ")
    box.run(f"cd {CHECKOUT} && {make_venv} && {pip}", network="host")
    box.run(f"cd {CHECKOUT} && {build}")
    installed = box.run(f"cd {CHECKOUT} && {install}")
    assert "installed." in installed.stdout
    assert box.run("systemctl is-active webcrypt-portal", check=False).stdout.strip() == "active"
    # the portal through the front end install.sh configured (its self-signed certificate: -k)
    healthz = box.run(f"curl -fsSk --resolve {NAME}:443:127.0.0.1 https://{NAME}/healthz", check=False)
    assert healthz.returncode == 0, healthz.stdout + healthz.stderr
    # the listen lines install.sh writes for this release's nginx (http2 moved in 1.25): no warning
    checked = box.run("nginx -t", check=False)
    assert checked.returncode == 0 and "[warn]" not in checked.stderr, checked.stderr


# --- docs/admin.md: install with a certificate, nginx -------------------------------------------

def test_documented_install_with_certificate_behind_nginx(appliance):
    _certificate(appliance)
    command = documented(ADMIN, f"appliance/install.sh --hostname {NAME} --cert {LIVE}/fullchain.pem "
                                f"--key {LIVE}/privkey.pem")
    result = appliance.sh(f"cd {CHECKOUT} && {command}")
    assert "configured nginx" in result.stdout
    for check in ("systemctl status webcrypt-portal webcrypt-maintain.timer",
                  f"curl -fsS https://{NAME}/healthz", "journalctl -u webcrypt-portal -e"):
        documented(ADMIN, check)
        # nginx takes a reloaded site a moment after 'systemctl reload' returns (the old workers
        # answer meanwhile, with the old certificate): as quickly as no administrator types
        done = wait_for(lambda: _succeeded(appliance.sh(check, check=False)), check, seconds=10)
        assert done.returncode == 0


def _succeeded(result: subprocess.CompletedProcess):
    return result if result.returncode == 0 else None


def _certificate(appliance: Appliance) -> None:
    """What certbot would leave: a chain from an authority the machine trusts (here a private
    one, added to the system's store so that curl in the documented check verifies it)."""
    appliance.sh(
        f"set -e; mkdir -p {LIVE} /root/ca; cd /root/ca; "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 "
        "-subj '/CN=booted test authority' -keyout ca.key -out ca.crt 2>/dev/null; "
        f"openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN={NAME}' "
        f"-keyout {LIVE}/privkey.pem -out site.csr 2>/dev/null; "
        f"printf 'subjectAltName=DNS:{NAME}\\n' > san.ext; "
        f"openssl x509 -req -in site.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile san.ext "
        f"-out site.crt 2>/dev/null; cat site.crt ca.crt > {LIVE}/fullchain.pem; chmod 600 {LIVE}/privkey.pem; "
        "cp ca.crt /usr/local/share/ca-certificates/booted-test.crt; update-ca-certificates >/dev/null")


def test_units_are_active_enabled_verified_and_hardened(appliance):
    _assert_running(appliance, front_end="nginx")
    units = " ".join(f"/etc/systemd/system/{unit}" for unit in UNIT_FILES)
    verify = appliance.sh(f"systemd-analyze verify {units}", check=False)
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stdout + verify.stderr
    for unit in SERVICES:
        report = appliance.sh(f"systemd-analyze security --no-pager {unit}", check=False).stdout
        match = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", report)
        assert match, report
        assert float(match.group(1)) <= promised_exposure(unit), match.group(0)
    timers = appliance.sh("systemctl list-timers --all --no-pager").stdout
    assert "webcrypt-maintain.timer" in timers and "webcrypt-maintain.service" in timers
    journal = appliance.sh("journalctl -u webcrypt-portal -o cat --no-pager").stdout
    assert "webcrypt serve: listening on http://127.0.0.1:8080" in journal, journal[-2000:]


def promised_exposure(unit: str) -> float:
    """The figure docs/admin.md gives for *unit* ("an exposure of at most 0.9 for webcrypt-portal")."""
    flat = " ".join(ADMIN.split())
    sentence = re.search(r"exposure of at most (.+?)\(of 10", flat)
    assert sentence, "docs/admin.md no longer promises an exposure level"
    figure = re.search(rf"(\d+\.\d+) for {unit.removesuffix('.service')}\b", sentence.group(1))
    assert figure, f"docs/admin.md promises no exposure for {unit}"
    return float(figure.group(1))


def _assert_running(appliance: Appliance, front_end: str) -> None:
    for unit in ("webcrypt-portal.service", "webcrypt-maintain.timer", f"{front_end}.service", "postfix.service"):
        assert appliance.is_active(unit) == "active", appliance.sh(f"systemctl status --no-pager {unit}", check=False).stdout
        assert appliance.is_enabled(unit) == "enabled", unit
    # the relay serves the pipe's fast path on loopback (the default); housekeeping runs by its timer
    assert appliance.is_enabled("webcrypt-relay.service") == "enabled"
    assert appliance.is_active("webcrypt-relay.service") == "active"
    assert 'relay = "127.0.0.1:10025"' in appliance.sh("cat /etc/webcrypt/webcrypt.toml").stdout
    assert appliance.is_enabled("webcrypt-maintain.service") == "static"
    assert appliance.sh(f"curl -fsS https://{NAME}/healthz", check=False).returncode == 0


# --- mail through the container's Postfix ------------------------------------------------------

def _submit(subject: str, body: str, recipient: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = SENDER, recipient, subject
    message.set_content(body)
    with smtplib.SMTP(CONTAINER, 587, timeout=60) as smtp:
        smtp.send_message(message)


def test_marked_mail_leaves_encrypted_and_unmarked_mail_as_it_came(appliance):
    created = appliance.webcrypt("useradd", READER, "--password-stdin", input=READER_PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    _submit("[secure] Your statement", "Balance: 1234.56 EUR", READER)
    _submit("Lunch", "See you at noon.", "friend@example.net")
    carrier = wait_for(lambda: appliance.sink.carriers(READER), "the carrier mail at the sink")[0]
    assert b"Balance: 1234.56 EUR" not in carrier.data
    plain = wait_for(lambda: appliance.sink.to("friend@example.net"), "the unmarked mail at the sink")[0]
    assert "See you at noon." in text_of(plain.data) and b"secure.htm" not in plain.data
    appliance.notes["carrier"] = without_crlf(carrier.data)
    # the fast path (the default): each pipe hands its message to the relay service, which decides
    pipes = [line for line in appliance.sh("journalctl -t webcrypt -o cat --no-pager").stdout.splitlines()
             if line.startswith("webcrypt pipe:")]
    assert pipes and all("action=forwarded" in line and "relay=127.0.0.1:10025" in line for line in pipes), pipes
    assert any("OK: encrypt (keyword)" in line for line in pipes) and any("OK: pass" in line for line in pipes)


def test_chromium_reads_and_replies_over_https_through_nginx(appliance, tmp_path):
    _read_and_reply(appliance, tmp_path, "nginx")


def _read_and_reply(appliance: Appliance, folder: Path, front_end: str) -> None:
    from playwright.sync_api import sync_playwright

    secure_htm = folder / "secure.htm"
    secure_htm.write_bytes(secure_htm_of(appliance.notes["carrier"]))
    password = appliance.notes.get("password", READER_PASSWORD)
    text = f"Thank you, received over {front_end}."
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            f"--host-resolver-rules=MAP {NAME} {CONTAINER}"])
        # the private authority made in the container is not this browser's
        page = browser.new_context(ignore_https_errors=True).new_page()
        page.goto(secure_htm.as_uri())
        page.wait_for_url(f"https://{NAME}/**", timeout=30000)
        page.fill("#address", READER)
        page.fill("#password", password)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_load_state()
        if page.locator("form[action='/password']").count():  # forced password change
            password = f"a brand new long password {front_end}"
            page.fill("#new", password)
            page.fill("#repeat", password)
            page.click("form[action='/password'] button[type=submit]")
            page.wait_for_load_state()
            appliance.notes["password"] = password
        body = page.get_by_text("Balance: 1234.56 EUR")
        if body.count() == 0:
            body = page.frame_locator("iframe").first.get_by_text("Balance: 1234.56 EUR")
        body.first.wait_for(timeout=30000)
        page.get_by_role("link", name=re.compile("reply", re.I)).first.click()
        page.fill("textarea#text", text)
        page.click("form[action$='/reply'] button[type=submit]")
        page.wait_for_load_state()
        refused = page.locator("form[action$='/reply']").count()
        browser.close()
    assert refused == 0
    reply = wait_for(lambda: [m for m in appliance.sink.to(SENDER) if text in text_of(m.data)], "the reply")
    assert reply[0].recipients == [SENDER]


# --- the real client through the real proxy -----------------------------------------------------

def test_clients_are_told_apart_through_the_front_end(appliance):
    _clients_through(appliance, "nginx", OUTSIDE[0], OUTSIDE[1])


def _clients_through(appliance: Appliance, front_end: str, guesser: str, customer: str) -> None:
    internet = f"https://{CONTAINER_OUTSIDE}"
    private = f"https://{CONTAINER}"
    # the console and /metrics: not for the internet; the console for the private network,
    # /metrics for loopback only (docs/admin.md, [admin] networks, [monitor] metrics_networks)
    assert outside.status(guesser, internet + "/admin/login") == 403
    assert outside.status(customer, internet + "/metrics") == 403
    assert outside.forged(guesser, internet + "/admin/login", "127.0.0.1") == 403
    assert outside.status(HOST_SIDE, private + "/admin/login") == 200
    assert outside.status(HOST_SIDE, private + "/metrics") == 403
    inside = appliance.sh(f"curl -s -o /dev/null -w '%{{http_code}}' https://{NAME}/metrics").stdout
    assert inside == "200"
    # one client guessing is blocked; another client, with the right password, is not
    per_client = 30  # [throttle] login_failures_per_client, as installed
    attempts = outside.login(guesser, internet, f"guess{{n}}-{front_end}@example.org", "wrong password!",
                             str(per_client + 1))
    assert attempts[:per_client] == [401] * per_client and attempts[-1] == 429
    password = appliance.notes.get("password", READER_PASSWORD)
    assert outside.login(customer, internet, READER, password) == [303]
    assert outside.login(HOST_SIDE, private, READER, password) == [303]
    audit = appliance.webcrypt("audit", "--since", "1h", "--json")
    assert audit.returncode == 0, audit.stderr
    events = json.loads(audit.stdout)
    guessed = {e["client"] for e in events if e["action"] == "login_failed" and front_end in e["subject"]}
    assert guessed == {guesser}
    logins = {e["client"] for e in events if e["action"] == "login" and e["subject"] == READER}
    assert {customer, HOST_SIDE} <= logins and "127.0.0.1" not in logins


# --- a reboot -----------------------------------------------------------------------------------

def test_everything_is_back_after_a_reboot(appliance):
    appliance.box.reboot()
    wait_for(lambda: appliance.is_active("webcrypt-portal") == "active", "the portal after the reboot")
    _assert_running(appliance, front_end="nginx")
    assert outside.status(OUTSIDE[1], f"https://{CONTAINER_OUTSIDE}/healthz") == 200


# --- Apache instead of nginx ----------------------------------------------------------------------

def test_documented_switch_to_apache(appliance, tmp_path):
    stop = documented(ADMIN, "systemctl disable --now nginx")
    switch = documented(ADMIN, f"appliance/install.sh --hostname {NAME} --web apache --cert {LIVE}/fullchain.pem "
                               f"--key {LIVE}/privkey.pem")
    appliance.sh(stop)
    result = appliance.sh(f"cd {CHECKOUT} && {switch}")
    assert "configured Apache" in result.stdout and "removed the webcrypt site from nginx" in result.stdout
    assert appliance.sh("a2query -s webcrypt", check=False).returncode == 0
    for module in ("ssl", "proxy", "proxy_http", "headers"):
        assert appliance.sh(f"a2query -m {module}", check=False).returncode == 0, module
    assert appliance.is_active("nginx") == "inactive" and appliance.is_enabled("nginx") == "disabled"
    _assert_running(appliance, front_end="apache2")
    # a new guesser: the first is still blocked (login_block_minutes), rightly
    _clients_through(appliance, "apache", OUTSIDE[2], OUTSIDE[1])
    _read_and_reply(appliance, tmp_path, "apache")
    appliance.box.reboot()
    wait_for(lambda: appliance.is_active("apache2") == "active", "Apache after the reboot")
    _assert_running(appliance, front_end="apache2")


# --- day 2: docs/admin.md verbatim ------------------------------------------------------------------

def test_documented_backup_and_restore(appliance):
    backup = documented(ADMIN, "webcrypt backup /var/backups/webcrypt/webcrypt-$(date +%F).db")
    done = appliance.sh(backup, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    name = appliance.sh("ls /var/backups/webcrypt").stdout.split()
    assert len(name) == 1 and name[0].startswith("webcrypt-"), name
    mode = appliance.sh(f"stat -c '%a %U' /var/backups/webcrypt/{name[0]}").stdout.split()
    assert mode == ["600", "webcrypt"]
    later = appliance.webcrypt("useradd", "after-backup@example.org", "--password-stdin",
                               input="a long enough password 12\n")
    assert later.returncode == 0, later.stderr

    steps = [
        "systemctl stop webcrypt-portal webcrypt-relay webcrypt-maintain.timer",
        "cd /var/lib/webcrypt && rm -f webcrypt.db webcrypt.db-wal webcrypt.db-shm",
        "install -m 600 -o webcrypt /var/backups/webcrypt/BACKUP.db /var/lib/webcrypt/webcrypt.db",
        "webcrypt migrate",
    ]
    for step in steps:
        documented(ADMIN, step)
        done = appliance.sh(step.replace("BACKUP.db", name[0]), check=False)
        assert done.returncode == 0, f"{step}: {done.stdout}{done.stderr}"
    appliance.sh(documented(ADMIN, "systemctl start webcrypt-portal webcrypt-relay webcrypt-maintain.timer"))
    users = appliance.webcrypt("user", "list", "--json")
    addresses = {u["address"] for u in json.loads(users.stdout)}
    assert READER in addresses and "after-backup@example.org" not in addresses
    _open_carrier(appliance)  # sealed before the backup: its key came back with it
    wait_for(lambda: appliance.is_active("webcrypt-portal") == "active", "the portal after the restore")


def test_documented_key_rotation_leaves_the_disabled_relay_stopped(appliance):
    # a site without the relay (its pipe then processes each message itself)
    appliance.sh("systemctl disable --now webcrypt-relay")
    rotate = documented(ADMIN, "webcrypt keys rotate")
    restart = documented(ADMIN, "systemctl try-restart webcrypt-portal webcrypt-relay")
    before = appliance.sh("sha256sum /etc/webcrypt/master.key").stdout
    done = appliance.sh(rotate, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert appliance.sh("stat -c %U /etc/webcrypt/master.key").stdout.strip() == "webcrypt"
    started = appliance.sh("systemctl show -p ActiveEnterTimestampMonotonic --value webcrypt-portal").stdout
    appliance.sh(restart)
    assert appliance.sh("systemctl show -p ActiveEnterTimestampMonotonic --value webcrypt-portal").stdout != started
    assert appliance.is_active("webcrypt-relay") == "inactive"
    assert appliance.sh("sha256sum /etc/webcrypt/master.key").stdout != before
    # the message sealed before the rotation still opens
    _open_carrier(appliance)
    # marked mail still leaves encrypted with the relay stopped: each pipe does the work itself
    _submit("[secure] while the relay is off", "balance 12.00", READER)
    carrier = wait_for(lambda: [m for m in appliance.sink.to(READER) if b"while the relay is off" in m.data],
                       "the carrier made by the pipe itself")[0]
    assert b"balance 12.00" not in carrier.data
    appliance.sh("systemctl enable --now webcrypt-relay")


def _open_carrier(appliance: Appliance) -> None:
    appliance.box.root.joinpath("var/lib/webcrypt/carrier.eml").write_bytes(appliance.notes["carrier"])
    appliance.sh("chown webcrypt /var/lib/webcrypt/carrier.eml")
    opened = appliance.webcrypt("open", "/var/lib/webcrypt/carrier.eml", "--as", READER, "--password-stdin",
                                input=appliance.notes.get("password", READER_PASSWORD) + "\n")
    assert opened.returncode == 0 and "Balance: 1234.56 EUR" in opened.stdout, opened.stderr


def test_documented_upgrade_in_place(appliance):
    documented(ADMIN, "Run the newer install.sh with the newer build, the same way as the first time")
    key = appliance.sh("sha256sum /etc/webcrypt/master.key /etc/webcrypt/webcrypt.toml").stdout
    command = f"appliance/install.sh --hostname {NAME} --web apache --cert {LIVE}/fullchain.pem --key {LIVE}/privkey.pem"
    result = appliance.sh(f"cd {CHECKOUT} && {command}")
    assert "upgraded in place" in result.stdout
    assert appliance.sh("sha256sum /etc/webcrypt/master.key /etc/webcrypt/webcrypt.toml").stdout == key
    assert not appliance.sh("ls -d /opt/webcrypt.old /opt/webcrypt.new 2>/dev/null", check=False).stdout
    _assert_running(appliance, front_end="apache2")
    _open_carrier(appliance)


def test_documented_monitoring_check_as_the_monitoring_user(appliance):
    sudoers = documented(ADMIN, "nagios ALL=(webcrypt) NOPASSWD: /opt/webcrypt/webcrypt monitor --check")
    check = documented(ADMIN, '"/usr/bin/sudo", "-n", "-u", "webcrypt", "/opt/webcrypt/webcrypt", "monitor", "--check"')
    appliance.sh(f"useradd --system nagios && echo '{sudoers}' > /etc/sudoers.d/webcrypt-monitor "
                 "&& chmod 440 /etc/sudoers.d/webcrypt-monitor && visudo -cq")
    argv = " ".join(json.loads(f"[{check}]"))
    done = appliance.sh(f"cd / && {argv}", user="nagios", check=False)
    # the tests' 2 x 30 guessed logins this hour pass [monitor] login_failed_warning (50)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("WEBCRYPT WARNING - login_failed 60 >= 50"), done.stdout


def test_documented_uninstall_keeps_data_and_purge_removes_it(appliance):
    documented(ADMIN, "`appliance/uninstall.sh` removes programs")
    result = appliance.sh(f"cd {CHECKOUT} && appliance/uninstall.sh")
    assert "kept" in result.stdout, result.stdout
    for unit in UNIT_FILES:
        assert appliance.sh(f"test -e /etc/systemd/system/{unit}", check=False).returncode != 0, unit
        assert appliance.is_active(unit) in ("inactive", "unknown")
    assert "webcrypt" not in appliance.sh("cat /etc/postfix/master.cf").stdout.replace("# webcrypt", "")
    assert appliance.sh("a2query -s webcrypt", check=False).returncode != 0
    assert appliance.sh("test -f /etc/webcrypt/master.key && test -f /var/lib/webcrypt/webcrypt.db",
                        check=False).returncode == 0
    assert appliance.sh("postfix check", check=False).returncode == 0
    documented(ADMIN, "`uninstall.sh --purge` removes those too")
    purged = appliance.sh(f"cd {CHECKOUT} && appliance/uninstall.sh --purge")
    assert appliance.sh("id webcrypt", check=False).returncode != 0, purged.stdout
    assert appliance.sh("test -e /etc/webcrypt || test -e /var/lib/webcrypt", check=False).returncode != 0
    # the backup is the administrator's: kept
    assert appliance.sh("ls /var/backups/webcrypt").stdout.strip()


# --- Debian 13: README.md's set-up and build, as on Debian 12 -----------------------------------
# Its steps run in a thread from the module's start, beside the Debian 12 appliance: most of their
# time is apt and pip waiting on the network and the disk. Each test below waits for its step and
# meets its outcome (an assertion that failed there fails here, with its traceback).

class Steps:
    """Named steps run in order in a background thread; outcome(name) waits for one and re-raises
    what it raised. A step that fails does not stop the next (as separate tests would not)."""

    def __init__(self, steps: list[tuple[str, object]]):
        self.done: dict[str, BaseException | None] = {}
        self.finished = threading.Condition()
        self.thread = threading.Thread(target=self._run, args=(steps,), name="debian 13", daemon=True)
        self.thread.start()

    def _run(self, steps) -> None:
        for name, step in steps:
            try:
                step()
                failure = None
            except BaseException as error:  # noqa: BLE001 - handed to the test that reads this step
                failure = error
            with self.finished:
                self.done[name] = failure
                self.finished.notify_all()

    def outcome(self, name: str, seconds: float = 1800) -> None:
        with self.finished:
            if not self.finished.wait_for(lambda: name in self.done, timeout=seconds):
                raise AssertionError(f"the Debian 13 step {name!r} did not end within {seconds:.0f} s")
            failure = self.done[name]
        if failure is not None:
            raise failure


@pytest.fixture(scope="module", autouse=True)
def debian13(request):
    """Debian 13's container and steps, started with the module (autouse) when one of its tests
    is selected, and ended with the module."""
    if not any(item.name.endswith("_on_debian_13") for item in request.session.items):
        yield None
        return
    box: dict[str, Container] = {}

    def boot() -> None:
        box["it"] = Container(f"wct{os.getpid() % 100000}", TRIXIE, wired=False).__enter__()
        _copy_checkout(box["it"].root / CHECKOUT.lstrip("/"))
        assert box["it"].run("cat /etc/debian_version").stdout.startswith("13.")

    def step(function):
        def in_the_container() -> None:
            if "it" not in box:
                raise AssertionError("the Debian 13 container did not boot: see the first Debian 13 test")
            function(box["it"])
        return in_the_container

    steps = Steps([("boot", boot), ("demo", step(readme_demo)), ("build", step(readme_build_and_install)),
                   ("units", step(units_verified_and_hardened)), ("tests", step(readme_test_command))])
    yield steps
    steps.thread.join(timeout=1800)
    if "it" in box:
        box["it"].__exit__()


def test_readme_demo_runs_with_the_systems_python_on_debian_13(debian13):
    debian13.outcome("boot")
    debian13.outcome("demo")


def test_readme_build_and_install_with_the_systems_python_on_debian_13(debian13):
    debian13.outcome("build")


def test_units_are_verified_and_hardened_on_debian_13(debian13):
    """The units install.sh wrote (the test above) as Debian 13's systemd reads them: no warning
    from systemd-analyze verify, and each service at most the exposure docs/admin.md promises."""
    debian13.outcome("units")


def test_readme_test_command_on_debian_13(debian13):
    """README's second set-up command on a fresh Debian 13: it installs what the tests need (apt,
    then .venv with the test extras beside the system's externally managed python3) and runs
    pytest. A few test files stand for the suite here: the whole suite, this test included,
    would boot containers inside a container."""
    debian13.outcome("tests")


def units_verified_and_hardened(box: Container) -> None:
    units = " ".join(f"/etc/systemd/system/{unit}" for unit in UNIT_FILES)
    verify = box.run(f"systemd-analyze verify {units}", check=False)
    assert verify.returncode == 0 and not verify.stderr.strip(), (verify.stdout + verify.stderr)
    for unit in SERVICES:
        report = box.run(f"systemd-analyze security --no-pager {unit}", check=False).stdout
        match = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", report)
        assert match, report
        assert float(match.group(1)) <= promised_exposure(unit), (unit, match.group(0))


def readme_test_command(box: Container) -> None:
    command = documented(README, "tests/run.sh")
    selection = "tests/test_policy.py tests/test_client_address.py tests/test_layers.py"
    # apt and pip need the internet: this machine's network (the tests inside use loopback only).
    result = box.run(f"cd {CHECKOUT} && {command} -q -p no:cacheprovider {selection}", check=False,
                     network="host", timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert re.search(r"\d+ passed", result.stdout), result.stdout[-1000:]
    # what it installed is what the suite drives: Chromium and PostgreSQL from Debian, the extras in .venv
    box.run("command -v chromium && command -v nginx && dpkg -s postgresql >/dev/null")
    box.run(f"{CHECKOUT}/.venv/bin/python -c 'import playwright, psycopg2, webcrypt'")
