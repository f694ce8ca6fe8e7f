"""Passkeys for recipients (issue 12) through the portal's WSGI app: registration, sign-in from
the login page and from an upload, and every bad answer (replayed, reused or expired challenge,
wrong origin or relying party, counter going back, another account's or a removed credential,
malformed JSON/CBOR) as a clear page, counted on the login throttles and audited, never a 500.
A software authenticator (passkey_support.py) answers the ceremonies."""

import json

import pytest

from passkey_support import UP, Authenticator, b64
from portal_client import Client
from test_portal import NEW_PASSWORD, app, encrypt, open_and_login, portal_home, ready, sink  # noqa: F401
from webcrypt.infra import store
from webcrypt.usecases import account_admin

ORIGIN = "https://portal.example.com"  # conftest's portal.url


def options(response) -> dict:
    assert response.status == 200, response.text[:300]
    return json.loads(response.text)


def add_passkey(client: Client, authenticator: Authenticator, name: str = "My phone", **answer) -> object:
    csrf = client.get("/profile").field("csrf")
    begun = options(client.post("/passkey/add/options", {"csrf": csrf}))
    credential = authenticator.create(begun["publicKey"], **answer)
    return client.post("/passkey/add", {"csrf": csrf, "ceremony": begun["ceremony"], "credential": credential,
                                        "name": name})


def begin_sign_in(client: Client, upload: str = "", address: str = "") -> tuple[str, dict, str]:
    page = client.get(f"/login?upload={upload}" if upload else "/login")
    csrf = page.field("csrf")
    begun = options(client.post("/passkey/sign-in/options", {"csrf": csrf, "address": address}))
    return begun["ceremony"], begun["publicKey"], csrf


def finish_sign_in(client: Client, ceremony: str, credential: str, csrf: str, upload: str = ""):
    return client.post("/passkey/sign-in", {"csrf": csrf, "ceremony": ceremony, "credential": credential,
                                            "upload": upload})


def sign_in(client: Client, authenticator: Authenticator, upload: str = "", address: str = "", **answer):
    ceremony, public_key, csrf = begin_sign_in(client, upload, address)
    return finish_sign_in(client, ceremony, authenticator.get(public_key, **answer), csrf, upload)


def audit(action: str) -> list[str]:
    return [e.detail for e in store.AuditEvent.select().where(store.AuditEvent.action == action)]


@pytest.fixture
def alice(app, portal_home):
    """Alice, logged in with her own password, with one passkey on a software authenticator."""
    client = Client(app)
    upload = ready(client, portal_home)
    authenticator = Authenticator(ORIGIN)
    r = add_passkey(client, authenticator)
    assert r.status == 200 and "Your passkey is added" in r.text, r.text[:500]
    return client, authenticator, upload


# --- registration ----------------------------------------------------------------------------

def test_a_passkey_is_offered_once_added_listed_and_notified(app, portal_home, sink):
    client = Client(app)
    upload = ready(client, portal_home)
    page = client.get(f"/message/{upload}")
    assert "Sign in faster next time with a passkey" in page.text and 'src="/static/passkey.js"' in page.text
    assert "Sign in faster next time" not in client.get(f"/message/{upload}").text  # "not now": not asked again

    authenticator = Authenticator(ORIGIN)
    r = add_passkey(client, authenticator, name="Alice's phone")
    assert r.status == 200 and "Alice&#039;s phone" in r.text
    (row,) = store.Passkey.select()
    assert (row.kind, row.principal, row.name, row.credential_id) == ("recipient", "alice@example.org",
                                                                      "Alice's phone", authenticator.keys[0].id)
    assert audit("passkey_added") == ["Alice's phone"]
    assert not store.Ceremony.select().exists()  # the challenge is gone with its answer
    from webcrypt.usecases import notices
    notices.wait_sent()
    assert any(b"passkey" in m.content.lower() and b"Alice's phone" in m.content for m in sink.messages)


def test_the_same_authenticator_cannot_register_a_credential_twice(alice):
    client, authenticator, _ = alice
    csrf = client.get("/profile").field("csrf")
    begun = options(client.post("/passkey/add/options", {"csrf": csrf}))
    assert [c["id"] for c in begun["publicKey"]["excludeCredentials"]] == [b64(authenticator.keys[0].id)]
    # the same credential id again (an authenticator ignoring excludeCredentials)
    answer = authenticator.create(begun["publicKey"], credential_id=authenticator.keys[0].id)
    r = client.post("/passkey/add", {"csrf": csrf, "ceremony": begun["ceremony"], "credential": answer})
    assert r.status == 400 and "could not be added" in r.text
    assert store.Passkey.select().count() == 1


@pytest.mark.parametrize("bad", ["origin", "rp", "no_uv", "challenge", "malformed", "replayed"])
def test_a_bad_registration_is_a_clear_page_and_adds_nothing(alice, bad):
    client, authenticator, _ = alice
    csrf = client.get("/profile").field("csrf")
    begun = options(client.post("/passkey/add/options", {"csrf": csrf}))
    answer = {
        "origin": lambda: authenticator.create(begun["publicKey"], origin="https://evil.example"),
        "rp": lambda: authenticator.create(begun["publicKey"], rp_id="evil.example"),
        "no_uv": lambda: authenticator.create(begun["publicKey"], flags=UP | 0x40),
        "challenge": lambda: authenticator.create(begun["publicKey"], challenge=b64(b"x" * 32)),
        "malformed": lambda: '{"id": "AA", "response": {"attestationObject": "%%%"}}',
        "replayed": lambda: authenticator.create(begun["publicKey"]),
    }[bad]()
    fields = {"csrf": csrf, "ceremony": begun["ceremony"], "credential": answer}
    if bad == "replayed":
        assert client.post("/passkey/add", fields).status == 200
        fields["credential"] = authenticator.create(begun["publicKey"])
    r = client.post("/passkey/add", fields)
    assert r.status == 400 and "could not be added" in r.text, r.text[:300]
    assert store.Passkey.select().count() == (2 if bad == "replayed" else 1)
    assert audit("passkey_add_failed")


# --- signing in ------------------------------------------------------------------------------

def test_sign_in_with_a_passkey_from_an_upload_opens_the_message(alice, app, portal_home):
    _, authenticator, _ = alice
    envelope, _, _ = encrypt(portal_home, to="alice@example.org")
    phone = Client(app)
    upload = phone.post("/open", {"envelope": __import__("base64").encodebytes(envelope).decode()}).location.split("=")[1]
    r = sign_in(phone, authenticator, upload=upload)
    assert (r.status, r.location) == (303, f"/message/{upload}")
    page = phone.get(f"/message/{upload}")
    assert page.status == 200 and "Dear Alice" in page.text
    row = store.Passkey.get()
    assert row.sign_count == authenticator.keys[0].counter and row.last_used == portal_home.now()
    assert [e.action for e in store.AuditEvent.select().order_by(store.AuditEvent.id)][-1] == "login"


def test_sign_in_with_the_address_typed_first(alice, app):
    _, authenticator, _ = alice
    r = sign_in(Client(app), authenticator, address="Alice@Example.org")
    assert (r.status, r.location) == (303, "/profile")
    # the address of someone else typed first: refused, though the passkey is good
    r = sign_in(Client(app), authenticator, address="bob@example.org")
    assert r.status == 401 and "passkey was not accepted" in r.text


def test_the_sign_in_options_never_tell_whether_an_address_has_a_passkey(alice, app):
    _, _, _ = alice
    known = begin_sign_in(Client(app), address="alice@example.org")[1]
    unknown = begin_sign_in(Client(app), address="nobody@example.org")[1]
    assert set(known) == set(unknown) and known.get("allowCredentials") in (None, [])
    assert known["userVerification"] == "required" and known["rpId"] == "portal.example.com"


@pytest.mark.parametrize("bad", ["replayed", "reused_challenge", "expired", "origin", "rp", "no_uv", "counter",
                                 "signature", "malformed_json", "malformed_cbor", "other_user_handle", "no_ceremony"])
def test_a_bad_sign_in_is_one_clear_answer_counted_and_audited(alice, app, portal_home, clock, bad):
    _, authenticator, _ = alice
    client = Client(app)
    ceremony, public_key, csrf = begin_sign_in(client)
    key = authenticator.keys[0]
    if bad in ("replayed", "reused_challenge"):
        first = Client(app)
        first.cookies = dict(client.cookies)  # the same browser's pre-login cookie, a second tab
        answer = authenticator.get(public_key)
        assert finish_sign_in(first, ceremony, answer, csrf).status == 303
        if bad == "reused_challenge":  # a fresh signature over a challenge that was answered already
            answer = authenticator.get(public_key)
        r = finish_sign_in(client, ceremony, answer, csrf)  # else the very answer that signed in, again
    else:
        if bad == "expired":
            clock.advance(301)
        answer = {
            "expired": lambda: authenticator.get(public_key),
            "origin": lambda: authenticator.get(public_key, origin="https://old.example.com"),
            "rp": lambda: authenticator.get(public_key, key=_with_rp(key, "evil.example")),
            "no_uv": lambda: authenticator.get(public_key, flags=UP),
            "counter": lambda: authenticator.get(public_key, counter=0) if _set_counter(key, 5) else "",
            "signature": lambda: _broken_signature(authenticator.get(public_key)),
            "malformed_json": lambda: '{"id": ',
            "malformed_cbor": lambda: _bad_authenticator_data(authenticator.get(public_key)),
            "other_user_handle": lambda: authenticator.get(public_key, user_handle=b"\x01" * 16),
            "no_ceremony": lambda: authenticator.get(public_key),
        }[bad]()
        r = finish_sign_in(client, "" if bad == "no_ceremony" else ceremony, answer, csrf)
    assert r.status == 401 and "passkey was not accepted" in r.text, (bad, r.status, r.text[:300])
    assert client.get("/profile").status in (302, 303, 401)  # not signed in
    assert audit("login_failed"), "counted and audited like a failed password login"
    throttled = store.Throttle.get_or_none(store.Throttle.key.startswith("login-client:"))
    assert throttled is not None and throttled.failures >= 1


def test_a_passkey_of_another_account_never_signs_in_to_this_one(alice, app, portal_home):
    _, alices_authenticator, _ = alice
    # Bob registers his own passkey
    bob = Client(app)
    envelope, account, _ = encrypt(portal_home, to="bob@example.org")
    upload, r = open_and_login(bob, envelope, "bob@example.org", account.password)
    form = bob.get("/password")
    bob.post("/password", {"csrf": form.field("csrf"), "current": account.password, "new": NEW_PASSWORD,
                           "repeat": NEW_PASSWORD})
    bobs_authenticator = Authenticator(ORIGIN)
    assert add_passkey(bob, bobs_authenticator).status == 200
    # Bob's passkey with Alice's address typed first: refused
    r = sign_in(Client(app), bobs_authenticator, address="alice@example.org")
    assert r.status == 401
    # Bob's credential presented with Alice's user handle: refused
    alice_handle = alices_authenticator.keys[0].user_handle
    r = sign_in(Client(app), bobs_authenticator, user_handle=alice_handle)
    assert r.status == 401
    # and without a claim, Bob's passkey signs in Bob
    client = Client(app)
    assert sign_in(client, bobs_authenticator).status == 303
    assert "bob@example.org" in client.get("/profile").text


def test_a_removed_passkey_no_longer_signs_in_and_ends_other_sessions(alice, app, portal_home, sink):
    client, authenticator, upload = alice
    elsewhere = Client(app)
    assert sign_in(elsewhere, authenticator).status == 303
    row = store.Passkey.get()
    csrf = client.get("/profile").field("csrf")
    r = client.post(f"/passkey/{row.id}/remove", {"csrf": csrf})
    assert r.status == 200 and "The passkey is removed" in r.text
    assert client.get(f"/message/{upload}").status == 200  # this browser stays signed in
    assert elsewhere.get("/profile").status != 200  # the one signed in with it does not
    assert sign_in(Client(app), authenticator).status == 401
    assert audit("passkey_removed") == ["My phone"]


def test_rename_and_remove_only_ones_own_passkeys(alice, app, portal_home):
    client, _, _ = alice
    row = store.Passkey.get()
    csrf = client.get("/profile").field("csrf")
    r = client.post(f"/passkey/{row.id}/rename", {"csrf": csrf, "name": "  Work\tlaptop \x07 "})
    assert r.status == 200 and store.Passkey.get().name == "Work laptop"
    assert client.post(f"/passkey/{row.id}/rename", {"csrf": csrf, "name": "   "}).status == 400
    assert client.post("/passkey/999/remove", {"csrf": csrf}).status == 404
    assert client.post("/passkey/abc/remove", {"csrf": csrf}).status == 404
    assert client.post(f"/passkey/{row.id}/remove", {"csrf": "forged"}).status == 400
    # another recipient cannot touch it
    other = Client(app)
    envelope, account, _ = encrypt(portal_home, to="carol@example.org")
    open_and_login(other, envelope, "carol@example.org", account.password)
    form = other.get("/password")
    other.post("/password", {"csrf": form.field("csrf"), "current": account.password, "new": NEW_PASSWORD,
                             "repeat": NEW_PASSWORD})
    r = other.post(f"/passkey/{row.id}/remove", {"csrf": other.get("/profile").field("csrf")})
    assert r.status == 404 and store.Passkey.select().count() == 1


# --- passwordless and the lost device --------------------------------------------------------

def test_password_off_then_a_reset_gives_a_password_and_keeps_the_passkeys(alice, app, portal_home):
    client, authenticator, _ = alice
    r = client.post("/profile/password-off", {"csrf": client.get("/profile").field("csrf")})
    assert r.status == 200 and "switched off" in r.text
    recipient = store.Recipient.get()
    assert recipient.password_off and recipient.question is None
    assert audit("password_off")
    # the old password no longer signs in; the passkey does
    page = Client(app).get("/login")
    r = Client(app).post("/login", {"csrf": page.field("csrf"), "address": "alice@example.org",
                                    "password": NEW_PASSWORD})
    assert r.status in (400, 401)
    assert sign_in(Client(app), authenticator).status == 303
    # the only passkey of a passwordless account cannot be removed
    row = store.Passkey.get()
    r = client.post(f"/passkey/{row.id}/remove", {"csrf": client.get("/profile").field("csrf")})
    assert r.status == 400 and store.Passkey.select().count() == 1

    # lost device: the administrator's reset gives a generated password; the passkey stays listed
    new = account_admin.reset(portal_home, "alice@example.org", actor="admin:root")
    assert not store.Recipient.get().password_off and store.Passkey.select().count() == 1
    fresh = Client(app)
    page = fresh.get("/login")
    r = fresh.post("/login", {"csrf": page.field("csrf"), "address": "alice@example.org", "password": new.password})
    assert r.status == 303


def test_a_passwordless_recipient_sets_a_password_without_a_current_one(alice, app):
    client, _, _ = alice
    client.post("/profile/password-off", {"csrf": client.get("/profile").field("csrf")})
    form = client.get("/password")
    assert 'name="current"' not in form.text
    r = client.post("/password", {"csrf": form.field("csrf"), "new": "orange kettle mountain",
                                  "repeat": "orange kettle mountain"})
    assert r.status == 303 and not store.Recipient.get().password_off


def test_password_off_needs_a_passkey(app, portal_home):
    client = Client(app)
    ready(client, portal_home)
    r = client.post("/profile/password-off", {"csrf": client.get("/profile").field("csrf")})
    assert r.status == 400 and not store.Recipient.get().password_off


# --- a legacy portal address -----------------------------------------------------------------

def test_the_login_page_names_the_current_origin_for_passkeys(app, portal_home):
    """secure.htm may post to an old address (portal.legacy_urls); the page sends the passkey
    sign-in to the current origin with the upload, which is kept on the server."""
    envelope, _, _ = encrypt(portal_home, to="alice@example.org")
    client = Client(app)
    r = client.post("/webcrypt/open", {"envelope": __import__("base64").encodebytes(envelope).decode()})
    assert r.status == 303
    upload = r.location.split("upload=")[1]
    page = client.get(f"/webcrypt/login?upload={upload}")
    assert f'data-origin="{ORIGIN}"' in page.text and f'data-elsewhere="/login?upload={upload}"' in page.text


# --- helpers -----------------------------------------------------------------------------------

def _with_rp(key, rp_id):
    key.rp_id = rp_id
    return key


def _set_counter(key, value) -> bool:
    store.Passkey.update(sign_count=value).execute()
    return True


def _broken_signature(answer: str) -> str:
    data = json.loads(answer)
    data["response"]["signature"] = b64(b"\x30\x06\x02\x01\x01\x02\x01\x01")
    return json.dumps(data)


def _bad_authenticator_data(answer: str) -> str:
    data = json.loads(answer)
    data["response"]["authenticatorData"] = b64(b"\xa1\xff\x00")
    return json.dumps(data)


# --- administrators ----------------------------------------------------------------------------

ADMIN_PASSWORD = "a long admin password 1"


def admin_client(app, portal_home, password: str = ADMIN_PASSWORD) -> Client:
    client = Client(app)
    page = client.get("/admin/login")
    r = client.post("/admin/login", {"csrf": page.field("csrf"), "name": "ops", "password": password})
    assert r.status == 303, r.text[:300]
    return client


def admin_add_passkey(client: Client, authenticator: Authenticator, password: str = ADMIN_PASSWORD):
    csrf = client.get("/admin/passkeys").field("csrf")
    r = client.post("/admin/passkeys/add/options", {"csrf": csrf, "password": password})
    if r.status != 200:
        return r
    begun = json.loads(r.text)
    return client.post("/admin/passkeys/add", {"csrf": csrf, "ceremony": begun["ceremony"], "name": "YubiKey",
                                               "credential": authenticator.create(begun["publicKey"])})


def admin_passkey_sign_in(client: Client, authenticator: Authenticator):
    csrf = client.get("/admin/login").field("csrf")
    begun = options(client.post("/admin/login/passkey/options", {"csrf": csrf}))
    return client.post("/admin/login/passkey", {"csrf": csrf, "ceremony": begun["ceremony"],
                                                "credential": authenticator.get(begun["publicKey"])})


@pytest.fixture
def ops(portal_home):
    from webcrypt.usecases import admins

    admins.add(portal_home, "ops", ADMIN_PASSWORD)


def test_an_administrator_adds_a_passkey_with_the_password_and_signs_in_with_it_alone(app, portal_home, ops):
    from webcrypt.usecases import admins

    authenticator = Authenticator(ORIGIN)
    client = admin_client(app, portal_home)
    assert admin_add_passkey(client, authenticator, password="wrong password here").status == 403
    assert not store.Ceremony.select().exists() and audit("admin_login_failed") == [""]  # counted like a login
    r = admin_add_passkey(client, authenticator)
    assert r.status == 200 and "Passkey added" in r.text and "YubiKey" in r.text
    admins.enrol_totp(portal_home, "ops", "cli")  # a TOTP app too: the passkey needs no code
    fresh = Client(app)
    r = admin_passkey_sign_in(fresh, authenticator)
    assert r.status == 303, r.text[:300]
    assert fresh.get("/admin/users").status == 200
    assert [e.action for e in store.AuditEvent.select().order_by(store.AuditEvent.id)][-1] == "admin_login"


def test_passkeys_of_recipients_and_administrators_never_cross(alice, app, portal_home, ops):
    _, recipients_authenticator, _ = alice
    r = admin_passkey_sign_in(Client(app), recipients_authenticator)
    assert r.status == 403 and "passkey was not accepted" in r.text
    admins_authenticator = Authenticator(ORIGIN)
    assert admin_add_passkey(admin_client(app, portal_home), admins_authenticator).status == 200
    assert sign_in(Client(app), admins_authenticator).status == 401


def test_require_passkey_makes_the_password_a_way_to_add_one_only(home_dir, clock, sink):
    from conftest import write_settings
    from test_portal import SINK_PORT  # noqa: F401 - the module's sink port, set by the fixture
    import test_portal
    from webcrypt.base import config
    from webcrypt.context.home import Home
    from webcrypt.edges.portal import create_app
    from webcrypt.usecases import admins

    write_settings(home_dir / "webcrypt.toml", {"admin": {"require_passkey": "true"},
                                                "mail": {"reinject": f'"smtp://127.0.0.1:{test_portal.SINK_PORT}"'}})
    home = Home(config.load(home_dir / "webcrypt.toml"), clock=clock)
    home.connect()
    try:
        admins.add(home, "ops", ADMIN_PASSWORD)
        app = create_app(home)
        client = admin_client(app, home)  # no passkey yet: the password still logs in ...
        r = client.get("/admin/users")
        assert (r.status, r.location) == (303, "/admin/passkeys")  # ... to add one, and nothing else
        assert "requires a passkey" in client.get("/admin/passkeys").text
        authenticator = Authenticator(ORIGIN)
        assert admin_add_passkey(client, authenticator).status == 200
        assert client.get("/admin/users").status == 200
        # from now on the password alone is refused; the passkey signs in
        page = Client(app).get("/admin/login")
        refused = Client(app)
        page = refused.get("/admin/login")
        r = refused.post("/admin/login", {"csrf": page.field("csrf"), "name": "ops", "password": ADMIN_PASSWORD})
        assert r.status == 403
        assert admin_passkey_sign_in(Client(app), authenticator).status == 303
        # the last passkey cannot be removed while passkeys are required
        row = store.Passkey.get()
        r = client.post(f"/admin/passkeys/{row.id}/remove", {"csrf": client.get("/admin/passkeys").field("csrf")})
        assert r.status == 400 and store.Passkey.select().count() == 1
    finally:
        home.close()


def test_a_refused_passkey_is_told_in_the_readers_language(alice, app):
    _, authenticator, _ = alice
    german = Client(app, language="de")
    ceremony, public_key, csrf = begin_sign_in(german)
    r = finish_sign_in(german, ceremony, authenticator.get(public_key, origin="https://evil.example"), csrf)
    assert r.status == 401 and "Dieser Passkey wurde nicht angenommen" in r.text
    assert 'lang="de"' in r.text
