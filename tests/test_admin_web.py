"""The web console /admin and /metrics, in-process (WSGI) against a real home and a real SMTP sink."""

import email
import re

import pytest

from conftest import write_settings
from gateway_support import Sink
from webcrypt.base import config, languages
from webcrypt.core import mime
from webcrypt.infra import store
from webcrypt.usecases import accounts, admins, gateway, settings
from webcrypt.base.errors import MessageExpired, MessageRevoked
from webcrypt.context.home import Home
from webcrypt.edges.portal import create_app
from portal_client import Client

SINK_PORT = 12711
PASSWORD = "a long admin password"
MESSAGE = b"From: service@bank.example\nTo: alice@example.org\nSubject: Contract\n\nthe contract\n"


def make_home(home_dir, clock, **sections):
    path = home_dir / "webcrypt.toml"
    write_settings(path, {"portal": {"secure_cookies": "false"}, **sections})
    home = Home(config.load(path), clock=clock)
    home.connect()
    return home


@pytest.fixture
def web(home_dir, clock):
    home = make_home(home_dir, clock)
    admins.add(home, "ops", PASSWORD)
    yield home
    home.close()


def app_for(home):
    """The portal as `webcrypt serve` builds it: the console mounted at /admin, /metrics at the root."""
    return create_app(home)


def logged_in(home, **client_options) -> Client:
    client = Client(app_for(home), **client_options)
    token = client.get("/admin/login").field("csrf")
    response = client.post("/admin/login", {"csrf": token, "name": "ops", "password": PASSWORD})
    assert response.status == 303, response.text
    return client


def csrf_of(client: Client) -> str:
    return client.get("/admin/users").field("csrf")


def send_to_alice(home):
    passwords = {}
    sealed = gateway.encrypt(home, MESSAGE, "service@bank.example", ["alice@example.org"],
                             print_login_data=lambda new: passwords.update(password=new.password))
    return sealed[0], passwords["password"]


def test_only_administrators_log_in(web):
    accounts.create(web, "alice@example.org", "recipient password")
    client = Client(app_for(web))
    assert client.get("/admin").headers["location"] == "/admin/"
    first = client.get("/admin/users")
    assert first.status == 303 and "/admin/login?next=%2Fadmin%2Fusers" in first.headers["location"]
    token = client.get("/admin/login").field("csrf")
    for name, password in (("alice@example.org", "recipient password"), ("ops", "wrong password!!")):
        refused = client.post("/admin/login", {"csrf": token, "name": name, "password": password})
        assert refused.status == 403 and "wrong" in refused.text
    assert client.post("/admin/login", {"name": "ops", "password": PASSWORD}).status == 400  # no form token
    ok = client.post("/admin/login", {"csrf": token, "name": "ops", "password": PASSWORD,
                                      "next": "/admin/messages"})
    assert ok.status == 303 and ok.headers["location"].endswith("/admin/messages")
    assert client.get("/admin/users").status == 200
    actions = [e.action for e in store.AuditEvent.select()]
    assert actions.count("admin_login_failed") == 2 and "admin_login" in actions


def test_login_is_throttled_and_next_cannot_leave_the_console(web):
    client = Client(app_for(web))
    token = client.get("/admin/login").field("csrf")
    statuses = [client.post("/admin/login", {"csrf": token, "name": "ops", "password": "nope"}).status
                for _ in range(6)]
    assert statuses[:5] == [403] * 5 and statuses[5] == 429
    other = Client(app_for(web), remote_addr="10.0.0.9")
    token = other.get("/admin/login").field("csrf")
    blocked = other.post("/admin/login", {"csrf": token, "name": "ops", "password": PASSWORD})
    assert blocked.status == 429  # the account is blocked for a while, whatever the address
    store.Throttle.delete().execute()
    ok = other.post("/admin/login", {"csrf": token, "name": "ops", "password": PASSWORD,
                                     "next": "https://evil.example/"})
    assert ok.status == 303 and ok.headers["location"] == "/admin/"  # relative, never from Host


def test_every_form_needs_the_csrf_token(web):
    accounts.create(web, "bob@example.org", "bob password")
    client = logged_in(web)
    assert client.post("/admin/users/bob@example.org/disable").status == 400
    assert client.post("/admin/users/bob@example.org/disable", {"csrf": "forged"}).status == 400
    assert not accounts.get("bob@example.org").disabled
    forms = re.findall(r'<form[^>]*method="post"[^>]*>(.*?)</form>', client.get("/admin/users/bob@example.org").text,
                       re.S)
    assert forms and all('name="csrf"' in f for f in forms)
    anonymous = Client(app_for(web))
    assert anonymous.post("/admin/users/bob@example.org/disable", {"csrf": csrf_of(client)}).status == 403


def test_security_headers_and_secure_cookie(home_dir, clock):
    home = make_home(home_dir, clock, portal={"secure_cookies": "true"})
    admins.add(home, "ops", PASSWORD)
    client = Client(app_for(home), https=True)
    page = client.get("/admin/login")
    csp = page.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'<style nonce="{nonce}">' in page.text and "frame-ancestors 'none'" in csp
    # no inline script: the one script is the static passkey script, under the page's nonce
    assert re.findall(r"<script[^>]*>", page.text) == [f'<script src="/static/passkey.js" nonce="{nonce}" defer>']
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "max-age" in page.headers["strict-transport-security"]
    response = client.post("/admin/login", {"csrf": page.field("csrf"), "name": "ops",
                                            "password": PASSWORD})
    assert "__Host-webcrypt-admin" in client.cookies
    cookie = [v for k, v in response.headers.items() if k == "set-cookie"][0]
    assert all(flag in cookie.lower() for flag in ("secure", "httponly", "samesite=lax", "path=/"))
    home.close()


def test_console_can_be_restricted_to_networks(home_dir, clock):
    home = make_home(home_dir, clock, admin={"networks": '["10.0.0.0/8"]'},
                     portal={"trusted_proxies": '["127.0.0.1"]', "secure_cookies": "false"})
    assert Client(app_for(home), remote_addr="192.0.2.1").get("/admin/login").status == 403
    assert Client(app_for(home), remote_addr="10.1.2.3").get("/admin/login").status == 200
    proxied = Client(app_for(home), remote_addr="127.0.0.1")
    assert proxied.get("/admin/login", headers={"X-Forwarded-For": "10.9.9.9"}).status == 200
    assert proxied.get("/admin/login", headers={"X-Forwarded-For": "192.0.2.1"}).status == 403
    spoofed = Client(app_for(home), remote_addr="192.0.2.1")  # not a trusted proxy: its header is ignored
    assert spoofed.get("/admin/login", headers={"X-Forwarded-For": "10.9.9.9"}).status == 403
    home.close()


def test_reset_mails_login_data_and_old_messages_stay_readable(home_dir, clock):
    home = make_home(home_dir, clock, mail={"reinject": f'"smtp://127.0.0.1:{SINK_PORT}"'},
                     accounts={"credentials_to": '"recipient"', "scrypt_log_n": "12"})
    admins.add(home, "ops", PASSWORD)
    with Sink(SINK_PORT) as sink:
        sealed = gateway.encrypt(home, MESSAGE, "service@bank.example", ["alice@example.org"])
        assert len(sink.to("alice@example.org")) == 1  # the first login data
        store.Recipient.update(locked_until=clock.now + 900, failed_logins=5).execute()
        client = logged_in(home)
        page = client.get("/admin/users?q=alice")
        assert "alice@example.org" in page.text and "locked" in page.text
        csrf = page.field("csrf")
        assert client.post("/admin/users/alice@example.org/unlock", {"csrf": csrf}).status == 200
        response = client.post("/admin/users/alice@example.org/reset", {"csrf": csrf, "confirm": "yes"})
        assert response.status == 200 and "login data were sent" in response.text
        mails = sink.to("alice@example.org")
        assert len(mails) == 2 and b"reset" in mails[1].data
    mail = email.message_from_bytes(mails[1].data)
    password = re.search(r"Password:\s+(\S+)", mail.get_payload(decode=True).decode()).group(1)
    assert password not in response.text and password not in str(mail.items())
    alice = accounts.authenticate(home, "alice@example.org", password)
    assert gateway.open_envelope(home, mime.extract_envelope(sealed[0].data), alice).message == MESSAGE
    assert accounts.get("alice@example.org").locked_until is None
    reset = store.AuditEvent.get(store.AuditEvent.action == "reset")
    assert reset.actor == "admin:ops" and reset.client == "127.0.0.1" and password not in reset.detail
    home.close()


def test_user_actions_disable_extend_delete(web, clock):
    sealed, password = send_to_alice(web)
    client = logged_in(web)
    csrf = csrf_of(client)
    client.post("/admin/users/alice@example.org/disable", {"csrf": csrf})
    assert accounts.get("alice@example.org").disabled
    assert "Enable" in client.get("/admin/users/alice@example.org").text
    client.post("/admin/users/alice@example.org/enable", {"csrf": csrf})
    assert not accounts.get("alice@example.org").disabled
    client.post("/admin/users/alice@example.org/extend", {"csrf": csrf, "days": "10"})
    assert accounts.get("alice@example.org").valid_until == clock.now + 10 * 86400
    assert client.post("/admin/users/alice@example.org/extend", {"csrf": csrf, "days": "ten"}).status == 400

    page = client.get("/admin/users/alice@example.org").text
    assert "can ever be read again" in page
    wrong = client.post("/admin/users/alice@example.org/delete", {"csrf": csrf, "confirm": "alice"})
    assert wrong.status == 400 and accounts.get("alice@example.org")
    gone = client.post("/admin/users/alice@example.org/delete", {"csrf": csrf, "confirm": "alice@example.org"})
    assert gone.status == 303
    assert store.Recipient.select().count() == 0
    assert store.Message.get_by_id(sealed.message_id).data_key_wrapped is None
    assert client.get("/admin/users/alice@example.org").status == 404
    assert [e.action for e in store.AuditEvent.select().where(store.AuditEvent.actor == "admin:ops")] == [
        "admin_login", "disable", "enable", "extend", "delete"]


def test_messages_list_recall_and_expiry(web, clock):
    first, password = send_to_alice(web)
    second = gateway.encrypt(web, MESSAGE, "hr@corp.example", ["alice@example.org"])[0]
    client = logged_in(web)
    listing = client.get("/admin/messages?sender=bank")
    assert first.message_id in listing.text and second.message_id not in listing.text
    csrf = listing.field("csrf")
    alice = accounts.authenticate(web, "alice@example.org", password)

    unconfirmed = client.post(f"/admin/messages/{first.message_id}/recall", {"csrf": csrf})
    assert unconfirmed.status == 400 and store.Message.get_by_id(first.message_id).data_key_wrapped
    recalled = client.post(f"/admin/messages/{first.message_id}/recall", {"csrf": csrf, "confirm": "yes"})
    assert recalled.status == 200 and "never be opened again" in recalled.text
    with pytest.raises(MessageRevoked):
        gateway.open_envelope(web, mime.extract_envelope(first.data), alice)

    assert client.post(f"/admin/messages/{second.message_id}/expire", {"csrf": csrf, "days": "0"}).status == 200
    clock.advance(1)
    with pytest.raises(MessageExpired):
        gateway.open_envelope(web, mime.extract_envelope(second.data), alice)
    client.post(f"/admin/messages/{second.message_id}/expire", {"csrf": csrf, "days": "5"})
    assert gateway.open_envelope(web, mime.extract_envelope(second.data), alice).message == MESSAGE
    assert client.post(f"/admin/messages/{'0' * 32}/recall", {"csrf": csrf, "confirm": "yes"}).status == 404
    assert client.post(f"/admin/messages/{first.message_id}/expire", {"csrf": csrf, "days": "5"}).status == 410  # gone for good, as the portal says too


def test_branding_is_stored_for_every_node_and_previewed(web):
    client = logged_in(web)
    csrf = csrf_of(client)
    form = {"csrf": csrf, "name": "Bank SecureMail", "organisation": "Example Bank", "color": "#003366",
            "logo_url": "", "text_de_portal_welcome": "Willkommen bei der Bank", "text_en_portal_welcome": ""}
    assert client.post("/admin/branding", form).status == 200
    stored = settings.read("branding")
    assert stored["name"] == "Bank SecureMail" and stored["texts"] == {"de": {"portal_welcome": "Willkommen bei der Bank"}}
    assert settings.text("de", "portal_welcome") == "Willkommen bei der Bank"
    other = Home(config.load(web.config.path))
    store.close()
    other.connect()  # another node reading the same database
    assert other.config["branding.name"] == "Bank SecureMail" and other.config["branding.color"] == "#003366"
    sealed = gateway.encrypt(other, MESSAGE, "service@bank.example", ["carol@example.org"],
                             print_login_data=lambda new: None)[0]
    assert b"Bank SecureMail" in sealed.data and b"#003366" in sealed.data  # carrier and secure.htm
    page = client.get("/admin/branding").text
    assert "has sent you a confidential message through Bank SecureMail" in page  # the carrier text
    assert "xxxxx-xxxxx" in page and "Bank SecureMail" in page  # the login-data mail, no real password
    preview = client.get("/admin/branding/preview")
    assert preview.status == 200 and b"Bank SecureMail" in preview.body
    assert preview.headers["content-security-policy"].startswith("sandbox")
    bad = client.post("/admin/branding", {**form, "color": "red"})
    assert bad.status == 400 and settings.read("branding")["color"] == "#003366"


def test_own_texts_go_into_carrier_secure_htm_and_login_data(web):
    import quopri

    client = logged_in(web)
    form = {"csrf": csrf_of(client), "text_en_carrier_notice": "Questions? Call {phone} at Example Bank.",
            "text_de_secure_htm_intro": "Grüße von <b>Ihrer Bank</b>",
            "text_en_login_data_intro": "Example Bank security team"}
    assert client.post("/admin/branding", form).status == 200
    store.close()
    node = Home(config.load(web.config.path))
    node.connect()
    sealed = gateway.encrypt(node, MESSAGE, "service@bank.example", ["dan@example.org"],
                             print_login_data=lambda new: None)[0]
    notice = quopri.decodestring(sealed.data).decode("utf-8", "replace")
    assert "Questions? Call {phone} at Example Bank.\n\n" in notice
    assert notice.index("Questions?") < notice.index("has sent you a confidential message")
    page = mime.secure_htm_of(sealed.data)
    assert b'<p lang="de">Gr&#252;&#223;e von &lt;b&gt;Ihrer Bank&lt;/b&gt;</p>' in page
    login_data = mime.LoginData(address="dan@example.org", password="x", portal_url="https://p", to="s@x",
                                sender="webcrypt@x", kind="relay", must_change=True, date="", message_id="1",
                                branding=node.config.values["branding"])
    body = quopri.decodestring(b"".join(mime.login_data_chunks(login_data))).decode()
    assert "Example Bank security team\n\n" in body
    assert web.file_config.values["branding"].get("texts") is None  # the file's values stay untouched


def test_mail_settings_override_the_file(web):
    client = logged_in(web)
    csrf = csrf_of(client)
    form = {f"value_{key}": "" for key in settings.OVERRIDABLE}
    form.update({"csrf": csrf, "value_policy.keyword": "WebCrypt", "value_policy.expire_days": "30",
                 "value_mail.internal_domains": "corp.example, intra.example"})
    assert client.post("/admin/settings", form).status == 200
    fresh = Home(config.load(web.config.path))
    store.close()
    fresh.connect()
    assert fresh.config["policy.keyword"] == "WebCrypt" and fresh.config["policy.expire_days"] == 30
    assert fresh.config["mail.internal_domains"] == ["corp.example", "intra.example"]
    assert fresh.file_config["policy.keyword"] == "[secure]"
    bad = client.post("/admin/settings", {**form, "value_accounts.credentials_to": "everyone"})
    assert bad.status == 400 and settings.read("config")["policy.expire_days"] == 30
    client.post("/admin/settings", {**form, "value_policy.keyword": ""})
    assert "policy.keyword" not in settings.read("config")


def test_a_french_browser_gets_the_console_in_french(web):
    french = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
    login = Client(app_for(web)).get("/admin/login", headers=french)
    assert '<html lang="fr">' in login.text and "Connexion administrateur" in login.text
    client = logged_in(web)
    page = client.get("/admin/", headers=french)
    assert '<html lang="fr">' in page.text and "Surveillance" in page.text and "Journal d’audit" in page.text
    assert "Rechercher par adresse" in client.get("/admin/users", headers=french).text


def test_monitoring_page_and_german(web):
    from webcrypt.usecases import events

    events.count(web, events.ENCRYPTED, 4)
    client = logged_in(web)
    page = client.get("/admin/")
    assert page.status == 200 and "encrypted" in page.text and "pending uploads" in page.text
    german = client.get("/admin/", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert '<html lang="de">' in german.text and "Überwachung" in german.text
    assert "Nach Adresse suchen" in client.get("/admin/users?lang=de").text
    assert "Nach Adresse suchen" in client.get("/admin/users").text  # the choice is remembered
    assert "Search by address" in client.get("/admin/users?lang=en").text
    assert "Search by address" in client.get("/admin/users").text


def test_metrics_for_allowed_networks_or_a_token(home_dir, clock):
    home = make_home(home_dir, clock, monitor={"metrics_token": '"s3cret-token"'})
    local = Client(app_for(home)).get("/metrics")
    assert local.status == 200 and local.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'webcrypt_events_total{event="encrypted"}' in local.text
    outside = Client(app_for(home), remote_addr="192.0.2.5")
    assert outside.get("/metrics").status == 403
    assert outside.get("/metrics", headers={"Authorization": "Bearer wrong"}).status == 403
    assert outside.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}).status == 200
    home.close()


@pytest.mark.parametrize("code", [code for code in languages.LANGUAGES if code != languages.DEFAULT])
def test_every_console_text_has_a_translation(code):
    from pathlib import Path

    from webcrypt.edges.portal import admin as admin_module
    from webcrypt.edges.portal import admin_text

    sources = [p.read_text() for p in Path(admin_module.TEMPLATES).glob("admin_*.tpl")]
    sources.append(Path(admin_module.__file__).read_text())
    used = set()
    for text in sources:
        used |= set(re.findall(r'_\("([^"]+)"\)', text)) | set(re.findall(r'self\.t\("([^"]+)"\)', text))
        used |= set(re.findall(r'self\.t\(\s*"([^"]+)"\s*\)', text))
    missing = sorted(u for u in used if u not in admin_text.catalogue(code))
    assert not missing, missing


def test_portal_shows_the_consoles_text_in_the_readers_language(web):
    client = logged_in(web)
    form = {"csrf": csrf_of(client), "text_en_portal_welcome": "Questions? Call Example Bank.",
            "text_de_portal_welcome": "Fragen? Rufen Sie die Bank an."}
    assert client.post("/admin/branding", form).status == 200
    reader = Client(app_for(web))
    assert "Questions? Call Example Bank." in reader.get("/login?lang=en").text
    assert "Fragen? Rufen Sie die Bank an." in reader.get("/login?lang=de").text


def test_settings_refresher_keeps_the_last_settings_when_the_database_fails(web, monkeypatch):
    from webcrypt.context import overrides
    from webcrypt.edges.portal.app import settings_refresher

    settings.save_overrides(web, {"policy.keyword": "WebCrypt"}, actor="test")
    web._settings_read = float("-inf")

    def unreadable(key):
        raise store.OperationalError("disk I/O error")

    monkeypatch.setattr(overrides, "read", unreadable)
    settings_refresher(web)()  # no exception out of a before_request hook
    assert web.config["policy.keyword"] == "WebCrypt"


def test_console_is_closed_to_the_internet_by_default(web):
    assert Client(app_for(web), remote_addr="203.0.113.7").get("/admin/login").status == 403
    assert Client(app_for(web), remote_addr="192.168.1.20").get("/admin/login").status == 200


def test_a_logo_must_be_an_https_url(web):
    from webcrypt.base import errors
    from webcrypt.usecases import settings

    with pytest.raises(errors.ConfigError, match="https://"):
        settings.save_branding(web, {"logo_url": "data:image/png;base64,AAAA"}, actor="test")
