"""Who gets what: encrypted, the original, or the original as an internal copy.

Pure: takes header fields, recipients and the rules, returns a decision. The
database lookup for encrypted threads is done by the caller, which passes in
the answer, so this module never touches I/O.

Order of the rules, per recipient (first match wins):

1. a domain in ``mail.internal_domains`` gets the original (never a carrier);
2. a domain in ``policy.never_encrypt_domains`` gets the original: the admin
   set it up for partners that receive mail another way (e.g. enforced TLS);
3. a domain in ``policy.always_encrypt_domains`` gets a carrier;
4. the message asks for encryption (subject keyword, ``X-WebCrypt: encrypt``,
   or it continues an encrypted thread): a carrier;
5. everything else gets the original, byte for byte.

A domain rule covers its subdomains too (``example.org`` covers ``mx.example.org``).
"""

import email.header
import re
from dataclasses import dataclass

from .mime import Field, decoded, unambiguous, with_fields_changed

_MESSAGE_ID = re.compile(rb"<[^<>\s]+>")


@dataclass(frozen=True)
class Rules:
    keyword: str
    internal_domains: tuple[str, ...] = ()
    always_domains: tuple[str, ...] = ()
    never_domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    encrypt: list[str]  # recipients that get a carrier
    plain: list[str]  # recipients that get the original bytes (external, by policy)
    internal: list[str]  # recipients in internal domains (the original bytes)
    subject: bytes | None  # raw Subject field for carriers (keyword removed), None: copy it
    reason: str  # why the message was marked: keyword, header, thread, domain or none

    @property
    def action(self) -> str:
        if not self.encrypt:
            return "pass"
        return "encrypt" if not (self.plain or self.internal) else "mixed"


def rules_from(config) -> Rules:
    """The rules in a loaded configuration."""
    return Rules(
        keyword=config["policy.keyword"],
        internal_domains=_domains(config["mail.internal_domains"]),
        always_domains=_domains(config["policy.always_encrypt_domains"]),
        never_domains=_domains(config["policy.never_encrypt_domains"]),
    )


def _domains(values) -> tuple[str, ...]:
    return tuple(v.strip().lower().lstrip("@").rstrip(".") for v in values if v.strip())


# Which ids can matter for the thread lookup (the lookup runs for every message, so its cost
# must not grow with a References field of 50,000 ids). RFC 5322 section 3.6.4: References is
# the parent's References plus the parent's id, so the parent comes last and older ancestors
# before it; RFC 5537 section 3.4.4, and mail clients, shorten a long References by dropping ids
# in the middle, keeping the first (the thread's root) and the last. webcrypt remembers the id
# of every carrier and of every original it encrypted, and a reply in an encrypted thread is
# encrypted and remembered again, so a remembered id stands among the last few; only a
# discussion between internal people that webcrypt never saw comes in between. The last 100
# cover a hundred such messages, far more than a References field shortened to RFC 5537's 998
# octets holds (about 20 ids), and cost about a hundred HMACs per key generation and one query.
REFERENCES_KEPT = 100
IN_REPLY_TO_KEPT = 10  # In-Reply-To names the parent (RFC 5322: one id, several for a merge)


def thread_ids(fields: list[Field]) -> list[str]:
    """Message-IDs this message replies to, for the thread lookup: In-Reply-To, and the first and
    the last REFERENCES_KEPT ids of References. At most 1 + IN_REPLY_TO_KEPT + REFERENCES_KEPT
    ids, found in time linear in the header's size."""
    replied = [i for f in fields if f.name == "in-reply-to" for i in _MESSAGE_ID.findall(f.value)]
    references = [i for f in fields if f.name == "references" for i in _MESSAGE_ID.findall(f.value)]
    kept = replied[:IN_REPLY_TO_KEPT] + references[:1] + references[1:][-REFERENCES_KEPT:]
    return list(dict.fromkeys(i.decode("ascii", "replace") for i in kept))


def requested(fields: list[Field], keyword: str, in_encrypted_thread: bool = False) -> str:
    """Why the message as a whole asks for encryption ("" when it does not)."""
    # Every field counts, not just the first: mail clients differ in which duplicate they show (fail closed).
    if _keyword_subject(fields, keyword) is not None:
        return "keyword"
    if any(f.name == "x-webcrypt" and decoded(f.value).strip().lower() == "encrypt" for f in fields):
        return "header"
    return "thread" if in_encrypted_thread else ""


def _keyword_subject(fields: list[Field], keyword: str) -> Field | None:
    return next((f for f in fields if f.name == "subject" and keyword.lower() in decoded(f.value).lower()), None)


def decide(
    rules: Rules,
    fields: list[Field],
    recipients: list[str],
    in_encrypted_thread: bool = False,
    readings: list[Field] | None = None,
) -> Decision:
    """*fields*: the header as the MTA reads it (mime.fields), where the carrier's subject comes
    from; *readings*: every field any reader sees (mime.fields_any_reader_sees), which decide
    whether the message asks for encryption (fail closed). Default: *fields*."""
    reason = requested(readings if readings is not None else fields, rules.keyword, in_encrypted_thread)
    encrypt, plain, internal = [], [], []
    for rcpt in recipients:
        domain = rcpt.rpartition("@")[2].strip(">").lower().rstrip(".")
        if _covered(domain, rules.internal_domains):
            internal.append(rcpt)
        elif _covered(domain, rules.never_domains):
            plain.append(rcpt)
        elif reason or _covered(domain, rules.always_domains):
            encrypt.append(rcpt)
        else:
            plain.append(rcpt)
    if encrypt and not reason:
        reason = "domain"
    # Only a subject every reader takes for one may reach a carrier (mime.unambiguous).
    shown = unambiguous(fields)
    subject = without_keyword(_keyword_subject(shown, rules.keyword), rules.keyword) if reason == "keyword" else None
    return Decision(encrypt, plain, internal, subject, reason or "none")


def _covered(domain: str, domains: tuple[str, ...]) -> bool:
    return any(domain == d or domain.endswith("." + d) for d in domains)


def domain_listed(address: str, values) -> bool:
    """Is the domain of *address* in a configured list of domains ("*": every domain)? Like
    the encryption rules, a domain covers its subdomains."""
    domains = _domains(values)
    return "*" in domains or _covered(address.rpartition("@")[2].lower().rstrip("."), domains)


def without_keyword(subject: Field | None, keyword: str) -> bytes | None:
    """The raw Subject field with the keyword removed (None: the keyword is not in it).

    Where the keyword stands in the raw field it is cut out there, so the rest
    keeps its bytes; where it hides in RFC 2047 words the subject is decoded,
    cut and written again as UTF-8 encoded words.
    """
    if subject is None:
        return None
    name, _, value = subject.raw.partition(b":")
    pattern = re.compile(re.escape(keyword.encode("utf-8")), re.IGNORECASE)
    if pattern.search(value):
        return name + b": " + _tidy(pattern.sub(b"", value, count=1))
    text = decoded(value)
    cut = re.sub(re.escape(keyword), "", text, count=1, flags=re.IGNORECASE)
    if cut == text:
        return None
    cut = " ".join(cut.split())
    if cut.isascii():
        return name + b": " + cut.encode("ascii")
    return name + b": " + email.header.Header(cut, "utf-8", header_name="Subject").encode().encode("ascii")


def _tidy(value: bytes) -> bytes:
    """Blanks left where the keyword was: collapsed, and none at the start or end."""
    value = re.sub(rb"(?<=[^\s])[ \t]{2,}", b" ", value.strip())
    return value


def shown_subject(subject: str, keyword: str) -> str:
    """A decoded subject as the recipient should see it: the sender's keyword is an instruction
    to webcrypt, not part of the subject (the encrypted original keeps it, byte for byte)."""
    cut = re.sub(re.escape(keyword), "", subject, count=1, flags=re.IGNORECASE)
    return " ".join(cut.split()) if cut != subject else subject


# --- read receipts: asked for by the sender, an instruction to webcrypt like the keyword -----

RECEIPT_FIELD = "x-webcrypt-receipt"


def receipt_requested(fields: list[Field], keyword: str) -> bool:
    """Does the sender ask for a read receipt (``X-WebCrypt-Receipt: yes``, or *keyword* in the subject)?"""
    if any(f.name == RECEIPT_FIELD and decoded(f.value).strip().lower() == "yes" for f in fields):
        return True
    return _keyword_subject(fields, keyword) is not None


def without_receipt_request(raw: bytes, keyword: str) -> bytes:
    """The message as its recipient gets it: no ``X-WebCrypt-Receipt`` field, and *keyword* cut
    from the subject; every other byte as it was."""
    def change(field: Field) -> bytes | Field | None:
        if field.name == RECEIPT_FIELD:
            return None
        if field.name == "subject":
            return without_keyword(field, keyword) or field
        return field
    return with_fields_changed(raw, change)
