"""The recipient portal in process: every route and every bad input of issue 4."""

import base64
import email
import html
import email.policy
import json
import quopri
import re
import socket
import urllib.parse

import pytest
from aiosmtpd.controller import Controller

from conftest import CORPUS, write_settings
from portal_client import Client
from webcrypt.base import config, errors, languages
from webcrypt.core import crypto, mime
from webcrypt.infra import store
from webcrypt.usecases import accounts, events, gateway, login, notices, reading
from webcrypt.context.home import Home
from webcrypt.edges.portal import i18n
from webcrypt.edges.portal.app import create_app

SINK_PORT = 12611
NEW_PASSWORD = "violet tractor harbour"


class Sink:
    """An aiosmtpd handler that keeps every message."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def free_port(first: int, last: int) -> int:
    """A port of this test file's range that nobody is listening on right now."""
    for port in range(first, last + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{last}")


@pytest.fixture(scope="module")
def sink():
    global SINK_PORT
    SINK_PORT = free_port(12611, 12640)
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=SINK_PORT)
    controller.start()
    yield handler
    controller.stop()


@pytest.fixture
def portal_home(home_dir, clock, sink):
    sink.messages.clear()
    write_settings(home_dir / "webcrypt.toml", {
        "mail": {"reinject": f'"smtp://127.0.0.1:{SINK_PORT}"', "from": '"webcrypt@bank.example"',
                 "internal_domains": '["bank.example"]'},
        "portal": {"legacy_urls": '["https://old.example.com/webcrypt"]'},
    })
    h = Home(config.load(home_dir / "webcrypt.toml"), clock=clock)
    h.connect()
    yield h
    h.close()


@pytest.fixture
def app(portal_home):
    return create_app(portal_home)


PLAIN = (b"From: Clerk <clerk@bank.example>\nTo: alice@example.org, Boss <boss@bank.example>\n"
         b"Cc: friend@elsewhere.example\nSubject: Your statement\nDate: Mon, 01 Jan 2027 10:00:00 +0000\n"
         b"Message-ID: <orig-1@bank.example>\nMIME-Version: 1.0\n"
         b"Content-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain; charset=utf-8\n\n"
         b"Dear Alice, the balance is 1234.\n--XX\nContent-Type: application/pdf; name=\"statement.pdf\"\n"
         b"Content-Disposition: attachment; filename=\"statement.pdf\"\nContent-Transfer-Encoding: base64\n\n"
         + base64.encodebytes(b"%PDF-1.4 secret statement") + b"--XX--\n")

HTML = (b"From: clerk@bank.example\nTo: alice@example.org\nSubject: Html\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/related; boundary=RR\n\n--RR\nContent-Type: text/html; charset=utf-8\n\n"
        b"<html><head><script>alert(1)</script><link rel=stylesheet href='https://evil.example/x.css'></head>"
        b"<body onload='steal()'><p onclick='x()'>Hello <b>HTML</b></p><a href='javascript:alert(2)'>js</a>"
        b"<img src='https://evil.example/track.png'><img src='cid:logo@bank'></body></html>\n"
        b"--RR\nContent-Type: image/png\nContent-ID: <logo@bank>\nContent-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(b"\x89PNG fake image") + b"--RR--\n")


class Recipient:
    password = ""


def encrypt(home, raw=PLAIN, to="alice@example.org", account=None):
    account = account if account is not None else Recipient()
    sealed = gateway.encrypt(home, raw, "clerk@bank.example", [to],
                             print_login_data=lambda new: setattr(account, "password", new.password))
    return mime.extract_envelope(sealed[0].data), account, sealed[0].message_id


def posted(envelope: bytes) -> dict:
    return {"envelope": base64.encodebytes(envelope).decode()}


def open_and_login(client, envelope, address, password):
    r = client.post("/open", posted(envelope))
    assert r.status == 303, r.text
    page = client.get(r.location)
    upload = page.field("upload")
    r = client.post("/login", {"csrf": page.field("csrf"), "upload": upload, "address": address, "password": password})
    return upload, r


def ready(client, home, raw=PLAIN):
    """Open, log in, change the forced password; return the upload id."""
    envelope, account, _ = encrypt(home, raw)
    upload, r = open_and_login(client, envelope, "alice@example.org", account.password)
    assert (r.status, r.location) == (303, "/password")
    form = client.get("/password")
    r = client.post("/password", {"csrf": form.field("csrf"), "current": account.password, "new": NEW_PASSWORD,
                                  "repeat": NEW_PASSWORD})
    assert (r.status, r.location) == (303, f"/message/{upload}")
    return upload


def csrf_of(client) -> str:
    return client.get("/profile").field("csrf")


# Open, log in, read


def test_open_shows_login_with_sender_and_keeps_only_ciphertext(app, portal_home):
    envelope, _, message_id = encrypt(portal_home)
    client = Client(app)
    r = client.post("/open", posted(envelope), headers={"Origin": "null"})
    assert r.status == 303 and r.location.startswith("/login?upload=")
    page = client.get(r.location)
    assert page.status == 200 and "clerk@bank.example" in page.text
    (row,) = store.Upload.select()
    assert row.envelope == envelope and b"balance" not in row.envelope
    assert row.expires - row.created == 15 * 60


def test_full_read_with_forced_change(app, portal_home):
    client = Client(app)
    upload = ready(client, portal_home)
    page = client.get(f"/message/{upload}")
    assert page.status == 200
    assert "Your statement" in page.text and "Dear Alice, the balance is 1234." in page.text
    assert "statement.pdf" in page.text and "no longer encrypted" in page.text
    part = re.search(rf"/message/{upload}/part/(\d+)", page.text).group(1)
    download = client.get(f"/message/{upload}/part/{part}")
    assert download.body == b"%PDF-1.4 secret statement"
    assert download.headers["content-disposition"].startswith('attachment; filename="statement.pdf"')
    eml = client.get(f"/message/{upload}/eml")
    assert eml.body == PLAIN and eml.headers["content-disposition"].startswith("attachment;")
    assert client.get(f"/message/{upload}/part/99").status == 404
    assert store.Recipient.get().last_login is not None


def test_security_headers_on_pages(app, portal_home):
    client = Client(app)
    upload = ready(client, portal_home)
    page = client.get(f"/message/{upload}")
    csp = page.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'nonce="{nonce}"' in page.text and "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert client.get("/login").headers["content-security-policy"] != csp  # a new nonce each time


def test_cookie_is_host_prefixed_secure_httponly_lax_and_rotated(app, portal_home):
    envelope, account, _ = encrypt(portal_home)
    client = Client(app)
    client.post("/open", posted(envelope))
    client.cookies["__Host-webcrypt"] = "planted-by-attacker"
    page = client.get("/login")
    r = client.post("/login", {"csrf": page.field("csrf"), "address": "alice@example.org", "password": account.password})
    cookie = next(v for k, v in r.header_list if k == "Set-Cookie" and v.startswith("__Host-webcrypt="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    token = client.cookies["__Host-webcrypt"]
    assert token != "planted-by-attacker" and len(token) >= 43
    (row,) = store.Session.select()
    assert row.id_hash == crypto.fingerprint(token.encode()) and token not in row.id_hash


def test_html_body_sanitised_sandboxed_and_cid_inline(app, portal_home):
    client = Client(app)
    upload = ready(client, portal_home, HTML)
    page = client.get(f"/message/{upload}")
    assert "Remote images and styles in this message were blocked" in page.text
    # same origin (the page's frame.js reads its height), never script: neither sandbox allows it
    assert 'sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"' in page.text
    body = client.get(f"/message/{upload}/body")
    csp = body.headers["content-security-policy"]
    assert csp.startswith("default-src 'none';") and "img-src data:" in csp and "script-src" not in csp
    sandbox = re.search(r"(?:^|; )sandbox ([^;]*)", csp).group(1).split()
    assert "allow-same-origin" in sandbox and "allow-scripts" not in sandbox and "allow-forms" not in sandbox
    text = body.text
    assert "<b>HTML</b>" in text
    for bad in ("<script", "alert(", "onload", "onclick", "javascript:", "evil.example", "<link"):
        assert bad not in text
    assert "data:image/png;base64," + base64.b64encode(b"\x89PNG fake image").decode() in text


def test_reading_tolerates_every_corpus_message():
    files = [p for p in CORPUS.rglob("*") if p.is_file() and "licenses" not in p.parts and p.name != "SOURCES.txt"]
    assert len(files) > 100
    for path in files:
        view = reading.parse(path.read_bytes())
        assert isinstance(view.subject, str)
        for item in view.attachments[:2]:
            assert reading.attachment(path.read_bytes(), item.index)[0].filename


# Bad input at /open


@pytest.mark.parametrize("envelope, status", [
    ("", 400),
    ("!!! not base64 !!!", 400),
    (base64.b64encode(b"hello, this is not an envelope").decode(), 400),
])
def test_open_refuses_what_is_not_an_envelope(app, portal_home, envelope, status):
    r = Client(app).post("/open", {"envelope": envelope})
    assert r.status == status and "Traceback" not in r.text
    assert store.Upload.select().count() == 0


def test_open_refuses_expired_revoked_and_foreign(app, portal_home, clock):
    envelope, _, message_id = encrypt(portal_home)
    store.Message.update(revoked=1).where(store.Message.id == message_id).execute()
    r = Client(app).post("/open", posted(envelope))
    assert r.status == 410 and "recalled" in r.text
    envelope, _, message_id = encrypt(portal_home)
    store.Message.delete().where(store.Message.id == message_id).execute()
    r = Client(app).post("/open", posted(envelope))
    assert r.status == 410 and "unknown here" in r.text
    envelope, _, _ = encrypt(portal_home)
    clock.advance(91 * 86400)
    r = Client(app).post("/open", posted(envelope), headers={"Accept-Language": "de"})
    assert r.status == 410 and "abgelaufen" in r.text
    assert store.Upload.select().count() == 0


def test_open_refuses_oversized_body(home_dir, clock, sink):
    write_settings(home_dir / "webcrypt.toml", {"policy": {"max_message_size": "1000"},
                                                "portal": {"reply_max_size": "1000"}})
    h = Home(config.load(home_dir / "webcrypt.toml"), clock=clock)
    h.connect()
    try:
        r = Client(create_app(h)).post("/open", {"envelope": "A" * 400_000})
        assert r.status == 413 and "larger than this portal accepts" in r.text
        assert store.Upload.select().count() == 0
    finally:
        h.close()


def test_tampered_envelope_is_refused_after_login(app, portal_home):
    envelope, account, _ = encrypt(portal_home)
    tampered = envelope[:-40] + bytes([envelope[-40] ^ 1]) + envelope[-39:]
    client = Client(app)
    upload, r = open_and_login(client, tampered, "alice@example.org", account.password)
    store.Recipient.update(must_change_password=False).execute()
    page = client.get(f"/message/{upload}")
    assert page.status == 400 and "altered" in page.text and "Traceback" not in page.text


def test_foreign_recipient_cannot_read(app, portal_home):
    envelope, _, _ = encrypt(portal_home, to="bob@example.org")
    _, alice, _ = encrypt(portal_home)
    client = Client(app)
    upload, r = open_and_login(client, envelope, "alice@example.org", alice.password)
    store.Recipient.update(must_change_password=False).execute()
    page = client.get(f"/message/{upload}")
    assert page.status == 403 and "bob" not in page.text


# Login, throttling, sessions


def test_wrong_password_and_unknown_address_look_alike_and_are_throttled(app, portal_home):
    _, account, _ = encrypt(portal_home)
    client = Client(app)
    page = client.get("/login")
    answers = []
    for address in ("alice@example.org", "nobody@example.org"):
        r = client.post("/login", {"csrf": page.field("csrf"), "address": address, "password": "wrong-password"})
        answers.append((r.status, re.sub(r'(value|nonce)="[^"]*"', "", r.text)))
    assert answers[0] == answers[1] and answers[0][0] == 401
    for _ in range(4):
        client.post("/login", {"csrf": page.field("csrf"), "address": "alice@example.org", "password": "nope"})
    r = client.post("/login", {"csrf": page.field("csrf"), "address": "alice@example.org", "password": account.password})
    assert r.status == 429 and "Too many attempts" in r.text
    stats = {s.name: s.count for s in store.Stat.select()}
    assert stats[events.LOGIN_FAILED] == 6 and stats[events.LOGIN_THROTTLED] == 1
    actions = [e.action for e in store.AuditEvent.select()]
    assert actions.count("login_failed") == 6 and "login_locked" in actions


def test_client_throttle_uses_forwarded_address_only_from_trusted_proxy(home_dir, clock, sink):
    write_settings(home_dir / "webcrypt.toml", {"portal": {"trusted_proxies": '["10.0.0.1"]'}})
    h = Home(config.load(home_dir / "webcrypt.toml"), clock=clock)
    h.connect()
    try:
        app = create_app(h)
        for peer in ("10.0.0.1", "192.0.2.9"):
            client = Client(app, remote_addr=peer)
            page = client.get("/login")
            client.post("/login", {"csrf": page.field("csrf"), "address": "x@example.org", "password": "p"},
                        headers={"X-Forwarded-For": "198.51.100.7"})
        keys = {row.key for row in store.Throttle.select()}
        assert "login-client:198.51.100.7" in keys and "login-client:192.0.2.9" in keys
        assert "login-client:10.0.0.1" not in keys
    finally:
        h.close()


def test_missing_csrf_is_refused_everywhere(app, portal_home):
    client = Client(app)
    upload = ready(client, portal_home)
    assert client.post("/login", {"address": "a@b.example", "password": "x"}).status == 400
    for path in ("/password", "/profile/language", "/profile/question", "/logout", f"/message/{upload}/reply"):
        r = client.post(path, {"csrf": "forged", "language": "de", "new": "x"})
        assert r.status == 400 and "did not come from this site" in r.text, path
    assert client.get(f"/message/{upload}").status == 200  # still logged in: nothing happened


def test_stale_sessions_end_idle_and_absolute(app, portal_home, clock):
    client = Client(app)
    upload = ready(client, portal_home)
    clock.advance(16 * 60)
    page = client.get(f"/message/{upload}")
    assert page.status == 401 and "session has ended" in page.text
    client = Client(app)
    envelope, _, _ = encrypt(portal_home)
    upload, r = open_and_login(client, envelope, "alice@example.org", NEW_PASSWORD)
    assert r.location == f"/message/{upload}"
    for _ in range(8 * 6 + 1):  # active every 10 minutes, beyond 8 hours
        clock.advance(600)
        page = client.get("/profile")
    assert page.status == 401


def test_logout_ends_the_session(app, portal_home):
    client = Client(app)
    upload = ready(client, portal_home)
    r = client.post("/logout", {"csrf": csrf_of(client)})
    assert r.status == 303 and client.get(r.location).status == 200
    assert store.Session.select().count() == 0
    assert client.get(f"/message/{upload}").status == 401


def test_upload_expires_after_configured_minutes(app, portal_home, clock):
    client = Client(app)
    upload = ready(client, portal_home)
    clock.advance(14 * 60)
    client.get("/profile")
    clock.advance(2 * 60)
    page = client.get(f"/message/{upload}")
    assert page.status == 404 and "secure.htm again" in page.text


# Password, profile, language


@pytest.mark.parametrize("new, repeat, message", [
    ("short", "short", "at least 12 characters"),
    ("password1234", "password1234", "most common"),
    ("1qaz2wsx3edc", "1qaz2wsx3edc", "most common"),
    ("alice@example.org", "alice@example.org", "mail address"),
    ("violet tractor harbour", "violet tractor harbor", "differ"),
])
def test_password_rules(app, portal_home, new, repeat, message):
    envelope, account, _ = encrypt(portal_home)
    client = Client(app)
    open_and_login(client, envelope, "alice@example.org", account.password)
    form = client.get("/password")
    assert "choose your own password" in form.text
    r = client.post("/password", {"csrf": form.field("csrf"), "current": account.password, "new": new, "repeat": repeat})
    assert r.status == 400 and message in r.text
    assert client.get("/profile").location == "/password"  # still forced


def test_password_change_ends_other_sessions(app, portal_home):
    envelope, account, _ = encrypt(portal_home)
    other = Client(app)
    open_and_login(other, envelope, "alice@example.org", account.password)
    client = Client(app)
    ready_upload, r = open_and_login(client, envelope, "alice@example.org", account.password)
    form = client.get("/password")
    client.post("/password", {"csrf": form.field("csrf"), "current": account.password, "new": NEW_PASSWORD,
                              "repeat": NEW_PASSWORD})
    assert other.get("/profile").status == 401
    assert client.get("/profile").status == 200
    assert "password_changed" in [e.action for e in store.AuditEvent.select()]


def test_profile_and_language_choice(app, portal_home):
    client = Client(app)
    ready(client, portal_home)
    page = client.get("/profile")
    assert "alice@example.org" in page.text and "Previous login" in page.text and "Account valid until" in page.text
    r = client.post("/profile/language", {"csrf": page.field("csrf"), "language": "de"})
    assert r.status == 303
    assert "Vorherige Anmeldung" in client.get("/profile").text
    assert store.Recipient.get().language == "de"
    assert client.post("/profile/language", {"csrf": page.field("csrf"), "language": "xx"}).status == 400


def test_browser_language_default(app, portal_home):
    assert "Anmelden" in Client(app, language="de-DE,de;q=0.9").get("/login").text
    assert "Log in" in Client(app, language="it, en;q=0.5").get("/login").text
    for french in ("fr", "fr-FR", "fr-CH", "fr-BE,fr;q=0.9,en;q=0.8", "en;q=0.5, fr-CA"):
        assert "Se connecter" in Client(app, language=french).get("/login").text, french
    client = Client(app, language="en")
    assert "Anmelden" in client.get("/login?lang=de").text
    assert "Anmelden" in client.get("/login").text  # the choice is kept in a cookie



def test_a_french_browser_gets_the_portal_in_french(app, portal_home):
    client = Client(app, language="fr-FR,fr;q=0.9,en;q=0.5")
    envelope, account, _ = encrypt(portal_home)
    r = client.post("/open", posted(envelope))
    login_page = client.get(r.location)
    assert '<html lang="fr">' in login_page.text and "Se connecter" in login_page.text
    assert "Un message confidentiel de" in login_page.text
    wrong = client.post("/login", {"csrf": login_page.field("csrf"), "upload": login_page.field("upload"),
                                   "address": "alice@example.org", "password": "not the password"})
    assert wrong.status == 401 and "L’adresse ou le mot de passe est incorrect" in wrong.text
    r = client.post("/login", {"csrf": login_page.field("csrf"), "upload": login_page.field("upload"),
                               "address": "alice@example.org", "password": account.password})
    form = client.get(r.location)
    assert "Veuillez choisir votre propre mot de passe avant de continuer." in form.text
    client.post("/password", {"csrf": form.field("csrf"), "current": account.password, "new": NEW_PASSWORD,
                              "repeat": NEW_PASSWORD})
    message = client.get(f"/message/{login_page.field('upload')}").text
    assert "Répondre de façon sécurisée" in message and "Pièces jointes" in message
    assert "Connexion précédente" in client.get("/profile").text
    missing = client.get("/no-such-page")
    assert missing.status == 404 and '<html lang="fr">' in missing.text and "Introuvable" in missing.text
    assert store.Recipient.get().language is None  # the browser's language is not a choice to keep


def secure_htm_buttons(sealed) -> list[tuple[str, str, str]]:
    """(formaction, lang, label) of each language button of the secure.htm in *sealed*."""
    page = mime.secure_htm_of(sealed.data).decode("ascii")
    return re.findall(r'<button type="submit" formaction="([^"]+)" lang="([a-z]+)">([^<]+)</button>', page)


def test_secure_htm_offers_every_language_and_each_button_opens_the_portal_in_it(app, portal_home):
    account = Recipient()
    sealed = gateway.encrypt(portal_home, PLAIN, "clerk@bank.example", ["alice@example.org"],
                             print_login_data=lambda new: setattr(account, "password", new.password))[0]
    buttons = secure_htm_buttons(sealed)
    assert [(code, html.unescape(label)) for _, code, label in buttons] == list(languages.LANGUAGES.items())
    for action, code, _ in buttons:
        url = urllib.parse.urlsplit(action)
        assert url.path == "/open" and url.query == f"lang={code}"
        client = Client(app, language="en")  # the button wins over the browser's language
        r = client.post(f"{url.path}?{url.query}", posted(mime.extract_envelope(sealed.data)))
        assert r.status == 303 and r.location.endswith(f"&lang={code}")
        page = client.get(r.location)
        assert f'<html lang="{code}">' in page.text and i18n.translator(code)("Log in") in page.text
        assert i18n.translator(code)("Log in") in client.get("/login").text  # kept in this browser


def test_the_language_chosen_on_secure_htm_is_kept_for_an_account_without_its_own(app, portal_home):
    account = Recipient()
    sealed = gateway.encrypt(portal_home, PLAIN, "clerk@bank.example", ["alice@example.org"],
                             print_login_data=lambda new: setattr(account, "password", new.password))[0]
    (french,) = [action for action, code, _ in secure_htm_buttons(sealed) if code == "fr"]
    client = Client(app, language="de")
    r = client.post(urllib.parse.urlsplit(french).path + "?lang=fr", posted(mime.extract_envelope(sealed.data)))
    page = client.get(r.location)
    r = client.post("/login", {"csrf": page.field("csrf"), "upload": page.field("upload"),
                               "address": "alice@example.org", "password": account.password})
    assert "Modifier le mot de passe" in client.get(r.location).text
    assert store.Recipient.get().language == "fr"  # mails to this reader now come in French too
    accounts.set_language(store.Recipient.get(), "de")  # a choice of the account's own stays
    assert "Passwort ändern" in client.get("/password").text and store.Recipient.get().language == "de"


def test_french_mails_login_data_and_password_notice(home_dir, clock, sink):
    sink.messages.clear()
    write_settings(home_dir / "webcrypt.toml", {"mail": {
        "reinject": f'"smtp://127.0.0.1:{SINK_PORT}"', "from": '"webcrypt@bank.example"',
        "internal_domains": '["bank.example"]', "language": '"fr"', "second_language": '""'}})
    h = Home(config.load(home_dir / "webcrypt.toml"), clock=clock)
    h.connect()
    try:
        sealed = gateway.encrypt(h, PLAIN, "clerk@bank.example", ["alice@example.org"])[0]
        [login_data] = [email.message_from_bytes(m.content, policy=email.policy.default) for m in sink.messages]
        body = login_data.get_content()
        assert login_data["Subject"].endswith(": données de connexion de alice@example.org")
        assert "Un message chiffré de votre part a été adressé à alice@example.org" in body
        password = re.search(r"Mot de passe :  (\S+)", body).group(1)
        assert "Portail :" in quopri.decodestring(sealed.data).decode("utf-8", "replace")
        client = Client(create_app(h), language="fr-FR")
        upload, r = open_and_login(client, mime.extract_envelope(sealed.data), "alice@example.org", password)
        assert r.location == "/password"
        for current, new in ((password, NEW_PASSWORD), (NEW_PASSWORD, "orange bicycle lantern")):
            form = client.get("/password")
            client.post("/password", {"csrf": form.field("csrf"), "current": current, "new": new, "repeat": new})
        [notice] = [email.message_from_bytes(m.content, policy=email.policy.default) for m in sink.messages[1:]]
        assert notice["Subject"].endswith(": votre mot de passe a été modifié")
        assert "Le mot de passe de votre compte" in notice.get_content() and "orange" not in notice.get_content()
    finally:
        h.close()


# Forgotten password


def set_question(client, question="First pet?", answer="  Rex  the Dog "):
    page = client.get("/profile")
    r = client.post("/profile/question", {"csrf": page.field("csrf"), "password": NEW_PASSWORD,
                                          "question": question, "answer": answer})
    assert r.status == 200 and "is saved" in r.text, r.text[-800:]


def ask_for_link(app, address, remote="192.0.2.50"):
    stranger = Client(app, remote_addr=remote)
    form = stranger.get("/forgot")
    return stranger, stranger.post("/forgot", {"csrf": form.field("csrf"), "address": address})


def recovery_links(sink, address) -> list[str]:
    """The tokens of the recovery links mailed to *address* (sent in the background)."""
    notices.wait_sent()
    found = []
    for item in sink.messages:
        mail = email.message_from_bytes(item.content, policy=email.policy.default)
        if item.rcpt_tos == [address] and "forgotten password" in mail["Subject"]:
            found.append(re.search(r"/forgot/answer\?token=([\w-]+)", mail.get_content()).group(1))
    return found


def answer(client, token, text):
    form = client.get(f"/forgot/answer?token={token}")
    return client.post("/forgot/answer", {"csrf": form.field("csrf"), "token": token, "answer": text})


def test_forgotten_password_with_question(app, portal_home, sink):
    client = Client(app)
    ready(client, portal_home)
    set_question(client)
    recipient = store.Recipient.get()
    assert recipient.answer_hash.startswith("$scrypt$") and "rex" not in recipient.answer_hash.lower()
    stranger, r = ask_for_link(app, "alice@example.org")
    assert r.status == 200 and "we have sent a link" in r.text and "First pet?" not in r.text
    (token,) = recovery_links(sink, "alice@example.org")
    page = stranger.get(f"/forgot/answer?token={token}")
    assert page.status == 200 and "First pet?" in page.text
    r = answer(stranger, token, "cat")
    assert r.status == 401 and "answer is wrong" in r.text
    r = answer(stranger, token, "rex THE dog")
    new_password = re.search(r'id="new-password">([^<]+)<', r.text).group(1)
    assert login.login(portal_home, "alice@example.org", new_password, "t").account.must_change_password


def test_forgotten_password_guesses_are_throttled(app, portal_home, sink):
    client = Client(app)
    ready(client, portal_home)
    set_question(client, "Q?", "right answer")
    stranger, _ = ask_for_link(app, "alice@example.org")
    (token,) = recovery_links(sink, "alice@example.org")
    for _ in range(3):
        answer(stranger, token, "x")
    assert answer(stranger, token, "right answer").status == 429


def test_forgotten_password_without_question_or_switched_off(app, portal_home, sink):
    client = Client(app)
    ready(client, portal_home)  # alice has no question
    _, r = ask_for_link(app, "alice@example.org")
    assert r.status == 200 and "If no mail arrives, please ask the sender" in r.text
    assert recovery_links(sink, "alice@example.org") == []
    portal_home.config.values["portal"]["password_questions"] = False
    assert "ask the sender of the message or the administrator" in Client(app).get("/forgot").text


# Replies


def reply_form(client, upload):
    form = client.get(f"/message/{upload}/reply")
    assert form.status == 200
    return form


def test_reply_goes_to_the_original_sender_only(app, portal_home, sink):
    client = Client(app)
    upload = ready(client, portal_home)
    form = reply_form(client, upload)
    assert 'value="Re: Your statement"' in form.text and "&gt; Dear Alice" in form.text
    assert "boss@bank.example" in form.text and "friend@elsewhere.example" not in form.text
    r = client.post_multipart(f"/message/{upload}/reply",
                              [("csrf", form.field("csrf")), ("subject", "Re: Your statement"),
                               ("text", "Thanks!\n> quoted"), ("cc", "boss@bank.example")],
                              [("attachment", "answer.txt", b"my answer")])
    assert r.status == 303 and client.get(r.location).status == 200
    (sent,) = sink.messages
    assert sent.mail_from == "webcrypt@bank.example"
    assert sorted(sent.rcpt_tos) == ["boss@bank.example", "clerk@bank.example"]
    message = email.message_from_bytes(sent.content, policy=email.policy.default)
    assert message["From"] == "alice@example.org" and message["To"] == "clerk@bank.example"
    assert message["In-Reply-To"] == "<orig-1@bank.example>"
    assert "Thanks!" in message.get_body(("plain",)).get_content()
    (attached,) = list(message.iter_attachments())
    assert attached.get_filename() == "answer.txt" and attached.get_payload(decode=True) == b"my answer"
    assert store.ThreadRef.get_or_none(store.ThreadRef.ref_hash == gateway.thread_hash(portal_home, message["Message-ID"]))
    assert {s.name: s.count for s in store.Stat.select()}[events.REPLIES] == 1
    assert "reply_sent" in [e.action for e in store.AuditEvent.select()]


@pytest.mark.parametrize("fields, status, text", [
    ([("subject", "Hi\r\nBcc: victim@example.org")], 400, "line breaks"),
    ([("subject", "Hi"), ("cc", "friend@elsewhere.example")], 400, "may only write"),
    ([("subject", "Hi"), ("cc", "attacker@evil.example")], 400, "may only write"),
])
def test_reply_bad_input_sends_nothing(app, portal_home, sink, fields, status, text):
    client = Client(app)
    upload = ready(client, portal_home)
    form = reply_form(client, upload)
    r = client.post_multipart(f"/message/{upload}/reply", [("csrf", form.field("csrf"))] + fields + [("text", "kept")], [])
    assert r.status == status and text in r.text.lower()
    assert sink.messages == []
    assert ">kept</textarea>" in r.text  # the form again, with what was typed


def test_an_empty_reply_is_refused_with_the_form_again(app, portal_home, sink):
    client = Client(app)
    upload = ready(client, portal_home)
    form = reply_form(client, upload)
    assert 'name="text" rows="14" required' in form.text
    r = client.post_multipart(f"/message/{upload}/reply", [("csrf", form.field("csrf")), ("subject", "Re: x"),
                                                           ("text", " \n  ")], [])
    assert r.status == 400 and "the reply is empty" in r.text.lower() and sink.messages == []


def test_reply_size_and_rate_limits(home_dir, clock, sink):
    sink.messages.clear()
    write_settings(home_dir / "webcrypt.toml", {
        "mail": {"reinject": f'"smtp://127.0.0.1:{SINK_PORT}"'},
        "portal": {"reply_max_size": "5000", "replies_per_hour": "2"},
    })
    h = Home(config.load(home_dir / "webcrypt.toml"), clock=clock)
    h.connect()
    try:
        client = Client(create_app(h))
        upload = ready(client, h)
        form = reply_form(client, upload)
        big = client.post_multipart(f"/message/{upload}/reply", [("csrf", form.field("csrf")), ("subject", "s"),
                                                                 ("text", "x")], [("attachment", "a.bin", b"0" * 6000)])
        assert big.status == 413 and sink.messages == []
        statuses = [client.post_multipart(f"/message/{upload}/reply", [("csrf", form.field("csrf")), ("subject", "s"),
                                                                       ("text", "hello")], []).status for _ in range(3)]
        assert statuses == [303, 303, 429] and len(sink.messages) == 2
    finally:
        h.close()


def test_reply_when_next_hop_is_down_says_so(app, portal_home, sink):
    client = Client(app)
    upload = ready(client, portal_home)
    portal_home.config.values["mail"]["reinject"] = "smtp://127.0.0.1:12699"
    form = reply_form(client, upload)
    r = client.post_multipart(f"/message/{upload}/reply", [("csrf", form.field("csrf")), ("subject", "s"),
                                                           ("text", "x")], [])
    assert r.status == 503 and "Nothing was sent" in r.text


# Pages, health, branding, routing


def test_index_healthz_static_and_unknown_pages(app, portal_home):
    client = Client(app)
    assert "secure.htm" in client.get("/").text
    health = client.get("/healthz")
    assert health.status == 200 and health.text == "ok\n"
    css = client.get("/static/portal.css")
    assert css.status == 200 and b"--brand" in css.body
    missing = client.get("/no/such/page")
    assert missing.status == 404 and "This page does not exist" in missing.text
    assert client.get("/message/0123/reply").status == 401  # not logged in


def test_healthz_fails_without_key(app, portal_home):
    portal_home.config.file("keys.master_key").unlink()
    portal_home._keyring = None
    assert Client(app).get("/healthz").status == 503


def test_branding_from_config_and_settings(app, portal_home):
    store.Setting.replace(key="branding", value=json.dumps({
        "name": "Secure Bank", "color": "#aa0000", "logo_url": "https://cdn.bank.example/logo.png",
        "texts": {"de": {"portal_welcome": "Willkommen bei der <Bank>"}}})).execute()
    page = Client(create_app(portal_home)).get("/login")
    assert "Secure Bank" in page.text and "--brand:#aa0000" in page.text
    assert "https://cdn.bank.example" in page.headers["content-security-policy"]
    assert "Willkommen" not in page.text
    german = Client(create_app(portal_home), language="de").get("/login")
    assert "Willkommen bei der &lt;Bank&gt;" in german.text


def test_legacy_url_path_answers(app, portal_home):
    envelope, _, _ = encrypt(portal_home)
    r = Client(app).post("/webcrypt/open", posted(envelope))
    assert r.status == 303 and r.location.startswith("/login?upload=")


def test_already_logged_in_recipient_opening_another_message(app, portal_home):
    client = Client(app)
    ready(client, portal_home)
    envelope, _, _ = encrypt(portal_home, raw=PLAIN.replace(b"Your statement", b"Second one"))
    r = client.post("/open", posted(envelope))
    r = client.get(r.location)
    assert r.status == 303 and r.location.startswith("/message/")
    assert "Second one" in client.get(r.location).text


def test_serve_refuses_to_start_without_key(home_dir, capsys):
    from webcrypt.edges import cli

    (home_dir / "master.key").unlink()
    status = cli.main(["--config", str(home_dir / "webcrypt.toml"), "serve", "--listen", "127.0.0.1:12698"])
    assert status == 10 and "master key file" in capsys.readouterr().err


def test_serve_refuses_to_start_without_database(home_dir, capsys):
    from webcrypt.edges import cli

    (home_dir / "webcrypt.db").unlink()
    status = cli.main(["--config", str(home_dir / "webcrypt.toml"), "serve", "--listen", "127.0.0.1:12698"])
    assert status == 15 and "database" in capsys.readouterr().err


def test_other_session_cannot_read_an_upload_it_did_not_open(app, portal_home):
    client = Client(app)
    upload = ready(client, portal_home)
    assert client.get(f"/message/{upload}").status == 200  # now in the view cache
    other = Client(app)
    page = other.get("/login")
    other.post("/login", {"csrf": page.field("csrf"), "address": "alice@example.org", "password": NEW_PASSWORD})
    for path in ("", "/body", "/eml", "/part/0", "/reply"):
        assert other.get(f"/message/{upload}{path}").status == 404, path


def test_plaintext_never_touches_the_disk(app, portal_home, sink, monkeypatch):
    import tempfile

    import bottle

    def refuse(*args, **kwargs):
        raise AssertionError("a temporary file was created")

    monkeypatch.setattr(bottle, "NamedTemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    big = PLAIN.replace(b"Dear Alice", b"Dear Alice " + b"x" * 2_000_000)
    client = Client(app)
    upload = ready(client, portal_home, big)
    assert client.get(f"/message/{upload}/eml").body == big
    form = reply_form(client, upload)
    r = client.post_multipart(f"/message/{upload}/reply", [("csrf", form.field("csrf")), ("subject", "s"),
                                                           ("text", "y" * 500_000)],
                              [("attachment", "big.bin", b"z" * 3_000_000)])
    assert r.status == 303 and len(sink.messages) == 1


OTHER_LANGUAGES = [code for code in languages.LANGUAGES if code != languages.DEFAULT]


@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_every_text_of_the_portal_has_a_translation(code):
    from pathlib import Path

    from webcrypt.edges.portal import failures, i18n

    folder = Path(failures.__file__).parent / "templates"
    texts = set()
    for template in folder.glob("*.tpl"):
        if not template.name.startswith("admin_"):
            texts |= {m.group(2) for m in re.finditer(r'_\((["\'])(.*?)\1\)', template.read_text())}
    texts |= failures.texts()
    translated = i18n.catalogue(code)
    assert len(texts) > 60
    assert sorted(t for t in texts if t not in translated) == []


@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_every_error_shown_to_recipients_has_a_translation(code):
    from pathlib import Path

    import webcrypt
    from webcrypt.edges.portal import i18n

    root = Path(webcrypt.__file__).parent
    shown = r"(LoginFailed|PasswordRejected|BadRequest|NotFound|MessageExpired|MessageRevoked|Throttled|SessionExpired|EnvelopeError)"
    sources = ["usecases/login.py", "usecases/inbox.py", "usecases/reply.py", "usecases/throttle.py", "core/envelope.py",
               "core/crypto.py", "edges/portal/pages.py", "edges/portal/web.py"]
    messages = set()
    for name in sources:
        messages |= {m.group(2) for m in re.finditer(shown + r'\((?:f?)"([^"{]+)"\)', (root / name).read_text())}
    translated = i18n.catalogue(code)
    assert len(messages) > 25
    assert sorted(m for m in messages if m not in translated) == []


def test_reply_form_quotes_in_the_users_language(app, portal_home):
    client = Client(app, language="de")
    upload = ready(client, portal_home)
    form = reply_form(client, upload)
    assert "schrieb am 1. Januar 2027, 10:00 (UTC):" in form.text and "Sicher antworten" in form.text


def test_uploads_are_throttled_per_client(app, portal_home):
    envelope, _, _ = encrypt(portal_home)
    client = Client(app, remote_addr="192.0.2.77")
    statuses = [client.post("/open", posted(envelope)).status for _ in range(121)]
    assert statuses[:120] == [303] * 120 and statuses[120] == 429
    assert Client(app).post("/open", posted(envelope)).status == 303  # another client is not affected


def test_language_link_of_a_logged_in_recipient_is_kept(app, portal_home):
    client = Client(app)
    upload = ready(client, portal_home)
    assert "Sicher antworten" in client.get(f"/message/{upload}?lang=de").text
    assert store.Recipient.get().language == "de"
    session_only = {k: v for k, v in client.cookies.items() if "lang" not in k}
    assert "Sicher antworten" in Client(app, cookies=session_only).get(f"/message/{upload}").text


def test_reply_keeps_non_ascii_text_subject_and_file_names(app, portal_home, sink):
    client = Client(app)
    upload = ready(client, portal_home)
    form = reply_form(client, upload)
    r = client.post_multipart(f"/message/{upload}/reply", [("csrf", form.field("csrf")), ("subject", "Grüße €"),
                                                           ("text", "Viele Grüße – Jürgen €")],
                              [("attachment", "Übersicht.pdf", b"%PDF")])
    assert r.status == 303
    message = email.message_from_bytes(sink.messages[-1].content, policy=email.policy.default)
    assert message["Subject"] == "Grüße €"
    assert "Viele Grüße – Jürgen €" in message.get_body(("plain",)).get_content()
    assert [a.get_filename() for a in message.iter_attachments()] == ["Übersicht.pdf"]


def test_attached_message_is_one_eml_attachment():
    inner = b"From: a@example.org\nSubject: Inner\n\nInner text\n"
    raw = (b"From: clerk@bank.example\nSubject: Fwd\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=Q\n\n"
           b"--Q\nContent-Type: text/plain\n\nOuter text\n--Q\nContent-Type: message/rfc822\n\n" + inner + b"--Q--\n")
    view = reading.parse(raw)
    assert view.text.strip() == "Outer text"
    (item,) = view.attachments
    assert item.filename.endswith(".eml") and item.content_type == "message/rfc822"
    described, data = reading.attachment(raw, item.index)
    data = bytes(data)  # a view into raw when the part needs no decoding
    assert b"Subject: Inner" in data and b"Inner text" in data and b"message/rfc822" not in data


def test_database_outage_gives_a_clear_503_page(app, portal_home):
    client = Client(app)
    ready(client, portal_home)
    folder = portal_home.config.home
    store.close()
    (folder / "webcrypt.db").rename(folder / "moved.db")
    (folder / "webcrypt.db").mkdir()  # cannot be opened as a database
    try:
        page = client.get("/profile")
        assert page.status == 503 and "temporarily unavailable" in page.text and "Traceback" not in page.text
        assert client.get("/healthz").status == 503
    finally:
        (folder / "webcrypt.db").rmdir()
        (folder / "moved.db").rename(folder / "webcrypt.db")


def test_the_keyword_is_not_shown_in_the_subject(app, portal_home):
    """The carrier's subject lost the keyword; the portal shows it the same way (the original keeps it)."""
    client = Client(app)
    raw = PLAIN.replace(b"Subject: Your statement", b"Subject: [secure] Your statement")
    upload = ready(client, portal_home, raw)
    page = client.get(f"/message/{upload}")
    assert "Your statement" in page.text and "[secure]" not in page.text
    assert client.get(f"/message/{upload}/eml").body == raw


@pytest.mark.parametrize("change", ["recall", "expire"])
def test_recall_and_expiry_reach_an_open_page_at_once(app, portal_home, clock, change):
    """The view cache never outlives the message: the next request after a recall is refused."""
    client = Client(app)
    upload = ready(client, portal_home)
    assert client.get(f"/message/{upload}").status == 200  # now in the view cache
    (record,) = store.Message.select()
    if change == "recall":
        store.Message.update(revoked=portal_home.now(), data_key_wrapped=None).execute()
    else:
        store.Message.update(expires=portal_home.now() - 1).execute()
    for path in ("", "/body", "/eml"):
        page = client.get(f"/message/{upload}{path}")
        assert page.status in (404, 410), (path, page.status)
        assert "balance" not in page.text


def notices_to(sink, address):
    found = []
    for item in sink.messages:
        mail = email.message_from_bytes(item.content, policy=email.policy.default)
        if item.rcpt_tos == [address] and "password was changed" in mail["Subject"]:
            found.append(mail)
    return found


def test_a_password_change_is_notified_but_not_the_forced_first_one(app, portal_home, sink):
    client = Client(app)
    ready(client, portal_home)  # the forced first change: the recipient expects it, no notice
    assert notices_to(sink, "alice@example.org") == []
    form = client.get("/password")
    other = "orange bicycle lantern"
    client.post("/password", {"csrf": form.field("csrf"), "current": NEW_PASSWORD, "new": other, "repeat": other})
    (notice,) = notices_to(sink, "alice@example.org")
    body = notice.get_content()
    assert "alice@example.org" in body and "geändert" in body and other not in body
    assert notice["Auto-Submitted"] == "auto-generated"


def test_a_recovered_password_is_notified(app, portal_home, sink):
    client = Client(app)
    ready(client, portal_home)
    set_question(client, "First pet?", "Rex the dog")
    stranger, _ = ask_for_link(app, "alice@example.org", "192.0.2.51")
    (token,) = recovery_links(sink, "alice@example.org")
    r = answer(stranger, token, "rex the dog")
    assert r.status == 200
    new_password = re.search(r'id="new-password">([^<]+)<', r.text).group(1)
    (notice,) = notices_to(sink, "alice@example.org")
    assert new_password not in notice.get_content()


def test_a_notice_that_cannot_be_sent_does_not_undo_the_change(app, portal_home, sink):
    client = Client(app)
    ready(client, portal_home)
    write_settings(portal_home.config.path, {"mail": {"reinject": '"smtp://127.0.0.1:9"'}})
    down = Home(config.load(portal_home.config.path), clock=portal_home.clock)
    recipient = store.Recipient.get()
    login.change_password(down, recipient, NEW_PASSWORD, "orange bicycle lantern", "orange bicycle lantern", "t")
    assert login.login(down, "alice@example.org", "orange bicycle lantern", "t")
    assert "notice_failed" in [e.action for e in store.AuditEvent.select()]


def test_login_throttle_follows_the_configuration(home_dir, clock, sink):
    write_settings(home_dir / "webcrypt.toml", {"throttle": {"login_failures_per_account": "2",
                                                             "login_block_minutes": "1"}})
    home = Home(config.load(home_dir / "webcrypt.toml"), clock=clock)
    home.connect()
    encrypt(home)
    for _ in range(2):
        with pytest.raises(errors.LoginFailed):
            login.login(home, "alice@example.org", "wrong", "192.0.2.60")
    with pytest.raises(errors.Throttled):
        login.login(home, "alice@example.org", "wrong", "192.0.2.61")
    clock.advance(61)
    with pytest.raises(errors.LoginFailed):  # blocked for one minute only
        login.login(home, "alice@example.org", "wrong", "192.0.2.61")
    home.close()


def po_file(entries: dict[str, str]) -> str:
    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return "\n".join(f"msgid {quoted(k)}\nmsgstr {quoted(v)}\n" for k, v in entries.items())


def test_a_new_language_is_its_catalogues_and_one_line(app, portal_home, sink, tmp_path, monkeypatch):
    """Issue 10: a language added by its .po files (here in a folder of its own) and one line of
    base/languages.py is offered by the portal, and its pages and mails are written in it."""
    import quopri

    from webcrypt.base import languages
    from webcrypt.core import texts

    folder = tmp_path / "xx" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "portal.po").write_text(po_file({"Log in": "Xx-login", "Profile": "Xx-profile"}))
    (folder / "mail.po").write_text(po_file({
        texts.CARRIER_NOTICE: "Xx-notice from {sender}.\n", texts.SECURE_HTM_BUTTON: "Xx-open",
        texts.PASSWORD_NOTICE_SUBJECT: "xx-changed", texts.PASSWORD_NOTICE_BODY: "Xx-body {address}\n",
    }))
    monkeypatch.setenv("WEBCRYPT_LOCALE_DIR", str(tmp_path))
    monkeypatch.setitem(languages.LANGUAGES, "xx", "Xxish")  # the one line

    page = Client(app, language="xx").get("/login").text
    assert '<html lang="xx">' in page and "Xx-login" in page
    english = Client(app, language="en").get("/login").text
    assert 'hreflang="xx">Xxish</a>' in english and 'hreflang="de">Deutsch</a>' in english
    client = Client(app)
    ready(client, portal_home)
    profile = client.get("/profile")
    assert '<option value="xx" >Xxish</option>' in profile.text
    assert client.post("/profile/language", {"csrf": profile.field("csrf"), "language": "xx"}).status == 303
    assert "Xx-profile" in client.get("/profile").text and store.Recipient.get().language == "xx"

    # The account's language first, then the configured second language (German by default).
    sealed = gateway.encrypt(portal_home, PLAIN, "clerk@bank.example", ["alice@example.org"])[0]
    notice = quopri.decodestring(sealed.data).decode("utf-8", "replace")
    assert "\n\nXx-notice from clerk@bank.example.\n\n--\nclerk@bank.example hat Ihnen" in notice
    secure_htm = mime.secure_htm_of(sealed.data)
    assert b'<html lang="xx">' in secure_htm and b"Xx-open / Nachricht &ouml;ffnen</button>" in secure_htm
    sink.messages.clear()
    form = client.get("/password")
    client.post("/password", {"csrf": form.field("csrf"), "current": NEW_PASSWORD, "new": "amber lantern meadow",
                              "repeat": "amber lantern meadow"})
    [mail] = [email.message_from_bytes(m.content, policy=email.policy.default) for m in sink.messages]
    assert mail["Subject"].endswith(": xx-changed / Ihr Passwort wurde geändert")
    assert mail.get_content().replace("\r\n", "\n").startswith("Xx-body alice@example.org\n\n--\nDas Passwort Ihres")
