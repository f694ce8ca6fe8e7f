"""The forced first change of password (issue 14, item 3), in process: the given password is not
asked again right after a login with it; every refusal names its field and keeps what is safe."""

import re

import pytest

from portal_client import Client
from test_portal import NEW_PASSWORD, app, encrypt, open_and_login, portal_home, ready, sink  # noqa: F401 (fixtures)
from webcrypt.infra import store
from webcrypt.usecases import login

ADDRESS = "alice@example.org"


def forced(app, home, language="en"):
    """(client, the form of the forced change, the given password, the upload) right after a login."""
    envelope, account, _ = encrypt(home)
    client = Client(app, language=language)
    upload, r = open_and_login(client, envelope, ADDRESS, account.password)
    assert r.location == "/password"
    return client, client.get("/password"), account.password, upload


def input_tag(page, name: str) -> str:
    return re.search(rf'<input id="{name}"[^>]*>', page.text).group(0)


def test_the_forced_change_right_after_the_login_does_not_ask_again_for_the_given_password(app, portal_home):
    client, form, _given, upload = forced(app, portal_home)
    assert 'id="current"' not in form.text
    assert 'autocomplete="username" value="alice@example.org"' in form.text  # managers save the right login
    assert 'autocomplete="new-password"' in input_tag(form, "new") and "maxlength" not in input_tag(form, "new")
    r = client.post("/password", {"csrf": form.field("csrf"), "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert (r.status, r.location) == (303, f"/message/{upload}")
    assert not store.Recipient.get().must_change_password


def test_a_login_minutes_ago_no_longer_proves_the_given_password(app, portal_home, clock):
    client, _form, given, _upload = forced(app, portal_home)
    clock.advance(login.FRESH_LOGIN_SECONDS + 60)
    form = client.get("/password")
    assert 'id="current"' in form.text and 'autocomplete="current-password"' in form.text
    r = client.post("/password", {"csrf": form.field("csrf"), "current": "not the password", "new": NEW_PASSWORD,
                                  "repeat": NEW_PASSWORD})
    assert r.status == 400 and "The current password is wrong" in r.text
    assert 'aria-invalid="true"' in input_tag(r, "current") and 'value=""' in input_tag(r, "current")
    # the refusal is not about the new password: it stays in both fields
    assert f'value="{NEW_PASSWORD}"' in input_tag(r, "new") and f'value="{NEW_PASSWORD}"' in input_tag(r, "repeat")
    assert "login_failed" in [e.action for e in store.AuditEvent.select()]  # counted like a login
    r = client.post("/password", {"csrf": form.field("csrf"), "current": given, "new": NEW_PASSWORD,
                                  "repeat": NEW_PASSWORD})
    assert r.status == 303


def test_a_change_chosen_freely_asks_for_the_current_password(app, portal_home):
    client = Client(app)
    ready(client, portal_home)  # the forced change is done: this one is the reader's own
    form = client.get("/password")
    assert 'id="current"' in form.text
    r = client.post("/password", {"csrf": form.field("csrf"), "new": "amber lantern orchard",
                                  "repeat": "amber lantern orchard"})
    assert r.status == 400 and 'id="current-error"' in r.text
    recipient = store.Recipient.get()
    assert login.asks_current(portal_home, recipient, {}) and not login.proven_just_now(portal_home, {})


@pytest.mark.parametrize("new, repeat, field, words, kept_new, kept_repeat", [
    ("short pass", "short pass", "new", "at least 12 characters; this one has 10", False, False),
    ("password1234", "password1234", "new", "most common", False, False),
    (NEW_PASSWORD, "violet tractor", "repeat", "The two new passwords differ", True, False),
])
def test_each_refusal_is_said_beside_its_field_and_keeps_what_is_safe(app, portal_home, new, repeat, field, words,
                                                                     kept_new, kept_repeat):
    client, form, _given, _upload = forced(app, portal_home)
    r = client.post("/password", {"csrf": form.field("csrf"), "new": new, "repeat": repeat})
    assert r.status == 400 and r.headers["cache-control"] == "no-store"
    assert 'role="alert"' in r.text and f'href="#{field}"' in r.text  # announced, and leads to the field
    assert re.search(rf'<p id="{field}-error" class="field-error">[^<]*{re.escape(words)}', r.text)
    tag = input_tag(r, field)
    assert 'aria-invalid="true"' in tag and f"{field}-error" in re.search(r'aria-describedby="([^"]*)"', tag).group(1)
    assert ('value=""' not in input_tag(r, "new")) == kept_new
    assert ('value=""' not in input_tag(r, "repeat")) == kept_repeat
    assert store.Recipient.get().must_change_password


def test_the_given_password_is_refused_as_the_new_one_even_when_not_asked(app, portal_home):
    client, form, given, _upload = forced(app, portal_home)
    r = client.post("/password", {"csrf": form.field("csrf"), "new": given, "repeat": given})
    assert r.status == 400 and "must differ from the one you were given" in r.text
    assert 'aria-invalid="true"' in input_tag(r, "new")


def test_the_length_is_said_in_the_readers_language_with_its_numbers(app, portal_home):
    client, form, _given, _upload = forced(app, portal_home, language="de")
    r = client.post("/password", {"csrf": form.field("csrf"), "new": "kurz", "repeat": "kurz"})
    assert "Das Passwort muss mindestens 12 Zeichen haben; dieses hat 4" in r.text
    assert "Passwort anzeigen" in r.text and 'aria-pressed="false"' in r.text
