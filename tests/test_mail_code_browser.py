"""Sign-in code by mail in headless Chromium against a real `webcrypt serve`: secure.htm from
file://, "Email me a sign-in code" by keyboard, the code from a real SMTP sink, the message
opens; the pages pass axe-core (WCAG 2.1 AA) on a phone."""

import os
import re

import pytest

from test_portal_browser import AXE, CHROMIUM, browser, letter, secure_htm, served_portal, shot, sink_serving

PORTAL_PORT, SINK_PORT = 12656, 12657
PORTAL = f"http://127.0.0.1:{PORTAL_PORT}"
_FIXTURES = (browser,)
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")


@pytest.fixture(scope="module")
def sink():
    yield from sink_serving(SINK_PORT)


@pytest.fixture(scope="module")
def portal(tmp_path_factory, sink):
    yield from served_portal(tmp_path_factory.mktemp("codes") / "home", PORTAL, PORTAL_PORT, {
        "accounts": {"mail_code_domains": '["example.org"]'},
        "mail": {"reinject": f'"smtp://127.0.0.1:{SINK_PORT}"', "from": '"webcrypt@bank.example"'},
    }, threads=2)


def no_violations(page):
    violations = AXE.Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]


def test_sign_in_with_a_mailed_code_by_keyboard_on_a_phone(browser, portal, sink, tmp_path):
    path, _ = secure_htm(portal, tmp_path, letter("fay@example.org", "Offer", "Hello Fay", "code1"), "fay@example.org")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(path.as_uri())
    page.wait_for_url(f"{PORTAL}/login?upload=*")
    page.get_by_text("Email me a sign-in code").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/login/code?upload=*")
    no_violations(page)
    page.keyboard.type("fay@example.org")  # the address field has the focus
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/login/code")
    assert "If this address can sign in with a code, we have sent one" in page.content()
    no_violations(page)
    shot(page, "mail-code")
    for _ in range(50):
        mails = [m for m in sink.messages if m.rcpt_tos == ["fay@example.org"]]
        if mails:
            break
        page.wait_for_timeout(100)
    code = re.search(rb"^\s+(\d{4} \d{4})\s*$", mails[-1].content.replace(b"\r\n", b"\n"), re.MULTILINE).group(1)
    page.keyboard.type(code.decode())  # the code field has the focus
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/message/*")
    assert "Hello Fay" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()
