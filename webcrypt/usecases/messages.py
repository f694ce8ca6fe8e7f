"""Encrypted messages: their records (the one writer of the messages table), and what the
administrator sees of them: metadata, recall, expiry.

Nothing of a message's content is stored, so listing shows who, when and how
big only. Recalling destroys the wrapped data key: the message travels on in
every copy of secure.htm, but nobody can ever open it again.
"""

from ..base.errors import EnvelopeError, MessageRevoked, UnknownMessage
from ..context.home import Home
from ..core import envelope, mime
from ..infra import store
from . import events

DAY = 86400
HEADER = "x-webcrypt-message-id"


def listing(
    sender: str = "", recipient: str = "", since: int | None = None, until: int | None = None, limit: int = 500
) -> list[store.Message]:
    """Messages newest first; *sender* and *recipient* match a part of the address."""
    query = store.Message.select().order_by(store.Message.created.desc(), store.Message.id)
    if sender:
        query = query.where(store.Message.sender.contains(sender.strip().lower()))
    if recipient:
        query = query.where(store.Message.recipient.contains(recipient.strip().lower()))
    if since is not None:
        query = query.where(store.Message.created >= since)
    if until is not None:
        query = query.where(store.Message.created < until)
    return list(query.limit(limit))


# What the console, `message list` and the sender's page say of a message, most final first.
STATUSES = ("recalled", "destroyed", "expired", "recipient_disabled", "replied", "opened", "unopened")


def status(record: store.Message, now: int, recipient_disabled: bool = False) -> str:
    if record.revoked is not None:
        return "recalled"
    if record.data_key_wrapped is None:
        return "destroyed"
    if record.expires < now:
        return "expired"
    if recipient_disabled:
        return "recipient_disabled"
    if record.replied:
        return "replied"
    return "opened" if record.first_opened else "unopened"


def describe(record: store.Message, now: int) -> dict:
    return {
        "id": record.id,
        "sender": record.sender,
        "recipient": record.recipient,
        "created": record.created,
        "expires": record.expires,
        "size": record.size,
        "first_opened": record.first_opened,
        "last_opened": record.last_opened,
        "replied": record.replied,
        "receipt": record.receipt,
        "revoked": record.revoked,
        "status": status(record, now),
    }


def get(message_id: str) -> store.Message:
    key = message_id.strip().lower()
    record = store.Message.get_or_none(store.Message.id == key)
    if record is None:
        raise UnknownMessage(f"no message with id {key!r}")
    return record


def recall(home: Home, message_id: str, actor: str, client: str = "") -> store.Message:
    """Destroy the message's data key for ever; the metadata row stays as a record."""
    record = get(message_id)
    with store.db.atomic():
        store.Message.update(data_key_wrapped=None, revoked=home.now()).where(
            store.Message.id == record.id
        ).execute()
        events.audit(home, actor, "recall", record.id, f"recipient={record.recipient}", client)
    return get(record.id)


def set_expiry(home: Home, message_id: str, days: int, actor: str, client: str = "") -> store.Message:
    """Let the message be opened for *days* more days from now (0: not any more)."""
    if days < 0:
        raise ValueError("days must not be negative")
    record = get(message_id)
    if record.data_key_wrapped is None:
        raise MessageRevoked(f"message {record.id} was recalled or its key destroyed; it cannot be extended")
    expires = home.now() + days * DAY
    with store.db.atomic():
        store.Message.update(expires=expires).where(store.Message.id == record.id).execute()
        events.audit(home, actor, "expire", record.id, f"days={days}", client)
    return get(record.id)


def id_from_copy(data: bytes) -> str:
    """The message id named in a carrier mail (header) or a secure.htm (envelope).

    So an administrator can recall a message from the copy in a sender's Sent folder.
    """
    named = mime.first(mime.fields(data), HEADER)
    if named is not None:
        value = named.value.decode("ascii", "replace").strip().lower()
        if value:
            return value
    try:
        return envelope.read_header(mime.extract_envelope(data)).message_id
    except EnvelopeError:
        raise EnvelopeError("no webcrypt message id in this file (not a carrier mail or secure.htm)") from None


# --- the records the gateway keeps, and what destroys their keys ----------------------------


def record(message_id: str, recipient: str, sender: str, created: int, expires: int, size: int,
           data_key_wrapped: bytes) -> None:
    store.Message.create(id=message_id, recipient=recipient, sender=sender, created=created, expires=expires,
                         size=size, data_key_wrapped=data_key_wrapped)


def note_opened(home: Home, row: store.Message) -> bool:
    """Record an opening; True for the first (a read receipt is due then). The first is claimed
    by one conditional update, so two nodes opening it at once cannot both see "first"."""
    now = home.now()
    first = store.Message.update(first_opened=now, last_opened=now).where(
        (store.Message.id == row.id) & store.Message.first_opened.is_null()).execute() == 1
    if not first:
        store.Message.update(last_opened=now).where(store.Message.id == row.id).execute()
    return first


def note_replied(home: Home, row: store.Message) -> None:
    store.Message.update(replied=home.now()).where((store.Message.id == row.id) & store.Message.replied.is_null()).execute()


def forget(ids: list[str]) -> None:
    """Records of carriers that never left (the MTA retries, sealing afresh)."""
    store.Message.delete().where(store.Message.id.in_(ids)).execute()


def destroy_keys_of(address: str) -> int:
    """Every message of *address* unreadable for ever (the account is deleted); how many."""
    return (store.Message.update(data_key_wrapped=None)
            .where((store.Message.recipient == address) & store.Message.data_key_wrapped.is_null(False)).execute())


def destroy_expired_keys(now: int) -> int:
    return (store.Message.update(data_key_wrapped=None)
            .where((store.Message.expires < now) & store.Message.data_key_wrapped.is_null(False)).execute())

