"""The administrator's actions on recipient accounts (command line and console), each with its
audit record; the accounts themselves and their table are accounts.py.

The CLI and the web console both call these, so an action and its audit event
always land together (one transaction).
"""

from ..base.errors import WebcryptError
from ..context.home import Home
from ..infra import store
from . import accounts, events, gateway, passkeys, throttle

DAY = 86400


def reset(home: Home, address: str, actor: str, client: str = "", mail: bool = True, print_login_data=None,
          sender: str | None = None):
    """A new generated password; with *mail*, the login data go out per credentials_to (the
    "sender" it means: *sender*, a sender who asked on their page, else the last one to write).

    Delivery shares the transaction: if the mail cannot be sent, the old password stays.
    """
    with store.db.atomic():
        new = accounts.reset(home, address)
        channel = home.config["accounts.credentials_to"] if mail else "shown"
        events.audit(home, actor, "reset", new.address, f"credentials_to={channel}", client)
        if mail:
            # no message, or only ones without a sender: accounts.credentials_fallback
            to = sender or last_sender(new.address) or ""
            gateway.deliver_login_data(home, new, to, print_login_data, kind="reset")
    return new


def last_sender(address: str) -> str | None:
    """Who last wrote to *address*: the 'sender' that credentials_to = "sender" means."""
    row = (
        store.Message.select(store.Message.sender)
        .where(store.Message.recipient == address)
        .order_by(store.Message.created.desc())
        .first()
    )
    return row.sender if row else None


def unlock(home: Home, address: str, actor: str, client: str = "") -> store.Recipient:
    recipient = accounts.get(address)
    with store.db.atomic():
        accounts.unlock(recipient)
        throttle.clear_naming(recipient.address)
        events.audit(home, actor, "unlock", recipient.address, "", client)
    return accounts.get(recipient.address)


def extend(home: Home, address: str, days: int, actor: str, client: str = "") -> store.Recipient:
    """Valid for *days* more days from now (0: for ever); re-enables an account that ran out."""
    if days < 0:
        raise WebcryptError("days must not be negative")
    recipient = accounts.get(address)
    valid_until = home.now() + days * DAY if days else None
    ran_out = recipient.valid_until is not None and recipient.valid_until < home.now()
    with store.db.atomic():
        enable = ran_out and recipient.disabled and _disabled_by_expiry(recipient.address)
        accounts.set_validity(recipient, valid_until, enable)
        events.audit(home, actor, "extend", recipient.address, f"days={days}", client)
    return accounts.get(recipient.address)


def _disabled_by_expiry(address: str) -> bool:
    """Was the last disable of *address* the one `maintain` does at the end of validity?"""
    last = (
        store.AuditEvent.select()
        .where((store.AuditEvent.subject == address) & store.AuditEvent.action.in_(("disable", "enable")))
        .order_by(store.AuditEvent.at.desc(), store.AuditEvent.id.desc())
        .first()
    )
    return last is not None and last.action == "disable" and last.detail == "validity ended"


def set_disabled(home: Home, address: str, disabled: bool, actor: str, client: str = "") -> store.Recipient:
    with store.db.atomic():
        recipient = accounts.set_disabled(address, disabled)
        events.audit(home, actor, "disable" if disabled else "enable", recipient.address, "", client)
    return recipient


def delete(home: Home, address: str, actor: str, client: str = "") -> int:
    """Delete the account and its key; returns how many message keys were destroyed."""
    with store.db.atomic():
        address = accounts.get(address).address
        destroyed = accounts.delete(address)
        passkeys.remove_all(accounts.KIND, address)
        events.audit(home, actor, "delete", address, f"message_keys_destroyed={destroyed}", client)
    return destroyed


def create(home: Home, address: str, password: str | None, actor: str, client: str = "") -> accounts.NewAccount:
    with store.db.atomic():
        new = accounts.create(home, address, password)
        events.audit(home, actor, "useradd", new.address, "", client)
    return new
