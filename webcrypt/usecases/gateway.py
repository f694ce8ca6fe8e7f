"""Encrypting mail into carrier mails and opening envelopes again.

One code path for ``webcrypt encrypt``, ``pipe``, ``relay`` and the portal.
"""

import email.utils
from dataclasses import dataclass
from typing import Callable, Iterator

from ..base.errors import (
    AccountDisabled,
    EnvelopeError,
    MessageExpired,
    MessageRevoked,
    MessageTooLarge,
    WrongRecipient,
)
from ..context.home import Home
from ..core import crypto, envelope, mime, policy
from ..core.addresses import domain_of, mailbox, normalise
from ..infra import mailer, store
from . import accounts, events, messages, notices, wording

DAY = 86400


@dataclass(frozen=True)
class Sealed:
    recipient: str
    message_id: str
    carrier: mime.Carrier
    sealing: envelope.Sealing

    @property
    def chunks(self) -> Iterator[bytes]:
        """The carrier mail, made afresh (and encrypted) on each use as it is written out:
        no carrier is ever held whole, whatever the number of recipients."""
        return mime.carrier_chunks(self.carrier, self.sealing.pieces())

    @property
    def envelope(self) -> bytes:
        return b"".join(self.sealing.pieces())

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


@dataclass(frozen=True)
class Opened:
    header: envelope.Header
    message: bytearray  # the original bytes, exactly
    record: store.Message


PrintLoginData = Callable[[accounts.NewAccount], None]


def check_size(home: Home, size: int) -> None:
    limit = home.config["policy.max_message_size"]
    if limit and size > limit:
        raise MessageTooLarge(f"message of {size} bytes exceeds the limit of {limit} bytes for encryption")


def encrypt(
    home: Home,
    raw: bytes,
    sender: str,
    recipients: list[str],
    subject: bytes | None = None,
    print_login_data: PrintLoginData | None = None,
) -> list[Sealed]:
    """One carrier mail per recipient; accounts are created on first use.

    *subject* replaces the raw Subject field on the carrier (None: copy it). A read receipt
    asked for (policy.receipt_requested) is recorded, and the request taken out of what is sealed.
    """
    check_size(home, len(raw))
    targets = [normalise(r) for r in recipients]
    raw, subject, receipt = _receipt_request(home, raw, subject)
    fields = mime.fields(raw)
    if subject is None:  # only from the part of the header every reader takes for the header
        original = mime.first(mime.unambiguous(fields), "subject")
        subject = original.raw if original else b""
    kept = messages.subject_text(subject, home.config["policy.keyword"]) if home.config["senders.keep_subject"] else ""
    payload, method = envelope.compress(raw)
    noted = Noted(receipt, kept)
    sealed = []
    try:
        for rcpt in targets:
            sealed.append(_seal_for(home, payload, method, len(raw), sender, rcpt, fields, subject, noted,
                                    print_login_data))
    except BaseException:  # nothing of this message leaves: no record of it may stay behind
        discard(home, sealed)
        raise
    return sealed


@dataclass(frozen=True)
class Noted:
    """What a message's record keeps for its sender besides who, when and how big."""

    receipt: bool  # a read receipt was asked for
    subject: str  # the subject to seal with the message ([senders] keep_subject), "" for none


def _receipt_request(home: Home, raw: bytes, subject: bytes | None) -> tuple[bytes, bytes | None, bool]:
    """(message, carrier subject, asked?): the sender's request for a read receipt is an
    instruction to webcrypt, taken out of the message and the subject the recipient sees."""
    keyword = home.config["senders.receipt_keyword"]
    if not policy.receipt_requested(mime.fields(raw), keyword):
        return raw, subject, False
    if subject is not None:
        subject = policy.without_keyword(mime.Field("subject", subject), keyword) or subject
    return policy.without_receipt_request(raw, keyword), subject, True


def _seal_for(home, payload, method, size, sender, rcpt, fields, subject, noted, print_login_data) -> Sealed:
    recipient = accounts.ensure(home, rcpt, lambda new: deliver_login_data(home, new, sender, print_login_data))
    if accounts.refuses_mail(recipient):
        raise AccountDisabled(f"the account {recipient.address} is disabled: it takes no new messages")
    now = home.now()
    header = envelope.Header(
        message_id=crypto.random_id().hex(),
        recipient=recipient.address,
        sender=sender,
        created=now,
        expires=now + home.config["policy.expire_days"] * DAY,
        key_id=recipient.key_generation,
        compression=method,
    )
    data_key = crypto.random_key()
    sealed = envelope.sealing(header, data_key, payload)
    _record(home, recipient, header, data_key, size, fields, noted)
    carrier = mime.Carrier(
        recipient=recipient.address,
        sender=sender,
        message_id=header.message_id,
        portal_url=home.config["portal.url"],
        mail_domain=domain_of(home.config["mail.from"]) or "localhost",
        date=email.utils.formatdate(now),
        branding=home.config.values["branding"],
        copied=fields,
        subject=subject,
        wording=wording.for_language(home, recipient.language),
    )
    return Sealed(recipient.address, header.message_id, carrier, sealed)


def _record(home, recipient, header, data_key, size, fields, noted: Noted) -> None:
    key = accounts.recipient_key(home, recipient)
    subject = messages.seal_subject(data_key, header.message_id, noted.subject) if noted.subject else None
    with store.db.atomic():
        accounts.renew(home, recipient)
        messages.record(header.message_id, recipient.address, header.sender, header.created, header.expires, size,
                        crypto.seal(key, data_key, header.message_id.encode()), noted.receipt, subject)
        original_id = mime.first(fields, "message-id")
        refs = [f"<{header.message_id}@{domain_of(home.config['mail.from']) or 'localhost'}>"]
        if original_id:
            refs.append(original_id.value.decode("ascii", "replace"))
        for ref in refs:
            remember_thread(home, ref, header.message_id)
        # Counted in the same commit: one fsync per carrier, not two.
        events.count(home, events.ENCRYPTED)


def discard(home: Home, items: list[Sealed]) -> None:
    """Forget carriers that never left (the MTA keeps the message and retries it, sealing
    afresh): their message records, thread references and counts. Best effort: the
    failure that stopped them is the one the caller reports."""
    ids = [item.message_id for item in items]
    if not ids:
        return
    try:
        with store.db.atomic():
            store.ThreadRef.delete().where(store.ThreadRef.message_id.in_(ids)).execute()
            messages.forget(ids)
        events.count(home, events.ENCRYPTED, -len(ids))
    except Exception:  # noqa: BLE001  # nosec B110 - e.g. the database is what failed; the retry still works
        pass


def thread_hash(home: Home, message_id: str, generation: int | None = None) -> str:
    return crypto.mac(home.keyring.mac_key(generation), message_id.strip().lower().encode())


def remember_thread(home: Home, message_id: str, webcrypt_id: str | None) -> None:
    _REMEMBER.execute(thread_hash(home, message_id), webcrypt_id, home.now())


# two per encrypted mail: SQL built once (store.Prepared)
_REMEMBER = store.Prepared(lambda ref_hash, message_id, created: store.ThreadRef.insert(
    {"ref_hash": ref_hash, "message_id": message_id, "created": created}).on_conflict_ignore())


def deliver_login_data(home: Home, new: accounts.NewAccount, sender: str, print_login_data, kind=None) -> None:
    """Send the login data of a new account per ``accounts.credentials_to``."""
    setting = home.config["accounts.credentials_to"]
    if setting == "print" and print_login_data is not None:
        print_login_data(new)
        return
    if setting == "recipient":
        to, kind = new.address, kind or "recipient"
    elif setting.startswith("admin:"):
        to, kind = mailbox(setting[len("admin:"):]), kind or "relay"
    else:  # "sender", and "print" where nobody can print (pipe, relay)
        to, kind = login_data_mailbox(home, sender), kind or "relay"
        # the sender learns where to see what becomes of the message (opened, recall, extend)
        send_login_data(home, new, to, kind, sender_page=sender_page(home, to))
        return
    send_login_data(home, new, to, kind)


def sender_page(home: Home, address: str) -> str:
    """The sender page's address, for mails to a sender the sender side serves ("" otherwise)."""
    return home.config["portal.url"].rstrip("/") + "/sender" if messages.for_senders(home, address) else ""


def login_data_mailbox(home: Home, sender: str) -> str:
    """The sender's mailbox; for mail without a sender (``<>``: bounces, auto-replies),
    ``accounts.credentials_fallback``, by default the postmaster of the domain of
    ``mail.from``: someone responsible gets them, and the message is still delivered."""
    if sender.strip().strip("<>").strip():
        return mailbox(sender)
    # as configured (checked when loaded): "postmaster@localhost" is a fine local mailbox
    fallback = home.config["accounts.credentials_fallback"]
    return fallback or f"postmaster@{domain_of(home.config['mail.from']) or 'localhost'}"


def send_login_data(home: Home, new: accounts.NewAccount, to: str, kind: str, sender_page: str = "") -> None:
    data = mime.LoginData(
        address=new.address,
        password=new.password,
        portal_url=home.config["portal.url"],
        to=to,
        sender=home.config["mail.from"],
        kind=kind,
        must_change=home.config["accounts.force_password_change"],
        date=email.utils.formatdate(home.now()),
        message_id=crypto.random_id().hex(),
        branding=home.config.values["branding"],
        wording=wording.for_address(home, to),
        sender_page=sender_page,
    )
    route = mailer.parse_route(home.config["mail.reinject"])
    mailer.send(route, home.config["mail.from"], [to], mime.login_data_chunks(data))


def openable_record(home: Home, header: envelope.Header) -> store.Message:
    """The record of the message an envelope header names, if it can still be opened."""
    record = store.Message.get_or_none(store.Message.id == header.message_id)
    if record is None or record.recipient != header.recipient:
        raise MessageRevoked("this message is unknown here: it was deleted, or the file is damaged")
    if record.revoked is not None or record.data_key_wrapped is None:
        raise MessageRevoked("this message was recalled or deleted and can no longer be opened")
    if record.expires < home.now():
        raise MessageExpired("this message has expired and can no longer be opened")
    return record


def open_envelope(home: Home, data: bytes, recipient: store.Recipient) -> Opened:
    """Decrypt an envelope for an authenticated recipient."""
    header = envelope.read_header(data)
    if header.recipient != recipient.address:
        raise WrongRecipient(f"this message is for another address, not {recipient.address}")
    record = openable_record(home, header)
    key = accounts.recipient_key(home, recipient)
    try:
        data_key = crypto.unseal(key, record.data_key_wrapped, record.id.encode())
    except EnvelopeError:
        raise MessageRevoked("the key of this message is damaged") from None
    checked, message = envelope.open_(data, data_key)
    if messages.note_opened(home, record):
        first_opening(home, record, data_key)
    return Opened(checked, message, record)


def first_opening(home: Home, record: store.Message, data_key: bytes) -> None:
    """Counted; and the read receipt, if its sender asked for one, is sent once (claimed, so
    two nodes cannot both send it) and in the background (the reader does not wait)."""
    events.count(home, events.OPENED)
    if record.receipt and messages.for_senders(home, record.sender) and messages.claim_receipt(home, record):
        notices.read_receipt(home, record, messages.unseal_subject(data_key, record), home.now())
