"""Sessions a person can see and end (issue 12, item 6): the recipient's profile and the console,
in process (WSGI) against a real home; the User-Agent labels; the schema 6 migration."""

import re
import sqlite3

import pytest

from conftest import write_settings
from portal_client import Client
from webcrypt.base import config
from webcrypt.context.home import Home
from webcrypt.core import useragent
from webcrypt.edges.portal import create_app
from webcrypt.infra import store
from webcrypt.usecases import accounts, admins, sessions

PASSWORD = "a long recipient password"
ADMIN_PASSWORD = "a long admin password"
PROXY = "10.0.0.1"

CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.6367.82 Mobile Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.4 Mobile/15E148 Safari/604.1")
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
EDGE_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51")
CHROMIUM_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Ubuntu Chromium/83.0.4103.61 Chrome/83.0.4103.61 Safari/537.36")
SAFARI_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.4 Safari/605.1.15")
CHROME_IPAD = ("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
               "CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1")
SAMSUNG = ("Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
           "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36")
FIREFOX_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                  "FxiOS/125.0 Mobile/15E148 Safari/605.1.15")
OPERA_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/123.0.0.0 Safari/537.36 OPR/109.0.0.0")
CHROMEOS = ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Safari/537.36")


@pytest.mark.parametrize("header, label", [
    (CHROME_ANDROID, "Chrome on Android"),
    (SAFARI_IPHONE, "Safari on iPhone"),
    (FIREFOX_WINDOWS, "Firefox on Windows"),
    (EDGE_WINDOWS, "Edge on Windows"),
    (CHROMIUM_LINUX, "Chromium on Linux"),
    (SAFARI_MAC, "Safari on macOS"),
    (CHROME_IPAD, "Chrome on iPad"),
    (SAMSUNG, "Samsung Internet on Android"),
    (FIREFOX_IPHONE, "Firefox on iPhone"),
    (OPERA_WINDOWS, "Opera on Windows"),
    (CHROMEOS, "Chrome on ChromeOS"),
    ("curl/8.5.0", "curl"),
    ("", "Unknown browser"),
    (None, "Unknown browser"),
    ("Mozilla/5.0 (compatible; SomeBot/1.0)", "Unknown browser"),
    ("Mozilla/5.0 (Windows NT 10.0) Gecko/20100101 Mystery/1.0", "Unknown browser on Windows"),
    ("x" * 100_000 + " Firefox/125.0", "Unknown browser"),  # read only as far as a real header goes
])
def test_user_agent_labels(header, label):
    assert useragent.describe(header) == label


def test_a_label_in_other_words():
    device = useragent.parse(FIREFOX_WINDOWS)
    assert device.label(on="{browser} unter {system}", unknown="Unbekannt") == "Firefox unter Windows"
    assert useragent.Device().label(unknown="Unbekannter Browser") == "Unbekannter Browser"


# The recipient's profile


@pytest.fixture
def home(home_dir, clock):
    path = home_dir / "webcrypt.toml"
    write_settings(path, {"portal": {"secure_cookies": "false", "trusted_proxies": f'["{PROXY}"]'},
                          "accounts": {"force_password_change": "false"}})
    h = Home(config.load(path), clock=clock)
    h.connect()
    accounts.create(h, "alice@example.org", PASSWORD)
    accounts.create(h, "bob@example.org", PASSWORD)
    admins.add(h, "ops", ADMIN_PASSWORD)
    admins.add(h, "eve", ADMIN_PASSWORD)
    yield h
    h.close()


@pytest.fixture
def app(home):
    return create_app(home)


class Browser(Client):
    """A client with a User-Agent and, behind the proxy, the address the proxy forwards."""

    def __init__(self, app, agent: str, forwarded: str = "", remote_addr: str = PROXY):
        super().__init__(app, remote_addr=remote_addr)
        self.agent, self.forwarded = agent, forwarded

    def request(self, method, path, body=b"", headers=None, content_type=None):
        sent = {"User-Agent": self.agent, **({"X-Forwarded-For": self.forwarded} if self.forwarded else {}),
                **(headers or {})}
        return super().request(method, path, body, sent, content_type)


def signed_in(app, agent: str, forwarded: str = "", remote_addr: str = PROXY, address="alice@example.org") -> Browser:
    browser = Browser(app, agent, forwarded, remote_addr)
    page = browser.get("/login")
    answer = browser.post("/login", {"csrf": page.field("csrf"), "address": address, "password": PASSWORD})
    assert (answer.status, answer.location) == (303, "/profile"), answer.text
    return browser


def listed(page) -> list[dict]:
    """The sessions the profile shows, in order: label, address, handle (None for this session)."""
    items = re.findall(r"<li>\s*<p id=\"session-\d+\"><strong>(.*?)</strong>(.*?)</p>.*?<dt>Address</dt><dd>(.*?)</dd>(.*?)</li>",
                       page.text, re.S)
    return [{"label": label, "current": "this session" in mark, "address": address,
             "handle": (re.findall(r'name="session" value="([^"]+)"', rest) or [None])[0]}
            for label, mark, address, rest in items]


def end(browser, handle, path="/profile/sessions/end"):
    return browser.post(path, {"csrf": browser.get("/profile").field("csrf"), "session": handle})


def ended_audit() -> list[store.AuditEvent]:
    return list(store.AuditEvent.select().where(store.AuditEvent.action == "session_ended"))


def test_two_logins_are_listed_with_their_address_and_device(app, home):
    phone = signed_in(app, CHROME_ANDROID, forwarded="198.51.100.7")  # behind the trusted proxy
    laptop = signed_in(app, FIREFOX_WINDOWS, forwarded="203.0.113.9, 192.0.2.44", remote_addr="192.0.2.44")
    signed_in(app, SAFARI_IPHONE, address="bob@example.org")  # someone else's: never on Alice's list
    page = laptop.get("/profile")
    assert page.status == 200 and "Your sessions" in page.text
    shown = listed(page)
    assert [(s["label"], s["address"], s["current"]) for s in shown] == [
        ("Firefox on Windows", "192.0.2.44", True),  # not a proxy: its X-Forwarded-For is not believed
        ("Chrome on Android", "198.51.100.7", False),
    ]
    assert shown[0]["handle"] is None and re.fullmatch(r"s-[0-9a-f]{32}", shown[1]["handle"])
    assert "Log out everywhere else" in page.text
    assert listed(phone.get("/profile"))[0]["label"] == "Chrome on Android"
    # the header itself is kept nowhere; the handle names the row without revealing its key or its token
    rows = list(store.Session.select())
    assert {(r.browser, r.system, r.client) for r in rows} >= {("Chrome", "Android", "198.51.100.7")}
    assert not any("Mozilla" in str(value) for r in rows for value in r.__data__.values())
    for row in rows:
        assert row.id_hash not in page.text
    assert not any(token in page.text for token in (phone.cookies["webcrypt"], laptop.cookies["webcrypt"]))


def test_the_profile_shows_sessions_in_german(app, home):
    laptop = signed_in(app, FIREFOX_WINDOWS, remote_addr="192.0.2.44")
    laptop.language = "de"
    page = laptop.get("/profile")
    assert "Ihre Sitzungen" in page.text and "Firefox unter Windows" in page.text and "diese Sitzung" in page.text


def test_ending_the_other_session_logs_it_out(app, home):
    phone = signed_in(app, CHROME_ANDROID, forwarded="198.51.100.7")
    laptop = signed_in(app, FIREFOX_WINDOWS, remote_addr="192.0.2.44")
    other = listed(laptop.get("/profile"))[1]
    answer = end(laptop, other["handle"])
    assert (answer.status, answer.location) == (303, "/profile?ended=one")
    after = laptop.get(answer.location)
    assert "The session was ended." in after.text and len(listed(after)) == 1
    gone = phone.get("/profile")
    assert gone.status == 401 and "session has ended" in gone.text
    audit = ended_audit()
    assert len(audit) == 1 and audit[0].actor == "alice@example.org" and audit[0].subject == "alice@example.org"
    assert "Chrome on Android from 198.51.100.7" in audit[0].detail and audit[0].client == "192.0.2.44"
    again = end(laptop, other["handle"])  # the form sent twice: nothing left to end
    assert again.status == 404 and "already ended" in again.text


def test_log_out_everywhere_else_keeps_this_session(app, home):
    others = [signed_in(app, agent, forwarded=f"198.51.100.{n}") for n, agent in enumerate((CHROME_ANDROID, SAFARI_IPHONE))]
    bob = signed_in(app, EDGE_WINDOWS, address="bob@example.org")
    laptop = signed_in(app, FIREFOX_WINDOWS, remote_addr="192.0.2.44")
    answer = laptop.post("/profile/sessions/end-others", {"csrf": laptop.get("/profile").field("csrf")})
    assert (answer.status, answer.location) == (303, "/profile?ended=others")
    page = laptop.get(answer.location)
    assert page.status == 200 and "All your other sessions were ended." in page.text
    assert [s["label"] for s in listed(page)] == ["Firefox on Windows"] and "Log out everywhere else" not in page.text
    assert all(other.get("/profile").status == 401 for other in others)
    assert bob.get("/profile").status == 200  # another person's sessions are not "others"
    assert len(ended_audit()) == 2


def test_a_handle_that_is_no_session_of_yours_ends_nothing(app, home):
    phone = signed_in(app, CHROME_ANDROID, forwarded="198.51.100.7")
    bob = signed_in(app, EDGE_WINDOWS, address="bob@example.org")
    bobs_laptop = signed_in(app, FIREFOX_WINDOWS, address="bob@example.org")
    bobs_handle = listed(bob.get("/profile"))[1]["handle"]
    own = sessions.handle(sessions.find(home, phone.cookies["webcrypt"], accounts.KIND))
    before = store.Session.select().count()
    for handle, status, text in [
        ("forged", 400, "not a session of yours"),
        ("s-" + "g" * 32, 400, "not a session of yours"),
        ("", 400, "not a session of yours"),
        ("s-" + "0" * 32, 404, "already ended"),
        (bobs_handle, 404, "already ended"),  # Bob's: to Alice it does not exist
        (own, 400, "log out"),  # the session in use ends by logging out
    ]:
        answer = end(phone, handle)
        assert answer.status == status and text in answer.text, handle
        assert "Your sessions" in answer.text  # the list again, with the reason
    assert store.Session.select().count() == before and ended_audit() == []
    assert bobs_laptop.get("/profile").status == 200
    forged = phone.post("/profile/sessions/end-others", {"csrf": "forged"})
    assert forged.status == 400 and "did not come from this site" in forged.text
    assert Browser(app, CHROME_ANDROID).post("/profile/sessions/end", {"session": bobs_handle}).status == 401
    assert store.Session.select().count() == before


def test_last_active_is_refreshed_without_a_write_per_request(app, home, clock):
    laptop = signed_in(app, FIREFOX_WINDOWS, remote_addr="192.0.2.44")
    started = store.Session.get().last_seen
    clock.advance(sessions.TOUCH_EVERY - 1)
    laptop.get("/profile")
    assert store.Session.get().last_seen == started  # a request moments later writes nothing
    clock.advance(1)
    laptop.get("/profile")
    assert store.Session.get().last_seen == started + sessions.TOUCH_EVERY


def test_a_password_change_continues_on_the_same_device(app, home):
    phone = signed_in(app, CHROME_ANDROID, forwarded="198.51.100.7")
    laptop = signed_in(app, FIREFOX_WINDOWS, remote_addr="192.0.2.44")
    new = "violet tractor harbour"
    answer = laptop.post("/password", {"csrf": laptop.get("/password").field("csrf"), "current": PASSWORD,
                                       "new": new, "repeat": new})
    assert answer.status == 303
    assert phone.get("/profile").status == 401
    assert [(s["label"], s["address"]) for s in listed(laptop.get("/profile"))] == [("Firefox on Windows", "192.0.2.44")]


# The console


def console(app, agent: str, remote_addr: str, name: str = "ops") -> Browser:
    browser = Browser(app, agent, remote_addr=remote_addr)
    token = browser.get("/admin/login").field("csrf")
    answer = browser.post("/admin/login", {"csrf": token, "name": name, "password": ADMIN_PASSWORD})
    assert answer.status == 303, answer.text
    return browser


def console_rows(page) -> list[tuple[str, str, str | None]]:
    """(label, address, handle or None) of each row of the console's sessions table."""
    rows = re.findall(r'<tr><td id="session-\d+">(.*?)</td>\s*<td>(.*?)</td>(.*?)</tr>', page.text, re.S)
    return [(re.sub(r"<.*?>", "", label), address, (re.findall(r'name="session" value="([^"]+)"', rest) or [None])[0])
            for label, address, rest in rows]


def console_post(browser, path, data=None):
    return browser.post(path, {"csrf": browser.get("/admin/sessions").field("csrf"), **(data or {})})


def test_an_administrator_lists_and_ends_their_own_sessions(app, home):
    laptop = console(app, FIREFOX_WINDOWS, "127.0.0.1")
    phone = console(app, SAFARI_IPHONE, "127.0.0.2")
    tablet = console(app, CHROME_IPAD, "127.0.0.3")
    colleague = console(app, EDGE_WINDOWS, "127.0.0.4", name="eve")
    page = laptop.get("/admin/sessions")
    assert page.status == 200 and "Your sessions" in page.text
    rows = console_rows(page)
    assert rows[0] == ("Firefox on Windows (this session)", "127.0.0.1", None)
    assert sorted(row[:2] for row in rows[1:]) == [("Chrome on iPad", "127.0.0.3"), ("Safari on iPhone", "127.0.0.2")]
    phone_handle = next(handle for label, _, handle in rows if label == "Safari on iPhone")
    answer = console_post(laptop, "/admin/sessions/end", {"session": phone_handle})
    assert answer.status == 200 and "The session was ended." in answer.text
    assert phone.get("/admin/users").status == 303 and "/admin/login" in phone.get("/admin/users").location
    again = console_post(laptop, "/admin/sessions/end", {"session": phone_handle})
    assert again.status == 404 and "already ended" in again.text
    eves = console_rows(colleague.get("/admin/sessions"))
    assert len(eves) == 1 and eves[0][0] == "Edge on Windows (this session)"
    answer = console_post(laptop, "/admin/sessions/end-others")
    assert answer.status == 200 and "Sessions ended: 1." in answer.text
    assert tablet.get("/admin/users").status == 303
    assert laptop.get("/admin/users").status == 200 and colleague.get("/admin/users").status == 200
    audit = ended_audit()
    assert [(e.actor, e.subject) for e in audit] == [("admin:ops", "ops")] * 2
    assert "Safari on iPhone from 127.0.0.2" in audit[0].detail


def test_the_console_refuses_handles_of_other_sessions(app, home):
    ops = console(app, FIREFOX_WINDOWS, "127.0.0.1")
    eve = console(app, EDGE_WINDOWS, "127.0.0.4", name="eve")
    alice = signed_in(app, CHROME_ANDROID, forwarded="198.51.100.7")
    alice_laptop = signed_in(app, SAFARI_MAC, forwarded="198.51.100.8")
    recipients_handle = listed(alice.get("/profile"))[1]["handle"]
    own = sessions.handle(sessions.find(home, ops.cookies["webcrypt-admin"], admins.KIND))
    eves = sessions.handle(sessions.find(home, eve.cookies["webcrypt-admin"], admins.KIND))
    before = store.Session.select().count()
    for handle, status, text in [("forged", 400, "not a session of yours"), (recipients_handle, 404, "already ended"),
                                 (eves, 404, "already ended"), (own, 400, "log out")]:
        answer = console_post(ops, "/admin/sessions/end", {"session": handle})
        assert answer.status == status and text in answer.text, handle
    assert ops.post("/admin/sessions/end", {"csrf": "forged", "session": eves}).status == 400
    # a recipient's session cannot end an administrator's, nor the other way round
    assert end(alice, eves).status == 404
    assert store.Session.select().count() == before and ended_audit() == []
    assert alice_laptop.get("/profile").status == 200 and eve.get("/admin/users").status == 200


def test_the_console_ends_all_of_a_recipients_sessions(app, home):
    phone = signed_in(app, CHROME_ANDROID, forwarded="198.51.100.7")
    laptop = signed_in(app, FIREFOX_WINDOWS, remote_addr="192.0.2.44")
    bob = signed_in(app, EDGE_WINDOWS, address="bob@example.org")
    ops = console(app, SAFARI_MAC, "127.0.0.1")
    page = ops.get("/admin/users/alice@example.org")
    assert page.status == 200 and "Active sessions" in page.text
    assert sorted(row[:2] for row in console_rows(page)) == [("Chrome on Android", "198.51.100.7"),
                                                             ("Firefox on Windows", "192.0.2.44")]
    assert all(handle is None for *_, handle in console_rows(page))  # only "end all" here
    answer = ops.post("/admin/users/alice@example.org/end-sessions", {"csrf": page.field("csrf")})
    assert answer.status == 200 and "Sessions ended: 2." in answer.text and "No active sessions." in answer.text
    assert phone.get("/profile").status == 401 and laptop.get("/profile").status == 401
    assert bob.get("/profile").status == 200 and ops.get("/admin/users").status == 200
    audit = ended_audit()
    assert {(e.actor, e.subject, e.client) for e in audit} == {("admin:ops", "alice@example.org", "127.0.0.1")}
    assert len(audit) == 2
    unknown = ops.post("/admin/users/nobody@example.org/end-sessions", {"csrf": page.field("csrf")})
    assert unknown.status == 404


# The schema


def test_a_schema_5_database_gets_the_session_columns(home_dir, clock):
    path = home_dir / "webcrypt.toml"
    home = Home(config.load(path), clock=clock)
    home.connect()
    sessions.start(home, accounts.KIND, "alice@example.org", client="192.0.2.1", user_agent=FIREFOX_WINDOWS)
    home.close()
    with sqlite3.connect(home_dir / "webcrypt.db") as db:  # what a version-5 installation has on disk
        for column in ("client", "browser", "system"):
            db.execute(f"ALTER TABLE session DROP COLUMN {column}")
        db.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    store.connect(home.config.database_url)
    try:
        assert store.migrate() == len(store.MIGRATIONS) >= 6
        row = store.Session.get()
        assert (row.principal, row.client, row.browser, row.system) == ("alice@example.org", "", "", "")
        assert store.migrate() == len(store.MIGRATIONS)  # again: nothing to do
    finally:
        store.close()
    home.connect()
    try:
        listed_ = sessions.listing(home, accounts.KIND, "alice@example.org")
        assert [(s.device.label(), s.client) for s in listed_] == [("Unknown browser", "")]
    finally:
        home.close()
