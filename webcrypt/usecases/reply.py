"""Secure replies from the portal: composed here, delivered through ``mail.reinject``.

The reply goes to the original sender as recorded in the database (never an
address from the form), optionally with copies to the original recipients in
internal domains. The envelope sender is always ``mail.from``. Every header
value is plain text: control characters and line breaks are refused, also where
they hide in RFC 2047 encoded words, and headers are written so that no value
can start a new field (mime.COMPOSING). The reply's Message-ID is remembered as
part of an encrypted thread, so the sender's answer is encrypted again.
"""

import email.message
import email.utils
import html
import mimetypes
import re
from dataclasses import dataclass

from ..base.errors import BadAddress, BadRequest, MessageTooLarge
from ..context.home import Home
from ..core import mime
from ..core.addresses import domain_of, needs_smtputf8, normalise
from ..infra import mailer, store
from . import events, gateway, messages, reading, throttle

HOUR = 3600
QUOTE_LIMIT = 200_000  # characters of the original quoted at most


@dataclass(frozen=True)
class Attached:
    filename: str
    data: bytes


@dataclass(frozen=True)
class Draft:
    subject: str
    text: str
    cc: list[str]
    attachments: list[Attached]


def subject_for(original: str) -> str:
    """The suggested subject: the original's as a reader sees it, as plain text (a hostile one's
    control characters become blanks, and encoded words hidden in it are decoded first)."""
    original = " ".join(_shown_plainly(original).split())
    return original if original.lower().startswith(("re:", "aw:")) else f"Re: {original}".strip()


def _shown_plainly(text: str) -> str:
    for _ in range(4):  # an encoded word inside an encoded word ...
        once = mime.decoded(text.encode("utf-8", "surrogateescape"))
        if once == text:
            break
        text = once
    text = mime.UNSAFE_TEXT.sub(" ", text)
    return text if not mime.unsafe_header_text(text) else text.replace("=?", "= ?")


def quoted(view: reading.View, intro: str = "{sender} wrote on {date}:") -> str:
    """The original, quoted as mail clients do, below room for the answer (*intro* may be translated)."""
    body = view.text if view.text is not None else _html_as_text(view.html or "")
    lines = body[:QUOTE_LIMIT].splitlines()
    heading = intro.replace("{sender}", view.sender).replace("{date}", view.date or "")
    return "\n\n" + heading + "\n" + "\n".join("> " + line for line in lines) + "\n"


def _html_as_text(markup: str) -> str:
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>", "\n", markup)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def internal_copies(home: Home, view: reading.View, record: store.Message, recipient: str) -> list[str]:
    """Original recipients the reply may copy: internal domains (and the sender's), not oneself."""
    domains = {d.lower() for d in home.config["mail.internal_domains"]} | {domain_of(record.sender)}
    result = []
    for address in view.addresses:
        try:
            address = normalise(address)
        except BadAddress:
            continue
        if domain_of(address) in domains and address not in (recipient, record.sender) and address not in result:
            result.append(address)
    return result


def check_headers(texts: list[str], addresses: list[str]) -> None:
    """Refuse, never strip: the user sees what was wrong and nothing is sent. Addresses are
    never encoded words (the email package would decode one in an address header)."""
    if any(mime.unsafe_header_text(v) for v in texts) or any(mime.unsafe_header_text(a) or "=?" in a for a in addresses):
        raise BadRequest("line breaks and control characters are not allowed in the subject, file names or addresses")


def compose(home: Home, recipient: str, record: store.Message, view: reading.View, draft: Draft) -> email.message.EmailMessage:
    check_headers([draft.subject, *(a.filename for a in draft.attachments)], [recipient, record.sender, *draft.cc])
    allowed = internal_copies(home, view, record, recipient)
    for address in draft.cc:
        if address not in allowed:
            raise BadRequest("you may only write to the sender and the original internal recipients")
    size = len(draft.text.encode("utf-8")) + sum(len(a.data) for a in draft.attachments)
    if size > home.config["portal.reply_max_size"]:
        raise MessageTooLarge("the reply is too large")
    if not record.sender:  # a message sent with a null sender (<>): nobody to answer
        raise BadRequest("this message has no sender to reply to")
    if not draft.text.strip() and not draft.attachments:
        raise BadRequest("the reply is empty: please write something or attach a file")
    # a non-ASCII address stays UTF-8 in the header (RFC 6532); it travels with SMTPUTF8 anyway
    utf8 = needs_smtputf8([record.sender, *draft.cc])
    message = email.message.EmailMessage(policy=mime.COMPOSING_UTF8 if utf8 else mime.COMPOSING)
    message["From"] = recipient
    message["To"] = record.sender
    if draft.cc:
        message["Cc"] = ", ".join(draft.cc)
    message["Subject"] = draft.subject
    message["Date"] = email.utils.formatdate(home.now(), localtime=False)
    message["Message-ID"] = email.utils.make_msgid(domain=domain_of(home.config["mail.from"]) or "localhost")
    _thread_headers(message, view)
    message.set_content(draft.text)
    for item in draft.attachments:
        name = reading.safe_filename(item.filename) or "attachment.bin"  # no path, nothing but word characters
        kind = (mimetypes.guess_type(name)[0] or "application/octet-stream").split("/", 1)
        message.add_attachment(item.data, maintype=kind[0], subtype=kind[1], filename=name)
    return message


def _thread_headers(message, view: reading.View) -> None:
    """In-Reply-To and References from the original's ids: well-formed ids only (mail data)."""
    original = mime.message_ids(view.message_id)
    if len(original) == 1:
        message["In-Reply-To"] = original[0]
        message["References"] = " ".join(mime.message_ids(view.references)[-20:] + original)


def send(home: Home, recipient: str, record: store.Message, view: reading.View, draft: Draft, client: str) -> str:
    """Compose, check limits, deliver; return the reply's Message-ID."""
    message = compose(home, recipient, record, view, draft)
    throttle.take(home, f"reply:{recipient}", throttle.Rule(home.config["portal.replies_per_hour"], HOUR, HOUR))
    route = mailer.parse_route(home.config["mail.reinject"])
    targets = [record.sender, *draft.cc]
    mailer.send(route, home.config["mail.from"], targets, [message.as_bytes()])
    message_id = message["Message-ID"]
    gateway.remember_thread(home, message_id, record.id)
    messages.note_replied(home, record)  # its sender sees "replied"
    events.count(home, events.REPLIES)
    events.audit(home, recipient, "reply_sent", record.sender, detail=f"message {record.id}", client=client)
    return message_id
