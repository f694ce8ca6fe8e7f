"""Shared state under parallel requests, through real `webcrypt serve` nodes on one database
(SQLite, and PostgreSQL as several nodes behind a balancer use it).

Every login attempt is counted before its hash is computed, in one atomic statement, so
that parallel requests get exactly as many password checks as the limit allows; a
session's data (the uploads it may read) is changed under a row lock.
"""

import json
import secrets
import threading
import uuid

import pytest

import postgres
from conftest import write_settings
from portal_client import RoundRobin, serving
from webcrypt.base import config
from webcrypt.infra import store
from webcrypt.usecases import accounts, admins
from webcrypt.context.home import Home

NODES = (12975, 12976)
PG_PORT = 12974
SINK_PORT = 12977
GUESSES = 16
LIMIT = 5  # [throttle] login_failures_per_account, the default
WRONG = 401  # a wrong password: checked, and refused


@pytest.fixture(scope="module")
def pg_server():
    if not postgres.available():
        pytest.skip("Debian package postgresql-15 is not installed")
    server = postgres.Server(PG_PORT).start()
    yield server
    server.stop()


@pytest.fixture
def node_sink():
    from gateway_support import Sink

    with Sink(SINK_PORT) as sink:
        yield sink


@pytest.fixture(params=["sqlite", "postgresql"])
def nodes(request, home_dir):
    """Two portal nodes on one database, as behind a load balancer."""
    path = home_dir / "webcrypt.toml"
    sink = request.getfixturevalue("node_sink")
    settings = {"portal": {"secure_cookies": "false"},
                "mail": {"reinject": f'"smtp://127.0.0.1:{SINK_PORT}"', "internal_domains": '["corp.example"]'}}
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_server").create_database("wc_" + uuid.uuid4().hex[:12])
        settings["database"] = {"url": f'"{url}"'}
    write_settings(path, settings)
    home = Home(config.load(path))
    home.connect(check_schema=False)
    store.migrate()
    try:
        with serving(path, NODES, threads=8):
            yield home
    finally:
        home.close()


def parallel_posts(path: str, login_page: str, form: dict) -> list[int]:
    """GUESSES clients, half on each node, each with its own form, post at the same moment."""
    clients = [RoundRobin([NODES[n % 2]]) for n in range(GUESSES)]
    forms = [{**form, "csrf": client.get(login_page).field("csrf")} for client in clients]
    start, statuses = threading.Barrier(GUESSES), [0] * GUESSES

    def guess(n: int) -> None:
        start.wait()
        statuses[n] = clients[n].post(path, forms[n]).status

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(GUESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def audited(action: str) -> int:
    return store.AuditEvent.select().where(store.AuditEvent.action == action).count()


def test_parallel_wrong_passwords_get_exactly_the_limit_of_checks(nodes):
    account = accounts.create(nodes, "target@example.org")
    statuses = parallel_posts("/login", "/login", {"address": "target@example.org", "password": "not the password"})
    # 401: the password was checked and was wrong; 429: refused before any hash
    assert sorted(statuses) == [WRONG] * LIMIT + [429] * (GUESSES - LIMIT), statuses
    assert audited("login_failed") == LIMIT
    assert store.Recipient.get(store.Recipient.address == "target@example.org").locked_until is not None
    # the right password is refused too while the account is blocked
    client = RoundRobin([NODES[0]])
    page = client.get("/login")
    answer = client.post("/login", {"csrf": page.field("csrf"), "address": "target@example.org",
                                    "password": account.password})
    assert answer.status == 429


def test_parallel_wrong_admin_passwords_get_exactly_the_limit_of_checks(nodes):
    admins.add(nodes, "ops", "a long admin password 1")
    statuses = parallel_posts("/admin/login", "/admin/login", {"name": "ops", "password": "not the password"})
    assert sorted(statuses) == [403] * LIMIT + [429] * (GUESSES - LIMIT), statuses
    assert audited("admin_login_failed") == LIMIT


def test_successful_logins_do_not_use_up_the_clients_allowance(nodes):
    """A successful attempt gives its reservation back: a busy office behind one address
    is not blocked by its own good logins."""
    accounts_made = [accounts.create(nodes, f"staff{n}@example.org") for n in range(8)]
    for made in accounts_made * 5:  # 40 good logins from one client, more than its limit of 30
        client = RoundRobin([NODES[0]])
        page = client.get("/login")
        answer = client.post("/login", {"csrf": page.field("csrf"), "address": made.address,
                                        "password": made.password})
        assert answer.status == 303, answer.text
    row = store.Throttle.get_or_none(store.Throttle.key == "login-client:127.0.0.1")
    assert row is None or row.failures == 0


def test_parallel_uploads_attached_to_one_session_are_all_kept(nodes):
    """Ten secure.htm opened at once in one logged-in browser, on both nodes: none is lost."""
    made = accounts.create(nodes, "reader@example.org")
    browser = RoundRobin(NODES)
    page = browser.get("/login")
    assert browser.post("/login", {"csrf": page.field("csrf"), "address": made.address,
                                   "password": made.password}).status == 303
    uploads = [secrets.token_hex(16) for _ in range(10)]
    start = threading.Barrier(len(uploads))

    def attach(n: int) -> None:
        tab = RoundRobin([NODES[n % 2]])
        tab.cookies = dict(browser.cookies)
        start.wait()
        assert tab.get(f"/login?upload={uploads[n]}").status == 303

    threads = [threading.Thread(target=attach, args=(n,)) for n in range(len(uploads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    (session,) = store.Session.select().where(store.Session.principal == made.address)
    assert sorted(json.loads(session.data)["uploads"]) == sorted(uploads)


def test_a_passkey_ceremony_begun_on_one_node_finishes_on_the_other(nodes):
    """Challenges live in the database: registration and sign-in each begin on one node and are
    answered on the other (a balancer may send the two requests anywhere)."""
    from passkey_support import Authenticator

    made = accounts.create(nodes, "mobile@example.org")
    first, second = RoundRobin([NODES[0]]), RoundRobin([NODES[1]])
    second.cookies = first.cookies  # one browser, two nodes
    page = first.get("/login")
    assert first.post("/login", {"csrf": page.field("csrf"), "address": made.address,
                                 "password": made.password}).status == 303
    if store.Recipient.get(store.Recipient.address == made.address).must_change_password:
        form = second.get("/password")
        assert second.post("/password", {"csrf": form.field("csrf"), "current": made.password,
                                         "new": "tulip harbour granite", "repeat": "tulip harbour granite"}).status == 303
    authenticator = Authenticator("https://portal.example.com")
    csrf = first.get("/profile").field("csrf")
    begun = json.loads(first.post("/passkey/add/options", {"csrf": csrf}).text)
    added = second.post("/passkey/add", {"csrf": csrf, "ceremony": begun["ceremony"],
                                         "credential": authenticator.create(begun["publicKey"])})
    assert added.status == 200 and "Your passkey is added" in added.text, added.text[:300]

    signing_in, finishing = RoundRobin([NODES[1]]), RoundRobin([NODES[0]])
    finishing.cookies = signing_in.cookies
    csrf = signing_in.get("/login").field("csrf")
    begun = json.loads(signing_in.post("/passkey/sign-in/options", {"csrf": csrf}).text)
    answer = finishing.post("/passkey/sign-in", {"csrf": csrf, "ceremony": begun["ceremony"],
                                                 "credential": authenticator.get(begun["publicKey"])})
    assert (answer.status, answer.location) == (303, "/profile"), answer.text[:300]
    assert signing_in.get("/profile").status == 200  # the session is one state across the nodes
    assert not store.Ceremony.select().exists()


def test_a_sender_asks_on_one_node_recalls_on_the_other_and_the_reader_sees_it(nodes, node_sink):
    """Issue 13 on two `webcrypt serve` processes: the sign-in link asked through one node opens
    through the other (same browser), the reader's opening and the read receipt are seen by the
    sender's page on the other node, and a recall there reaches the reader on the first."""
    import base64
    import email
    import email.policy
    import re
    import time

    from webcrypt.core import mime
    from webcrypt.usecases import gateway

    logins = []
    raw = (b"From: clerk@corp.example\nTo: reader@example.org\nSubject: Statement [receipt]\n"
           b"Message-ID: <n1@corp.example>\n\nYour balance.\n")
    (sealed,) = gateway.encrypt(nodes, raw, "Clerk@Corp.Example", ["reader@example.org"], print_login_data=logins.append)

    def mails_to(address: str) -> list[str]:
        found = []
        for item in node_sink.messages:
            if [r.lower() for r in item.recipients] == [address]:  # the envelope sender as it was typed
                mail = email.message_from_bytes(bytes(item.data), policy=email.policy.default)
                found.append(mail.get_body(("plain",)).get_content())
        return found

    def waited(address: str, needle: str) -> str:
        for _ in range(100):
            hits = [text for text in mails_to(address) if needle in text]
            if hits:
                return hits[-1]
            time.sleep(0.1)
        raise AssertionError(f"no mail to {address} with {needle!r}")

    asking, opening = RoundRobin([NODES[0]]), RoundRobin([NODES[1]])
    opening.cookies = asking.cookies  # one browser, two nodes
    form = asking.get("/sender")
    assert asking.post("/sender", {"csrf": form.field("csrf"), "address": "clerk@corp.example"}).status == 200
    link = re.search(r"https?://\S+?(/sender/link\?token=[A-Za-z0-9_-]+)", waited("clerk@corp.example", "/sender/link")).group(1)
    signed = opening.get(link)
    assert (signed.status, signed.location) == (303, "/sender/messages"), signed.text[-300:]
    assert "not opened yet" in asking.get("/sender/messages").text

    reader = RoundRobin([NODES[0]])
    opened = reader.post("/open", {"envelope": base64.encodebytes(mime.extract_envelope(sealed.data)).decode()})
    page = reader.get(opened.location)
    upload = page.field("upload")
    assert reader.post("/login", {"csrf": page.field("csrf"), "upload": upload, "address": "reader@example.org",
                                  "password": logins[0].password}).status == 303
    if store.Recipient.get(store.Recipient.address == "reader@example.org").must_change_password:
        form = reader.get("/password")
        reader.post("/password", {"csrf": form.field("csrf"), "current": logins[0].password,
                                  "new": "tulip harbour granite", "repeat": "tulip harbour granite"})
    assert "Your balance." in reader.get(f"/message/{upload}").text
    receipt = waited("clerk@corp.example", "reader@example.org")
    assert "opened" in receipt
    assert "opened first at" in opening.get("/sender/messages").text

    detail = opening.get(f"/sender/message/{sealed.message_id}/recall")
    done = opening.post(f"/sender/message/{sealed.message_id}/recall", {"csrf": detail.field("csrf")})
    assert done.status == 303, done.text[-300:]
    assert reader.get(f"/message/{upload}").status == 410  # recalled, on the other node
    assert len([t for t in mails_to("clerk@corp.example") if "reader@example.org" in t]) == 1  # one receipt
