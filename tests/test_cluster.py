"""A cluster under failure (issue 11.3): two portal nodes (`webcrypt serve`) and two relays
(`webcrypt relay`) on one PostgreSQL behind nginx, configured as docs/admin.md ("The balancer")
says. Readers are logged in and read steadily while mail streams through both relays; then one
portal node is killed (SIGKILL) and restarted, then PostgreSQL is restarted.

Asserted: no read fails as a client sees it (nginx's retry absorbs the dead node, the nodes wait
out the database restart), every reader keeps the session, every submitted mail reaches the
sink exactly once, and sessions and throttles stay one state across the nodes.
The measured figures are printed (pytest -s) and recorded in docs/performance.md.

Run alone: pytest -m cluster tests/test_cluster.py
"""

import http.client
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import postgres
from conftest import write_settings
from gateway_support import Sink
from portal_client import RoundRobin, wait_healthy
from webcrypt.base import config
from webcrypt.core import mime
from webcrypt.infra import store
from webcrypt.usecases import gateway
from webcrypt.context.home import Home

pytestmark = [pytest.mark.cluster,
              pytest.mark.skipif(not postgres.available(), reason="Debian package postgresql-15 is not installed"),
              pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed (tests/run.sh installs it)")]

ROOT = Path(__file__).resolve().parents[1]
PG_PORT = 13210
NODES = (13211, 13212)
RELAYS = (13221, 13222)
BALANCER = 13215
SINK_PORT = 13230
READERS = 4
MAILS = 40
NEW_PASSWORD = "violet tractor harbour"
SENDER = "clerk@corp.example"


# --- the pieces --------------------------------------------------------------------------------

def docs_nginx_block() -> str:
    """The nginx configuration of docs/admin.md, "The balancer", as the administrator copies it."""
    text = (ROOT / "docs/admin.md").read_text()
    match = re.search(r"<!-- cluster-nginx.*?-->\n```nginx\n(.*?)```", text, re.S)
    assert match, "docs/admin.md lost its balancer configuration"
    return match.group(1)


def nginx_conf(folder: Path) -> str:
    block = docs_nginx_block().replace("10.0.0.11:8080", f"127.0.0.1:{NODES[0]}").replace(
        "10.0.0.12:8080", f"127.0.0.1:{NODES[1]}")
    upstream, location = block.split("# in the server { } block of the site:\n")
    return f"""worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{upstream}
    server {{
        listen 127.0.0.1:{BALANCER};
{location}
    }}
}}
"""


def wait_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process for port {port} exited: {process.stderr.read().decode()[-800:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


class Cluster:
    def __init__(self, config_path: Path, pg: postgres.Server, folder: Path):
        self.config_path, self.pg, self.folder = config_path, pg, folder
        self.nodes: dict[int, subprocess.Popen] = {}
        self.relays: list[subprocess.Popen] = []
        self.nginx = None

    def webcrypt(self, *args) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "webcrypt", "--config", str(self.config_path), *args],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)

    def start_node(self, port: int) -> None:
        self.nodes[port] = self.webcrypt("serve", "--listen", f"127.0.0.1:{port}", "--threads", "4")
        wait_healthy(port, self.nodes[port])

    def start(self) -> None:
        for port in NODES:
            self.start_node(port)
        for port in RELAYS:
            relay = self.webcrypt("relay", "--listen", f"127.0.0.1:{port}")
            self.relays.append(relay)
            wait_port(port, relay)
        conf = self.folder / "nginx.conf"
        conf.write_text(nginx_conf(self.folder))
        check = subprocess.run(["nginx", "-t", "-c", str(conf)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.nginx = subprocess.Popen(["nginx", "-c", str(conf), "-g", "daemon off; master_process on;"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_port(BALANCER, self.nginx)

    def stop(self) -> None:
        for process in [*self.nodes.values(), *self.relays, *([self.nginx] if self.nginx else [])]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.nodes.values(), *self.relays, *([self.nginx] if self.nginx else [])]:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@dataclass
class Reader:
    address: str
    password: str
    envelope: bytes
    client: RoundRobin = field(default_factory=lambda: RoundRobin([BALANCER]))
    upload: str = ""


@dataclass
class Load:
    """Reads and mail, running until *stop*; every outcome recorded with its time."""
    readers: list
    stop: threading.Event = field(default_factory=threading.Event)
    reads: list = field(default_factory=list)  # (time, status, seconds, reader)
    submitted: list = field(default_factory=list)  # sequence numbers the relays accepted (250)
    deferrals: list = field(default_factory=list)  # (time, relay, reply) of each 4xx or refused connection
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read_forever(self, reader: Reader) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                status = reader.client.get(f"/message/{reader.upload}").status
            except OSError:
                status = 0  # the balancer itself did not answer
            with self.lock:
                self.reads.append((started, status, time.monotonic() - started, reader.address))
            time.sleep(0.05)

    def mail_steadily(self) -> None:
        """MAILS messages, one every 0.15 s, alternating relays; a deferred one is retried later,
        as a sending MTA does, until it is accepted (bounded)."""
        pending = list(range(MAILS))
        deadline = time.monotonic() + 120
        turn = 0
        while pending and time.monotonic() < deadline:
            number = pending.pop(0)
            relay = RELAYS[turn % 2]
            turn += 1
            try:
                with smtplib.SMTP("127.0.0.1", relay, timeout=30) as client:
                    client.sendmail(SENDER, [f"reader{number % READERS}@example.org"], mail(number))
                with self.lock:
                    self.submitted.append(number)
            except (smtplib.SMTPException, OSError) as e:
                with self.lock:
                    self.deferrals.append((time.monotonic(), relay, str(e)[:120]))
                pending.append(number)
            time.sleep(0.15)


def mail(number: int) -> bytes:
    return (f"From: {SENDER}\r\nTo: reader{number % READERS}@example.org\r\nSubject: [secure] seq {number:04d}\r\n"
            f"Message-ID: <cluster-{number}@corp.example>\r\n\r\nStatement {number}.\r\n").encode()


def log_in(reader: Reader) -> None:
    import base64

    client = reader.client
    r = client.post("/open", {"envelope": base64.encodebytes(reader.envelope).decode()})
    assert r.status == 303, r.text
    page = client.get(r.location)
    reader.upload = page.field("upload")
    r = client.post("/login", {"csrf": page.field("csrf"), "upload": reader.upload, "address": reader.address,
                               "password": reader.password})
    assert (r.status, r.location) == (303, "/password"), r.text
    form = client.get("/password")
    r = client.post("/password", {"csrf": form.field("csrf"), "current": reader.password, "new": NEW_PASSWORD,
                                  "repeat": NEW_PASSWORD})
    assert r.status == 303, r.text
    assert client.get(f"/message/{reader.upload}").status == 200


def first_errors(log: Path) -> list[str]:
    """nginx's first complaints: the cause, before the 'no live upstreams' that follow it."""
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if "no live upstreams" not in line][:8]


def healthy(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


# --- the test ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pg():
    server = postgres.Server(PG_PORT).start()
    yield server
    server.stop()


@pytest.fixture
def cluster(pg, home_dir):
    sink = Sink(SINK_PORT)
    sink.start()
    url = pg.create_database("wc_" + uuid.uuid4().hex[:12])
    path = home_dir / "webcrypt.toml"
    write_settings(path, {
        "database": {"url": f'"{url}"'},
        "portal": {"secure_cookies": "false", "trusted_proxies": '["127.0.0.1"]'},
        "mail": {"reinject": f'"smtp://127.0.0.1:{SINK_PORT}"', "internal_domains": '["corp.example"]'},
        "relay": {"processes": "1", "workers": "2"},
    })
    home = Home(config.load(path))
    home.connect(check_schema=False)
    store.migrate()
    folder = Path(tempfile.mkdtemp(prefix="webcrypt-cluster-", dir="/tmp"))
    folder.chmod(0o755)
    running = Cluster(path, pg, folder)
    try:
        running.start()
        yield running, home, sink
    finally:
        running.stop()
        home.close()
        sink.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_readers_and_mail_survive_a_killed_node_and_a_database_restart(cluster):
    running, home, sink = cluster
    readers = []
    for number in range(READERS):
        address, logins = f"reader{number}@example.org", []
        (sealed,) = gateway.encrypt(home, f"From: {SENDER}\nTo: {address}\nSubject: first\n\nHello {number}.\n".encode(),
                                    SENDER, [address], print_login_data=logins.append)
        readers.append(Reader(address, logins[0].password, mime.extract_envelope(sealed.data)))
    home.close()
    for reader in readers:
        log_in(reader)

    load = Load(readers)
    threads = [threading.Thread(target=load.read_forever, args=(r,), daemon=True) for r in readers]
    threads.append(threading.Thread(target=load.mail_steadily, daemon=True))
    for thread in threads:
        thread.start()
    figures = {}
    time.sleep(2)

    # 1. one portal node killed outright, then started again
    killed = time.monotonic()
    running.nodes[NODES[0]].send_signal(signal.SIGKILL)
    running.nodes[NODES[0]].wait(timeout=10)
    time.sleep(2)
    restarted = time.monotonic()
    running.start_node(NODES[0])
    figures["node_restart_to_healthy_s"] = round(time.monotonic() - restarted, 2)
    time.sleep(2)

    # 2. PostgreSQL restarted (as systemctl restart postgresql does: fast shutdown, start)
    db_down = time.monotonic()
    running.pg.restart()
    figures["postgresql_restart_s"] = round(time.monotonic() - db_down, 2)
    deadline = time.monotonic() + 30
    while not all(healthy(port) for port in NODES) and time.monotonic() < deadline:
        time.sleep(0.1)
    figures["database_restart_to_both_nodes_healthy_s"] = round(time.monotonic() - db_down, 2)
    time.sleep(2)

    # the mail stream ends by itself (bounded); then the reads stop
    threads[-1].join(timeout=150)
    load.stop.set()
    for thread in threads[:-1]:
        thread.join(timeout=30)
    assert not threads[-1].is_alive(), "the mail stream did not finish"

    reads = load.reads
    failed = [(round(at - killed, 2), status, address) for at, status, _, address in reads if status != 200]
    around_kill = [seconds for at, _, seconds, _ in reads if killed <= at < restarted]
    around_db = [seconds for at, _, seconds, _ in reads if db_down <= at < db_down + 10]
    figures.update(
        reads=len(reads), reads_failed_as_clients_saw_them=len(failed),
        slowest_read_while_node_dead_s=round(max(around_kill), 2),
        slowest_read_during_database_restart_s=round(max(around_db), 2),
        mails_submitted=len(load.submitted), mail_deferrals_retried=len(load.deferrals),
    )

    # every submitted mail once at the sink, none twice, none missing
    deadline = time.monotonic() + 30
    while len(sink.handler.messages) < MAILS and time.monotonic() < deadline:
        time.sleep(0.1)
    subjects = [re.search(rb"^Subject: .*?seq (\d{4})", m.data, re.M | re.I) for m in sink.handler.messages]
    delivered = sorted(int(s.group(1)) for s in subjects if s)
    figures["mails_at_sink"] = len(delivered)
    print("\ncluster figures:", figures)

    assert failed == [], (f"reads that failed as the clients saw them: {failed[:10]}; "
                          f"nginx said first: {first_errors(running.folder / 'error.log')}")
    assert sorted(load.submitted) == list(range(MAILS))
    assert delivered == list(range(MAILS)), "mail lost or doubled between relays and sink"

    # sessions: every reader still logged in, on each node directly as well as through nginx
    for reader in readers:
        for port in (BALANCER, *NODES):
            direct = RoundRobin([port])
            direct.cookies = dict(reader.client.cookies)
            assert direct.get(f"/message/{reader.upload}").status == 200, (reader.address, port)

    # throttles: failed logins through the balancer land on both nodes and count as one
    client = RoundRobin([BALANCER])
    statuses = []
    for _ in range(8):
        page = client.get("/login")
        statuses.append(client.post("/login", {"csrf": page.field("csrf"), "address": readers[0].address,
                                               "password": "wrong guess"}).status)
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}, statuses
