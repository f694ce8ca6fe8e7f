"""The sender page end to end in headless Chromium against a real `webcrypt serve` (issue 13): a
sender asks for a sign-in link, gets it at an SMTP sink, opens it, sees the message "not opened";
the recipient opens and reads it in a second browser context; the sender's page says "opened";
the sender recalls it (keyboard only, after the confirmation) and the recipient's open page,
reloaded, says it was recalled. axe-core checks every sender page, on a desk and on a phone."""

import email
import email.policy
import re
import time

import pytest

from test_portal_browser import AXE, browser, first_login, letter, secure_htm, served_portal, shot, sink_serving  # noqa: F401

PORTAL_PORT, SINK_PORT = 12664, 12665
PORTAL = f"http://127.0.0.1:{PORTAL_PORT}"
CLERK = "clerk@bank.example"
LINK = re.compile(re.escape(PORTAL) + r"(/sender/link\?token=[A-Za-z0-9_-]+)")


@pytest.fixture(scope="module")
def sink():
    yield from sink_serving(SINK_PORT)


@pytest.fixture(scope="module")
def portal(tmp_path_factory, sink):
    yield from served_portal(tmp_path_factory.mktemp("senders") / "home", PORTAL, PORTAL_PORT, {
        "mail": {"reinject": f'"smtp://127.0.0.1:{SINK_PORT}"', "from": '"webcrypt@bank.example"',
                 "internal_domains": '["bank.example"]'},
    })


def sign_in_link(sink, address: str, after: int) -> str:
    """The sign-in link mailed to *address* after the sink held *after* mails (it leaves in the background)."""
    for _ in range(100):
        for item in sink.messages[after:]:
            if item.rcpt_tos == [address]:
                text = email.message_from_bytes(item.content, policy=email.policy.default).get_content()
                found = LINK.search(text)
                if found:
                    return PORTAL + found.group(1)
        time.sleep(0.1)
    raise AssertionError("no sign-in link arrived")


def wait_for_mail(sink, address: str, mentioning: str) -> str:
    """The text of a mail to *address* that names *mentioning* (a receipt leaves in the background)."""
    for _ in range(100):
        for item in sink.messages:
            if item.rcpt_tos == [address]:
                text = email.message_from_bytes(item.content, policy=email.policy.default).get_body(("plain",)).get_content()
                if mentioning in text and "/sender/link" not in text:
                    return text
        time.sleep(0.1)
    raise AssertionError(f"no mail to {address} about {mentioning}")


def clean(page) -> None:
    violations = AXE.Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]


def test_a_sender_sees_opened_then_recalls_and_the_recipient_sees_it_recalled(browser, portal, sink, tmp_path):
    # a read receipt asked for by the keyword in the subject
    path, password = secure_htm(portal, tmp_path, letter("alice@example.org", "Statement [receipt]", "Your balance", "s1"),
                                "alice@example.org")
    sender = browser.new_context(viewport={"width": 390, "height": 844})  # on a phone
    page = sender.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{PORTAL}/sender")
    clean(page)
    page.fill("#address", CLERK)
    before = len(sink.messages)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "If this address can use the sender page" in page.content()
    clean(page)
    page.goto(sign_in_link(sink, CLERK, before))
    page.wait_for_url(f"{PORTAL}/sender/messages")
    assert "not opened yet" in page.content() and "alice@example.org" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    clean(page)
    shot(page, "sender-list")

    recipient = browser.new_context()
    reading = recipient.new_page()
    reading.set_default_timeout(10_000)
    reading.goto(path.as_uri())
    first_login(reading, PORTAL, "alice@example.org", password)
    assert "Your balance" in reading.content() and "[receipt]" not in reading.content()
    receipt = wait_for_mail(sink, CLERK, "alice@example.org")
    assert "opened" in receipt and f"{PORTAL}/sender" in receipt

    page.reload()
    assert "opened first at" in page.content() and "not opened yet" not in page.content()
    page.click("table.list a")
    page.wait_for_url(f"{PORTAL}/sender/message/*")
    clean(page)
    shot(page, "sender-message")
    page.click("text=Recall this message")
    page.wait_for_url(f"{PORTAL}/sender/message/*/recall")
    clean(page)
    page.focus("form.row button[type=submit]")  # the keyboard confirms
    page.keyboard.press("Enter")
    page.wait_for_url(f"{PORTAL}/sender/message/*?done=recalled")
    assert "The message is recalled" in page.content()
    clean(page)

    reading.reload()
    assert "recalled" in reading.content()
    shot(reading, "recipient-recalled")
    page.goto(f"{PORTAL}/sender/passkeys")
    clean(page)
    recipient.close()
    sender.close()


def test_the_link_in_another_browser_is_a_clear_page(browser, portal, sink):
    asking = browser.new_context()
    page = asking.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{PORTAL}/sender")
    page.fill("#address", CLERK)
    before = len(sink.messages)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    link = sign_in_link(sink, CLERK, before)
    other = browser.new_context(locale="de-DE")
    elsewhere = other.new_page()
    response = elsewhere.goto(link)
    assert response.status == 400 and "nur in dem Browser" in elsewhere.content()
    clean(elsewhere)
    page.goto(link)
    page.wait_for_url(f"{PORTAL}/sender/messages")
    other.close()
    asking.close()
