"""The sender's side of the portal (issue 13) through the WSGI app: sign-in links through the real
notices outbox to a real SMTP sink (mailed only to a real sender, the same answer otherwise,
single use, expiry, bound to the browser, throttles), the list of sent secure mail (only one's
own, a forged envelope sender, search, pages), recall, expiry and new login data (limits,
switches, another sender's message), "ask the sender" from the forgotten-password page, and a
sender's passkey."""

import email
import email.policy
import json
import re
import time

import pytest

from conftest import write_settings
from passkey_support import Authenticator
from portal_client import Client
import test_portal
from test_portal import PLAIN, Recipient, open_and_login, sink

_FIXTURES = (sink,)
from webcrypt.base import config
from webcrypt.context.home import Home
from webcrypt.core import mime
from webcrypt.edges.portal.app import create_app
from webcrypt.infra import store
from webcrypt.usecases import gateway, notices, senders

CLERK = "clerk@bank.example"
OTHER = "other@bank.example"
ALICE = "alice@example.org"
BOB = "bob@example.org"
ORIGIN = "https://portal.example.com"
LINK = re.compile(r"https://portal\.example\.com(/sender/link\?token=[A-Za-z0-9_-]+)")
SAME = "If this address can use the sender page, we have sent a sign-in link"


def sender_home_at(home_dir, clock, **senders_settings):
    write_settings(home_dir / "webcrypt.toml", {
        "mail": {"reinject": f'"smtp://127.0.0.1:{test_portal.SINK_PORT}"', "from": '"webcrypt@bank.example"',
                 "internal_domains": '["bank.example"]'},
        **({"senders": senders_settings} if senders_settings else {}),
    })
    h = Home(config.load(home_dir / "webcrypt.toml"), clock=clock)
    h.connect()
    return h


@pytest.fixture
def home(home_dir, clock, sink):
    sink.messages.clear()
    h = sender_home_at(home_dir, clock)
    yield h
    h.close()


@pytest.fixture
def app(home):
    return create_app(home)


def send(home, sender=CLERK, to=ALICE, account=None) -> tuple[bytes, str]:
    """A secure message from *sender*: (its envelope, its id); the login data land in *account*."""
    account = account if account is not None else Recipient()
    sealed = gateway.encrypt(home, PLAIN, sender, [to],
                             print_login_data=lambda new: setattr(account, "password", new.password))
    return mime.extract_envelope(sealed[0].data), sealed[0].message_id


def reading(app, envelope, account) -> tuple[Client, str]:
    """The recipient opens secure.htm, logs in, sets a password and reads: (their browser, upload)."""
    client = Client(app, remote_addr="198.51.100.7")
    upload, r = open_and_login(client, envelope, ALICE, account.password)
    form = client.get("/password")
    r = client.post("/password", {"csrf": form.field("csrf"), "current": account.password,
                                  "new": test_portal.NEW_PASSWORD, "repeat": test_portal.NEW_PASSWORD})
    assert (r.status, r.location) == (303, f"/message/{upload}")
    assert client.get(f"/message/{upload}").status == 200
    return client, upload


def mails_to(sink, address, needle=""):
    notices.wait_sent()
    found = []
    for item in sink.messages:
        mail = email.message_from_bytes(item.content, policy=email.policy.default)
        if item.rcpt_tos == [address] and needle in mail.get_content():
            found.append(mail)
    return found


def links_to(sink, address) -> list[str]:
    return [LINK.search(m.get_content()).group(1) for m in mails_to(sink, address, "/sender/link?token=")]


def ask_link(client, address=CLERK, target=""):
    form = client.get("/sender" + (f"?next={target}" if target else ""))
    assert form.status == 200, form.text[-400:]
    return client.post("/sender", {"csrf": form.field("csrf"), "address": address, "next": target})


def signed_in(app, sink, address=CLERK) -> Client:
    client = Client(app)
    r = ask_link(client, address)
    assert r.status == 200 and SAME in r.text
    link = links_to(sink, address)[-1]
    r = client.get(link)
    assert (r.status, r.location) == (303, "/sender/messages"), r.text[-400:]
    return client


def audit(action: str) -> list[tuple[str, str, str]]:
    return [(e.actor, e.subject, e.detail) for e in store.AuditEvent.select().where(store.AuditEvent.action == action)
            .order_by(store.AuditEvent.id)]


# --- signing in ------------------------------------------------------------------------------


def test_a_sender_signs_in_with_the_mailed_link_once_and_sees_the_message(app, home, sink):
    _, message_id = send(home)
    client = signed_in(app, sink)
    page = client.get("/sender/messages")
    assert page.status == 200 and ALICE in page.text and "not opened yet" in page.text
    assert f'href="/sender/message/{message_id}"' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert audit("sender_login") == [(f"sender:{CLERK}", CLERK, "")]
    # the link works once, on any browser
    (link,) = links_to(sink, CLERK)
    again = client.get(link)
    assert again.status == 400 and "used already or is too old" in again.text
    assert store.SenderLink.select().count() == 0


def test_the_same_answer_for_every_address_and_a_mail_only_to_a_sender(app, home, sink):
    send(home)
    send(home, sender="partner@example.net", to=BOB)  # an external sender
    pages = []
    for address in (CLERK, OTHER, "partner@example.net", ALICE, "not an address", "Clerk <clerk@bank.example>"):
        r = ask_link(Client(app), address)
        pages.append((r.status, re.sub(r'value="[^"]*"|nonce="[^"]*"', "", r.text)))
    assert all(p == pages[0] for p in pages) and pages[0][0] == 200 and SAME in pages[0][1]
    notices.wait_sent()
    assert [m.rcpt_tos for m in sink.messages if b"/sender/link" in m.content] == [[CLERK]]
    assert [d for _, _, d in audit("sender_link_requested")] == ["link mailed"] + ["no link: not a sender"] * 5


def test_a_case_changed_address_is_the_same_sender_and_gets_the_mail_at_the_canonical_form(app, home, sink):
    send(home, sender="Clerk@Bank.Example")
    ask_link(Client(app), "CLERK@bank.example")
    assert len(links_to(sink, CLERK)) == 1


def test_the_link_opens_only_in_the_browser_that_asked_and_stays_usable_there(app, home, sink):
    send(home)
    asking = Client(app)
    ask_link(asking)
    (link,) = links_to(sink, CLERK)
    elsewhere = Client(app, remote_addr="192.0.2.8").get(link)
    assert elsewhere.status == 400 and "only in the browser where you asked for it" in elsewhere.text
    assert "webcrypt-sender=" not in elsewhere.headers.get("set-cookie", "")
    german = Client(app, language="de").get(link)
    assert "nur in dem Browser" in german.text
    r = asking.get(link)
    assert (r.status, r.location) == (303, "/sender/messages")
    assert audit("sender_link_elsewhere")[0][0] == f"sender:{CLERK}"


def test_an_expired_link_is_a_clear_page(app, home, sink, clock):
    send(home)
    client = Client(app)
    ask_link(client)
    (link,) = links_to(sink, CLERK)
    clock.advance(senders.LINK_MINUTES * 60 + 1)
    r = client.get(link)
    assert r.status == 400 and "used already or is too old" in r.text
    assert client.get("/sender/link?token=" + "x" * 500).status == 400
    assert client.get("/sender/messages").status == 303


def test_link_requests_are_throttled_per_address_and_per_client(app, home, sink):
    send(home)
    client = Client(app)
    answers = [ask_link(client).status for _ in range(senders.LINKS_PER_ADDRESS.limit + 1)]
    assert answers[:-1] == [200] * senders.LINKS_PER_ADDRESS.limit and answers[-1] == 429
    assert len(links_to(sink, CLERK)) == senders.LINKS_PER_ADDRESS.limit
    other = Client(app, remote_addr="192.0.2.50")
    statuses = [ask_link(other, f"n{i}@bank.example").status for i in range(senders.LINKS_PER_CLIENT.limit + 1)]
    assert statuses[-1] == 429 and statuses[:-1] == [200] * senders.LINKS_PER_CLIENT.limit


def test_switched_off_or_outside_the_sender_domains_there_is_no_sender_page(home_dir, clock, sink):
    sink.messages.clear()
    h = sender_home_at(home_dir, clock, enabled="false")
    try:
        send(h)
        client = Client(create_app(h))
        assert client.get("/sender").status == 404 and client.get("/sender/messages").status == 404
        assert "Ask the sender" not in client.get("/forgot").text
    finally:
        h.close()
    h = sender_home_at(home_dir, clock, enabled="true", domains='["branch.bank.example"]')
    try:
        app = create_app(h)
        r = ask_link(Client(app))
        assert r.status == 200 and SAME in r.text and links_to(sink, CLERK) == []
    finally:
        h.close()


def test_a_session_ends_when_the_sender_page_is_switched_off(app, home, sink):
    send(home)
    client = signed_in(app, sink)
    home.config.values["senders"]["enabled"] = False
    try:
        assert client.get("/sender/messages").status == 404
    finally:
        home.config.values["senders"]["enabled"] = True
    home.config.values["senders"]["domains"] = ["elsewhere.example"]
    r = client.get("/sender/messages")
    assert r.status == 303 and r.location.startswith("/sender?next=")


def test_a_recipient_session_opens_no_sender_page(app, home, sink):
    envelope, _ = send(home, account=(account := Recipient()))
    recipient = Client(app)
    open_and_login(recipient, envelope, ALICE, account.password)
    r = recipient.get("/sender/messages")
    assert r.status == 303 and r.location.startswith("/sender?next=")


# --- the list --------------------------------------------------------------------------------


def test_the_list_holds_only_ones_own_messages_however_the_envelope_sender_was_spelt(app, home, sink):
    send(home, sender=CLERK, to=ALICE)
    send(home, sender="CLERK@BANK.EXAMPLE", to=BOB)  # the same mailbox, another case
    send(home, sender=OTHER, to="carol@example.org")
    send(home, sender="Clerk <other@bank.example>", to="carol@example.org")  # a display name: nobody's
    send(home, sender="clerk@bank.example.evil.example", to="erin@example.org")
    assert store.Message.select().count() == 5
    page = signed_in(app, sink).get("/sender/messages")
    assert ALICE in page.text and BOB in page.text and "Messages found: 2" in page.text
    for foreign in ("carol@", "erin@"):
        assert foreign not in page.text
    other = signed_in(app, sink, OTHER).get("/sender/messages")
    assert "carol@example.org" in other.text and "Messages found: 1" in other.text


def test_search_by_recipient_and_dates_and_pages_of_fifty(app, home, sink, clock):
    start = clock.now
    for i in range(senders.PAGE_SIZE + 5):
        send(home, to=f"r{i:02d}@example.org")
        clock.advance(3600)
    client = signed_in(app, sink)
    first = client.get("/sender/messages")
    assert first.text.count('href="/sender/message/') == senders.PAGE_SIZE
    assert "r54@example.org" in first.text and "r00@example.org" not in first.text  # newest first
    assert "Page 1 of 2" in first.text and 'rel="next"' in first.text
    second = client.get("/sender/messages?page=2")
    assert second.text.count('href="/sender/message/') == 5 and "r00@example.org" in second.text
    assert client.get("/sender/messages?page=999").status == 200  # the last page
    one = client.get("/sender/messages?recipient=r07")
    assert "r07@example.org" in one.text and "Messages found: 1" in one.text
    day = time.strftime("%Y-%m-%d", time.gmtime(start))
    dated = client.get(f"/sender/messages?from={day}&to={day}")
    assert dated.status == 200 and "r00@example.org" in dated.text
    bad = client.get("/sender/messages?from=31.12.2024")
    assert bad.status == 400 and "year-month-day" in bad.text


def test_status_words_and_opening_times_only_where_allowed(app, home, sink, clock):
    envelope, message_id = send(home, account=(account := Recipient()))
    reading(app, envelope, account)
    client = signed_in(app, sink)
    page = client.get(f"/sender/message/{message_id}")
    assert "opened first at" in page.text and "<dd>active</dd>" in page.text
    home.config.values["senders"]["show_opening_times"] = False
    page = client.get(f"/sender/message/{message_id}")
    assert "opened first at" not in page.text and ">opened<" in page.text
    clock.advance(home.config["policy.expire_days"] * 86400 + 1)
    assert ">expired<" in signed_in(app, sink).get(f"/sender/message/{message_id}").text


# --- a message and what the sender does ------------------------------------------------------


def test_recall_asks_first_then_the_recipient_sees_the_recalled_page(app, home, sink):
    envelope, message_id = send(home, account=(account := Recipient()))
    recipient, upload = reading(app, envelope, account)
    client = signed_in(app, sink)
    assert "opened first at" in client.get("/sender/messages").text
    confirm = client.get(f"/sender/message/{message_id}/recall")
    assert confirm.status == 200 and "cannot be undone" in confirm.text
    assert store.Message.get_by_id(message_id).revoked is None
    assert client.post(f"/sender/message/{message_id}/recall", {"csrf": "forged"}).status == 400
    r = client.post(f"/sender/message/{message_id}/recall", {"csrf": confirm.field("csrf")})
    assert (r.status, r.location) == (303, f"/sender/message/{message_id}?done=recalled")
    page = client.get(r.location)
    assert "The message is recalled" in page.text and ">recalled<" in page.text
    assert store.Message.get_by_id(message_id).data_key_wrapped is None
    (event,) = store.AuditEvent.select().where(store.AuditEvent.action == "recall")
    assert (event.actor, event.subject, event.client) == (f"sender:{CLERK}", message_id, "127.0.0.1")
    reload = recipient.get(f"/message/{upload}")
    assert reload.status == 410 and "recalled" in reload.text


def test_another_senders_message_is_not_found_and_nothing_is_told(app, home, sink):
    _, theirs = send(home, sender=OTHER, to=BOB)
    _, forged = send(home, sender="Clerk <clerk@bank.example>", to=BOB)
    send(home)
    client = signed_in(app, sink)
    csrf = client.get("/sender/messages").text.split('name="csrf" value="')[1].split('"')[0]
    for message_id in (theirs, forged, "0" * 32, "no such id", "x" * 500):
        assert client.get(f"/sender/message/{message_id}").status == 404
        assert client.get(f"/sender/message/{message_id}/recall").status == 404
        for action, data in (("recall", {}), ("expiry", {"days": "3"}), ("login-data", {})):
            r = client.post(f"/sender/message/{message_id}/{action}", {"csrf": csrf, **data})
            assert r.status == 404 and BOB not in r.text, (message_id, action)
    assert store.Message.get_by_id(theirs).revoked is None and audit("recall") == audit("reset") == []


def test_expiry_within_the_limit_only(app, home, sink, clock):
    _, message_id = send(home)
    client = signed_in(app, sink)
    csrf = client.get(f"/sender/message/{message_id}").field("csrf")
    for days in ("0", "-1", "91", "abc", ""):
        r = client.post(f"/sender/message/{message_id}/expiry", {"csrf": csrf, "days": days})
        assert r.status == 400 and "outside what is allowed" in r.text, days
    r = client.post(f"/sender/message/{message_id}/expiry", {"csrf": csrf, "days": "90"})
    assert r.status == 303
    assert store.Message.get_by_id(message_id).expires == clock.now + 90 * 86400
    assert audit("expire") == [(f"sender:{CLERK}", message_id, "days=90")]
    home.config.values["senders"]["max_expiry_days"] = 0
    page = client.get(f"/sender/message/{message_id}")
    assert 'name="days"' not in page.text
    assert client.post(f"/sender/message/{message_id}/expiry", {"csrf": csrf, "days": "1"}).status == 404


def test_new_login_data_go_to_the_sender_are_audited_and_throttled(app, home, sink):
    _, message_id = send(home, account=(account := Recipient()))
    home.config.values["accounts"]["credentials_to"] = "sender"
    client = signed_in(app, sink)
    csrf = client.get(f"/sender/message/{message_id}").field("csrf")
    sink.messages.clear()
    r = client.post(f"/sender/message/{message_id}/login-data", {"csrf": csrf})
    assert (r.status, r.location) == (303, f"/sender/message/{message_id}?done=login_data")
    (mail,) = mails_to(sink, CLERK)
    assert ALICE in mail.get_content() and account.password not in mail.get_content()
    assert audit("reset") == [(f"sender:{CLERK}", ALICE, "credentials_to=sender")]
    for _ in range(senders.LOGIN_DATA_PER_SENDER.limit - 1):
        assert client.post(f"/sender/message/{message_id}/login-data", {"csrf": csrf}).status == 303
    over = client.post(f"/sender/message/{message_id}/login-data", {"csrf": csrf})
    assert over.status == 429 and "limit for this action is reached" in over.text
    home.config.values["senders"]["new_login_data"] = False
    assert "Send new login data" not in client.get(f"/sender/message/{message_id}").text
    assert client.post(f"/sender/message/{message_id}/login-data", {"csrf": csrf}).status == 404


# --- "ask the sender" ------------------------------------------------------------------------


def ask_the_sender(client, address):
    form = client.get("/forgot")
    assert "Ask the sender for new login data" in form.text
    return client.post("/forgot/sender", {"csrf": form.field("csrf"), "address": address})


def test_ask_the_sender_mails_only_that_sender_a_link_to_the_action(app, home, sink, clock):
    send(home, sender=OTHER)
    clock.advance(60)
    _, latest = send(home, sender=CLERK)
    send(home, sender="partner@example.net", to=BOB)  # an external sender is never asked
    pages = [ask_the_sender(Client(app), a) for a in (ALICE, BOB, "nobody@example.org", "not an address")]
    shapes = {(p.status, re.sub(r'value="[^"]*"|nonce="[^"]*"', "", p.text)) for p in pages}
    assert len(shapes) == 1 and pages[0].status == 200 and "we have asked the sender" in pages[0].text
    notices.wait_sent()
    asked = [m.rcpt_tos for m in sink.messages
             if "ask you for new login data" in email.message_from_bytes(m.content, policy=email.policy.default)
             .get_content()]
    assert asked == [[CLERK]]
    (mail,) = mails_to(sink, CLERK, "/sender/message/")
    assert f"https://portal.example.com/sender/message/{latest}#login-data" in mail.get_content()
    # the link leads there after sign-in
    client = Client(app)
    r = client.get(f"/sender/message/{latest}")
    assert r.status == 303 and r.location == f"/sender?next=%2Fsender%2Fmessage%2F{latest}"
    ask_link(client, CLERK, f"/sender/message/{latest}")
    r = client.get(links_to(sink, CLERK)[-1])
    assert (r.status, r.location) == (303, f"/sender/message/{latest}")
    assert "Send new login data" in client.get(r.location).text


def test_ask_the_sender_is_throttled_and_follows_the_switches(app, home, sink):
    send(home)
    client = Client(app)
    statuses = [ask_the_sender(client, ALICE).status for _ in range(senders.ASKS_PER_ADDRESS.limit + 1)]
    assert statuses == [200] * senders.ASKS_PER_ADDRESS.limit + [429]
    home.config.values["senders"]["new_login_data"] = False
    assert "Ask the sender" not in client.get("/forgot").text
    csrf = client.get("/forgot").field("csrf")
    assert client.post("/forgot/sender", {"csrf": csrf, "address": ALICE}).status == 404


# --- passkeys --------------------------------------------------------------------------------


def test_a_sender_adds_a_passkey_and_signs_in_with_it_next_time(app, home, sink):
    send(home)
    client = signed_in(app, sink)
    csrf = client.get("/sender/passkeys").field("csrf")
    begun = client.post("/sender/passkey/add/options", {"csrf": csrf})
    assert begun.status == 200, begun.text[:300]
    begun = json.loads(begun.text)
    authenticator = Authenticator(ORIGIN)
    r = client.post("/sender/passkey/add", {"csrf": csrf, "ceremony": begun["ceremony"],
                                           "credential": authenticator.create(begun["publicKey"]), "name": "Laptop"})
    assert r.status == 200 and "Your passkey is added" in r.text and "Laptop" in r.text
    assert [p.kind for p in store.Passkey.select()] == ["sender"]

    fresh = Client(app)
    page = fresh.get("/sender")
    begun = json.loads(fresh.post("/sender/passkey/sign-in/options", {"csrf": page.field("csrf")}).text)
    r = fresh.post("/sender/passkey/sign-in", {"csrf": page.field("csrf"), "ceremony": begun["ceremony"],
                                               "credential": authenticator.get(begun["publicKey"])})
    assert (r.status, r.location) == (303, "/sender/messages")
    assert fresh.get("/sender/messages").status == 200
    # a sender's passkey never signs a recipient in
    page = fresh.get("/login")
    begun = json.loads(fresh.post("/passkey/sign-in/options", {"csrf": page.field("csrf")}).text)
    r = fresh.post("/passkey/sign-in", {"csrf": page.field("csrf"), "ceremony": begun["ceremony"],
                                        "credential": authenticator.get(begun["publicKey"])})
    assert r.status == 401


def test_sign_out_ends_the_sender_session(app, home, sink):
    send(home)
    client = signed_in(app, sink)
    csrf = client.get("/sender/messages").text.split('name="csrf" value="')[1].split('"')[0]
    assert client.post("/sender/logout", {"csrf": csrf}).status == 303
    assert client.get("/sender/messages").status == 303


def test_german_pages(app, home, sink):
    _, message_id = send(home)
    client = signed_in(app, sink)
    client.language = "de"
    assert "Gesendete sichere Post" in client.get("/sender/messages").text
    assert "noch nicht geöffnet" in client.get(f"/sender/message/{message_id}").text
    assert "Absenderseite" in Client(app, language="de").get("/sender").text


# --- PostgreSQL, two portal nodes -----------------------------------------------------------


@pytest.fixture(scope="module")
def pg():
    import postgres

    if not postgres.available():
        pytest.skip("Debian's postgresql is not installed")
    server = postgres.Server(12962).start()
    yield server
    server.stop()


def test_two_portal_apps_on_postgresql_link_list_and_recall_through_the_index(pg, home_dir, clock, sink):
    """The link asked through one portal app opens through another on the same database; the list
    and a recall work alike, and
    PostgreSQL plans the sender's query on the index of schema 11 (run twice: idempotent)."""
    import postgres

    sink.messages.clear()
    write_settings(home_dir / "webcrypt.toml", {
        "mail": {"reinject": f'"smtp://127.0.0.1:{test_portal.SINK_PORT}"', "from": '"webcrypt@bank.example"',
                 "internal_domains": '["bank.example"]'}})
    made = postgres.home_on(pg, home_dir, clock)
    h = next(made)
    try:
        store.MIGRATIONS[10]()  # schema 11 once more: nothing changes, nothing fails
        send(h, sender="Clerk@Bank.Example")
        _, message_id = send(h, to=BOB)
        first, second = create_app(h), create_app(h)
        browser = Client(first)
        ask_link(browser)
        browser.app = second
        r = browser.get(links_to(sink, CLERK)[-1])
        assert (r.status, r.location) == (303, "/sender/messages")
        page = browser.get("/sender/messages")
        assert "Messages found: 2" in page.text and ALICE in page.text
        browser.app = first
        csrf = browser.get(f"/sender/message/{message_id}/recall").field("csrf")
        assert browser.post(f"/sender/message/{message_id}/recall", {"csrf": csrf}).status == 303
        assert store.Message.get_by_id(message_id).revoked is not None
        store.db.execute_sql("SET enable_seqscan = off")  # a tiny table: ask whether the index can serve
        sql, params = senders._sent_by(CLERK).order_by(store.Message.created.desc()).limit(50).sql()
        plan = " ".join(row[0] for row in store.db.execute_sql("EXPLAIN " + sql, params).fetchall())
        assert store.SENDER_INDEX in plan, plan
    finally:
        next(made, None)
