"""Scale-out: two `webcrypt serve` nodes on one PostgreSQL, as behind a load balancer.

Every request of one recipient goes to a different node: uploads, sessions and
throttles must live in the database, not in a node's memory.
"""

import base64
import http.client
import subprocess
import sys
import time
import uuid

import pytest

import postgres
from conftest import write_settings
from portal_client import Client, Response
from webcrypt import config, gateway, mime, store
from webcrypt.home import Home

pytestmark = pytest.mark.skipif(not postgres.available(), reason="Debian package postgresql-15 is not installed")

NODES = (12971, 12972)
MESSAGE = b"From: clerk@bank.example\nTo: alice@example.org\nSubject: Two nodes\n\nRead on either node.\n"
NEW_PASSWORD = "violet tractor harbour"


class RoundRobin(Client):
    """A real HTTP client that sends each request to the next node."""

    def __init__(self, ports):
        super().__init__(app=None)
        self.ports = list(ports)
        self.turn = 0

    def request(self, method, path, body=b"", headers=None, content_type=None) -> Response:
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sent = {"Accept-Language": "en", **(headers or {})}
        if content_type:
            sent["Content-Type"] = content_type
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body or None, headers=sent)
        answer = connection.getresponse()
        pairs = answer.getheaders()
        data = answer.read()
        connection.close()
        self._remember(pairs)
        return Response(answer.status, {k.lower(): v for k, v in pairs}, pairs, data)


def wait_healthy(port: int, process) -> None:
    for _ in range(100):
        if process.poll() is not None:
            raise RuntimeError(f"node on {port} exited: {process.stderr.read().decode()[-500:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"node on {port} did not become healthy")


@pytest.fixture(scope="module")
def server():
    pg = postgres.Server(12970).start()
    yield pg
    pg.stop()


@pytest.fixture
def cluster(server, home_dir):
    url = server.create_database("wc_" + uuid.uuid4().hex[:12])
    path = home_dir / "webcrypt.toml"
    write_settings(path, {"database": {"url": f'"{url}"'}, "portal": {"secure_cookies": "false"}})
    home = Home(config.load(path))
    home.connect(check_schema=False)
    store.migrate()
    nodes = [subprocess.Popen([sys.executable, "-m", "webcrypt", "--config", str(path), "serve",
                               "--listen", f"127.0.0.1:{port}", "--threads", "2"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for port in NODES]
    try:
        for port, node in zip(NODES, nodes):
            wait_healthy(port, node)
        yield home
    finally:
        for node in nodes:
            node.terminate()
            node.wait(timeout=10)
        home.close()


def test_a_recipient_moves_between_nodes_on_every_request(cluster):
    logins = []
    (sealed,) = gateway.encrypt(cluster, MESSAGE, "clerk@bank.example", ["alice@example.org"],
                                print_login_data=logins.append)
    envelope = mime.extract_envelope(sealed.data)
    client = RoundRobin(NODES)
    r = client.post("/open", {"envelope": base64.encodebytes(envelope).decode()})  # node 1
    assert r.status == 303, r.text
    page = client.get(r.location)  # node 2 finds the upload node 1 stored
    assert page.status == 200 and "clerk@bank.example" in page.text
    upload = page.field("upload")
    r = client.post("/login", {"csrf": page.field("csrf"), "upload": upload,  # node 1
                               "address": "alice@example.org", "password": logins[0].password})
    assert (r.status, r.location) == (303, "/password")
    form = client.get("/password")  # node 2 knows the session node 1 made
    r = client.post("/password", {"csrf": form.field("csrf"), "current": logins[0].password,
                                  "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert (r.status, r.location) == (303, f"/message/{upload}")
    for _ in range(2):  # the message reads on both nodes
        page = client.get(f"/message/{upload}")
        assert page.status == 200 and "Read on either node." in page.text


def test_failed_logins_are_counted_across_nodes(cluster):
    logins = []
    gateway.encrypt(cluster, MESSAGE, "clerk@bank.example", ["bob@example.org"], print_login_data=logins.append)
    statuses = []
    client = RoundRobin(NODES)
    for _ in range(12):
        page = client.get("/login")
        r = client.post("/login", {"csrf": page.field("csrf"), "address": "bob@example.org", "password": "wrong guess"})
        statuses.append(r.status)
    assert 429 in statuses, statuses  # the throttle saw the failures of both nodes together
    assert store.Throttle.select().count() > 0
