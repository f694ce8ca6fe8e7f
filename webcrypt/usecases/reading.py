"""A decrypted message made ready for display; pure, and tolerant of any defect.

The body is parsed with ``email`` only after the envelope's tag verified, with
policy.compat32: policy.default's structured header parser spends minutes on
some defective headers (tests/corpus/flanker/enclosed-endless.eml), a denial of
service for a portal that parses per request. Headers shown come from the raw header block (mime.fields), so
a malformed header never stops a message from being read. HTML is sanitised
with nh3 (the only module importing it): no scripts, no event handlers, no
``javascript:`` links, no remote images or style sheets; images the message
carries itself (``cid:``) are inlined as ``data:`` URIs so the sandboxed frame
needs no further request.
"""

import base64
import email.parser
import email.policy
import email.utils
import html as html_module
import re
from dataclasses import dataclass, field

import nh3

from ..core import mime

MAX_INLINE_IMAGE = 5 * 1024 * 1024
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


def _message(raw: bytes):
    try:
        return email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw)
    except RecursionError:  # MIME nested deeper than the parser follows: one part, as it is
        return email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw, headersonly=True)


def parse(raw: bytes) -> View:
    message = _message(raw)
    heads = mime.fields(raw)
    leaves = list(_leaves(message))
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


def attachment(raw: bytes, index: int) -> tuple[Attachment, bytes] | None:
    """One leaf part by index, described, with its decoded bytes."""
    message = _message(raw)
    leaves = list(_leaves(message))
    if not 0 <= index < len(leaves):
        return None
    part = leaves[index]
    return _describe(index, part), _payload(part)


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


def _leaves(part):
    """Leaf parts in order; attached messages count as one leaf (downloaded as .eml).

    A stack, not recursion: nesting depth is chosen by whoever wrote the mail.
    """
    stack = [part]
    while stack:
        part = stack.pop()
        if part.is_multipart() and part.get_content_type() != "message/rfc822":
            payload = part.get_payload()
            stack.extend(reversed(payload if isinstance(payload, list) else []))
        else:
            yield part


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


def _payload(part) -> bytes:
    if part.get_content_type() == "message/rfc822" or part.get_content_maintype() == "multipart":
        inner = part.get_payload()
        if part.get_content_type() == "message/rfc822" and isinstance(inner, list) and inner:
            part = inner[0]  # the attached message itself, without the part's own headers
        try:
            return part.as_bytes()
        except (ValueError, TypeError, LookupError, UnicodeError, RecursionError):
            return b""
    try:
        data = part.get_payload(decode=True)
    except (ValueError, TypeError, LookupError, UnicodeError):
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "replace") if isinstance(raw, str) else b""


def _text_of(part) -> str:
    data = _payload(part)
    charset = "utf-8"
    try:
        charset = part.get_content_charset() or "utf-8"
        return data.decode(charset, "replace")
    except (LookupError, ValueError, TypeError):
        return data.decode("utf-8", "replace")


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
    kind = part.get_content_type()
    name = safe_filename(_filename(part)) or _default_name(index, kind)
    return Attachment(index, name, kind, len(_payload(part)))


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
    data = _payload(part)
    if not data or len(data) > MAX_INLINE_IMAGE:
        return None
    return f"data:{part.get_content_type()};base64,{base64.b64encode(data).decode('ascii')}"
