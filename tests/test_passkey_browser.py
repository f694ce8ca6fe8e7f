"""Passkeys end to end in Debian's Chromium with a virtual authenticator (Chrome DevTools
Protocol, WebAuthn domain: internal transport, resident keys, user verification) against a real
`webcrypt serve` on http://localhost (WebAuthn needs a domain; localhost is a secure context).

A recipient opens secure.htm from file://, logs in with the generated password, changes it, adds
a passkey from the offer under the message, logs out, opens a second secure.htm and signs in with
the passkey alone; on a phone-sized screen and in German too. Every page on the way passes
axe-core's WCAG 2.1 A/AA rules."""

import os

import pytest

from test_portal_browser import CHROMIUM, browser, first_login, letter, secure_htm, served_portal, shot  # noqa: F401 - browser: a fixture
from webcrypt.infra import store

playwright_api = pytest.importorskip("playwright.sync_api")
axe_api = pytest.importorskip("axe_playwright_python.sync_playwright")

PORT = 12660
PORTAL = f"http://localhost:{PORT}"
LEGACY = f"http://127.0.0.1:{PORT}"  # the same portal under an old address (portal.legacy_urls)
ADMIN_PASSWORD = "a long admin password 1"

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    yield from served_portal(tmp_path_factory.mktemp("passkey-portal") / "home", PORTAL, PORT, {
        "mail": {"reinject": '"smtp://127.0.0.1:9"'},  # notices fail (audited): no sink needed here
        "portal": {"legacy_urls": f'["{LEGACY}"]'},
    })


def virtual_authenticator(context, page) -> tuple[object, str]:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    made = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    return cdp, made["authenticatorId"]


def accessible(page, where: str) -> None:
    """axe-core's WCAG 2.0/2.1 A and AA rules on the page as it stands."""
    results = axe_api.Axe().run(page, options={"runOnly": {"type": "tag",
                                                           "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
    violations = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]]
    assert violations == [], f"{where}: {violations}"


TEXTS = {
    "en": {"offer": "Sign in faster next time with a passkey", "add": "Add a passkey", "logout": "Log out",
           "passkey": "Sign in with a passkey", "added": "Passkeys"},
    "de": {"offer": "Melden Sie sich nächstes Mal schneller mit einem Passkey an", "add": "Passkey hinzufügen",
           "logout": "Abmelden", "passkey": "Mit Passkey anmelden", "added": "Passkeys"},
}


def passkey_walk(browser, home, tmp_path, to: str, lang: str, viewport: dict, tag: str) -> None:
    said = TEXTS[lang]
    context = browser.new_context(locale="de-DE" if lang == "de" else "en-GB", viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    cdp, authenticator = virtual_authenticator(context, page)

    first, password = secure_htm(home, tmp_path, letter(to, "Statement " + tag, "First letter " + tag, tag + "1"), to)
    page.goto(first.as_uri())
    page.wait_for_url(f"{PORTAL}/login?upload=*")
    accessible(page, "login page")
    first_login(page, PORTAL, to, password)
    assert said["offer"] in page.content()
    page.get_by_role("button", name=said["add"]).wait_for()  # shown: the script found WebAuthn
    accessible(page, "message with the passkey offer")
    shot(page, f"passkey-{tag}-offer")
    reading = page.url
    with page.expect_navigation(url=reading):  # the answer is posted; back to the message
        page.get_by_role("button", name=said["add"]).click()
    assert said["offer"] not in page.content()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"]
    assert store.Passkey.select().where(store.Passkey.principal == to).count() == 1

    page.goto(f"{PORTAL}/profile")
    assert page.locator("table.list tbody tr").count() == 1
    accessible(page, "profile with a passkey")
    shot(page, f"passkey-{tag}-profile")
    page.get_by_role("button", name=said["logout"]).click()
    page.wait_for_url(f"{PORTAL}/?bye=1")

    second, _ = secure_htm(home, tmp_path, letter(to, "Statement " + tag, "Second letter " + tag, tag + "2"), to)
    page.goto(second.as_uri())
    page.wait_for_url(f"{PORTAL}/login?upload=*")
    button = page.get_by_role("button", name=said["passkey"])
    button.focus()
    page.keyboard.press("Enter")  # keyboard only: no address typed, the discoverable credential answers
    page.wait_for_url(f"{PORTAL}/message/*")
    assert "Second letter " + tag in page.content()
    shot(page, f"passkey-{tag}-signed-in")
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, "the page is wider than the screen"
    context.close()
    used = store.Passkey.get(store.Passkey.principal == to)
    assert used.last_used and used.sign_count >= 1
    actions = [e.action for e in store.AuditEvent.select().where(store.AuditEvent.subject == to)]
    assert "passkey_added" in actions and actions[-1] == "login"


def test_a_recipient_adds_a_passkey_and_reads_the_next_message_with_it(browser, portal, tmp_path):
    passkey_walk(browser, portal, tmp_path, "pia@example.org", "en", {"width": 1280, "height": 900}, "desktop")


def test_the_same_on_a_phone_in_german(browser, portal, tmp_path):
    passkey_walk(browser, portal, tmp_path, "paul@example.de", "de", {"width": 390, "height": 844}, "phone-de")


def signed_up_with_a_passkey(browser, home, tmp_path, to: str):
    """A context whose virtual authenticator holds *to*'s passkey, logged out again."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    virtual_authenticator(context, page)
    first, password = secure_htm(home, tmp_path, letter(to, "Hello", "First letter", to + "1"), to)
    page.goto(first.as_uri())
    first_login(page, PORTAL, to, password)
    with page.expect_navigation():
        page.get_by_role("button", name="Add a passkey").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{PORTAL}/?bye=1")
    return context, page


def test_a_secure_htm_for_an_old_portal_address_signs_in_with_the_passkey_on_the_current_one(browser, portal,
                                                                                            tmp_path):
    to = "lena@example.org"
    context, page = signed_up_with_a_passkey(browser, portal, tmp_path, to)
    second, _ = secure_htm(portal, tmp_path, letter(to, "Hello", "Sent to the old address", to + "2"), to)
    old = tmp_path / "old-secure.htm"
    old.write_bytes(second.read_bytes().replace(f"{PORTAL}/open".encode(), f"{LEGACY}/open".encode()))
    page.goto(old.as_uri())
    page.wait_for_url(f"{LEGACY}/login?upload=*")
    upload = page.url.split("upload=")[1]
    page.get_by_role("button", name="Sign in with a passkey").click()  # the passkey lives on the current address
    page.wait_for_url(f"{PORTAL}/login?upload={upload}")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(f"{PORTAL}/message/{upload}")
    assert "Sent to the old address" in page.content()
    context.close()


def test_an_administrator_adds_a_passkey_and_signs_in_to_the_console_with_it(browser, portal):
    from webcrypt.usecases import admins

    admins.add(portal, "ops", ADMIN_PASSWORD)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    cdp, authenticator = virtual_authenticator(context, page)
    page.goto(f"{PORTAL}/admin/passkeys")
    page.fill("#name", "ops")
    page.fill("#password", ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/admin/passkeys")
    accessible(page, "console passkeys page")
    page.fill("#passkey-new-name", "Phone")
    page.fill("#password", ADMIN_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Add a passkey").click()
    assert "Passkey added" in page.content() and page.locator("main tbody tr").count() == 1
    shot(page, "passkey-admin-added")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{PORTAL}/admin/login*")
    accessible(page, "console login with passkey")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(f"{PORTAL}/admin/")
    assert "Monitoring" in page.content()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert [c["isResidentCredential"] for c in credentials] == [True]
    context.close()
    row = store.Passkey.get(store.Passkey.principal == "ops")
    assert row.kind == "admin" and row.last_used
