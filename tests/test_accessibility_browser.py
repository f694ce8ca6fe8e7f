"""What the accessibility statement claims, proven in Debian's Chromium against a real `webcrypt serve`.

Every test here iterates edges/portal/accessibility.py, the lists the statement at /accessibility
renders: the sweep loads each of its PAGES in every language on each of its VIEWPORTS (axe-core with
its AXE_TAGS, no sideways scrolling, and at 200% zoom on the desktop), and each walk of its CHECKS
runs one function per step it names. French and German screenshots of every page go to
tests/artifacts/ (a11y-<language>-<screen>-<page>.png).
"""

import email
import email.policy
import os
import re
import time
from pathlib import Path

import pytest

from test_portal_browser import (ARTIFACTS, CHROMIUM, NEW_PASSWORD, browser, letter, secure_htm,  # noqa: F401 - a fixture
                                 served_portal, sink_serving)
from webcrypt.base import languages
from webcrypt.core import contrast
from webcrypt.edges.portal import accessibility as statement
from webcrypt.infra import store
from webcrypt.usecases import accounts, admins, gateway
from webcrypt.core import mime

AXE = pytest.importorskip("axe_playwright_python.sync_playwright")
PORTAL_PORT, SINK_PORT = 12680, 12681
PORTAL = f"http://127.0.0.1:{PORTAL_PORT}"
ADMIN_PASSWORD = "a long admin password 1"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")
_FIXTURES = (browser,)
CHECKS = {check.key: check for check in statement.CHECKS}


@pytest.fixture(scope="module")
def sink():
    yield from sink_serving(SINK_PORT)


@pytest.fixture(scope="module")
def portal(tmp_path_factory, sink):
    yield from served_portal(tmp_path_factory.mktemp("a11y") / "home", PORTAL, PORTAL_PORT, {
        "mail": {"reinject": f'"smtp://127.0.0.1:{SINK_PORT}"', "from": '"webcrypt@bank.example"',
                 "internal_domains": '["bank.example"]'},
        "accounts": {"mail_code_domains": '["example.org"]'},
        # every context locks one address out from this one client (127.0.0.1): the client's own
        # limit would otherwise refuse the sign-ins that follow (it is tested in test_lock_and_dates)
        "throttle": {"login_failures_per_client": "1000"},
    })


# --- the sweep: every page, every language, every screen ------------------------------------------

AXE_SOURCE = AXE.Axe().axe_script
# Only the violations come back (resultTypes): the passes of a long page cost more to gather than to find.
AXE_RUN = """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
    .then(r => r.violations.map(v => [v.id, v.nodes.slice(0, 3).map(n => n.target)]))"""


def axe_violations(page) -> list:
    """axe-core's rules of the statement's tags on the page as it stands (injected once per load)."""
    page.evaluate(AXE_SOURCE)
    return page.evaluate(AXE_RUN, list(statement.AXE_TAGS))


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def ready_account(home, address: str) -> None:
    """An account whose password is NEW_PASSWORD, already chosen (no forced change)."""
    accounts.create(home, address, NEW_PASSWORD)
    store.Recipient.update(must_change_password=False).where(store.Recipient.address == address).execute()


def reader(home, tmp_path, tag: str) -> dict:
    """A recipient and a sender of their own for one browser context, a message between them, its
    secure.htm: the values the statement's paths name."""
    to, sender = f"ruth-{tag}@example.org", f"clerk-{tag}@bank.example"
    ready_account(home, to)
    (sealed,) = gateway.encrypt(home, letter(to, "Statement " + tag, "Dear Ruth " + tag, tag), sender, [to])
    path = tmp_path / f"secure-{tag}.htm"
    path.write_bytes(mime.secure_htm_of(sealed.data))
    return {"to": to, "sender": sender, "htm": path, "message": sealed.message_id, "address": to,
            "stranger": f"nobody-{tag}@example.org"}


def sign_in_recipient(page, values):
    page.goto(f"{PORTAL}/login?upload={values['upload']}")
    page.fill("#address", values["to"])
    page.fill("#password", NEW_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/message/*")


def sign_in_sender(page, values, sink):
    page.goto(f"{PORTAL}/sender")
    page.fill("#address", values["sender"])
    before = len(sink.messages)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto(mailed_link(sink, values["sender"], before))
    page.wait_for_url(f"{PORTAL}/sender/messages")


def mailed_link(sink, address: str, after: int) -> str:
    for _ in range(100):
        for item in sink.messages[after:]:
            text = email.message_from_bytes(item.content, policy=email.policy.default).get_content()
            found = re.search(r"(/sender/link\?token=[A-Za-z0-9_-]+)", text)
            if item.rcpt_tos == [address] and found:
                return PORTAL + found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no sign-in link reached {address}")


def sign_in_admin(page, values, sink):
    page.goto(f"{PORTAL}/admin/login")
    page.fill("#name", "ops")
    page.fill("#password", ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/admin/")


def reach_lock(page, values, sink):
    """Wrong passwords for an address without an account until logging in locks: checked when
    the page warns of the attempts left, and when it says until when it is locked."""
    page.goto(f"{PORTAL}/login?upload={values['upload']}")
    for attempt in range(1, 6):
        page.fill("#address", values["stranger"])
        page.fill("#password", f"not the password {attempt}")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        if attempt == 3:
            assert "2" in page.inner_text("#login-error"), "no warning of the attempts left"
            yield
    assert page.locator("#login-error time").count() == 1, "no time the lock ends"
    yield


def reach_forgot(page, values, sink):
    page.goto(f"{PORTAL}/forgot")
    page.fill("#address", values["to"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    yield


def reach_logout(page, values, sink):
    with page.expect_navigation():
        page.locator("form[action='/logout'] button").click()
    assert page.locator("form[action='/logout']").count() == 0  # signed out
    yield


REACH = {"lock": reach_lock, "forgot": reach_forgot, "logout": reach_logout}


SIGN_IN = {statement.RECIPIENTS: lambda page, values, sink: sign_in_recipient(page, values),
           statement.SENDERS: sign_in_sender, statement.ADMINISTRATORS: sign_in_admin}


def in_order() -> list:
    """The statement's pages as one browser visits them: per audience, signed out, then signed in."""
    return [p for audience, listed in statement.pages_by_audience().items()
            for p in sorted(listed, key=lambda p: p.signed_in)]


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


# One screenshot of each page per language but English, German on a phone and French on a desk:
# together they show every page in both layouts (a screenshot costs as much as a tenth of the sweep).
SCREENSHOTS = {"de": "phone", "fr": "desktop"}


def problems_of(page, checked, lang: str, screen: str) -> list[str]:
    where = f"{checked.name} ({checked.path}, {lang}, {screen})"
    found = [f"{where}: axe {v}" for v in axe_violations(page)]
    if not fits(page):
        found.append(f"{where}: wider than the screen")
    if screen == "desktop":
        page.set_viewport_size(dict(zip(("width", "height"), statement.ZOOMED)))
        if not fits(page):
            found.append(f"{where}: wider than the screen at 200% zoom")
        page.set_viewport_size(dict(zip(("width", "height"), statement.VIEWPORTS[screen])))
    if screen == SCREENSHOTS.get(lang):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"a11y-{lang}-{screen}-{slug(checked.name)}.png"), full_page=True)
    return found


def sweep_one_context(browser, home, sink, tmp_path, lang: str, screen: str) -> list[str]:
    values = reader(home, tmp_path, f"{lang}-{screen}")
    width, height = statement.VIEWPORTS[screen]
    context = browser.new_context(locale=lang, viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(values["htm"].as_uri())
    page.wait_for_url(f"{PORTAL}/login?upload=*")
    values["upload"] = re.search(r"upload=([0-9a-f]{32})", page.url).group(1)
    found, signed_in = [], set()
    for checked in in_order():
        if checked.signed_in and checked.audience not in signed_in:
            SIGN_IN[checked.audience](page, values, sink)
            signed_in.add(checked.audience)
        if checked.reach:  # the answer to a form: sent as a reader would, checked at each state
            for _state in REACH[checked.reach](page, values, sink):
                assert page.locator("html").get_attribute("lang") == lang, (checked.name, lang)
                found += problems_of(page, checked, lang, screen)
            continue
        url = PORTAL + checked.path.format(**values)
        if page.url != url:
            page.goto(url)
        assert page.locator("html").get_attribute("lang") == lang, (checked.name, lang)
        found += problems_of(page, checked, lang, screen)
    context.close()
    return found


def test_every_page_of_the_statement_passes_axe_in_every_language_on_every_screen(browser, portal, sink, tmp_path):
    admins.add(portal, "ops", ADMIN_PASSWORD)
    for n in range(40):  # enough rows that the audit table scrolls sideways on a phone
        store.AuditEvent.create(at=portal.now(), actor="admin:ops", action="login_locked", subject=f"user{n}@example.org",
                                detail="after five wrong passwords in a row", client="192.0.2.1")
    started = time.monotonic()
    found = []
    for lang in languages.LANGUAGES:
        for screen in statement.VIEWPORTS:
            found += sweep_one_context(browser, portal, sink, tmp_path, lang, screen)
    print(f"sweep: {len(statement.PAGES)} pages x {len(languages.LANGUAGES)} languages x "
          f"{len(statement.VIEWPORTS)} screens in {time.monotonic() - started:.0f} s")
    assert found == [], "\n".join(found)


# --- the walks: one function per step the statement names ------------------------------------------

FOCUS = """() => { const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  let p = e.parentElement, bg = 'rgba(0, 0, 0, 0)';
  while (p && /rgba\\(.*, 0\\)$|transparent/.test(bg)) { bg = getComputedStyle(p).backgroundColor; p = p.parentElement; }
  return {what: e.tagName + ' ' + (e.id || e.getAttribute('name') || e.textContent.trim().slice(0, 30)),
          style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor, background: bg}; }"""


def hex_of(css: str) -> str:
    channels = [int(n) for n in re.findall(r"\d+", css)[:3]]
    return contrast.hex_of(tuple(channels)) if len(channels) == 3 else "#ffffff"


def focus_is_visible(page) -> str | None:
    """The focused element's name after checking its outline (solid, 2 px at least, 3:1 against the
    background around it); None when the focus has left the page."""
    focus = page.evaluate(FOCUS)
    if focus is None:
        return None
    assert focus["style"] != "none" and focus["width"] >= 2, f"no visible focus on {focus['what']}"
    seen = contrast.ratio(hex_of(focus["color"]), hex_of(focus["background"]))
    assert seen >= 3, f"the focus outline of {focus['what']} has {seen:.2f}:1"
    return focus["what"]


def tab_to(page, selector: str, most: int = 60) -> None:
    """Tab until the focus is on *selector*, checking the outline at each stop; fails when the focus is
    stuck (a trap) or never gets there."""
    for _ in range(most):
        page.keyboard.press("Tab")
        focus_is_visible(page)
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key on {page.url}")


def no_trap(page, most: int = 80) -> None:
    """Tab through the whole page: every stop shows its focus, and the focus gets out of the page
    (or back to where it began) instead of circling inside a part of it."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    first = None
    for _ in range(most):
        page.keyboard.press("Tab")
        now = focus_is_visible(page)
        if now is None or now == first:
            assert first is not None, f"nothing on {page.url} takes the focus"
            return
        first = first or now
    raise AssertionError(f"the focus never leaves {page.url}: a keyboard trap")


class Walk:
    def __init__(self, browser, home, sink, tmp_path, tag: str, script: bool):
        self.home, self.sink = home, sink
        self.to = f"walker-{tag}@example.org"
        if not script:  # this walk has no step for the forced change: its account has none to make
            ready_account(home, self.to)
        self.path, generated = secure_htm(home, tmp_path, letter(self.to, "Contract " + tag, "Please sign " + tag,
                                                                 "walk-" + tag), self.to)
        self.password = generated or NEW_PASSWORD
        self.context = browser.new_context(locale="en-GB", java_script_enabled=script, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.tag = tag

    def run(self, steps: dict, check) -> None:
        assert list(steps) == list(check.steps), "the statement names steps this test does not run"
        try:
            for step in check.steps:
                steps[step](self)
        finally:
            self.context.close()


def key_open(walk):
    walk.page.goto(walk.path.as_uri())  # secure.htm posts itself; nothing to press
    walk.page.wait_for_url(f"{PORTAL}/login?upload=*")


def key_log_in(walk):
    page = walk.page
    no_trap(page)
    tab_to(page, "#address")
    page.keyboard.type(walk.to)
    tab_to(page, "#password")
    page.keyboard.type(walk.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/password")


def key_change_password(walk):
    """Every password field of the form by Tab: the current one gets the generated password, a new one
    the chosen password (the fields named by autocomplete, as a password manager finds them)."""
    page = walk.page
    no_trap(page)
    for field in page.locator("form input[type=password]").all():
        tab_to(page, f"#{field.get_attribute('id')}")
        current = field.get_attribute("autocomplete") == "current-password"
        page.keyboard.type(walk.password if current else NEW_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/message/*")


def key_read(walk):
    page = walk.page
    assert "Please sign " + walk.tag in page.content()
    no_trap(page)


def key_download(walk):
    page = walk.page
    page.evaluate("document.activeElement.blur()")
    tab_to(page, "a[href*='/part/']")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    assert Path(info.value.path()).read_bytes() == b"%PDF-1.4 the contract"


def key_reply(walk):
    page = walk.page
    tab_to(page, "a[href$='/reply']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/message/*/reply")
    no_trap(page)
    tab_to(page, "#text")
    page.keyboard.type("Signed by keyboard")
    tab_to(page, "form.stack button[type=submit]")
    before = len(walk.sink.messages)
    page.keyboard.press("Space")  # a button answers to Space as well as Enter
    page.wait_for_url(f"{PORTAL}/message/*/replied")
    no_trap(page)
    assert len(walk.sink.messages) == before + 1 and b"Signed by keyboard" in walk.sink.messages[-1].content


def key_log_out(walk):
    page = walk.page
    page.evaluate("document.activeElement.blur()")
    tab_to(page, "form[action='/logout'] button")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/?bye=1")
    no_trap(page)


KEYBOARD = {"Open secure.htm": key_open, "Log in": key_log_in, "Change the first password": key_change_password,
            "Read the message": key_read, "Download an attachment": key_download, "Reply": key_reply,
            "Log out": key_log_out}


def test_keyboard_only_from_secure_htm_to_logging_out(browser, portal, sink, tmp_path):
    Walk(browser, portal, sink, tmp_path, "keys", script=True).run(KEYBOARD, CHECKS["keyboard"])


def plain_open(walk):
    page = walk.page
    page.goto(walk.path.as_uri())
    assert page.url.startswith("file://")  # without script it waits for its button
    page.get_by_role("button", name="Open message").click()
    page.wait_for_url(f"{PORTAL}/login?upload=*")


def plain_log_in(walk):
    page = walk.page
    page.fill("#address", walk.to)
    page.fill("#password", walk.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{PORTAL}/message/*")


def plain_read(walk):
    assert "Please sign " + walk.tag in walk.page.content()


def plain_download(walk):
    with walk.page.expect_download() as info:
        walk.page.click("text=contract.pdf")
    assert Path(info.value.path()).read_bytes() == b"%PDF-1.4 the contract"


def plain_reply(walk):
    page = walk.page
    page.click("text=Reply securely")
    page.wait_for_url(f"{PORTAL}/message/*/reply")
    page.fill("#text", "Signed without script")
    page.set_input_files("#attachment", files=[{"name": "signed.pdf", "mimeType": "application/pdf",
                                                "buffer": b"%PDF signed"}])
    before = len(walk.sink.messages)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{PORTAL}/message/*/replied")
    (sent,) = walk.sink.messages[before:]
    assert b"Signed without script" in sent.content and b"signed.pdf" in sent.content


def plain_log_out(walk):
    walk.page.get_by_role("button", name="Log out").click()
    walk.page.wait_for_url(f"{PORTAL}/?bye=1")


NO_SCRIPT = {"Open secure.htm": plain_open, "Log in": plain_log_in, "Read the message": plain_read,
             "Download an attachment": plain_download, "Reply": plain_reply, "Log out": plain_log_out}


def test_with_javascript_off_a_recipient_opens_reads_downloads_replies_and_logs_out(browser, portal, sink, tmp_path):
    Walk(browser, portal, sink, tmp_path, "plain", script=False).run(NO_SCRIPT, CHECKS["no-script"])


PROVEN_BY = {"axe": test_every_page_of_the_statement_passes_axe_in_every_language_on_every_screen,
             "reflow": test_every_page_of_the_statement_passes_axe_in_every_language_on_every_screen,
             "keyboard": test_keyboard_only_from_secure_htm_to_logging_out,
             "no-script": test_with_javascript_off_a_recipient_opens_reads_downloads_replies_and_logs_out}


def test_every_check_the_statement_names_has_its_test_here():
    assert sorted(CHECKS) == sorted(PROVEN_BY)
    assert {p.reach for p in statement.PAGES if p.reach} == set(REACH)
