"""Processing one outgoing message: decide, encrypt, reinject. Shared by pipe and relay.

``process`` returns only after the next hop accepted every copy; anything
else raises (a WebcryptError, temporary or not, or any other exception), and
the caller leaves the message with the MTA. Nothing is reinjected until every
carrier is sealed, so a failure while encrypting never lets a plaintext copy out.

Loops: the MTA must reinject through a path without this filter (FILTER_README;
see appliance/postfix/README.md). As a second line, every carrier carries
``X-WebCrypt-Loop: <message id> <HMAC>``, an HMAC under the server's marker key
over the message id, the recipient and the carrier's body. A carrier that comes
back with a valid marker for the same recipient and the same body was made here
and is passed on unchanged instead of being encrypted again; a forged marker, or
a copied one on other content, does not verify, and the message is then
processed like any other.
"""

import hashlib
from dataclasses import dataclass

from ..base.errors import AccountDisabled
from ..context.home import Home
from ..core import crypto, mime, policy
from ..infra import mailer, store
from . import accounts, gateway, notices

LOOP_FIELD = "x-webcrypt-loop"
THREAD_BATCH = 5000


@dataclass(frozen=True)
class Outcome:
    action: str  # pass, encrypt, mixed, loop
    reason: str  # keyword, header, thread, domain, none, loop
    copies: int  # messages handed to the next hop (login-data mails not counted)


def process(
    home: Home, raw: bytes, sender: str, recipients: list[str], print_login_data=None, smtputf8: bool = False
) -> Outcome:
    """*smtputf8*: the client that handed the message in asked for SMTPUTF8 (relay);
    it is asked of the next hop too, where offered (see mailer.send)."""
    # An envelope no next hop could ever take is refused before anything is sealed.
    mailer.check_envelope(sender, recipients)
    # The web console's settings (keyword, internal domains, ...) live in the database and
    # take part in the decision: read them first, or a console keyword would pass in plaintext.
    home.connect()
    fields = mime.fields(raw)
    route = mailer.parse_route(home.config["mail.reinject"])
    if looped(home, raw, fields, recipients):
        mailer.send(route, sender, recipients, [raw], smtputf8=smtputf8)
        return Outcome("pass", "loop", 1)
    # Whether to encrypt fails closed: a field any reader sees (a bare CR ending a line) counts.
    readings = mime.fields_any_reader_sees(raw, fields)  # Postfix's reading is read once
    rules = policy.rules_from(home.config)
    decision = policy.decide(rules, fields, recipients, in_encrypted_thread(home, readings), readings)
    originals = decision.internal + decision.plain
    refused = accounts.refusing_mail(decision.encrypt)
    targets = [r for r in decision.encrypt if r not in refused]
    if refused and not targets and not originals:  # nobody left: the MTA bounces it, with a DSN
        raise AccountDisabled(f"the account {refused[0]} is disabled: it takes no new messages")
    sealed = []
    if targets:
        sealed = gateway.encrypt(home, raw, sender, targets, subject=decision.subject, print_login_data=print_login_data)
    _send_all(home, route, sender, raw, originals, sealed, smtputf8)
    if refused:  # the others got theirs; the sender learns who did not
        notices.not_delivered(home, sender, refused, mime.first(fields, "subject"))
    return Outcome(decision.action, decision.reason, len(sealed) + (1 if originals else 0))


def _send_all(home: Home, route, sender: str, raw: bytes, originals: list[str], sealed: list, smtputf8: bool) -> None:
    """Hand every copy to the next hop. When one fails, the MTA keeps the message and
    processes it afresh later: the records of the carriers not accepted are discarded,
    so that retries do not pile up messages nobody received."""
    pending = list(sealed)
    try:
        if originals:
            mailer.send(route, sender, originals, [raw], smtputf8=smtputf8)
        while pending:  # each carrier was counted as encrypted with its message row
            item = pending[0]
            mailer.send(route, sender, [item.recipient], item.chunks, headers=loop_marker(home, item), smtputf8=smtputf8)
            pending.pop(0)
    except BaseException:
        gateway.discard(home, pending)
        raise


def in_encrypted_thread(home: Home, fields: list[mime.Field]) -> bool:
    """Does the message reply to one that webcrypt encrypted?"""
    ids = policy.thread_ids(fields)
    if not ids:
        return False
    home.connect()
    # under every key generation: threads remembered before a key rotation must stay encrypted
    hashes = [gateway.thread_hash(home, i, generation) for i in ids for generation in home.keyring.secrets]
    # in batches: References grows with every reply, and databases limit a query's parameters
    return any(
        store.ThreadRef.select().where(store.ThreadRef.ref_hash.in_(hashes[start:start + THREAD_BATCH])).exists()
        for start in range(0, len(hashes), THREAD_BATCH)
    )


def loop_marker(home: Home, item: gateway.Sealed) -> bytes:
    mac = _loop_mac(home, item.message_id, item.recipient, body_digest(item.chunks))
    return f"X-WebCrypt-Loop: {item.message_id} {mac}\n".encode()


def _loop_mac(home: Home, message_id: str, recipient: str, digest: str, generation: int | None = None) -> str:
    # The body's digest is part of it: a marker copied from a received carrier onto
    # other content must not let that content pass unencrypted.
    return crypto.mac(home.keyring.mac_key(generation), f"loop\0{message_id}\0{recipient.lower()}\0{digest}".encode())


def looped(home: Home, raw: bytes, fields: list[mime.Field], recipients: list[str]) -> bool:
    """A carrier made here, coming back unchanged (but for header fields) for the one recipient it was made for."""
    marker = mime.first(fields, LOOP_FIELD)
    if marker is None or len(recipients) != 1:
        return False
    parts = marker.value.decode("ascii", "replace").split()
    if len(parts) != 2:
        return False
    digest = body_digest([raw])
    # under any key generation: a carrier made before a rotation (or by a node that has not
    # read the new key file yet) is still our own, not mail to encrypt a second time
    return any(crypto.same(parts[1], _loop_mac(home, parts[0], recipients[0], digest, generation))
               for generation in home.keyring.secrets)


def body_digest(chunks) -> str:
    """SHA-256 of a mail's body as it survives an MTA: LF line ends, no trailing line ends.

    The header block must end within the first chunk (true of a raw message and
    of mime.carrier_chunks, whose first chunk is the whole head).
    """
    digest = hashlib.sha256()
    in_body, pending = False, b""
    for chunk in chunks:
        chunk = bytes(chunk).replace(b"\r\n", b"\n")
        if not in_body:
            end = chunk.find(b"\n\n")
            if end < 0:
                continue
            chunk, in_body = chunk[end + 2:], True
        kept = chunk.rstrip(b"\n")
        if kept:
            digest.update(pending + kept)
            pending = chunk[len(kept):]
        else:
            pending += chunk
    return digest.hexdigest()
