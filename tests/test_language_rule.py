"""One rule for the language (issue 14, item 5), in process: signed in, the header's language
link changes the account (mails follow); signing in brings the account's language to the browser;
signed out, the browser decides. Every page has the language switch: errors, locks, logout."""

import re

import pytest

from portal_client import Client
from test_admin_web import logged_in, web  # noqa: F401 (fixtures)
from test_portal import app, portal_home, ready, sink  # noqa: F401 (fixtures)
from webcrypt.infra import store
from webcrypt.usecases import wording

ADDRESS = "alice@example.org"
OTHERS = {"en": ("de", "fr"), "de": ("en", "fr"), "fr": ("en", "de")}
NAMES = {"en": "English", "de": "Deutsch", "fr": "Français"}


def switch(page) -> dict:
    """The header's language links: {code: href}."""
    return {code: href.replace("&amp;", "&")
            for href, code in re.findall(r'<a href="([^"]*)" lang="([a-z]+)" hreflang="[a-z]+">', page.text)}


def test_the_header_link_changes_the_account_on_a_page_that_does_not_name_the_reader(app, portal_home):
    client = Client(app)
    ready(client, portal_home)
    assert client.get("/privacy?lang=fr").status == 200
    assert store.Recipient.get().language == "fr"
    assert wording.for_address(portal_home, ADDRESS).languages[0][0] == "fr"  # mails follow the account
    assert client.get("/no-such-page?lang=de").status == 404
    assert store.Recipient.get().language == "de"
    profile = client.get("/profile")
    assert '<html lang="de">' in profile.text and re.search(r'<option value="de"[^>]*selected', profile.text)


def test_signing_in_brings_the_accounts_language_to_the_browser(app, portal_home):
    client = Client(app)
    ready(client, portal_home)
    store.Recipient.update(language="fr").execute()  # chosen on another device
    elsewhere = Client(app, language="en")
    page = elsewhere.get("/login")
    r = elsewhere.post("/login", {"csrf": page.field("csrf"), "address": ADDRESS, "password": "violet tractor harbour"})
    assert r.status == 303
    assert any(value == "fr" for name, value in elsewhere.cookies.items() if "lang" in name)
    out = elsewhere.post("/logout", {"csrf": elsewhere.get("/profile").field("csrf")})
    assert "Se connecter" in elsewhere.get(out.location).text  # signed out, the browser keeps it


def test_the_profiles_choice_is_the_browsers_too(app, portal_home):
    client = Client(app, language="en")
    ready(client, portal_home)
    csrf = client.get("/profile").field("csrf")
    assert client.post("/profile/language", {"csrf": csrf, "language": "de"}).status == 303
    client.post("/logout", {"csrf": client.get("/profile").field("csrf")})
    assert "Anmelden" in client.get("/login").text


def test_signed_out_the_browser_decides_and_no_account_changes(app, portal_home):
    client = Client(app)
    ready(client, portal_home)
    client.post("/logout", {"csrf": client.get("/profile").field("csrf")})
    assert "Anmelden" in client.get("/login?lang=de").text
    assert store.Recipient.get().language is None


@pytest.mark.parametrize("lang", ["en", "de", "fr"])
def test_error_lock_expired_and_logout_pages_have_the_language_switch(app, portal_home, lang):
    client = Client(app, language=lang)
    upload = ready(client, portal_home)
    others = OTHERS[lang]
    # an error after a form (here: the form's token is wrong) leads to the nearest page a link opens
    refused = client.post("/profile/language", {"csrf": "wrong", "language": "de"})
    assert refused.status == 400 and switch(refused) == {o: f"/profile?lang={o}" for o in others}
    # logout: the start page says goodbye and offers the languages
    bye = client.get(client.post("/logout", {"csrf": client.get("/profile").field("csrf")}).location)
    assert switch(bye) == {o: f"?bye=1&lang={o}" for o in others}
    assert all(NAMES[o] in bye.text for o in others)
    # expired: the same page in the other language
    expired = client.get(f"/message/{upload}")
    assert expired.status == 401 and switch(expired) == {o: f"?lang={o}" for o in others}
    # a refused login and a lock: back to the login form, with the message it leads to
    form = client.get(f"/login?upload={upload}")
    for _attempt in range(10):
        wrong = client.post("/login", {"csrf": form.field("csrf"), "upload": upload, "address": ADDRESS,
                                       "password": "not the password"})
        assert wrong.status in (401, 429) and f'<html lang="{lang}">' in wrong.text
        assert switch(wrong) == {o: f"/login?upload={upload}&lang={o}" for o in others}
    assert wrong.status == 429
    other = client.get(switch(wrong)[others[0]])
    assert f'<html lang="{others[0]}">' in other.text and other.field("upload") == upload


def test_the_consoles_switch_keeps_the_page_and_is_on_its_error_pages_too(web):
    """Administrators have no stored language: the browser's choice is the console's one rule."""
    client = logged_in(web)
    listing = client.get("/admin/users?q=alice")
    assert switch(listing) == {"de": "?q=alice&lang=de", "fr": "?q=alice&lang=fr"}
    refused = client.post("/admin/settings", {"csrf": "wrong"})
    assert refused.status == 400 and switch(refused) == {"de": "/admin/settings?lang=de", "fr": "/admin/settings?lang=fr"}
    assert "Überwachung" in client.get("/admin/?lang=de").text
