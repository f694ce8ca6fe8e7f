"""Passkeys of recipients and administrators: registering one, the sign-in verifier the login
pipeline calls (signin.py), naming and removing them; no HTTP here. The only writer of the
Passkey and Ceremony tables.

A ceremony is one challenge, kept in the database (any portal node finishes what another began),
taken once: it is deleted by the answer that uses it, whether that answer passes or not, so that
no answer can be replayed. A passkey authenticates: it unlocks no key, the master-key hierarchy
does not know it.
"""

import json
import secrets
from dataclasses import dataclass

from ..base.errors import BadRequest, NotFound, PasskeyRejected
from ..context.home import Home
from ..core import crypto
from ..infra import store
from . import events, notices, throttle

NAME_MAX = 64
CEREMONY_SECONDS = 300  # the browser's timeout; the stored challenge lives as long
MAX_RESPONSE = 64 * 1024  # a credential's JSON is a few KB; more is not a browser's answer
PER_ACCOUNT = 20  # passkeys one account may hold
REGISTRATIONS = throttle.Rule(limit=20, window=3600, block=3600)  # ceremonies begun per account and hour


@dataclass(frozen=True)
class Answer:
    """A sign-in answer as the browser sent it: the ceremony it answers and the credential's JSON."""

    ceremony: str
    credential: str


def _webauthn():
    """core.webauthn and with it fido2 and cryptography, loaded when a ceremony needs them: every
    command that imports the login pipeline (pipe, once per message) would pay for them else."""
    from ..core import webauthn

    return webauthn


def relying_party(home: Home):
    return _webauthn().relying_party(home.config["portal.url"], home.config["branding.name"])


def user_handle(home: Home, kind: str, principal: str) -> bytes:
    """The account's id on the authenticator: opaque (a MAC, never the address), stable."""
    return bytes.fromhex(crypto.mac(home.keyring.mac_key(), f"passkey-user\0{kind}\0{principal}".encode())[:32])


def of(kind: str, principal: str) -> list[store.Passkey]:
    return list(store.Passkey.select().where((store.Passkey.kind == kind) & (store.Passkey.principal == principal))
                .order_by(store.Passkey.created))


def has_any(kind: str, principal: str) -> bool:
    return store.Passkey.select().where((store.Passkey.kind == kind) & (store.Passkey.principal == principal)).exists()


# Registering


def begin_registration(home: Home, kind: str, principal: str, display_name: str) -> tuple[str, dict]:
    """(the ceremony's id, the options for navigator.credentials.create)."""
    throttle.take(home, f"passkey-add:{kind}:{principal}", REGISTRATIONS)
    existing = of(kind, principal)
    if len(existing) >= PER_ACCOUNT:
        raise BadRequest(f"an account holds at most {PER_ACCOUNT} passkeys: remove one first")
    options, state = _webauthn().registration(relying_party(home), user_handle(home, kind, principal), principal,
                                           display_name, [p.credential for p in existing])
    return _begin(home, "register", kind, principal, state), options


def finish_registration(home: Home, kind: str, principal: str, ceremony: str, credential: str, name: str,
                        client: str, actor: str) -> store.Passkey:
    """The passkey a create() answer registers for *principal*; PasskeyRejected otherwise (audited)."""
    try:
        state = _take(home, ceremony, "register", kind, principal)
        new = _webauthn().registered(relying_party(home), state, credential)
        with store.db.atomic():
            passkey = store.Passkey.create(kind=kind, principal=principal, credential_id=new.credential_id,
                                           credential=new.credential, sign_count=new.sign_count,
                                           name=_checked_name(name) or "Passkey", created=home.now())
    except store.IntegrityError:
        events.audit(home, actor, "passkey_add_failed", principal, detail="registered already", client=client)
        raise PasskeyRejected("this passkey is registered already") from None
    except PasskeyRejected as e:
        events.audit(home, actor, "passkey_add_failed", principal, detail=str(e)[:200], client=client)
        raise
    events.audit(home, actor, "passkey_added", principal, detail=passkey.name, client=client)
    if kind == "recipient":
        notices.passkey_changed(home, principal, passkey.name, added=True)
    return passkey


# Signing in: a verifier of the login pipeline


def begin_sign_in(home: Home, kind: str, principal: str = "") -> tuple[str, dict]:
    """(the ceremony's id, the options for navigator.credentials.get). *principal*: the address
    typed first, if any: the answer must then be one of its passkeys. The options are the same
    whether or not it has one (the browser offers what it holds), so they tell nothing."""
    purge(home)
    options, state = _webauthn().authentication(relying_party(home))
    return _begin(home, "sign_in", kind, principal, state), options


def claimed_owner(home: Home, kind: str, answer: Answer) -> str:
    """Whose passkey *answer* says it is (unchecked): the name the login pipeline throttles and
    audits under. Empty for an unknown credential or a malformed answer."""
    try:
        presented = _webauthn().presented(answer.credential)
    except PasskeyRejected:
        return ""
    row = store.Passkey.get_or_none((store.Passkey.credential_id == presented.credential_id)
                                    & (store.Passkey.kind == kind))
    return row.principal if row else ""


def verify(home: Home, kind: str, principal: str, answer: Answer) -> store.Passkey:
    """The login pipeline's passkey check: the ceremony taken (once), the credential one of
    *principal*'s, the signature, origin, relying party, user verification and counter right.
    PasskeyRejected otherwise."""
    state = _take(home, answer.ceremony, "sign_in", kind, principal)
    presented = _webauthn().presented(answer.credential)
    passkey = store.Passkey.get_or_none((store.Passkey.credential_id == presented.credential_id)
                                        & (store.Passkey.kind == kind) & (store.Passkey.principal == principal))
    if passkey is None:
        raise PasskeyRejected("not a passkey of this account (removed, or never registered)")
    if presented.user_handle is not None and presented.user_handle != user_handle(home, kind, principal):
        raise PasskeyRejected("the passkey names another account")
    counter = _webauthn().verified(relying_party(home), state, answer.credential, passkey.credential, passkey.sign_count)
    _used(home, passkey, counter)
    return passkey


def _used(home: Home, passkey: store.Passkey, counter: int) -> None:
    store.Passkey.update(sign_count=counter, last_used=home.now()).where(store.Passkey.id == passkey.id).execute()


# Naming and removing


def rename(home: Home, kind: str, principal: str, passkey_id: int, name: str, client: str, actor: str) -> None:
    passkey = _own(kind, principal, passkey_id)
    name = _checked_name(name)
    if not name:
        raise BadRequest("a passkey needs a name")
    store.Passkey.update(name=name).where(store.Passkey.id == passkey.id).execute()
    events.audit(home, actor, "passkey_renamed", principal, detail=name, client=client)


def remove(home: Home, kind: str, principal: str, passkey_id: int, client: str, actor: str) -> str:
    """Remove one of *principal*'s passkeys; its name. The caller ends the sessions."""
    passkey = _own(kind, principal, passkey_id)
    store.Passkey.delete().where(store.Passkey.id == passkey.id).execute()
    events.audit(home, actor, "passkey_removed", principal, detail=passkey.name, client=client)
    if kind == "recipient":
        notices.passkey_changed(home, principal, passkey.name, added=False)
    return passkey.name


def remove_all(kind: str, principal: str) -> int:
    """An account deleted: its passkeys go with it."""
    return store.Passkey.delete().where((store.Passkey.kind == kind) & (store.Passkey.principal == principal)).execute()


def purge(home: Home) -> int:
    """Forget ceremonies nobody answered in time."""
    return store.Ceremony.delete().where(store.Ceremony.expires < home.now()).execute()


def _own(kind: str, principal: str, passkey_id) -> store.Passkey:
    try:
        number = int(passkey_id)
    except (TypeError, ValueError):
        raise NotFound("this passkey does not exist") from None
    passkey = store.Passkey.get_or_none((store.Passkey.id == number) & (store.Passkey.kind == kind)
                                        & (store.Passkey.principal == principal))
    if passkey is None:  # someone else's is "does not exist" too: nothing is told about other accounts
        raise NotFound("this passkey does not exist")
    return passkey


def _checked_name(name: str) -> str:
    printable = "".join(c for c in name if c.isprintable() or c.isspace())
    return " ".join(printable.split())[:NAME_MAX]


# Ceremonies


def _begin(home: Home, purpose: str, kind: str, principal: str, state: dict) -> str:
    token = secrets.token_urlsafe(24)
    store.Ceremony.create(id_hash=_hash(token), purpose=purpose, kind=kind, principal=principal,
                          state=json.dumps(state), expires=home.now() + CEREMONY_SECONDS)
    return token


def _take(home: Home, token: str, purpose: str, kind: str, principal: str) -> dict:
    """The state of a live ceremony, deleted as it is read: a second answer finds nothing, on any
    node. A ceremony begun for one account (a registration, an address typed first) is answered
    only for that account."""
    row = store.Ceremony.get_or_none(store.Ceremony.id_hash == _hash(token)) if token and len(token) <= 100 else None
    if row is None or store.Ceremony.delete().where(store.Ceremony.id_hash == row.id_hash).execute() != 1:
        raise PasskeyRejected("no such ceremony: answered already, or never begun")
    if row.expires < home.now():
        raise PasskeyRejected("the ceremony timed out")
    if row.purpose != purpose or row.kind != kind:
        raise PasskeyRejected("the answer belongs to another kind of ceremony")
    if row.principal and row.principal != principal:
        raise PasskeyRejected("the answer belongs to another account's ceremony")
    return json.loads(row.state)


def _hash(token: str) -> str:
    return crypto.fingerprint(b"ceremony\0" + token.encode("ascii", "replace"))
