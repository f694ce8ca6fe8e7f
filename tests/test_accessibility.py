"""The accessibility statement (/accessibility) in-process: reached from every footer, in every
language, rendered from edges/portal/accessibility.py (the lists tests/test_accessibility_browser.py
iterates in Chromium), with the organisation's contact from branding and the statement's date."""

import datetime
import hashlib
import html

import pytest

from portal_client import Client
from webcrypt.base import languages
from webcrypt.core import display
from webcrypt.edges.portal import accessibility as statement
from webcrypt.edges.portal import create_app, i18n
from webcrypt.usecases import settings

# The statement's date and the fingerprint of the lists it was written for: a changed list of pages,
# checks or limitations needs a new STATEMENT_DATE (and its fingerprint here).
REVIEWED = {"2026-12-01": "80605f48bedce710"}


def fingerprint() -> str:
    lists = (statement.STANDARD, statement.AXE_TAGS, statement.VIEWPORTS, statement.ZOOMED, statement.PAGES,
             statement.CHECKS, statement.LIMITATIONS)
    return hashlib.sha256(repr(lists).encode()).hexdigest()[:16]


def test_a_changed_list_needs_a_new_date_of_the_statement():
    assert REVIEWED.get(statement.STATEMENT_DATE) == fingerprint(), (
        "the statement's lists changed: set STATEMENT_DATE to today and its fingerprint here to " + fingerprint())


@pytest.mark.parametrize("code", [c for c in languages.LANGUAGES if c != languages.DEFAULT])
def test_every_text_of_the_statement_is_translated(code):
    translated = i18n.catalogue(code)
    assert sorted(t for t in statement.texts() if t not in translated) == []


def test_every_page_names_a_path_and_an_audience_once():
    assert all(p.audience in statement.AUDIENCES and p.path.startswith("/") for p in statement.PAGES)
    assert len({p.name for p in statement.PAGES}) == len(statement.PAGES)
    assert len({(p.path, p.signed_in, p.reach) for p in statement.PAGES}) == len(statement.PAGES)


@pytest.mark.parametrize("code", list(languages.LANGUAGES))
def test_the_statement_lists_every_page_check_and_limitation_in_each_language(home, code):
    client = Client(create_app(home))
    start = client.get(f"/?lang={code}")
    assert 'href="/accessibility"' in start.text and 'href="/privacy"' in start.text  # side by side in the footer
    page = client.get("/accessibility")
    assert page.status == 200 and f'<html lang="{code}">' in page.text
    _ = i18n.translator(code)
    shown = html.unescape(page.text)
    expected = statement.texts() | {statement.STATEMENT_DATE, statement.STANDARD, "https://portal.example.com"}
    assert sorted(t for t in expected if _(t) not in shown) == []
    assert _("Tell the organisation that sent you the message about any barrier you meet on these pages.") in shown
    # the statement's date as the reader writes dates, for screen readers as a machine date too
    day = datetime.date.fromisoformat(statement.STATEMENT_DATE)
    month = _(display.MONTHS[day.month - 1])
    written = {"en": f"{day.day} {month} {day.year}", "de": f"{day.day}. {month} {day.year}",
               "fr": f"{day.day} {month} {day.year}"}[code]
    assert f'<time datetime="{statement.STATEMENT_DATE}">{written}</time>' in page.text


def test_the_statement_names_the_organisations_contact_from_branding(home):
    settings.save_branding(home, {"name": "Bank SecureMail", "organisation": "Example Bank",
                                  "texts": {"en": {"contact": "Service desk: 0800 123 456"},
                                            "de": {"contact": "Kundendienst: 0800 123 456"}}}, actor="admin:ops")
    client = Client(create_app(home))
    english = html.unescape(client.get("/accessibility?lang=en").text)
    assert "Tell us about any barrier you meet on these pages: Service desk: 0800 123 456" in english
    assert "Example Bank wants everyone to be able to use this portal." in english
    german = html.unescape(client.get("/accessibility?lang=de").text)
    assert "Teilen Sie uns jede Barriere mit, auf die Sie auf diesen Seiten stoßen: Kundendienst: 0800 123 456" in german
