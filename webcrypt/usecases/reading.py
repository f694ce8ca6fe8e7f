"""A decrypted message made ready for display; pure, and tolerant of any defect.

The body is parsed only after the envelope's tag verified. Parts are found by
walking the raw bytes (``_Walker``) with the rules of ``email``'s feed parser, so
a message is split where that parser splits it, but only header blocks go
through ``email`` (policy.compat32: policy.default's structured header parser
spends minutes on some defective headers, tests/corpus/flanker/enclosed-endless.eml,
a denial of service for a portal that parses per request). ``email`` keeps a
whole message as lines, several times its size, and decoding an attachment
there makes more copies; here a part is an offset and a length in the one
decrypted buffer, decoded a piece at a time when its size or its bytes are
asked for. Headers shown come from the raw header block (mime.fields), so a
malformed header never stops a message from being read. HTML is sanitised
with nh3 (the only module importing it): no scripts, no event handlers, no
``javascript:`` links, no remote images or style sheets; images the message
carries itself (``cid:``) are inlined as ``data:`` URIs so the sandboxed frame
needs no further request.
"""

import base64
import binascii
import email.message
import email.parser
import email.policy
import email.utils
import html as html_module
import re
from dataclasses import dataclass, field
from typing import Iterator

import nh3

from ..core import mime

MAX_INLINE_IMAGE = 5 * 1024 * 1024
DECODE_PIECE = 1 << 20
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_SAFE_NAME = re.compile(r"[^\w.\- ()+,]+", re.UNICODE)
# nh3 (html5ever) takes quadratic time in how deep elements nest: 200,000 nested <div> took minutes
MAX_HTML_DEPTH = 2000
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")  # [^<>]: linear even without any ">"
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())


@dataclass(frozen=True)
class Attachment:
    index: int  # position among the message's leaf parts
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class View:
    subject: str
    sender: str
    to: str
    cc: str
    date: str
    message_id: str
    references: str
    addresses: list[str]  # every address in From, To and Cc (for replies)
    text: str | None
    html: str | None  # sanitised
    remote_blocked: bool
    attachments: list[Attachment] = field(default_factory=list)
    size: int = 0


def parse(raw) -> View:
    """The view of *raw* (bytes or a bytearray, not copied; parts refer to it while parsing)."""
    heads = mime.fields(raw)
    leaves = _Walker(raw).leaves()
    text_part, html_part = _bodies(leaves)
    markup = _text_of(html_part) if html_part is not None else None
    text = _text_of(text_part) if text_part is not None else None
    if markup is not None and nesting_depth(markup) > MAX_HTML_DEPTH:  # shown as text, never sanitised
        text, markup = (text if text is not None else _markup_as_text(markup)), None
    images = _inline_images(leaves) if markup is not None else {}
    html, blocked = (sanitise(markup, images) if markup is not None else (None, False))
    used = {id(text_part), id(html_part)} | ({id(p) for p in images.values()} if html is not None else set())
    attachments = [
        _describe(index, part) for index, part in enumerate(leaves) if id(part) not in used
    ]
    return View(
        subject=_header(heads, "subject"),
        sender=_header(heads, "from"),
        to=_header(heads, "to"),
        cc=_header(heads, "cc"),
        date=_header(heads, "date"),
        message_id=_header(heads, "message-id"),
        references=_header(heads, "references"),
        addresses=_addresses(heads),
        text=text if html is None else None,
        html=html,
        remote_blocked=blocked,
        attachments=attachments,
        size=len(raw),
    )


def nesting_depth(markup: str) -> int:
    """How deep elements nest at most, roughly (void elements and closing tags counted, nothing parsed)."""
    depth = deepest = 0
    for match in _TAG.finditer(markup):
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3).endswith("/")
        if closing:
            depth = max(depth - 1, 0)
        elif name not in _VOID and not self_closing:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _markup_as_text(markup: str) -> str:
    text = re.sub(r"(?i)<br\s*/?>|</p\s*>|</div\s*>|</tr\s*>", "\n", markup)
    return html_module.unescape(re.sub(r"<[^<>]*>", "", text))


def attachment(raw, index: int) -> tuple[Attachment, bytes | bytearray | memoryview] | None:
    """One leaf part by index, described, with its decoded bytes (a view into *raw* when the
    part is not encoded)."""
    leaves = _Walker(raw).leaves()
    if not 0 <= index < len(leaves):
        return None
    part = leaves[index]
    data = _payload(part)
    return Attachment(index, _name(index, part), part.get_content_type(), len(data)), data


def _header(heads: list[mime.Field], name: str) -> str:
    found = mime.first(heads, name)
    return mime.decoded(found.value) if found else ""


def _addresses(heads: list[mime.Field]) -> list[str]:
    values = [mime.decoded(f.value) for f in heads if f.name in ("from", "to", "cc")]
    try:
        pairs = email.utils.getaddresses(values)
    except (ValueError, TypeError, IndexError, RecursionError):  # e.g. comments nested thousands deep
        return []
    return [address.strip() for _, address in pairs if "@" in address]


# The part walker: email.feedparser's rules on the raw bytes, keeping offsets instead of lines.

_LINE_END = re.compile(rb"\r\n|\r|\n")
_HEADER_LINE = re.compile(rb"From |[\041-\071\073-\176]*:|[\t ]")  # feedparser.headerRE
_NEVER = re.compile(rb"(?!)")
MAX_PART_DEPTH = 100  # deeper parts are kept whole, as one leaf (email's parser fails near 300)


@dataclass(eq=False)
class _Part:
    """One MIME entity: its header fields (parsed alone) and where it lies in the raw message."""

    raw: object  # the whole message (bytes or bytearray), never copied
    headers: email.message.Message
    start: int  # first byte of the header block
    body: int  # first byte of the body
    end: int = 0  # the body ends here
    children: list = field(default_factory=list)

    def get_content_type(self) -> str:
        return self.headers.get_content_type()

    def get_content_maintype(self) -> str:
        return self.headers.get_content_maintype()

    def get_content_disposition(self):
        return self.headers.get_content_disposition()

    def get_filename(self):
        return self.headers.get_filename()

    def get_content_charset(self):
        return self.headers.get_content_charset()

    def get(self, name, default=None):
        return self.headers.get(name, default)


@dataclass(frozen=True)
class _Boundary:
    """A line that ends a part: a multipart's delimiter (with a literal start to search for), or a blank line."""

    pattern: re.Pattern
    prefix: bytes | None


_BLANK = _Boundary(re.compile(rb"\r\n|\r|\n"), None)  # the blocks of message/delivery-status


def _boundary(separator: str) -> _Boundary:
    try:
        literal = ("--" + separator).encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # not from the raw bytes (RFC 2231 decoded it): no line can match
        return _Boundary(_NEVER, b"")
    return _Boundary(re.compile(re.escape(literal) + rb"(--)?[ \t]*(\r\n|\r|\n)?$"), literal)


class _Walker:
    """Splits a message into parts where email.feedparser does (preamble, delimiters, parts ended
    by any enclosing delimiter, defective headers, message/* bodies), holding positions only.

    Lines are those of feedparser (ended by CRLF, CR or LF); a part's body is skipped by
    searching for the next delimiter rather than line by line.
    """

    def __init__(self, raw):
        self.raw, self.pos, self.ends, self.last = raw, 0, [], None

    def leaves(self) -> list[_Part]:
        """Leaf parts in order; attached messages count as one leaf (downloaded as .eml)."""
        stack, found = [self.entity("text/plain", 0)], []
        while stack:  # a stack, not recursion: nesting depth is chosen by whoever wrote the mail
            part = stack.pop()
            if part.children and part.get_content_type() != "message/rfc822":
                stack.extend(reversed(part.children))
            else:
                found.append(part)
        return found

    # Lines

    def _line_end(self, start: int) -> int:
        found = _LINE_END.search(self.raw, start)
        return found.end() if found else len(self.raw)

    def _at_end(self, start: int, end: int) -> bool:
        return any(b.pattern.match(self.raw, start, end) for b in self.ends)

    def readline(self) -> tuple[int, int] | None:
        """The next line, or None at the end of the current part (a delimiter, not consumed) or input."""
        start = self.pos
        if start >= len(self.raw):
            return None
        end = self._line_end(start)
        if self._at_end(start, end):
            return None
        self.pos = end
        return start, end

    def skip_body(self) -> None:
        """Move to the end of the current part: the first line that ends it, or the end of input."""
        if any(b.prefix is None for b in self.ends):
            while self.readline() is not None:
                pass
            return
        if self.pos >= len(self.raw) or self._at_end(self.pos, self._line_end(self.pos)):
            return
        prefixes = [re.escape(b.prefix) for b in self.ends if b.prefix]
        if prefixes:  # a literal search; a line is looked at only where one starts
            starts = re.compile(b"|".join(prefixes))
            found = starts.search(self.raw, self.pos + 1)
            while found is not None:
                start, end = found.start(), self._line_end(found.start())
                if self.raw[start - 1] in b"\r\n" and self._at_end(start, end):
                    self.pos = start
                    return
                found = starts.search(self.raw, end)
        self.pos = len(self.raw)

    # Entities (feedparser._parsegen)

    def entity(self, default_type: str, depth: int) -> _Part:
        part = self._headers(self.pos, default_type)
        self.last = part
        if depth >= MAX_PART_DEPTH:
            self.skip_body()
        elif part.get_content_type() == "message/delivery-status":
            self._delivery_status(part, depth)
        elif part.get_content_maintype() == "message":
            part.children.append(self.entity("text/plain", depth + 1))
        elif part.get_content_maintype() == "multipart":
            part.end = self._multipart(part, depth)
            return part
        else:
            self.skip_body()
        part.end = self.pos
        return part

    def _headers(self, start: int, default_type: str) -> _Part:
        lines = []
        while (line := self.readline()) is not None:
            if not _HEADER_LINE.match(self.raw, *line):
                if not _LINE_END.match(self.raw, *line):
                    self.pos = line[0]  # not a header and no blank line: the body starts here
                break
            lines.append(line)
        header_end = lines[-1][1] if lines else start
        if len(lines) > 1 and self.raw[lines[-1][0]:lines[-1][0] + 5] == b"From ":
            self.pos = header_end = lines[-1][0]  # a mbox "From " line closing the headers is body
        headers = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
            bytes(self.raw[start:header_end]), headersonly=True)
        headers.set_default_type(default_type)
        return _Part(self.raw, headers, start, self.pos)

    def _delivery_status(self, part: _Part, depth: int) -> None:
        """Blocks of header fields separated by blank lines, each one part."""
        while True:
            self.ends.append(_BLANK)
            part.children.append(self.entity("text/plain", depth + 1))
            self.ends.pop()
            self.readline()  # the blank line
            line = self.readline()
            if line is None:
                return
            self.pos = line[0]

    def _multipart(self, part: _Part, depth: int) -> int:
        """Read the parts; return where the body ends (after the epilogue, or the preamble alone
        when no delimiter came: then the text is the part itself)."""
        boundary = part.headers.get_boundary()
        if boundary is None:
            self.skip_body()
            return self.pos
        delimiter = _boundary(boundary)
        while (line := self.readline()) is not None:
            found = delimiter.pattern.match(self.raw, *line)
            if not found:
                continue
            if found.group(1):  # the close delimiter: what follows is epilogue
                if not part.children:
                    self.skip_body()
                    return line[0]
                break
            while (line := self.readline()) is not None and delimiter.pattern.match(self.raw, *line):
                pass  # repeated delimiters hold no part
            if line is not None:
                self.pos = line[0]
            self._subpart(part, delimiter, depth)
        end = self.pos
        self.skip_body()  # the epilogue
        return self.pos if part.children else end

    def _subpart(self, part: _Part, delimiter: _Boundary, depth: int) -> None:
        self.ends.append(delimiter)
        child = self.entity("message/rfc822" if part.get_content_type() == "multipart/digest" else "text/plain",
                            depth + 1)
        self.ends.pop()
        for inner in {id(p): p for p in (child, self.last)}.values():
            if inner.get_content_maintype() != "multipart":  # the line break before a delimiter is the delimiter's
                inner.end -= self._final_line_end(inner.body, inner.end)
        part.children.append(child)
        self.last = part

    def _final_line_end(self, start: int, end: int) -> int:
        """How long the line break ending raw[start:end] is (0, 1 or 2)."""
        if end - start >= 2 and self.raw[end - 2:end] == b"\r\n":
            return 2
        return 1 if end > start and self.raw[end - 1] in b"\r\n" else 0

def _bodies(leaves):
    """The first text/plain and text/html that are not attachments."""
    text = html = None
    for part in leaves:
        if _disposition(part) == "attachment" or _filename(part):
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and text is None:
            text = part
        elif kind == "text/html" and html is None:
            html = part
    return text, html


def _disposition(part) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except (ValueError, TypeError, IndexError):
        return ""


def _filename(part) -> str:
    try:
        return part.get_filename() or ""
    except (ValueError, TypeError, IndexError, LookupError):
        return ""


def _payload(part: _Part):
    """What a download of the part holds: the attached message, or the body decoded (email's
    compat32 rules, lenient); a view into the message when nothing needs decoding."""
    pieces = _decoded_pieces(part)
    if not isinstance(pieces, Iterator):
        return pieces
    out = bytearray()
    try:
        for piece in pieces:
            out += piece
    except _Undecodable:  # email then gives the encoded text, line breaks removed
        return b"".join(bytes(_raw_body(part)).splitlines())
    return out


def _payload_size(part: _Part) -> int:
    """len(_payload(part)), decoding a piece at a time and keeping none of it."""
    pieces = _decoded_pieces(part)
    if not isinstance(pieces, Iterator):
        return len(pieces)
    try:
        return sum(len(piece) for piece in pieces)
    except _Undecodable:
        body = _raw_body(part)
        return len(body) - sum(map(len, _LINE_END.findall(body)))


def _raw_body(part: _Part) -> memoryview:
    return memoryview(part.raw)[part.body:part.end]


def _decoded_pieces(part: _Part):
    """The part's payload, or for base64 and quoted-printable an iterator of its decoded pieces."""
    if part.get_content_type() == "message/rfc822":
        return _raw_body(part)  # the attached message itself, without the part's own headers
    if part.get_content_maintype() == "multipart":  # a multipart that has no parts: all of it, as it came
        return memoryview(part.raw)[part.start:part.end]
    encoding = str(part.get("content-transfer-encoding", "")).lower()
    if encoding == "base64":
        return _base64_pieces(_raw_body(part))
    if encoding == "quoted-printable":
        return _quoted_printable_pieces(part.raw, part.body, part.end)
    if encoding in ("x-uuencode", "uuencode", "uue", "x-uue"):  # rare and small: email decodes it
        message = email.message.Message()
        message["Content-Transfer-Encoding"] = encoding
        message.set_payload(bytes(_raw_body(part)).decode("ascii", "surrogateescape"))
        return message.get_payload(decode=True)
    return _raw_body(part)


class _Undecodable(Exception):
    """The base64 cannot be decoded at all (one character too many)."""


_NOT_BASE64 = bytes(sorted(set(range(256)) - set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")))


def _base64_pieces(body: memoryview) -> Iterator[bytes]:
    """email's lenient base64 decoding (email._encoded_words.decode_b), a MiB at a time.

    Characters outside the alphabet are skipped; decoding stops after padding; a missing
    final padding is added. Up to the first "=" the text is decoded in whole quanta; from
    there (the last line, in any well-formed part) the rest is decoded at once, as email does.
    """
    carry = b""
    for start in range(0, len(body), DECODE_PIECE):
        data = carry + _base64_text(body[start:start + DECODE_PIECE])
        if b"=" in data:
            rest = [data] + [_base64_text(body[s:s + DECODE_PIECE])
                             for s in range(start + DECODE_PIECE, len(body), DECODE_PIECE)]
            yield _base64_last(b"".join(rest))
            return
        whole = len(data) // 4 * 4
        yield binascii.a2b_base64(data[:whole])
        carry = data[whole:]
    yield _base64_last(carry)


def _base64_text(piece) -> bytes:
    return bytes(piece).translate(None, _NOT_BASE64)


def _base64_last(data: bytes) -> bytes:
    for padding in (b"", b"=="):
        try:
            return binascii.a2b_base64(data + padding)
        except binascii.Error:
            pass
    raise _Undecodable()


def _quoted_printable_pieces(raw, start: int, end: int) -> Iterator[bytes]:
    """binascii.a2b_qp (what quopri.decodestring runs) on pieces that end at a line feed: an
    escape or a soft line break never spans one."""
    view = memoryview(raw)
    while start < end:
        limit = min(start + DECODE_PIECE, end)
        stop = raw.rfind(b"\n", start, limit) + 1 if limit < end else end
        if stop <= start:  # a line longer than a piece: up to its end
            stop = raw.find(b"\n", limit, end) + 1 or end
        yield binascii.a2b_qp(view[start:stop])
        start = stop


def _text_of(part) -> str:
    data = _payload(part)
    charset = "utf-8"
    try:
        charset = part.get_content_charset() or "utf-8"
        return str(data, charset, "replace")
    except (LookupError, ValueError, TypeError):
        return str(data, "utf-8", "replace")


def _content_id(part) -> str:
    value = part.get("content-id", "") or ""
    return str(value).strip().strip("<>").strip()


def _inline_images(leaves) -> dict:
    images = {}
    for part in leaves:
        cid = _content_id(part)
        if cid and part.get_content_type() in INLINE_TYPES:
            images[cid] = part
    return images


def _describe(index: int, part) -> Attachment:
    return Attachment(index, _name(index, part), part.get_content_type(), _payload_size(part))


def _name(index: int, part) -> str:
    return safe_filename(_filename(part)) or _default_name(index, part.get_content_type())


def _default_name(index: int, kind: str) -> str:
    suffix = {"message/rfc822": ".eml", "text/plain": ".txt", "text/html": ".html"}.get(kind, ".bin")
    return f"part-{index + 1}{suffix}"


def safe_filename(name: str) -> str:
    """A file name without paths or control characters, fit for Content-Disposition."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _SAFE_NAME.sub("_", name).strip(" ._")
    return name[:150]


def sanitise(html: str, images: dict) -> tuple[str, bool]:
    """Clean HTML; return it and whether remote content was removed."""
    blocked = []

    def keep(tag: str, attribute: str, value: str):
        if attribute in ("src", "srcset", "background", "poster"):
            if tag == "img" and attribute == "src" and value.lower().startswith("cid:"):
                return _data_uri(images.get(value[4:].strip().strip("<>")))
            blocked.append(value)
            return None
        return value

    cleaned = nh3.clean(
        html,
        attribute_filter=keep,
        url_schemes={"http", "https", "mailto", "cid", "tel"},
        clean_content_tags={"script", "style", "title", "noscript", "template"},
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
    if re.search(r"<link\b|url\s*\(|@import", html, re.IGNORECASE):
        blocked.append("style")
    return cleaned, bool(blocked)


def _data_uri(part) -> str | None:
    if part is None:
        return None
    if not 0 < _payload_size(part) <= MAX_INLINE_IMAGE:
        return None
    data = _payload(part)
    return f"data:{part.get_content_type()};base64,{base64.b64encode(data).decode('ascii')}"
