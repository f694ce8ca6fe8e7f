"""Scale-out: two `webcrypt serve` nodes on one PostgreSQL, as behind a load balancer.

Every request of one recipient goes to a different node: uploads, sessions and
throttles must live in the database, not in a node's memory.
"""

import base64
import uuid

import pytest

import postgres
from conftest import write_settings
from portal_client import RoundRobin, serving
from webcrypt.base import config
from webcrypt.core import mime
from webcrypt.infra import store
from webcrypt.usecases import gateway
from webcrypt.context.home import Home

pytestmark = pytest.mark.skipif(not postgres.available(), reason="Debian package postgresql-15 is not installed")

NODES = (12971, 12972)
MESSAGE = b"From: clerk@bank.example\nTo: alice@example.org\nSubject: Two nodes\n\nRead on either node.\n"
NEW_PASSWORD = "violet tractor harbour"


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
    try:
        with serving(path, NODES):
            yield home
    finally:
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
