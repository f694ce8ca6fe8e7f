"""Reading headers of raw mail and writing carrier mails. Pure: bytes in, bytes out.

The original message is never re-serialised: headers are read from the raw
header block, tolerating any defect, and carrier mails copy raw header lines.
"""

import base64
import binascii
import email.header
import html
import quopri
import re
from dataclasses import dataclass
from typing import Iterator

from . import texts
from .errors import EnvelopeError

COPIED_FIELDS = ("from", "to", "cc", "date", "reply-to", "in-reply-to", "references")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:")


@dataclass(frozen=True)
class Field:
    name: str  # lower case
    raw: bytes  # the whole field, continuation lines included, without the final newline

    @property
    def value(self) -> bytes:
        return self.raw.split(b":", 1)[1].strip()


def header_block(raw: bytes) -> bytes:
    """The header part of a message (all of it when there is no blank line)."""
    end = _HEADER_END.search(raw)
    return raw[: end.start()] if end else raw


def fields(raw: bytes) -> list[Field]:
    """The header fields of *raw*, in order; lines that are not fields are skipped."""
    result: list[Field] = []
    for line in header_block(raw).splitlines():
        if line[:1] in (b" ", b"\t") and result:
            result[-1] = Field(result[-1].name, result[-1].raw + b"\n" + line)
            continue
        match = _FIELD.match(line)
        if match:
            result.append(Field(match.group(1).decode("ascii").lower(), line))
    return result


def first(field_list: list[Field], name: str) -> Field | None:
    return next((f for f in field_list if f.name == name), None)


_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[qQbB]\?[^?\s]*\?=")
_BETWEEN_WORDS = re.compile(r"(?<=\?=)[ \t]+(?==\?)")
LONG_HEADER = 16 * 1024  # longer values are decoded word by word (decode_header takes quadratic time)


def decoded(value: bytes) -> str:
    """A header value as text: RFC 2047 words decoded, folding removed, 8-bit read as UTF-8."""
    text = re.sub(r"\r?\n[ \t]", " ", value.decode("utf-8", "replace"))
    if len(text) > LONG_HEADER:
        return _decoded_word_by_word(text)
    try:
        words = email.header.decode_header(text)
    except (ValueError, LookupError, UnicodeError, email.errors.HeaderParseError):
        return text
    try:
        return str(email.header.make_header(words))
    except (ValueError, LookupError, UnicodeError, email.errors.HeaderParseError):
        # e.g. a charset Python does not know: mail clients still show the words, and so must we
        # (a keyword in them asks for encryption)
        return "".join(_word_text(data, charset) for data, charset in words)


def _decoded_word_by_word(text: str) -> str:
    """The same result as decode_header for long values, in linear time: blanks between two
    encoded words are dropped (RFC 2047), and each word is decoded on its own."""
    text = _BETWEEN_WORDS.sub("", text)
    return _ENCODED_WORD.sub(lambda m: "".join(_word_text(*w) for w in _words_of(m.group(0))), text)


def _words_of(word: str) -> list:
    try:
        return email.header.decode_header(word)
    except (ValueError, LookupError, UnicodeError, email.errors.HeaderParseError):
        return [(word, None)]


def _word_text(data, charset: str | None) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode(charset or "ascii")
    except (LookupError, UnicodeError):
        return data.decode("utf-8", "replace")


@dataclass(frozen=True)
class Carrier:
    """What the carrier mail says around the envelope."""

    recipient: str
    sender: str
    message_id: str
    portal_url: str
    mail_domain: str
    date: str
    branding: dict
    copied: list[Field]  # raw header fields of the original to show on the carrier
    subject: bytes  # raw Subject field to use, b"" for none


def carrier_chunks(carrier: Carrier, sealed: bytes) -> Iterator[bytes]:
    """The whole carrier mail as byte strings, made as they are written (no copy of it all)."""
    boundary = f"=_webcrypt_{carrier.message_id}"
    head = _carrier_head(carrier, boundary)
    notice = own_text(carrier.branding, "carrier_notice") + texts.CARRIER_NOTICE.format(
        sender=carrier.sender, portal_url=carrier.portal_url, **carrier.branding
    )
    yield from [
        head,
        f"--{boundary}\n".encode(),
        b"Content-Type: text/plain; charset=utf-8\n",
        b"Content-Transfer-Encoding: quoted-printable\n\n",
        quopri.encodestring(notice.encode("utf-8")),
        f"\n--{boundary}\n".encode(),
        b'Content-Type: text/html; charset=us-ascii; name="secure.htm"\n',
        b'Content-Disposition: attachment; filename="secure.htm"\n',
        b"Content-Transfer-Encoding: 7bit\n\n",
    ]
    yield from secure_htm_chunks(carrier, sealed)
    yield f"\n--{boundary}--\n".encode()


def _carrier_head(carrier: Carrier, boundary: str) -> bytes:
    lines = [f.raw for f in carrier.copied if f.name in COPIED_FIELDS]
    if not any(f.name == "date" for f in carrier.copied):
        lines.append(f"Date: {carrier.date}".encode())
    if not any(f.name == "from" for f in carrier.copied):
        lines.append(f"From: <{carrier.sender}>".encode())
    if not any(f.name == "to" for f in carrier.copied):
        lines.append(f"To: <{carrier.recipient}>".encode())
    if carrier.subject:
        lines.append(carrier.subject)
    lines += [
        f"Message-ID: <{carrier.message_id}@{carrier.mail_domain}>".encode(),
        f"X-WebCrypt-Message-Id: {carrier.message_id}".encode(),
        b"MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"'.encode(),
        b"",
        b"This is an encrypted message in MIME format. / Verschluesselte Nachricht.",
        b"",
    ]
    return b"\n".join(lines) + b"\n"


def own_text(branding: dict, key: str) -> str:
    """The organisation's own text (English, then German), shown before the built-in one.

    Set in the web console (settings.py puts them in branding["texts"]); taken
    literally, never as a format string, so braces in it are harmless.
    """
    parts = [_own(branding, key, language) for language in ("en", "de")]
    return "".join(f"{part}\n\n" for part in parts if part)


def _own(branding: dict, key: str, language: str) -> str:
    entries = (branding.get("texts") or {}).get(language) or {}
    return str(entries.get(key) or "").strip()


def _own_html(branding: dict, key: str) -> str:
    return "".join(
        f'<p lang="{language}">{_ascii_html(text).replace(chr(10), "<br>")}</p>\n'
        for language in ("en", "de")
        if (text := _own(branding, key, language))
    )


def secure_htm_chunks(carrier: Carrier, sealed: bytes) -> Iterator[bytes]:
    values = {k: _ascii_html(str(v)) for k, v in carrier.branding.items()}
    values.update(
        sender=_ascii_html(carrier.sender),
        portal_url=_ascii_html(carrier.portal_url),
        action=_ascii_html(carrier.portal_url.rstrip("/") + "/open"),
        own_intro=_own_html(carrier.branding, "secure_htm_intro"),
    )
    head = texts.SECURE_HTM_HEAD.format(**values).encode("ascii")
    tail = texts.SECURE_HTM_TAIL.format(**values).encode("ascii")
    yield head
    yield from base64_lines(sealed)
    yield tail


# 57 bytes make one 76-character line; blocks of whole lines keep the lines aligned.
_BASE64_BLOCK = 57 * 16384


def base64_lines(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), _BASE64_BLOCK):
        yield base64.encodebytes(view[start : start + _BASE64_BLOCK])


def _ascii_html(text: str) -> str:
    return html.escape(text).encode("ascii", "xmlcharrefreplace").decode("ascii")


def extract_envelope(data: bytes) -> bytes:
    """The envelope inside a secure.htm page or a carrier mail holding one."""
    html_page = data if texts.ENVELOPE_START in data else secure_htm_of(data)
    start = html_page.find(texts.ENVELOPE_START)
    end = html_page.find(texts.ENVELOPE_END, start + 1)
    if start < 0 or end < 0:
        raise EnvelopeError("secure.htm is truncated or was not made by webcrypt")
    return decode_envelope_text(html_page[start + len(texts.ENVELOPE_START) : end])


def decode_envelope_text(text: bytes) -> bytes:
    """Base64 as posted by secure.htm (line breaks and blanks allowed)."""
    compact = re.sub(rb"\s+", b"", text)
    try:
        return binascii.a2b_base64(compact, strict_mode=True)
    except binascii.Error:
        raise EnvelopeError("the envelope in secure.htm is damaged") from None


def secure_htm_of(data: bytes) -> bytes:
    """The secure.htm attachment of a carrier mail, however a mail client re-encoded it."""
    import email.parser
    import email.policy

    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data)
    for part in message.walk():
        if (part.get_filename() or "").lower() == "secure.htm":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload
    raise EnvelopeError("no webcrypt secure.htm found in this file")


@dataclass(frozen=True)
class LoginData:
    address: str
    password: str
    portal_url: str
    to: str  # who receives this mail
    sender: str  # the From of the mail (webcrypt's own address)
    kind: str  # "relay" (to the sender, to pass on), "recipient" or "reset"
    must_change: bool
    date: str
    message_id: str
    branding: dict


def login_data_chunks(data: LoginData) -> list[bytes]:
    """The bilingual login-data mail (text/plain, UTF-8, quoted-printable)."""
    values = {**data.branding, "address": data.address, "portal_url": data.portal_url}
    intro_en, intro_de = (t.format(**values) for t in texts.LOGIN_DATA_INTRO[data.kind])
    change_en, change_de = texts.LOGIN_DATA_CHANGE if data.must_change else ("", "")
    body = own_text(data.branding, "login_data_intro") + texts.LOGIN_DATA_BODY.format(
        intro_en=intro_en, intro_de=intro_de, change_en=change_en, change_de=change_de,
        password=data.password, **values,
    )
    return plain_mail_chunks(AutoMail(
        sender_name=data.branding["name"], sender=data.sender, to=data.to,
        subject=texts.LOGIN_DATA_SUBJECT.format(**values), date=data.date, message_id=data.message_id,
    ), body)


@dataclass(frozen=True)
class AutoMail:
    """The envelope of a mail webcrypt writes itself (login data, notices)."""

    sender_name: str
    sender: str
    to: str
    subject: str
    date: str
    message_id: str


def plain_mail_chunks(mail: AutoMail, body: str) -> list[bytes]:
    """A text/plain mail in UTF-8, quoted-printable, marked as auto-generated."""
    head = "\n".join([
        f"From: {email.header.Header(mail.sender_name, 'utf-8').encode()} <{mail.sender}>",
        f"To: <{mail.to}>",
        f"Subject: {email.header.Header(mail.subject, 'utf-8').encode()}",
        f"Date: {mail.date}",
        f"Message-ID: <{mail.message_id}@{mail.sender.rpartition('@')[2] or 'localhost'}>",
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
        "", "",
    ])
    # ASCII but for a non-ASCII address, which stays UTF-8 (RFC 6532): its envelope needs
    # SMTPUTF8 too, so the next hop that takes the envelope takes the header
    return [head.encode("utf-8"), quopri.encodestring(body.encode("utf-8"))]


def password_notice_chunks(mail: AutoMail, branding: dict, address: str, portal_url: str, when: str) -> list[bytes]:
    """The bilingual notice that an account's password was changed (no secret in it)."""
    values = {**branding, "address": address, "portal_url": portal_url, "when": when}
    return plain_mail_chunks(mail, texts.PASSWORD_NOTICE_BODY.format(**values))
