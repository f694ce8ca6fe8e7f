"""The portal end to end in headless Chromium against a real `webcrypt serve`.

secure.htm is opened from file://, posts itself to the portal; the recipient
logs in, changes the forced password, reads, downloads, replies, and the reply
arrives in an SMTP sink. Again in German; and a hostile HTML mail runs no
script and loads nothing remote. Screenshots go to tests/artifacts/.
"""

import base64
import email
import email.policy
import http.server
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from conftest import tab_to, write_settings
from portal_client import wait_healthy
from webcrypt.base import config
from webcrypt.core import mime
from webcrypt.usecases import gateway, provision
from webcrypt.context.home import Home

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PORTAL_PORT, SINK_PORT, REMOTE_PORT = 12650, 12651, 12652
PORTAL = f"http://127.0.0.1:{PORTAL_PORT}"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
NEW_PASSWORD = "granite lantern orchard"

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")


class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


class Remote(http.server.BaseHTTPRequestHandler):
    """A 'remote' web server: every request to it is a privacy leak."""

    hits: list = []

    def do_GET(self):
        Remote.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def sink():
    yield from sink_serving(SINK_PORT)


def sink_serving(port: int):
    """An SMTP sink on 127.0.0.1:*port* keeping what it gets (a fixture's body)."""
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler
    controller.stop()


def first_login(page, portal: str, to: str, password: str) -> None:
    """From the login page a secure.htm led to: the generated password, then NEW_PASSWORD chosen
    at the forced change; ends on the message."""
    page.wait_for_url(f"{portal}/login?upload=*")
    page.fill("#address", to)
    page.fill("#password", password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{portal}/password")
    page.fill("#new", NEW_PASSWORD)
    page.fill("#repeat", NEW_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{portal}/message/*")


@pytest.fixture(scope="module")
def remote():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", REMOTE_PORT), Remote)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Remote.hits
    server.shutdown()


@pytest.fixture(scope="module")
def portal(tmp_path_factory, sink):
    yield from served_portal(tmp_path_factory.mktemp("portal") / "home", PORTAL, PORTAL_PORT, {
        "mail": {"reinject": f'"smtp://127.0.0.1:{SINK_PORT}"', "from": '"webcrypt@bank.example"'},
    })


def served_portal(folder: Path, url: str, port: int, settings: dict, threads: int = 4):
    """A real `webcrypt serve` for the portal at *url*, on 127.0.0.1:*port*, its home made for it and
    configured with *settings* (TOML literals per section); yields the home (a fixture's body)."""
    path = provision.init_home(folder, url)
    write_settings(path, {"accounts": {"credentials_to": '"print"', "scrypt_log_n": "12"},
                          "portal": {"listen": f'"127.0.0.1:{port}"'}})
    write_settings(path, settings)
    env = {**os.environ, "WEBCRYPT_CONFIG": str(path)}
    server = subprocess.Popen([sys.executable, "-m", "webcrypt", "serve", "--threads", str(threads)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_healthy(port, server)
        home = Home(config.load(path))
        home.connect()
        yield home
        home.close()
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
        assert b"Traceback" not in stderr


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def secure_htm(home, tmp_path, raw: bytes, to: str) -> tuple[Path, str]:
    """Encrypt *raw* for *to*; write its secure.htm; return the file and the login password."""
    login = {}
    (sealed,) = gateway.encrypt(home, raw, "clerk@bank.example", [to],
                                print_login_data=lambda new: login.update(password=new.password))
    page = mime.secure_htm_of(sealed.data)
    path = tmp_path / f"secure-{sealed.message_id[:8]}.htm"
    path.write_bytes(page)
    return path, login.get("password", "")


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"portal-{name}.png"), full_page=True)


LETTER = (b"From: Clerk <clerk@bank.example>\nTo: {to}\nSubject: {subject}\nMessage-ID: <{mid}@bank.example>\n"
          b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\n"
          b"Content-Type: text/plain; charset=utf-8\n\n{body}\n--XX\n"
          b"Content-Type: application/pdf; name=\"contract.pdf\"\n"
          b"Content-Disposition: attachment; filename=\"contract.pdf\"\nContent-Transfer-Encoding: base64\n\n"
          + base64.encodebytes(b"%PDF-1.4 the contract") + b"--XX--\n")


def letter(to: str, subject: str, body: str, mid: str) -> bytes:
    return (LETTER.replace(b"{to}", to.encode()).replace(b"{subject}", subject.encode())
            .replace(b"{body}", body.encode()).replace(b"{mid}", mid.encode()))


def walk_through(browser, home, sink, tmp_path, to, locale, texts, tag):
    path, password = secure_htm(home, tmp_path, letter(to, "Contract " + tag, "Please sign " + tag, tag), to)
    context = browser.new_context(locale=locale, accept_downloads=True, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(path.as_uri())
    page.wait_for_url(f"{PORTAL}/login?upload=*")
    assert texts["login"] in page.content() and "clerk@bank.example" in page.content()
    shot(page, f"{tag}-login")
    page.keyboard.type(to)  # keyboard only: the address field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/password")
    shot(page, f"{tag}-password")
    page.fill("#new", NEW_PASSWORD)
    page.fill("#repeat", NEW_PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{PORTAL}/message/*")
    assert "Please sign " + tag in page.content() and texts["reply"] in page.content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone
    shot(page, f"{tag}-read")
    with page.expect_download() as info:
        page.click("text=contract.pdf")
    assert Path(info.value.path()).read_bytes() == b"%PDF-1.4 the contract"
    assert info.value.suggested_filename == "contract.pdf"
    page.click(f"text={texts['reply']}")
    page.wait_for_url(f"{PORTAL}/message/*/reply")
    page.fill("#text", "Signed " + tag)
    page.set_input_files("#attachment", files=[{"name": f"Unterschrift-{tag}-ä.pdf", "mimeType": "application/pdf",
                                                "buffer": b"%PDF signed"}])
    shot(page, f"{tag}-reply")
    before = len(sink.messages)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{PORTAL}/message/*/replied")
    assert texts["sent"] in page.content()
    shot(page, f"{tag}-replied")
    page.goto(f"{PORTAL}/profile")
    shot(page, f"{tag}-profile")
    context.close()
    (arrived,) = sink.messages[before:]
    message = email.message_from_bytes(arrived.content, policy=email.policy.default)
    assert arrived.rcpt_tos == ["clerk@bank.example"] and arrived.mail_from == "webcrypt@bank.example"
    assert message["From"] == to and message["Subject"] == f"Re: Contract {tag}"
    assert message["In-Reply-To"] == f"<{tag}@bank.example>"
    assert f"Signed {tag}" in message.get_body(("plain",)).get_content()
    (attached,) = message.iter_attachments()
    assert attached.get_filename() == f"Unterschrift-{tag}-ä.pdf" and attached.get_content() == b"%PDF signed"


def test_recipient_reads_downloads_and_replies(browser, portal, sink, tmp_path):
    walk_through(browser, portal, sink, tmp_path, "alice@example.org", "en-GB",
                 {"login": "Log in", "reply": "Reply securely", "sent": "Your reply was sent securely."}, "en")


def test_the_same_in_german(browser, portal, sink, tmp_path):
    walk_through(browser, portal, sink, tmp_path, "bernd@example.de", "de-DE",
                 {"login": "Anmelden", "reply": "Sicher antworten", "sent": "Ihre Antwort wurde sicher gesendet."}, "de")


def test_the_same_in_french(browser, portal, sink, tmp_path):
    walk_through(browser, portal, sink, tmp_path, "claire@example.fr", "fr-FR",
                 {"login": "Se connecter", "reply": "Répondre de façon sécurisée",
                  "sent": "Votre réponse a été envoyée de façon sécurisée."}, "fr")


def test_hostile_html_runs_no_script_and_loads_nothing_remote(browser, portal, remote, tmp_path):
    evil = f"http://127.0.0.1:{REMOTE_PORT}"
    raw = (
        "From: clerk@bank.example\nTo: carol@example.org\nSubject: Offer\nMIME-Version: 1.0\n"
        "Content-Type: text/html; charset=utf-8\n\n"
        f"<html><head><script src='{evil}/script.js'></script><link rel=stylesheet href='{evil}/style.css'>"
        f"<style>@import url('{evil}/import.css'); body{{background:url('{evil}/bg.png')}}</style></head>"
        f"<body onload=\"fetch('{evil}/onload')\"><script>document.title='pwned';fetch('{evil}/inline')</script>"
        f"<p id=t onmouseover=\"fetch('{evil}/hover')\">Special offer</p>"
        f"<a id=js href=\"javascript:fetch('{evil}/js')\">click</a>"
        f"<img src='{evil}/pixel.png' onerror=\"fetch('{evil}/onerror')\">"
        f"<iframe src='{evil}/frame'></iframe><object data='{evil}/object'></object>"
        f"<table background='{evil}/table.png'><tr><td style=\"background:url({evil}/td.png)\">x</td></tr></table>"
        "</body></html>\n"
    ).encode()
    path, password = secure_htm(portal, tmp_path, raw, "carol@example.org")
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    requests, dialogs = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(path.as_uri())
    first_login(page, PORTAL, "carol@example.org", password)
    frame = page.frame_locator("iframe.body")
    frame.get_by_text("Special offer").hover()
    frame.get_by_text("click").click()
    page.wait_for_timeout(500)
    assert "Special offer" in frame.locator("body").inner_text()
    assert "Remote images and styles in this message were blocked" in page.content()
    shot(page, "hostile-html")
    context.close()
    assert remote == [] and dialogs == []
    assert [u for u in requests if not u.startswith((PORTAL, "file://", "data:"))] == []


def test_secure_htm_opens_by_button_where_script_is_off(browser, portal, tmp_path):
    path, _ = secure_htm(portal, tmp_path, letter("dora@example.org", "No script", "Hello Dora", "noscript"),
                         "dora@example.org")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(path.as_uri())
    assert page.url.startswith("file://")  # nothing submitted by itself
    page.get_by_role("button", name="Open message").click()
    page.wait_for_url(f"{PORTAL}/login?upload=*")
    assert "clerk@bank.example" in page.content()
    shot(page, "noscript-login")
    context.close()


def axe_violations_of_the_page(browser, path: Path) -> list:
    """axe-core needs script, and with script secure.htm submits itself: axe reads it without its one script."""
    context = browser.new_context()
    page = context.new_page()
    page.set_content(re.sub(r"<script>.*?</script>", "", path.read_text("ascii"), flags=re.S))
    violations = AXE.Axe().run(page).response["violations"]
    context.close()
    return violations


def test_secure_htm_lets_the_reader_choose_the_language_without_script(browser, portal, tmp_path):
    """An English browser, a French reader: the page's own buttons choose, by keyboard, script off."""
    path, _ = secure_htm(portal, tmp_path, letter("eloise@example.fr", "Langue", "Bonjour", "langue"),
                         "eloise@example.fr")
    context = browser.new_context(java_script_enabled=False, locale="en-GB", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(path.as_uri())
    group = page.get_by_role("group", name="Or open it in your language:")
    assert [b.inner_text() for b in group.get_by_role("button").all()] == ["English", "Deutsch", "Français"]
    shot(page, "secure-htm-languages")
    assert axe_violations_of_the_page(browser, path) == []
    group.get_by_role("button", name="Français").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/login?upload=*&lang=fr")
    assert page.locator("html").get_attribute("lang") == "fr" and "Se connecter" in page.content()
    shot(page, "secure-htm-fr-login")
    page.goto(f"{PORTAL}/login")
    assert "Se connecter" in page.content()  # the choice is kept in this browser
    context.close()


AXE = pytest.importorskip("axe_playwright_python.sync_playwright")  # axe-core, as a test dependency (pyproject)
PHONE_AGENT = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/124.0.0.0 Mobile Safari/537.36")


def signed_in_page(browser, address: str, password: str, **context_options):
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{PORTAL}/login")
    page.fill("#address", address)
    page.fill("#password", password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/profile")
    return context, page


def test_the_profile_lists_sessions_and_ends_the_other_one_by_keyboard(browser, portal):
    from webcrypt.infra import store
    from webcrypt.usecases import accounts

    accounts.create(portal, "erin@example.org", NEW_PASSWORD)
    store.Recipient.update(must_change_password=False).where(store.Recipient.address == "erin@example.org").execute()
    phone, phone_page = signed_in_page(browser, "erin@example.org", NEW_PASSWORD, user_agent=PHONE_AGENT,
                                       viewport={"width": 390, "height": 844})
    desk, page = signed_in_page(browser, "erin@example.org", NEW_PASSWORD)
    page.goto(f"{PORTAL}/profile")
    sessions = page.locator("ul.sessions > li")
    assert sessions.count() == 2 and "Chrome on Android" in sessions.nth(1).inner_text()
    violations = AXE.Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    shot(page, "sessions")
    phone_page.goto(f"{PORTAL}/profile")  # on a phone: the list fits the screen, and passes axe too
    assert phone_page.locator("ul.sessions > li").count() == 2
    assert phone_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert AXE.Axe().run(phone_page).response["violations"] == []
    shot(phone_page, "sessions-phone")
    tab_to(page, "End session")  # keyboard only: to the other session's button, then Enter
    assert page.evaluate("document.activeElement.getAttribute('aria-describedby')") == "session-1"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/profile?ended=one")
    assert "The session was ended." in page.content() and page.locator("ul.sessions > li").count() == 1
    assert AXE.Axe().run(page).response["violations"] == []
    phone_page.goto(f"{PORTAL}/profile")
    assert "session has ended" in phone_page.content()
    phone.close()
    desk.close()


def test_the_privacy_note_is_reached_from_the_footer(browser, portal):
    """Issue 13: what a recipient's sender can see, on a phone, in both languages, by keyboard
    (axe-core checks it in every language and screen: tests/test_accessibility_browser.py)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{PORTAL}/login")
    page.focus("footer a[href='/privacy']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/privacy")
    assert "Was der Absender einer Nachricht sehen kann" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "privacy-de")
    page.goto(f"{PORTAL}/privacy?lang=en")
    assert "What the sender of a message can see" in page.content()
    context.close()


PRINTED = (b"From: Clerk <clerk@bank.example>\nTo: {to}\nSubject: Your annual statement\nMessage-ID: <print-1@bank.example>\n"
           b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\n"
           b"Content-Type: text/html; charset=utf-8\n\n<html><body><p>Dear Frank,</p>"
           + b"".join(b"<p>Line %d of the statement.</p>" % n for n in range(1, 80)) +
           b"<p>The last line of the statement.</p></body></html>\n--XX\n"
           b"Content-Type: application/pdf; name=\"statement.pdf\"\n"
           b"Content-Disposition: attachment; filename=\"statement.pdf\"\nContent-Transfer-Encoding: base64\n\n"
           + base64.encodebytes(b"%PDF-1.4 statement") + b"--XX--\n")


def displayed(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "nodes => nodes.map(n => getComputedStyle(n).display)")


def test_print_shows_the_whole_message_without_the_portal_and_passes_axe(browser, portal, tmp_path):
    """Issue 14, Print: the message page and its print view print the message, not the portal."""
    to = "frank@example.org"
    path, password = secure_htm(portal, tmp_path, PRINTED.replace(b"{to}", to.encode()), to)
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(path.as_uri())
    first_login(page, PORTAL, to, password)
    page.emulate_media(media="print")  # the browser's own Print on the message page: no chrome either
    assert set(displayed(page, "header.top, nav, footer, p.actions")) == {"none"}
    assert page.is_visible("h1") and page.is_visible("dl.headers") and page.is_visible("ul.attachments")
    page.emulate_media(media="screen")
    page.click("text=Print")
    page.wait_for_url(f"{PORTAL}/message/*/print")
    assert page.is_visible("button[data-print]") and not page.is_visible("[data-print-hint]")  # the script ran
    violations = AXE.Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    shot(page, "print-view")
    page.evaluate("window.print = () => { document.body.dataset.printed = 'yes'; }")
    page.click("button[data-print]")
    assert page.get_attribute("body", "data-printed") == "yes"
    page.emulate_media(media="print")
    assert displayed(page, "nav.print-tools") == ["none"] and not page.is_visible("button[data-print]")
    assert page.locator("header.top, footer").count() == 0
    for text in ("Your annual statement", "clerk@bank.example", "Dear Frank,", "The last line of the statement.",
                 "statement.pdf"):
        assert page.get_by_text(text, exact=False).first.is_visible(), text
    assert AXE.Axe().run(page).response["violations"] == []
    shot(page, "print-view-printed")
    page.emulate_media(media="screen")
    page.click("text=Back to the message")
    page.wait_for_url(f"{PORTAL}/message/*")
    assert page.is_visible("iframe.body")  # back on the message, its body in the frame again
    context.close()


DATED = (b"From: Clerk <clerk@bank.example>\nTo: {to}\nSubject: Dated\nDate: Mon, 01 Jan 2027 10:00:00 +0000\n"
         b"Message-ID: <dated@bank.example>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nHello.\n")


def test_dates_are_shown_in_the_browsers_time_zone_and_pass_axe(browser, portal, tmp_path):
    """Issue 14, item 4: the browser's zone (Intl, told by static/timezone.js) is the one the page shows."""
    to = "tokyo@example.org"
    path, password = secure_htm(portal, tmp_path, DATED.replace(b"{to}", to.encode()), to)
    context = browser.new_context(locale="en-GB", timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(path.as_uri())
    first_login(page, PORTAL, to, password)
    shown = page.locator("dl.headers time").first
    assert shown.get_attribute("datetime") == "2027-01-01T19:00:00+09:00"
    assert shown.inner_text() == "1 January 2027, 19:00"  # the reader's own zone: no zone name beside it
    assert "10:00 (UTC+00:00) for the sender" in page.inner_text("dl.headers")
    violations = AXE.Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    context.close()


NEWSLETTER = (b"From: Example Bank <news@bank.example>\nTo: {to}\nSubject: Your quarterly newsletter\n"
              b"Message-ID: <news-1@bank.example>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n"
              b"--XX\nContent-Type: text/html; charset=utf-8\n\n<html><body><table width=\"600\" cellpadding=\"8\">"
              b"<tr><td><h1>Quarterly news</h1><p>Dear Hanna, here is what changed this quarter.</p></td></tr>"
              + b"".join(b"<tr><td><h2>Topic %d</h2><p>Rates, fees and opening hours, part %d: "
                         b"a paragraph of the length a bank's newsletter has, with a link to "
                         b"<a href=\"https://bank.example/%d\">read more</a>.</p></td></tr>" % (n, n, n) for n in range(1, 25))
              + b"<tr><td><p>The last line of the newsletter.</p></td></tr></table></body></html>\n--XX\n"
              b"Content-Type: application/pdf; name=\"rates.pdf\"\n"
              b"Content-Disposition: attachment; filename=\"rates.pdf\"\nContent-Transfer-Encoding: base64\n\n"
              + base64.encodebytes(b"%PDF-1.4 rates") + b"--XX--\n")


def test_on_a_phone_the_message_starts_on_the_first_screen_and_its_frame_fits_the_mail(browser, portal, tmp_path):
    """Issue 14, item 6: the message is the page. The body's first line is on the first screen, and
    the HTML frame is as tall as the newsletter in it (the page scrolls, the frame does not)."""
    to = "hanna@example.org"
    path, password = secure_htm(portal, tmp_path, NEWSLETTER.replace(b"{to}", to.encode()), to)
    context = browser.new_context(locale="en-GB", viewport={"width": 360, "height": 640}, user_agent=PHONE_AGENT)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(path.as_uri())
    first_login(page, PORTAL, to, password)
    frame_element = page.locator("iframe.body")
    page.wait_for_function("document.querySelector('iframe.body').classList.contains('fitted')")
    frame = frame_element.content_frame
    first_line = frame.get_by_text("Dear Hanna").bounding_box()  # in the page's coordinates
    assert first_line["y"] + first_line["height"] <= 640, first_line
    inner = frame_element.element_handle().content_frame().evaluate("({scroll: document.documentElement.scrollHeight,"
                           " client: document.documentElement.clientHeight})")
    assert inner["scroll"] <= inner["client"] and inner["client"] > 640, inner  # longer than a screen, no inner scroll
    assert page.evaluate("document.documentElement.scrollHeight > window.innerHeight")  # the page scrolls instead
    violations = AXE.Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    shot(page, "newsletter-phone")
    context.close()


def test_show_password_works_by_keyboard_and_a_refusal_keeps_the_new_password(browser, portal):
    """Issue 14, item 3: the forced change right after the login asks only for the new password;
    each field's Show button is reached with Tab and pressed with Space (aria-pressed follows); a
    mistyped repetition keeps the new password and marks the repetition; axe finds nothing."""
    from webcrypt.usecases import accounts

    accounts.create(portal, "rosa@example.org", "given password 4711 x")  # must change it at first login
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{PORTAL}/login")
    page.fill("#address", "rosa@example.org")
    page.fill("#password", "given password 4711 x")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/password")
    assert page.locator("#current").count() == 0
    assert page.evaluate("document.activeElement.id") == "new"  # the first field to fill has the focus
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Tab")
    assert page.evaluate("[document.activeElement.textContent.trim(), document.activeElement.dataset.reveal]") == [
        "Show password", "new"]
    page.keyboard.press("Space")
    assert page.get_attribute("#new", "type") == "text" and page.input_value("#new") == NEW_PASSWORD
    assert page.evaluate("document.activeElement.getAttribute('aria-pressed')") == "true"
    assert AXE.Axe().run(page).response["violations"] == []
    page.keyboard.press("Space")
    assert page.get_attribute("#new", "type") == "password"
    assert page.evaluate("document.activeElement.getAttribute('aria-pressed')") == "false"
    page.keyboard.press("Tab")
    page.keyboard.type(NEW_PASSWORD[:-1])  # the repetition mistyped
    with page.expect_navigation():  # the refusal is a new page (a POST's answer)
        page.keyboard.press("Enter")
    assert page.get_attribute("#repeat", "aria-invalid") == "true" and page.input_value("#repeat") == ""
    assert page.input_value("#new") == NEW_PASSWORD and page.get_attribute("#new", "type") == "password"
    assert page.evaluate("document.activeElement.id") == "repeat"
    violations = AXE.Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    shot(page, "password-refused")
    context.close()
