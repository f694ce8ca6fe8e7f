"""Recipient accounts: creation on first use, passwords, keys, administration.

A recipient's key is random and wrapped under the master key (address as
associated data); the password only authenticates. So a reset or a master key
rotation keeps every message readable, and deleting the account destroys the
key and with it every message for that address.
"""

from dataclasses import dataclass
from typing import Callable

from ..base.errors import AccountDisabled, AlreadyExists, UnknownAccount, WrongPassword
from ..context.home import Home
from ..core import crypto
from ..core.addresses import normalise
from ..infra import store
from . import messages

DAY = 86400
KIND = "recipient"  # the kind of their sessions


@dataclass(frozen=True)
class NewAccount:
    address: str
    password: str  # shown once, to the chosen channel only


def create(home: Home, address: str, password: str | None = None) -> NewAccount:
    address = normalise(address)
    password = password or crypto.generate_password()
    try:
        with store.db.atomic():
            _insert(home, address, password, must_change=home.config["accounts.force_password_change"])
    except store.IntegrityError:
        raise AlreadyExists(f"{address} has an account already") from None
    return NewAccount(address, password)


# every encrypted mail looks its recipient up: SQL built once (store.Prepared)
_BY_ADDRESS = store.Prepared(lambda address: store.Recipient.select().where(store.Recipient.address == address).limit(1))


def ensure(home: Home, address: str, deliver: Callable[[NewAccount], None]) -> store.Recipient:
    """The account for *address*, created (and its login data delivered) on first use.

    Creation and delivery share one transaction: when delivery fails nothing is
    created and a retry starts afresh; a concurrent process waits for the lock,
    then finds the account and sends nothing.
    """
    address = normalise(address)
    existing = _BY_ADDRESS.first(store.Recipient, address)
    if existing:
        return existing
    try:
        with store.db.atomic():  # SQLite: IMMEDIATE, the write lock is taken before reading
            existing = store.Recipient.get_or_none(store.Recipient.address == address)
            if existing:
                return existing
            password = crypto.generate_password()
            recipient = _insert(home, address, password, home.config["accounts.force_password_change"])
            deliver(NewAccount(address, password))
            return recipient
    except store.IntegrityError:  # another node won the race on PostgreSQL
        return store.Recipient.get(store.Recipient.address == address)


def _insert(home: Home, address: str, password: str, must_change: bool) -> store.Recipient:
    ring = home.keyring
    key = crypto.random_key()
    now = home.now()
    validity = home.config["accounts.validity_days"]
    return store.Recipient.create(
        address=address,
        password_hash=hash_password(home, password),
        key_wrapped=crypto.seal(ring.wrapping_key(ring.current), key, address.encode()),
        key_generation=ring.current,
        created=now,
        valid_until=now + validity * DAY if validity else None,
        must_change_password=must_change,
    )


def hash_password(home: Home, password: str) -> str:
    return crypto.hash_password(password, home.config["accounts.scrypt_log_n"])


def note_login(home: Home, recipient: store.Recipient) -> None:
    """A login succeeded: when (the one before is kept on the row object for the profile page),
    and a password hash the pipeline re-made at today's cost."""
    recipient.previous_login = recipient.last_login  # shown on the profile page (not a column)
    recipient.last_login = home.now()
    recipient.failed_logins = 0
    recipient.save()


def lock(address: str, until: int) -> None:
    store.Recipient.update(locked_until=until).where(store.Recipient.address == address).execute()


def unlock(recipient: store.Recipient) -> None:
    store.Recipient.update(failed_logins=0, locked_until=None).where(store.Recipient.id == recipient.id).execute()


def set_validity(recipient: store.Recipient, valid_until: int | None, enable: bool) -> None:
    changes = {"valid_until": valid_until, **({"disabled": False, "disabled_reason": None} if enable else {})}
    store.Recipient.update(**changes).where(store.Recipient.id == recipient.id).execute()


def renew(home: Home, recipient: store.Recipient) -> None:
    """New mail keeps an account in use valid (and wakes one that only expired)."""
    store.Recipient.update(**renewal(home, recipient)).where(store.Recipient.id == recipient.id).execute()


def set_question(recipient: store.Recipient, question: str, answer_hash: str) -> None:
    recipient.question, recipient.answer_hash = question, answer_hash
    recipient.save()


def disable_expired(now: int) -> list[str]:
    """Disable every account whose validity ended (and end its sessions); their addresses."""
    expired = [r.address for r in store.Recipient.select(store.Recipient.address).where(
        store.Recipient.valid_until.is_null(False) & (store.Recipient.valid_until < now)
        & (store.Recipient.disabled == False))]  # noqa: E712 - peewee builds SQL from ==
    for address in expired:
        store.Recipient.update(disabled=True, disabled_reason="expired").where(store.Recipient.address == address).execute()
        _end_sessions(address)
    return expired


def find(address: str) -> store.Recipient | None:
    """The account of an address already normalised (a session's principal), or None."""
    return store.Recipient.get_or_none(store.Recipient.address == address)


def set_language(recipient: store.Recipient, language: str) -> None:
    """The recipient's own choice of language, which wins over the browser's."""
    recipient.language = language
    recipient.save()


def get(address: str) -> store.Recipient:
    address = normalise(address)
    recipient = store.Recipient.get_or_none(store.Recipient.address == address)
    if recipient is None:
        raise UnknownAccount(f"no account for {address}")
    return recipient


def recipient_key(home: Home, recipient: store.Recipient) -> bytes:
    return home.keyring.account_key(recipient.key_generation, recipient.key_wrapped, recipient.address)


def refuses_mail(recipient: store.Recipient) -> bool:
    """Disabled by an administrator: no new messages. (An account that only expired
    is renewed by new mail: a correspondent in use must not expire.)"""
    return recipient.disabled and recipient.disabled_reason != "expired"


def refusing_mail(addresses: list[str]) -> list[str]:
    """Those of *addresses* (as given) whose accounts take no new messages."""
    by_canonical = {normalise(a): a for a in addresses}
    rows = store.Recipient.select().where(store.Recipient.address.in_(list(by_canonical)))
    return [by_canonical[r.address] for r in rows if refuses_mail(r)]


def renewal(home: Home, recipient: store.Recipient) -> dict:
    """The column values that renew *recipient*'s validity from now (new mail came for it)."""
    validity = home.config["accounts.validity_days"]
    values = {"valid_until": home.now() + validity * DAY if validity else None}
    if recipient.disabled and recipient.disabled_reason == "expired":
        values.update(disabled=False, disabled_reason=None)
    return values


def check_usable(home: Home, recipient: store.Recipient) -> None:
    if recipient.disabled:
        raise AccountDisabled(f"the account {recipient.address} is disabled")
    if recipient.valid_until is not None and recipient.valid_until < home.now():
        raise AccountDisabled(f"the account {recipient.address} has expired")


def authenticate(home: Home, address: str, password: str) -> store.Recipient:
    """The account, if *password* is right and the account usable; raises otherwise."""
    recipient = get(address)
    if not crypto.verify_password(password, recipient.password_hash):
        raise WrongPassword(f"wrong password for {recipient.address}")
    check_usable(home, recipient)
    return recipient


def set_password(home: Home, recipient: store.Recipient, password: str, must_change: bool = False) -> None:
    recipient.password_hash = hash_password(home, password)
    recipient.password_off = False  # a reset after a lost passkey gives a way in again
    recipient.must_change_password = must_change
    recipient.password_changed = home.now()
    recipient.failed_logins = 0
    recipient.locked_until = None
    recipient.save()
    _end_sessions(recipient.address)


def switch_password_off(home: Home, recipient: store.Recipient) -> None:
    """Passwordless: only a passkey signs in. The stored hash becomes one of a random password
    nobody knows, and the confidential question goes with the password it would recover."""
    recipient.password_hash = hash_password(home, crypto.generate_password())
    recipient.password_off = True
    recipient.must_change_password = False
    recipient.password_changed = home.now()
    recipient.question = None
    recipient.answer_hash = None
    recipient.save()


def note_passkey_offered(home: Home, recipient: store.Recipient) -> None:
    recipient.passkey_offered = home.now()
    recipient.save()


def reset(home: Home, address: str) -> NewAccount:
    """A new generated password; the key, and so every message, stays."""
    recipient = get(address)
    password = crypto.generate_password()
    set_password(home, recipient, password, must_change=home.config["accounts.force_password_change"])
    return NewAccount(recipient.address, password)


def set_disabled(address: str, disabled: bool) -> store.Recipient:
    recipient = get(address)
    recipient.disabled = disabled
    recipient.disabled_reason = "admin" if disabled else None
    recipient.save()
    if disabled:
        _end_sessions(recipient.address)
    return recipient


def delete(address: str) -> int:
    """Delete the account and destroy the keys of its messages; return how many."""
    recipient = get(address)
    with store.db.atomic():
        destroyed = messages.destroy_keys_of(recipient.address)
        _end_sessions(recipient.address)
        recipient.delete_instance()
    return destroyed


def describe(home: Home, recipient: store.Recipient) -> dict:
    """What the command line (`user show`, `user list`) and the console show of an account: the same fields."""
    counts = store.Message.select().where(store.Message.recipient == recipient.address)
    now = home.now()
    return {
        "address": recipient.address,
        "created": recipient.created,
        "valid_until": recipient.valid_until,
        "last_login": recipient.last_login,
        "disabled": recipient.disabled,
        "disabled_reason": recipient.disabled_reason,
        "must_change_password": recipient.must_change_password,
        "locked_until": recipient.locked_until,
        "language": recipient.language,
        "passkeys": store.Passkey.select().where((store.Passkey.kind == KIND)
                                                 & (store.Passkey.principal == recipient.address)).count(),
        "password_off": recipient.password_off,
        "messages": counts.count(),
        "key_generation": recipient.key_generation,
        "locked": bool(recipient.locked_until and recipient.locked_until > now),
        "expired": bool(recipient.valid_until and recipient.valid_until < now),
    }


def listing(pattern: str = "") -> list[store.Recipient]:
    query = store.Recipient.select().order_by(store.Recipient.address)
    if pattern:
        query = query.where(store.Recipient.address.contains(pattern.lower()))
    return list(query)


def rewrap_all(home: Home, generation: int) -> int:
    """Re-wrap every recipient key under *generation*; return how many moved."""
    target = home.keyring.wrapping_key(generation)
    moved = 0
    stale = store.Recipient.select().where(store.Recipient.key_generation != generation)
    for recipient in list(stale):
        key = recipient_key(home, recipient)
        with store.db.atomic():
            store.Recipient.update(
                key_wrapped=crypto.seal(target, key, recipient.address.encode()), key_generation=generation
            ).where(
                (store.Recipient.id == recipient.id) & (store.Recipient.key_generation == recipient.key_generation)
            ).execute()
        moved += 1
    return moved


def _end_sessions(address: str) -> None:
    # imported here: sessions (with display and useragent) is not needed to encrypt a message
    from . import sessions

    sessions.end_all(KIND, address)
