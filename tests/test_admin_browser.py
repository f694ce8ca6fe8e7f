"""A real browser (headless Chromium) in the web console: an administrator resets the password
of a locked-out recipient, the login data reach an SMTP sink, and the recipient logs in with
them and still reads an old message."""

import email
import re
import threading
from pathlib import Path

import pytest

from conftest import tab_to, write_settings
from gateway_support import Sink
from webcrypt.base import config
from webcrypt.core import contrast, mime
from webcrypt.infra import store
from webcrypt.usecases import admins, gateway
from webcrypt.context.home import Home
from webcrypt.edges.portal import create_app

playwright = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # screenshots, kept after the run (gitignored)
SINK_PORT = 12721
WEB_PORT = 12722
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ADMIN_PASSWORD = "browser admin password"
MESSAGE = b"From: service@bank.example\nTo: alice@example.org\nSubject: Old letter\n\nstill here\n"


@pytest.fixture
def server(home_dir):
    path = home_dir / "webcrypt.toml"
    write_settings(path, {
        "portal": {"secure_cookies": "false", "url": f'"http://127.0.0.1:{WEB_PORT}"'},
        "mail": {"reinject": f'"smtp://127.0.0.1:{SINK_PORT}"'},
        "accounts": {"credentials_to": '"recipient"', "scrypt_log_n": "12"},
    })
    home = Home(config.load(path))
    home.connect()
    from waitress.server import create_server

    web = create_server(create_app(home), host="127.0.0.1", port=WEB_PORT, threads=4)
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    yield home
    web.close()
    thread.join(timeout=10)
    home.close()


@pytest.fixture
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_admin_resets_a_locked_out_recipient_who_then_reads_an_old_message(server, browser, tmp_path):
    home = server
    admins.add(home, "ops", ADMIN_PASSWORD)
    with Sink(SINK_PORT) as sink:
        old = gateway.encrypt(home, MESSAGE, "service@bank.example", ["alice@example.org"])[0]
        store.Recipient.update(locked_until=home.now() + 900, failed_logins=5).execute()

        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        page.goto(f"http://127.0.0.1:{WEB_PORT}/admin/users")
        page.fill("#name", "ops")
        page.fill("#password", ADMIN_PASSWORD)
        page.keyboard.press("Enter")  # keyboard only
        page.wait_for_url(re.compile(r"/admin/users$"))
        page.fill("#q", "alice")
        page.keyboard.press("Enter")
        page.click("text=alice@example.org")
        assert "locked" in page.inner_text("main")
        shot(page, "admin-user-locked")
        page.click("button:has-text('Unlock')")
        assert "unlocked" in page.inner_text("main")
        page.click("button:has-text('Reset password')")  # not yet: the box must be ticked first
        assert "login data were sent" not in page.inner_text("main")
        page.check("text=The current password stops working at once")
        page.click("button:has-text('Reset password')")
        assert "login data were sent" in page.inner_text("main")
        shot(page, "admin-user-reset")
        for path in ("/admin/", "/admin/messages", "/admin/branding", "/admin/settings", "/admin/audit"):
            page.goto(f"http://127.0.0.1:{WEB_PORT}{path}?lang=de" if path == "/admin/" else
                      f"http://127.0.0.1:{WEB_PORT}{path}")
            shot(page, "admin-" + (path.strip("/").removeprefix("admin").strip("/") or "monitor"))
        page.goto(f"http://127.0.0.1:{WEB_PORT}/admin/users/alice@example.org?lang=en")
        no_horizontal_scroll = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert no_horizontal_scroll

        mails = sink.to("alice@example.org")
        assert len(mails) == 2  # first login data, then the reset
    body = email.message_from_bytes(mails[-1].data).get_payload(decode=True).decode()
    password = re.search(r"Password:\s+(\S+)", body).group(1)
    assert password not in page.content()

    recipient_logs_in_and_reads(home, browser, old, password, tmp_path)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def recipient_logs_in_and_reads(home, browser, old, password, folder):
    """secure.htm from the file system, the portal's login with the mailed password, the forced
    password change, and the old message is there."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    htm = folder / "secure.htm"
    htm.write_bytes(mime.secure_htm_of(old.data))
    page.goto(htm.as_uri())  # its script posts the envelope to the portal
    page.wait_for_url(re.compile(r"/login"))
    page.fill("#address", "alice@example.org")
    page.fill("#password", password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/password"))  # the reset forces a new password
    page.fill("#new", "violet harbour lantern 42")
    page.fill("#repeat", "violet harbour lantern 42")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/message/"))
    assert "Old letter" in page.inner_text("main")
    page.wait_for_load_state("networkidle")
    shown = "".join(frame.content() for frame in page.frames)
    assert "still here" in shown
    shot(page, "admin-recipient-reads-old-message")


def test_an_administrator_ends_another_console_session_by_keyboard(server, browser):
    """(axe-core checks the sessions page on a phone and a desk: tests/test_accessibility_browser.py)"""
    admins.add(server, "ops", ADMIN_PASSWORD)
    pages = []
    for viewport in ({"width": 390, "height": 844}, {"width": 1280, "height": 800}):  # a phone, then a desk
        page = browser.new_context(viewport=viewport).new_page()
        page.goto(f"http://127.0.0.1:{WEB_PORT}/admin/sessions")
        page.fill("#name", "ops")
        page.fill("#password", ADMIN_PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/admin/sessions$"))
        pages.append(page)
    phone, desk = pages
    phone.reload()
    assert phone.locator("main tbody tr").count() == 2
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(desk, "admin-sessions")
    tab_to(desk, "End session")  # keyboard only: to the other session's button, then Enter
    assert desk.evaluate("document.activeElement.getAttribute('aria-describedby')") == "session-1"
    with desk.expect_navigation():
        desk.keyboard.press("Enter")
    assert "The session was ended." in desk.inner_text("main") and desk.locator("main tbody tr").count() == 1
    phone.goto(f"http://127.0.0.1:{WEB_PORT}/admin/users")
    assert "/admin/login" in phone.url


def test_admin_sets_up_the_app_on_a_phone_and_later_logs_in_with_a_recovery_code(server, browser):
    """The keyboard only, on a phone: the QR code and the codes are shown, are announced as such,
    and a recovery code gets the administrator in once the phone is 'lost'."""
    admins.add(server, "ops", ADMIN_PASSWORD)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"http://127.0.0.1:{WEB_PORT}/admin/second-factor")
    page.fill("#name", "ops")
    page.fill("#password", ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/admin/second-factor$"))
    page.fill("#password", ADMIN_PASSWORD)
    page.focus("button[value=enrol]")
    page.keyboard.press("Enter")
    qr_code = page.get_by_role("img", name="QR code for your authenticator app")
    qr_code.wait_for()
    box = qr_code.bounding_box()
    assert box["width"] >= 150 and box["x"] + box["width"] <= 390  # big enough to scan, inside the screen
    codes = page.locator("ol.codes li").all_inner_texts()
    assert len(codes) == 10
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "admin-second-factor-enrolled")
    page.click("button:has-text('Log out')")
    page.click("text=Lost your phone? Use a recovery code instead")
    page.fill("#name", "ops")
    page.fill("#password", ADMIN_PASSWORD)
    page.fill("#code", codes[0])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/admin/$"))
    assert admins.recovery_codes_left("ops") == 9


# --- the console's pages: the screen's width and the focus ring (issue 14; axe-core in test_accessibility_browser)

CONSOLE_PAGES = ("/admin/audit", "/admin/users", "/admin/messages", "/admin/settings", "/admin/branding",
                 "/admin/users/alice@example.org")

# the focused element's outline as the browser draws it: its colour (rgb(...)), style and width
FOCUS_OUTLINE = """(() => { const e = document.activeElement, s = getComputedStyle(e);
    return e === document.body || s.outlineStyle !== 'solid' || parseFloat(s.outlineWidth) < 2 ? '' : s.outlineColor })()"""


def log_in(page):
    page.goto(f"http://127.0.0.1:{WEB_PORT}/admin/login")
    page.fill("#name", "ops")
    page.fill("#password", ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/admin/$"))


def rgb_text_as_hex(text: str) -> str:
    assert text, "no element has a visible focus ring"
    return contrast.hex_of(tuple(int(n) for n in re.findall(r"\d+", text)[:3]))


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_console_pages_fit_the_screen_and_show_a_visible_focus_ring(server, browser, viewport):
    home = server
    admins.add(home, "ops", ADMIN_PASSWORD)
    with Sink(SINK_PORT):  # the login data go out by mail
        gateway.encrypt(home, MESSAGE, "service@bank.example", ["alice@example.org"])
    for n in range(40):  # enough rows that the audit table scrolls sideways on a phone
        store.AuditEvent.create(at=home.now(), actor="admin:ops", action="login_locked", subject=f"user{n}@example.org",
                                detail=f"until {home.now() + 900} after five wrong passwords in a row", client="192.0.2.1")
    page = browser.new_page(viewport=viewport)
    log_in(page)
    for path in CONSOLE_PAGES:
        page.goto(f"http://127.0.0.1:{WEB_PORT}{path}")  # axe-core: tests/test_accessibility_browser.py
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert fits, path
        if viewport["width"] == 1366 and path == "/admin/messages":  # the actions are not cut off
            assert page.evaluate("[...document.querySelectorAll('.scroll')].every(e => e.scrollWidth <= e.clientWidth + 1)")
        page.keyboard.press("Tab")  # the skip link, then the first link of the header
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        on_header = rgb_text_as_hex(page.evaluate(FOCUS_OUTLINE))
        brand = contrast.readable_brand(home.config["branding.color"])
        assert contrast.ratio(on_header, brand) >= 3, (path, on_header)
    page.goto(f"http://127.0.0.1:{WEB_PORT}/admin/settings")
    page.focus("#s-policy\\.keyword")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # keyboard focus: :focus-visible applies
    in_main = rgb_text_as_hex(page.evaluate(FOCUS_OUTLINE))
    assert contrast.ratio(in_main, "#ffffff") >= 3, in_main
    page.close()


def test_the_audit_scroll_region_is_reached_with_the_keyboard(server, browser):
    admins.add(server, "ops", ADMIN_PASSWORD)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    log_in(page)
    page.goto(f"http://127.0.0.1:{WEB_PORT}/admin/audit")
    page.focus("button:has-text('Filter')")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('scroll')")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')")
    page.close()
