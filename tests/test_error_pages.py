"""Error pages give the next step (issue 14, item 8): what happened, whether anything was lost,
what to do, and the organisation's contact where asking someone is the next step; each keeps its
status code, in every language. And notice mails name the organisation, not "webcrypt".

In process (WSGI): the pages are not about rendering, focus or script."""

import email
import email.policy
import html
import re

import pytest

from portal_client import Client
from test_portal import (  # noqa: F401 (fixtures)
    NEW_PASSWORD,
    app,
    encrypt,
    portal_home,
    posted,
    ready,
    sink,
)
from webcrypt.base import errors
from webcrypt.edges.portal import failures, i18n
from webcrypt.usecases import accounts, inbox, messages, notices, settings

CONTACT = {"en": "Customer service: 0800 123 456", "de": "Kundenservice: 0800 123 456",
           "fr": "Service client : 0800 123 456"}


@pytest.fixture
def with_contact(portal_home):
    settings.save_branding(portal_home, {"name": "Bank SecureMail", "organisation": "Example Bank",
                                         "texts": {code: {"contact": text} for code, text in CONTACT.items()}},
                           actor="test")
    return portal_home


def shown(page) -> str:
    return html.unescape(re.sub(r"\s+", " ", page.text))


def says(page, code: str, *texts: str) -> None:
    """*page* says each of *texts* in *code* (and, for another language, not in English)."""
    _ = i18n.translator(code)
    text = shown(page)
    for english in texts:
        assert _(english) in text, (code, english)
        if code != "en":
            assert _(english) != english, (code, english)


def contact_block(page) -> str | None:
    found = re.search(r'<div class="contact-next">(.*?)</div>', page.text, re.S)
    return html.unescape(found.group(1)) if found else None


@pytest.mark.parametrize("code", ["en", "de", "fr"])
def test_every_error_page_says_what_to_do_next_in_the_readers_language(app, with_contact, clock, monkeypatch, code):
    client = Client(app, language=code)
    upload = ready(client, with_contact)

    closed = client.get("/message/" + "0" * 32)  # a message this session does not have open (any more)
    assert closed.status == 404
    says(closed, code, failures.MESSAGE_CLOSED)
    assert contact_block(closed) is None and CONTACT[code] in closed.text  # in the footer only

    missing = client.get("/no-such-page")
    assert missing.status == 404
    says(missing, code, failures.NEXT[404], "Back to the start page")

    record = inbox.record_of(with_contact, upload)
    messages.recall(with_contact, record.id, actor="clerk@bank.example")
    recalled = client.get(f"/message/{upload}")
    assert recalled.status == 410
    says(recalled, code, failures.RECALLED, failures.CONTACT_LEAD)
    assert CONTACT[code] in contact_block(recalled)
    assert '<p class="contact">' not in recalled.text.split("<footer>")[1]  # said once, as the next step

    monkeypatch.setattr(inbox, "accept", lambda *a: (_ for _ in ()).throw(errors.StoreUnavailable("database unavailable: x")))
    unavailable = client.post("/open", posted(encrypt(with_contact)[0]))
    assert unavailable.status == 503 and "database" not in unavailable.text
    says(unavailable, code, failures.NEXT[503], failures.CONTACT_LEAD)
    assert CONTACT[code] in contact_block(unavailable)
    monkeypatch.undo()

    clock.advance(16 * 60)
    ended = client.get("/profile")
    assert ended.status == 401
    says(ended, code, failures.NEXT[401], "Log in")
    assert contact_block(ended) is None

    envelope = encrypt(with_contact)[0]
    clock.advance(91 * 86400)  # past policy.expire_days
    expired = Client(app, language=code).post("/open", posted(envelope))
    assert expired.status == 410
    says(expired, code, failures.EXPIRED, failures.CONTACT_LEAD)
    assert CONTACT[code] in contact_block(expired)


def test_without_a_contact_the_next_step_stands_alone(app, portal_home):
    client = Client(app)
    page = client.post("/open", {"envelope": "not an envelope"})
    assert page.status == 400
    says(page, "en", failures.NEXT[400])
    assert contact_block(page) is None and "Questions?" not in page.text


# Notice mails: the organisation and its contact, not "webcrypt"


def notice_to(sink, address: str) -> str:
    notices.wait_sent()
    (mail,) = [email.message_from_bytes(m.content, policy=email.policy.default) for m in sink.messages
               if m.rcpt_tos == [address]]
    return mail.get_content().replace("\r\n", "\n")


def test_a_notice_names_the_organisation_and_its_contact_in_each_language(with_contact, sink):
    accounts.create(with_contact, "gina@example.org", NEW_PASSWORD)
    accounts.set_language(accounts.get("gina@example.org"), "fr")  # French, then [mail] second_language
    sink.messages.clear()
    notices.password_changed(with_contact, "gina@example.org")
    french, german = notice_to(sink, "gina@example.org").split("\n--\n")
    assert "veuillez prévenir sans délai l’expéditeur de vos messages ou Example Bank :" in french
    assert "Si vous avez besoin d’aide, veuillez contacter :\n" + CONTACT["fr"] in french
    assert "melden Sie sich bitte sofort beim Absender Ihrer Nachrichten oder bei Example Bank:" in german
    assert "Wenn Sie Hilfe brauchen, wenden Sie sich bitte an:\n" + CONTACT["de"] in german
    sink.messages.clear()
    notices.passkey_changed(with_contact, "gina@example.org", "Phone", added=True)
    assert "Si vous avez besoin d’aide, veuillez contacter :\n" + CONTACT["fr"] in notice_to(sink, "gina@example.org")


def test_without_an_organisation_a_notice_names_the_sender_only(portal_home, sink):
    accounts.create(portal_home, "hugo@example.org", NEW_PASSWORD)
    sink.messages.clear()
    notices.password_changed(portal_home, "hugo@example.org")
    english, german = notice_to(sink, "hugo@example.org").split("\n--\n")
    assert "please tell the sender of your messages at once: someone else may know your password." in english
    assert "melden Sie sich bitte sofort beim Absender Ihrer Nachrichten: dann" in german
    assert " webcrypt at once" not in english and "bei webcrypt" not in german and "contact:" not in english
