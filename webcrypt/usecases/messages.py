"""Encrypted messages: their records (the one writer of the messages table), and what the
administrator sees of them: metadata, recall, expiry.

Nothing of a message's content is stored, so listing shows who, when and how
big only, and what became of it (opened, replied); with [senders] keep_subject
its subject too, sealed under the message's own data key. Recalling destroys the
wrapped data key (and the subject with it): the message travels on in every copy
of secure.htm, but nobody can ever open it again.
"""

from ..base.errors import EnvelopeError, KeyFileError, MessageRevoked, UnknownMessage
from ..context.home import Home
from ..core import crypto, envelope, mime, policy
from ..infra import store
from . import events

DAY = 86400
HEADER = "x-webcrypt-message-id"
SUBJECT_LIMIT = 200  # characters of a kept subject: enough to recognise a message by
BATCH = 500  # addresses per query (databases limit a query's parameters)


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


def describe(record: store.Message, now: int, recipient_disabled: bool = False, subject: str | None = None) -> dict:
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
        "receipt_sent": record.receipt_sent,
        "revoked": record.revoked,
        "status": status(record, now, recipient_disabled),
        "subject": subject,
    }


def described(home: Home, records: list[store.Message]) -> list[dict]:
    """What the console and `message list` show of *records*: the status (whether the recipient
    is disabled asked once for all of them, not once per row) and the subject where it is kept."""
    now = home.now()
    recipients = _recipients_of(records)
    rows = []
    for record in records:
        recipient = recipients.get(record.recipient)
        rows.append(describe(record, now, bool(recipient and recipient.disabled), _subject(home, record, recipient, now)))
    return rows


def _recipients_of(records: list[store.Message]) -> dict[str, store.Recipient]:
    addresses = sorted({r.recipient for r in records})
    found = {}
    for start in range(0, len(addresses), BATCH):
        query = store.Recipient.select().where(store.Recipient.address.in_(addresses[start:start + BATCH]))
        found.update({r.address: r for r in query})
    return found


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
        # the kept subject goes with the key: nothing of the message is left to read
        recalled = store.Message.update(data_key_wrapped=None, subject_sealed=None, revoked=home.now()).where(
            (store.Message.id == record.id) & store.Message.revoked.is_null()
        ).execute()
        events.audit(home, actor, "recall", record.id, f"recipient={record.recipient}", client)
        if recalled:  # a second recall changes nothing and counts nothing
            events.count(home, events.RECALLED)
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
           data_key_wrapped: bytes, receipt: bool = False, subject_sealed: bytes | None = None) -> None:
    store.Message.create(id=message_id, recipient=recipient, sender=sender, created=created, expires=expires,
                         size=size, data_key_wrapped=data_key_wrapped, receipt=receipt, subject_sealed=subject_sealed)


def note_opened(home: Home, row: store.Message) -> bool:
    """Record an opening; True for the first (a read receipt is due then). The first is claimed
    by one conditional update, so two nodes opening it at once cannot both see "first"; every
    later opening is one update of the last opening."""
    now = home.now()
    if row.first_opened is None:
        first = store.Message.update(first_opened=now, last_opened=now).where(
            (store.Message.id == row.id) & store.Message.first_opened.is_null()).execute() == 1
        if first:
            return True
    store.Message.update(last_opened=now).where(store.Message.id == row.id).execute()
    return False


def claim_receipt(home: Home, row: store.Message) -> bool:
    """True once for a message whose sender asked for a read receipt: whoever claims it sends it."""
    return store.Message.update(receipt_sent=home.now()).where(
        (store.Message.id == row.id) & (store.Message.receipt == True)  # noqa: E712
        & store.Message.receipt_sent.is_null()).execute() == 1


def note_replied(home: Home, row: store.Message) -> None:
    store.Message.update(replied=home.now()).where((store.Message.id == row.id) & store.Message.replied.is_null()).execute()


# --- the subject a sender recognises a message by ([senders] keep_subject) -------------------


def subject_text(field: bytes | None, keyword: str) -> str:
    """A raw Subject field as its recipient reads it: decoded, without the sender's encryption
    keyword, plain text on one line, at most SUBJECT_LIMIT characters."""
    if not field:
        return ""
    shown = policy.shown_subject(mime.decoded(mime.Field("subject", field).value), keyword)
    return " ".join(mime.UNSAFE_TEXT.sub(" ", shown).split())[:SUBJECT_LIMIT]


def seal_subject(data_key: bytes, message_id: str, subject: str) -> bytes:
    """Sealed under the message's own data key (a key derived from it), bound to the message's
    id: destroying the key destroys the subject, and no sealed subject can be moved to another row."""
    return crypto.seal(crypto.derive(data_key, "subject"), subject.encode("utf-8"), _subject_binding(message_id))


def unseal_subject(data_key: bytes, record: store.Message) -> str | None:
    if record.subject_sealed is None:
        return None
    try:
        sealed = crypto.unseal(crypto.derive(data_key, "subject"), record.subject_sealed, _subject_binding(record.id))
    except EnvelopeError:
        return None
    return sealed.decode("utf-8", "replace")


def _subject_binding(message_id: str) -> bytes:
    return b"webcrypt-subject\0" + message_id.encode("ascii")


def subject_of(home: Home, record: store.Message) -> str | None:
    """The kept subject of *record*; None when it was not kept, or the message was recalled,
    its key destroyed, or it expired."""
    if record.subject_sealed is None:
        return None
    recipient = store.Recipient.get_or_none(store.Recipient.address == record.recipient)
    return _subject(home, record, recipient, home.now())


def _subject(home: Home, record: store.Message, recipient: store.Recipient | None, now: int) -> str | None:
    if (record.subject_sealed is None or record.data_key_wrapped is None or record.revoked is not None
            or record.expires < now or recipient is None):
        return None
    try:
        key = home.keyring.account_key(recipient.key_generation, recipient.key_wrapped, recipient.address)
        data_key = crypto.unseal(key, record.data_key_wrapped, record.id.encode())
    except (EnvelopeError, KeyFileError):
        return None
    return unseal_subject(data_key, record)


def for_senders(home: Home, address: str) -> bool:
    """Is *address* one the sender side serves: [senders] enabled, and the address in a sender
    domain (sender_domain)? The one rule for the sender page, receipts and the login-data mail."""
    return bool(home.config["senders.enabled"]) and bool(address) and sender_domain(home, address)


def sender_domain(home: Home, address: str) -> bool:
    """In [mail] internal_domains, and in [senders] domains when that is set."""
    if not policy.domain_listed(address, home.config["mail.internal_domains"]):
        return False
    limited = home.config["senders.domains"]
    return not limited or policy.domain_listed(address, limited)


def forget(ids: list[str]) -> None:
    """Records of carriers that never left (the MTA retries, sealing afresh)."""
    store.Message.delete().where(store.Message.id.in_(ids)).execute()


def destroy_keys_of(address: str) -> int:
    """Every message of *address* unreadable for ever (the account is deleted); how many."""
    return (store.Message.update(data_key_wrapped=None, subject_sealed=None)
            .where((store.Message.recipient == address) & store.Message.data_key_wrapped.is_null(False)).execute())


def destroy_expired_keys(now: int) -> int:
    return (store.Message.update(data_key_wrapped=None, subject_sealed=None)
            .where((store.Message.expires < now) & store.Message.data_key_wrapped.is_null(False)).execute())

