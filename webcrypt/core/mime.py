"""Reading headers of raw mail and writing carrier mails. Pure: bytes in, bytes out.

The original message is never re-serialised: headers are read from the raw
header block, tolerating any defect, and carrier mails copy raw header lines.
"""

import base64
import binascii
import email.header
import email.headerregistry
import email.message
import email.parser
import email.policy
import html
import quopri
import re
from dataclasses import dataclass
from typing import Iterator

from ..base.errors import EnvelopeError
from ..base.languages import LANGUAGES
from . import contrast, texts

COPIED_FIELDS = ("from", "to", "cc", "date", "reply-to", "in-reply-to", "references")
# A field name as Postfix's is_header() takes it: printable ASCII but ':', then optional blanks, then ':'.
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:")
_STRICT_FIELD = re.compile(rb"^[!-9;-~]+:")  # RFC 5322 section 3.6.8, without the obsolete blanks
# Where lines end. Postfix (smtpd, sendmail, cleanup) ends a line at LF only, a CR before it
# being part of the line end; a bare CR elsewhere is a character of the line. Python's email
# package, and mail clients with it, also end a line at a bare CR.
_LF = re.compile(rb"\r?\n")
_ANY_BREAK = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class Field:
    name: str  # lower case
    raw: bytes  # the whole field, continuation lines included (joined by LF), without the final line end

    @property
    def value(self) -> bytes:
        return self.raw.split(b":", 1)[1].strip()


def fields(raw: bytes) -> list[Field]:
    """The header fields of *raw*, in order, as Postfix reads them (and so as the next hop gets them).

    The header block is found as Postfix's cleanup does (global/mime_state.c, is_header.c) and as
    RFC 5322 section 2.2 describes it: a line is a field (``name:``) or, after a field, a
    continuation (it starts with a blank); the first line that is neither ends the header, and
    an empty line is the separator. A line of blanks only is a continuation (Postfix, Python's
    email package, and RFC 5322's obsolete folding agree), so some readers take it for the
    separator and what follows for the body: see unambiguous(). A bare CR ends no line here.
    A first line "From sender date" (mbox, pipe(8) flag F) is not part of the header.
    """
    return _read_header(_lines(raw, _LF), orphan_continuation_ends=True)[0]


def lenient_fields(raw: bytes) -> list[Field]:
    """The header fields as Python's email package reads them: a bare CR ends a line too, and a
    continuation line with no field before it is skipped instead of ending the header."""
    return _read_header(_lines(raw, _ANY_BREAK), orphan_continuation_ends=False)[0]


def fields_any_reader_sees(raw: bytes, strict: list[Field] | None = None) -> list[Field]:
    """Every field that Postfix or a lenient reader takes for a header field, Postfix's first
    (*strict*: ``fields(raw)``, when the caller has read them already).

    For decisions that must fail closed (does the message ask for encryption, does it reply to
    an encrypted one?): a keyword that a mail client shows in the subject counts, however the
    line ends were written.
    """
    return list(dict.fromkeys((fields(raw) if strict is None else strict) + lenient_fields(raw)))


def _lines(raw: bytes, breaks: re.Pattern, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int]]:
    """Each line of raw[start:end] without its line end, with where the next line starts; made
    one by one, so reading a header never touches the body."""
    end = len(raw) if end is None else end
    for match in breaks.finditer(raw, start, end):
        yield raw[start:match.start()], match.end()
        start = match.end()
    if start < end:
        yield raw[start:end], end


def _read_header(lines: Iterator[tuple[bytes, int]], orphan_continuation_ends: bool,
                 spans: list[list[int]] | None = None) -> tuple[list[Field], int | None]:
    """The fields, and where the body starts (None: the input ended within the header).
    *spans*, when given, gets where each field starts and where its last line end ends."""
    # Each field's lines are collected and joined once: adding line by line to one bytes value
    # took quadratic time (a References field of 50,000 folded lines: seconds).
    found: list[tuple[str, list[bytes]]] = []
    body, line_start = None, 0
    for number, (line, next_start) in enumerate(lines):
        if number == 0 and line.startswith(b"From "):
            line_start = next_start
            continue
        if line[:1] in (b" ", b"\t") and (found or not orphan_continuation_ends):
            if found:
                found[-1][1].append(line)
                if spans is not None:
                    spans[-1][1] = next_start
        else:
            match = _FIELD.match(line)
            if match is None:  # the empty line is the separator; any other line is the body's first
                body = next_start if not line else line_start
                break
            found.append((match.group(1).decode("ascii").lower(), [line]))
            if spans is not None:
                spans.append([line_start, next_start])
        line_start = next_start
    return [Field(name, b"\n".join(parts)) for name, parts in found], body


def with_fields_changed(raw: bytes, change) -> bytes:
    """*raw* with each header field (as Postfix reads them) replaced by ``change(field)``: the
    same Field to keep it byte for byte, another field's raw bytes to replace it, None to drop
    it. Everything else, the body above all, stays byte for byte."""
    spans: list[list[int]] = []
    found, _body = _read_header(_lines(raw, _LF), orphan_continuation_ends=True, spans=spans)
    pieces, kept_until = [], 0
    for field, (start, end) in zip(found, spans):
        changed = change(field)
        if changed is field:
            continue
        pieces.append(raw[kept_until:start])
        if changed is not None:  # its folded lines end as the message's lines do
            end_of_line = _line_end(raw[start:end])
            pieces.append(changed.replace(b"\n", b"\r\n") + end_of_line if end_of_line == b"\r\n"
                          else changed + end_of_line)
        kept_until = end
    return b"".join(pieces) + raw[kept_until:] if pieces else raw


def _line_end(line: bytes) -> bytes:
    return b"\r\n" if line.endswith(b"\r\n") else b"\n" if line.endswith(b"\n") else b""


def unambiguous(field_list: list[Field]) -> list[Field]:
    """The leading fields that every reader takes for header fields, up to the first line that
    some reader would read otherwise: a line with a bare CR, a continuation line of blanks
    only, or a field written "Name :". After such a line a reader may see the body (e.g. a forwarded mail's From:, To: and
    Date:), so nothing from there on may be copied into a carrier; the field it is in is kept
    up to the line before it."""
    result = []
    for f in field_list:
        lines = f.raw.split(b"\n")
        clear = next((number for number, line in enumerate(lines) if _doubtful(line, number)), len(lines))
        if clear:
            result.append(f if clear == len(lines) else Field(f.name, b"\n".join(lines[:clear])))
        if clear < len(lines):
            break
    return result


def _doubtful(line: bytes, number: int) -> bool:
    if number == 0:  # "Name :" (RFC 5322's obsolete syntax) ends the header for Python's email package
        return b"\r" in line or not _STRICT_FIELD.match(line)
    return b"\r" in line or not line.strip(b" \t")


def _ambiguous(raw: bytes) -> bool:
    return any(_doubtful(line, number) for number, line in enumerate(raw.split(b"\n")))


def carrier_copies(field_list: list[Field]) -> list[Field]:
    """The original's fields a carrier shows: those COPIED_FIELDS names, the first of each, from
    the unambiguous part of the header only."""
    chosen: dict[str, Field] = {}
    for f in unambiguous(field_list):
        if f.name in COPIED_FIELDS:
            chosen.setdefault(f.name, f)
    return list(chosen.values())


def is_one_field(raw: bytes, name: str) -> bool:
    """Is *raw* exactly one unambiguous header field called *name*?"""
    parsed = fields(raw)
    return len(parsed) == 1 and parsed[0].name == name and parsed[0].raw == raw and not _ambiguous(raw)


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


# Header values webcrypt writes from what a person typed or a mail said (reply subject, file
# names, addresses, message ids) are plain text. Refused in them: C0 controls (TAB and NUL
# included), DEL, C1 (U+0085 among them), the Unicode line and paragraph separators, and the
# bidi controls that make a name read otherwise than it is (CVE-2021-42574).
UNSAFE_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_DECODING_ROUNDS = 4  # an encoded word inside an encoded word inside ...: readers differ in how deep they go


def unsafe_header_text(value: str) -> bool:
    """Whether *value*, or anything a reader makes of it by decoding RFC 2047 words (once or
    again, by either of the email package's decoders), holds a character refused above."""
    seen = frontier = {value}
    for _ in range(_DECODING_ROUNDS):
        if any(UNSAFE_TEXT.search(text) for text in frontier):
            return True
        frontier = {once for text in frontier for once in _decodings(text)} - seen
        if not frontier:
            return False
        seen = seen | frontier
    return True  # still decoding after that many rounds: nobody types that


def _decodings(value: str) -> set[str]:
    return {decoded(value.encode("utf-8", "surrogateescape")), _registry_decoded(value)}


def _registry_decoded(value: str) -> str:
    try:
        return str(email.headerregistry.UnstructuredHeader.value_parser(value))
    except (ValueError, LookupError, UnicodeError, email.errors.HeaderParseError):
        return value


class _LiteralText(email.headerregistry.UnstructuredHeader):
    """An unstructured header value kept exactly as given. The email package would decode
    RFC 2047 look-alikes in it when it is set (turning an encoded CR LF into a real one); here
    they stay text, and a value holding one is written entirely as encoded words, so that
    readers show it as typed instead of decoding it."""

    @classmethod
    def parse(cls, value, kwds):
        super().parse(value, kwds)
        kwds["decoded"] = value

    def fold(self, *, policy):
        if "=?" not in self:  # nothing a reader would decode: the package's folding is right
            return super().fold(policy=policy)
        words = email.header.Header(str(self), "utf-8", header_name=self.name).encode(linesep=policy.linesep)
        return f"{self.name}: {words}{policy.linesep}"


def _literal_registry() -> email.headerregistry.HeaderRegistry:
    registry = email.headerregistry.HeaderRegistry(default_class=_LiteralText)
    registry.map_to_type("subject", _LiteralText)
    return registry


# For mails webcrypt composes with the email package (the secure reply): SMTP line ends are
# written by the mailer, so LF here.
COMPOSING = email.policy.SMTP.clone(linesep="\n", header_factory=_literal_registry())
# The same where an address is not ASCII (RFC 6532: headers in UTF-8, sent with SMTPUTF8).
COMPOSING_UTF8 = email.policy.SMTPUTF8.clone(linesep="\n", header_factory=_literal_registry())


_MESSAGE_ID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")


def message_ids(value: str) -> list[str]:
    """The well-formed message ids in an In-Reply-To or References value; anything else (text,
    RFC 2047 look-alikes, control characters) is left out: it can only break the thread."""
    return [token for token in value.split() if _MESSAGE_ID.fullmatch(token) and "=?" not in token]


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
    copied: list[Field]  # the original's header fields (mime.fields); carrier_copies() picks what is shown
    subject: bytes  # raw Subject field to use, b"" for none (one unambiguous field, or none is shown)
    wording: texts.Wording = texts.ENGLISH  # the recipient's languages (usecases/wording.py)


def carrier_chunks(carrier: Carrier, sealed) -> Iterator[bytes]:
    """The whole carrier mail as byte strings, made as they are written (no copy of it all)."""
    boundary = f"=_webcrypt_{carrier.message_id}"
    head = _carrier_head(carrier, boundary)
    notice = own_text(carrier.branding, "carrier_notice", carrier.wording) + carrier.wording.bodies(
        texts.CARRIER_NOTICE, sender=carrier.sender, portal_url=carrier.portal_url, **carrier.branding
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
    copies = carrier_copies(carrier.copied)
    lines = [f.raw for f in copies]
    if not any(f.name == "date" for f in copies):
        lines.append(f"Date: {carrier.date}".encode())
    if not any(f.name == "from" for f in copies):
        lines.append(f"From: <{carrier.sender}>".encode())
    if not any(f.name == "to" for f in copies):
        lines.append(f"To: <{carrier.recipient}>".encode())
    # The one line of the head that is not filtered above: it must be a single clean Subject field.
    if carrier.subject and is_one_field(carrier.subject, "subject"):
        lines.append(carrier.subject)
    lines += [
        f"Message-ID: <{carrier.message_id}@{carrier.mail_domain}>".encode(),
        f"X-WebCrypt-Message-Id: {carrier.message_id}".encode(),
        b"MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"'.encode(),
        b"",
        " / ".join(carrier.wording.each(texts.CARRIER_PREAMBLE)).encode("ascii", "replace"),
        b"",
    ]
    return b"\n".join(lines) + b"\n"


def own_text(branding: dict, key: str, wording: texts.Wording) -> str:
    """The organisation's own text in the mail's languages, shown before the built-in one.

    Set in the web console (settings.py puts them in branding["texts"]); taken
    literally, never as a format string, so braces in it are harmless.
    """
    parts = [_own(branding, key, language) for language in wording.codes]
    return "".join(f"{part}\n\n" for part in parts if part)


def _own(branding: dict, key: str, language: str) -> str:
    entries = (branding.get("texts") or {}).get(language) or {}
    return str(entries.get(key) or "").strip()


def _own_html(branding: dict, key: str, wording: texts.Wording) -> str:
    return "".join(
        f'<p lang="{language}">{_ascii_html(text).replace(chr(10), "<br>")}</p>\n'
        for language in wording.codes
        if (text := _own(branding, key, language))
    )


def secure_htm_chunks(carrier: Carrier, sealed) -> Iterator[bytes]:
    """secure.htm around *sealed*: the envelope in one buffer or in pieces (see base64_lines)."""
    values = {k: _ascii_html(str(v)) for k, v in carrier.branding.items()}
    if "color" in values:  # white text on the button: a too-light colour from the file is darkened
        values["color"] = contrast.readable_brand(values["color"])
    wording = carrier.wording
    values.update(
        sender=_ascii_html(carrier.sender),
        portal_url=_ascii_html(carrier.portal_url),
        action=_ascii_html(carrier.portal_url.rstrip("/") + "/open"),
        own_intro=_own_html(carrier.branding, "secure_htm_intro", wording),
        lang=wording.codes[0],
        title=values["name"] + ": " + " / ".join(_ascii_html(t) for t in wording.each(texts.SECURE_HTM_TITLE)),
        button=" / ".join(_ascii_markup(t) for t in wording.each(texts.SECURE_HTM_BUTTON)),
    )
    values["explanations"] = _explanations(wording, values)
    values["language_choice"] = _language_choice(wording, values["action"])
    head = texts.SECURE_HTM_HEAD.format(**values).encode("ascii")
    tail = texts.SECURE_HTM_TAIL.format(**values).encode("ascii")
    yield head
    yield from base64_lines(sealed)
    yield tail


# 57 bytes make one 76-character line; blocks of whole lines keep the lines aligned.
_BASE64_BLOCK = 57 * 16384


def base64_lines(data) -> Iterator[bytes]:
    """76-character base64 lines of *data*: one buffer, or an iterable of byte pieces of any
    size (an envelope made as it is read), regrouped into blocks of whole lines."""
    pieces = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
    pending = bytearray()
    for piece in pieces:
        view = memoryview(piece).cast("B")
        start = 0
        if pending:
            start = min(len(view), _BASE64_BLOCK - len(pending))
            pending += view[:start]
            if len(pending) < _BASE64_BLOCK:
                continue
            yield base64.encodebytes(pending)
            pending = bytearray()
        whole = start + (len(view) - start) // _BASE64_BLOCK * _BASE64_BLOCK
        for block in range(start, whole, _BASE64_BLOCK):
            yield base64.encodebytes(view[block:block + _BASE64_BLOCK])
        pending += view[whole:]
    if pending:
        yield base64.encodebytes(pending)


def _explanations(wording: texts.Wording, values: dict) -> str:
    """What secure.htm is, once per language; the first is the page's own language (no lang)."""
    paragraphs = []
    for n, (code, text) in enumerate(zip(wording.codes, wording.each(texts.SECURE_HTM_EXPLANATION))):
        lang = f' lang="{code}"' if n else ""
        paragraphs.append(f"<p{lang}>{_ascii_markup(text.format(**values))}</p>")
    return "\n".join(paragraphs)


def _language_choice(wording: texts.Wording, action: str) -> str:
    """One button per language of the portal, each named in its own language: it posts the same
    envelope to /open?lang=<code> (formaction), so the reader chooses the portal's language here,
    with script off too. The script's automatic submit sends none: the browser's language decides."""
    if len(LANGUAGES) < 2:
        return ""
    label = " / ".join(_ascii_markup(t) for t in wording.each(texts.SECURE_HTM_LANGUAGES))
    buttons = "\n".join(
        f'<button type="submit" formaction="{action}?lang={code}" lang="{code}">{_ascii_html(name)}</button>'
        for code, name in LANGUAGES.items()
    )
    return (f'<div class="languages" role="group" aria-labelledby="webcrypt-languages">\n'
            f'<p id="webcrypt-languages">{label}</p>\n<p>{buttons}</p>\n</div>\n')


def _ascii_html(text: str) -> str:
    return html.escape(text).encode("ascii", "xmlcharrefreplace").decode("ascii")


def _ascii_markup(markup: str) -> str:
    """HTML of a catalogue (trusted, not escaped) for the ASCII page: other characters as references."""
    return markup.encode("ascii", "xmlcharrefreplace").decode("ascii")


def extract_envelope(data: bytes) -> bytes:
    """The envelope inside a secure.htm page or a carrier mail holding one.

    Located by structure, never by the first place a marker string occurs (a Subject or a
    sender's name may hold it): in a mail, the attachment secure.htm (its MIME part), then in
    that page the textarea element named "envelope".
    """
    page, start, end = _secure_htm_range(data) if fields(data) else (data, 0, len(data))
    return decode_envelope_text(_envelope_text(page, start, end))


_BASE64_TEXT_PIECE = 1 << 20
_BLANKS = re.compile(rb"\s+")


def decode_envelope_text(text) -> bytearray:
    """Base64 as posted by secure.htm (line breaks and blanks allowed), strictly: decoded a
    piece at a time into one buffer, never a blank-free copy of the whole text."""
    view = memoryview(text).cast("B")
    out, pending, padded = bytearray(), b"", False
    try:
        for start in range(0, len(view), _BASE64_TEXT_PIECE):
            compact = pending + _BLANKS.sub(b"", view[start:start + _BASE64_TEXT_PIECE])
            whole = len(compact) // 4 * 4
            if padded and compact:  # data after the padding that ends base64
                raise binascii.Error("excess data after padding")
            out += binascii.a2b_base64(compact[:whole], strict_mode=True)
            pending, padded = compact[whole:], compact[:whole].endswith(b"=")
        if pending:
            raise binascii.Error("incomplete base64")
    except binascii.Error:
        raise EnvelopeError("the envelope in secure.htm is damaged") from None
    return out


def secure_htm_of(data: bytes) -> bytes:
    """The secure.htm attachment of a carrier mail, however a mail client re-encoded it."""
    page, start, end = _secure_htm_range(data)
    return page[start:end]


# The parts of a mail are found as RFC 2046 defines them, reading headers with fields() and
# their parameters with the email package, but without its parser: that holds a whole carrier
# several times over in memory (a 54 MB carrier took 300 MB more), this reads it in place.
_MAX_NESTING = 20  # deeper parts are not looked into (a carrier has one level; a forwarded one a few more)


def _secure_htm_range(data: bytes) -> tuple[bytes, int, int]:
    """Where secure.htm lies: data[start:end] when it is sent as it is (7bit), else a decoded copy."""
    for head, start, end in _leaf_parts(data, 0, len(data), 0):
        if (head.get_filename() or "").lower() == "secure.htm":
            encoding = str(head.get("content-transfer-encoding") or "").strip().lower()
            if encoding in ("base64", "quoted-printable"):
                decoded = binascii.a2b_base64(data[start:end]) if encoding == "base64" else binascii.a2b_qp(data[start:end])
                return decoded, 0, len(decoded)
            return data, start, end
    raise EnvelopeError("no webcrypt secure.htm found in this file")


def _leaf_parts(data: bytes, start: int, end: int, depth: int) -> Iterator[tuple[email.message.Message, int, int]]:
    """Each leaf part of the entity data[start:end]: its header, and where its body lies."""
    head, body = _entity_head(data, start, end)
    boundary = head.get_boundary() if head.get_content_maintype() == "multipart" else None
    if depth < _MAX_NESTING and boundary:
        for part_start, part_end in _multipart_ranges(data, body, end, boundary):
            yield from _leaf_parts(data, part_start, part_end, depth + 1)
    elif depth < _MAX_NESTING and head.get_content_type() == "message/rfc822":
        yield from _leaf_parts(data, body, end, depth + 1)
    else:
        yield head, body, end


def _entity_head(data: bytes, start: int, end: int) -> tuple[email.message.Message, int]:
    _fields, body = _read_header(_lines(data, _LF, start, end), orphan_continuation_ends=True)
    body = end if body is None else body
    parser = email.parser.BytesParser(policy=email.policy.compat32)
    return parser.parsebytes(data[start:body], headersonly=True), body


def _multipart_ranges(data: bytes, start: int, end: int, boundary: str) -> Iterator[tuple[int, int]]:
    """The body parts between the delimiter lines of a multipart body (RFC 2046 section 5.1.1):
    "--" boundary at the start of a line, "--" after it on the last one; the line break before a
    delimiter belongs to the delimiter; blanks after it are padding."""
    name = re.escape(boundary.encode("ascii", "surrogateescape"))
    delimiter = re.compile(rb"^--" + name + rb"(--)?[ \t]*\r?$", re.MULTILINE)
    part_start = None
    for match in delimiter.finditer(data, start, end):
        if part_start is not None:
            yield part_start, _before_line_break(data, match.start())
        if match.group(1):
            return
        part_start = data.find(b"\n", match.end(), end) + 1 or end
    if part_start is not None:  # no closing delimiter: the last part runs to the end
        yield part_start, end


def _before_line_break(data: bytes, position: int) -> int:
    if data[position - 2:position] == b"\r\n":
        return position - 2
    return position - 1 if data[position - 1:position] == b"\n" else position


# In the page: tags as an HTML tokenizer reads them. Comments, declarations and the text of
# elements whose content is not markup (script, style, title, textarea) are stepped over whole,
# so a tag written inside them is not taken for one.
_MARKUP = re.compile(rb"<(?:!--.*?--!?>|[!?][^>]*>|(/?)([A-Za-z][^\s/>]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>)", re.DOTALL)
_ATTRIBUTE = re.compile(rb"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_TEXT_ONLY = (b"script", b"style", b"title", b"textarea")


def _envelope_text(page: bytes, start: int, end: int) -> bytes:
    """The content of the textarea element named "envelope" in page[start:end]."""
    position = page.find(b"<", start, end)
    while position >= 0:
        match = _MARKUP.match(page, position, end)
        if match is None and page.startswith(b"<!--", position):
            break  # a comment that never ends runs to the end of the page
        if match is None or not match.group(2) or match.group(1):
            position = page.find(b"<", (match.end() if match else position + 1), end)
            continue
        name = match.group(2).lower()
        content_end = _closing_tag(page, name, match.end(), end) if name in _TEXT_ONLY else match.end()
        if content_end < 0:
            break
        if name == b"textarea" and _attributes(match.group(3)).get(b"name") == b"envelope":
            return page[match.end():content_end]
        position = page.find(b"<", content_end, end)
    raise EnvelopeError("secure.htm is truncated or was not made by webcrypt")


def _closing_tag(page: bytes, name: bytes, start: int, end: int) -> int:
    closing = re.compile(rb"</" + name + rb"[\s/>]", re.IGNORECASE).search(page, start, end)
    return closing.start() if closing else -1


def _attributes(text: bytes) -> dict[bytes, bytes]:
    return {
        m.group(1).lower(): (m.group(2) or m.group(3) or m.group(4) or b"")
        for m in _ATTRIBUTE.finditer(text)
    }


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
    wording: texts.Wording = texts.ENGLISH  # the languages of whoever receives it (usecases/wording.py)
    sender_page: str = ""  # to a sender: where they see what became of their messages ("": not said)


def login_data_chunks(data: LoginData) -> list[bytes]:
    """The login-data mail in its reader's languages (text/plain, UTF-8, quoted-printable)."""
    values = {**data.branding, "address": data.address, "portal_url": data.portal_url}
    blocks = [
        _(texts.LOGIN_DATA_BODY).format(
            intro=_(texts.LOGIN_DATA_INTRO[data.kind]).format(**values),
            change=_(texts.LOGIN_DATA_CHANGE) if data.must_change else "",
            password=data.password, **values,
        ) + (_(texts.LOGIN_DATA_SENDER_PAGE).format(sender_page=data.sender_page) if data.sender_page else "")
        for _ in data.wording.translators()
    ]
    body = own_text(data.branding, "login_data_intro", data.wording) + texts.SEPARATOR.join(blocks)
    return plain_mail_chunks(AutoMail(
        sender_name=data.branding["name"], sender=data.sender, to=data.to,
        subject=data.wording.subject(texts.LOGIN_DATA_SUBJECT, **values), date=data.date, message_id=data.message_id,
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
