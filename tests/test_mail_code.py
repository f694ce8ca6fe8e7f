"""One-time sign-in codes by mail (issue 12): off by default, an administrator's choice per
recipient domain; the codes go through the real notices outbox to a real SMTP sink."""

import email
import email.policy
import re

import pytest

import test_portal
from conftest import write_settings
from portal_client import Client
from test_portal import encrypt, portal_home, posted, sink
from webcrypt.base import config, errors
from webcrypt.context.home import Home
from webcrypt.edges.portal.app import create_app
from webcrypt.infra import store
from webcrypt.usecases import account_admin, mail_codes, notices, settings

_FIXTURES = (portal_home, sink)
ALICE = "alice@example.org"
SHOWN_CODE = re.compile(r"^\s+(\d{4} \d{4})\s*$", re.MULTILINE)


@pytest.fixture
def code_home(home_dir, clock, sink):
    sink.messages.clear()
    write_settings(home_dir / "webcrypt.toml", {
        "mail": {"reinject": f'"smtp://127.0.0.1:{test_portal.SINK_PORT}"', "from": '"webcrypt@bank.example"'},
        "accounts": {"mail_code_domains": '["example.org"]'},
    })
    h = Home(config.load(home_dir / "webcrypt.toml"), clock=clock)
    h.connect()
    yield h
    h.close()


@pytest.fixture
def code_app(code_home):
    return create_app(code_home)


def codes_mailed(sink, address) -> list[str]:
    """The codes mailed to *address* so far, in order (they leave in the background)."""
    notices.wait_sent()
    found = []
    for item in sink.messages:
        mail = email.message_from_bytes(item.content, policy=email.policy.default)
        if item.rcpt_tos == [address] and "sign-in code" in mail["Subject"]:
            found.append(SHOWN_CODE.search(mail.get_content()).group(1))
    return found


def ask(client, address, upload=None):
    form = client.get("/login/code" + (f"?upload={upload}" if upload else ""))
    assert form.status == 200, form.text[-500:]
    data = {"csrf": form.field("csrf"), "address": address, **({"upload": upload} if upload else {})}
    return client.post("/login/code", data)


def enter(client, address, code, upload=None):
    form = client.get("/login/code")
    data = {"csrf": form.field("csrf"), "address": address, "code": code, **({"upload": upload} if upload else {})}
    return client.post("/login/code/enter", data)


def opened(client, home):
    """secure.htm posted: (upload id, the login page it leads to)."""
    envelope, account, _ = encrypt(home)
    r = client.post("/open", posted(envelope))
    page = client.get(r.location)
    return page.field("upload"), page


def audit_actions(address=ALICE) -> list[tuple[str, str]]:
    return [(e.action, e.detail) for e in store.AuditEvent.select().where(store.AuditEvent.subject == address)
            .order_by(store.AuditEvent.id) if e.action.startswith(("mail_code", "login"))]


def test_off_by_default_no_link_and_the_routes_refuse(portal_home, sink):
    client = Client(create_app(portal_home))
    upload, page = opened(client, portal_home)
    assert "/login/code" not in page.text and "sign-in code" not in page.text
    assert client.get("/login/code").status == 404
    csrf = page.field("csrf")
    assert client.post("/login/code", {"csrf": csrf, "address": ALICE}).status == 404
    assert client.post("/login/code/enter", {"csrf": csrf, "address": ALICE, "code": "12345678"}).status == 404
    assert codes_mailed(sink, ALICE) == [] and store.MailCode.select().count() == 0


def test_a_code_signs_in_once_and_opens_the_upload_without_forcing_a_password(code_app, code_home, sink):
    client = Client(code_app)
    upload, page = opened(client, code_home)
    assert f'href="/login/code?upload={upload}"' in page.text and "Email me a sign-in code" in page.text
    r = ask(client, ALICE, upload)
    assert r.status == 200 and "If this address can sign in with a code, we have sent one" in r.text
    assert r.field("upload") == upload
    (code,) = codes_mailed(sink, ALICE)
    r = enter(client, ALICE, code, upload)
    assert (r.status, r.location) == (303, f"/message/{upload}")  # the generated password is not forced on
    page = client.get(f"/message/{upload}")
    assert page.status == 200 and "Dear Alice, the balance is 1234." in page.text
    assert store.Recipient.get().must_change_password and store.Recipient.get().last_login is not None

    again = enter(Client(code_app, remote_addr="192.0.2.9"), ALICE, code)
    assert again.status == 401 and "code is wrong or no longer valid" in again.text
    assert [a for a, _ in audit_actions()] == ["mail_code_requested", "mail_code_used", "mail_code_failed"]

    # the profile still lets the recipient choose a password, without the generated one
    form = client.get("/password")
    assert form.status == 200 and 'name="current"' not in form.text and "signed in with a code" in form.text
    r = client.post("/password", {"csrf": form.field("csrf"), "new": test_portal.NEW_PASSWORD,
                                  "repeat": test_portal.NEW_PASSWORD})
    assert (r.status, r.location) == (303, f"/message/{upload}")
    assert not store.Recipient.get().must_change_password
    assert 'name="current"' in client.get("/password").text  # from now on, the password guards its change
    password_login = Client(code_app)
    r = password_login.post("/login", {"csrf": password_login.get("/login").field("csrf"), "address": ALICE,
                                       "password": test_portal.NEW_PASSWORD})
    assert (r.status, r.location) == (303, "/profile")


def test_german_page_and_mail(code_app, code_home, sink):
    encrypt(code_home)
    client = Client(code_app, language="de")
    assert "Anmeldecode per Mail senden" in client.get("/login").text
    r = ask(client, ALICE)
    assert "Wenn sich diese Adresse mit einem Code anmelden kann" in r.text
    notices.wait_sent()
    mail = email.message_from_bytes(sink.messages[-1].content, policy=email.policy.default)
    assert "Ihr Anmeldecode" in mail.get_content() and "Your sign-in code" in mail.get_content()


def shape(page) -> tuple:
    """What an observer compares: the status and the page without its per-request values."""
    return page.status, re.sub(r'value="[^"]*"|nonce="[^"]*"', "", page.text)


def test_same_answer_for_unknown_disabled_and_other_domain_and_no_mail(code_app, code_home, sink):
    for address in (ALICE, "bob@example.org", "carol@other.example"):
        encrypt(code_home, to=address)
    account_admin.set_disabled(code_home, "bob@example.org", True, "test")
    answers = {address: ask(Client(code_app, remote_addr=f"192.0.2.{n}"), address)
               for n, address in enumerate((ALICE, "bob@example.org", "carol@other.example", "nobody@example.org",
                                            "not an address"), start=10)}
    assert len({shape(page) for page in answers.values()}) == 1
    assert answers[ALICE].status == 200
    assert len(codes_mailed(sink, ALICE)) == 1
    assert [m.rcpt_tos for m in sink.messages if "sign-in code" in str(m.content)] == [[ALICE]]
    assert [c.address for c in store.MailCode.select()] == [ALICE]
    details = {e.subject: e.detail for e in store.AuditEvent.select().where(store.AuditEvent.action == "mail_code_requested")}
    assert details["bob@example.org"] == "no code: account disabled or expired"
    assert details["carol@other.example"] == "no code: domain not allowed"
    assert details["nobody@example.org"] == "no code: no account"


def test_an_expired_code_fails(code_app, code_home, clock, sink):
    encrypt(code_home)
    client = Client(code_app)
    ask(client, ALICE)
    (code,) = codes_mailed(sink, ALICE)
    clock.advance(mail_codes.MINUTES * 60 + 1)
    assert enter(client, ALICE, code).status == 401
    assert audit_actions()[-1] == ("mail_code_failed", "no live code")


def test_a_new_request_voids_the_old_code(code_app, code_home, sink):
    encrypt(code_home)
    client = Client(code_app)
    ask(client, ALICE)
    ask(client, ALICE)
    first, second = codes_mailed(sink, ALICE)
    assert first != second  # 1 in 10^8 to be equal by chance
    assert enter(client, ALICE, first).status == 401
    assert enter(client, ALICE, second.replace(" ", "-")).status == 303  # as copied, with a separator


def test_wrong_codes_void_the_code_and_lock_the_account_like_passwords(code_app, code_home, sink):
    encrypt(code_home)
    client = Client(code_app)
    ask(client, ALICE)
    (code,) = codes_mailed(sink, ALICE)
    wrong = f"{(int(code.replace(' ', '')) + 1) % 10 ** 8:08d}"
    assert [enter(client, ALICE, wrong).status for _ in range(mail_codes.MAX_TRIES)] == [401] * mail_codes.MAX_TRIES
    assert enter(client, ALICE, code).status == 401  # void after MAX_TRIES wrong ones
    assert store.MailCode.select().count() == 0
    ask(client, ALICE)
    code = codes_mailed(sink, ALICE)[-1]
    assert enter(client, ALICE, "00000000" if code != "0000 0000" else "11111111").status == 401  # the 5th failure
    assert enter(client, ALICE, code).status == 429  # locked, as after five wrong passwords
    assert store.Recipient.get().locked_until is not None
    page = client.get("/login")
    r = client.post("/login", {"csrf": page.field("csrf"), "address": ALICE, "password": "whatever it was"})
    assert r.status == 429
    actions = [a for a, _ in audit_actions()]
    assert actions.count("mail_code_failed") == 5 and actions.count("login_locked") == 1


def test_requests_are_throttled_per_address_and_per_client(code_app, code_home, sink):
    encrypt(code_home)
    CODES = mail_codes.CODES_PER_ADDRESS.limit
    for address in (ALICE, "nobody@example.org"):  # alike for an address without an account
        statuses = [ask(Client(code_app, remote_addr=f"198.51.100.{n}"), address).status for n in range(CODES + 1)]
        assert statuses == [200] * CODES + [429]
    assert len(codes_mailed(sink, ALICE)) == CODES
    client = Client(code_app, remote_addr="203.0.113.7")
    statuses = [ask(client, f"user{n}@example.org").status for n in range(mail_codes.CODES_PER_CLIENT.limit + 1)]
    assert statuses == [200] * mail_codes.CODES_PER_CLIENT.limit + [429]


def test_no_code_in_the_database_the_audit_or_the_logs(code_app, code_home, sink, capfd):
    encrypt(code_home)
    client = Client(code_app)
    ask(client, ALICE)
    (shown,) = codes_mailed(sink, ALICE)
    digits = shown.replace(" ", "")
    row = store.MailCode.get()
    assert len(row.code_hash) == 64 and digits not in row.code_hash
    enter(client, ALICE, "99999999" if digits != "99999999" else "88888888")
    database = (code_home.config.home / "webcrypt.db").read_bytes()
    for suffix in ("-wal", "-shm"):
        path = code_home.config.home / f"webcrypt.db{suffix}"
        database += path.read_bytes() if path.exists() else b""
    assert digits.encode() not in database and shown.encode() not in database
    assert enter(client, ALICE, shown).status == 303
    trail = " ".join(f"{e.actor} {e.action} {e.subject} {e.detail}" for e in store.AuditEvent.select())
    assert digits not in trail and shown not in trail
    out, err = capfd.readouterr()
    assert digits not in out + err and shown not in out + err


def test_the_console_setting_switches_codes_per_domain_over_the_file(portal_home, sink):
    app = create_app(portal_home)
    encrypt(portal_home)
    settings.save_overrides(portal_home, {"accounts.mail_code_domains": ["*"]}, "admin:test")
    client = Client(app)
    assert "Email me a sign-in code" in client.get("/login").text
    ask(client, ALICE)
    (code,) = codes_mailed(sink, ALICE)
    assert enter(client, ALICE, code).status == 303
    settings.save_overrides(portal_home, {"accounts.mail_code_domains": settings.parse_value(
        "accounts.mail_code_domains", "-")}, "admin:test")
    assert portal_home.config["accounts.mail_code_domains"] == []
    assert "/login/code" not in Client(app).get("/login").text


def test_the_domain_list_is_checked_at_load(home_dir):
    path = home_dir / "webcrypt.toml"
    write_settings(path, {"accounts": {"mail_code_domains": '["example.org", "*", "sub.example.com"]'}})
    assert config.load(path)["accounts.mail_code_domains"] == ["example.org", "*", "sub.example.com"]
    write_settings(path, {"accounts": {"mail_code_domains": '["alice@example.org"]'}})
    with pytest.raises(errors.ConfigError, match="mail_code_domains"):
        config.load(path)
