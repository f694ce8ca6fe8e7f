"""Notices to recipients about their own account (ASVS 2.2.3).

Best effort: a notice that cannot be sent is recorded in the audit trail and
never undoes the change it reports. A notice holds no secret, except the
recovery link and the sign-in code, which only their address receives.
"""

import email.utils
import queue
import sys
import threading
import time

from ..base.errors import WebcryptError
from ..context.home import Home
from ..core import crypto, mime, texts
from ..infra import mailer
from . import events, wording


def password_changed(home: Home, address: str) -> None:
    """Tell *address* that its password was changed, so a stranger's change does not go unseen."""
    branding = _branding(home)
    sender = home.config["mail.from"]
    said = wording.for_address(home, address)
    mail = _headers(home, branding, address, said.subject(texts.PASSWORD_NOTICE_SUBJECT, **branding))
    body = said.bodies_each(texts.PASSWORD_NOTICE_BODY, whom_to_tell(home), address=address,
                            portal_url=home.config["portal.url"], when=_when(home.now()), **branding)
    chunks = mime.plain_mail_chunks(mail, body)
    try:
        mailer.send(mailer.parse_route(home.config["mail.reinject"]), sender, [address], chunks)
    except WebcryptError as e:
        events.audit(home, "webcrypt", "notice_failed", address, detail=str(e)[:200])


def passkey_changed(home: Home, address: str, passkey: str, added: bool) -> None:
    """Tell *address* that a passkey was added to or removed from its account (like a password
    change: whoever holds a session must not add a way in unseen)."""
    branding = _branding(home)
    sender = home.config["mail.from"]
    said = wording.for_address(home, address)
    subject, body = ((texts.PASSKEY_ADDED_SUBJECT, texts.PASSKEY_ADDED_BODY) if added
                     else (texts.PASSKEY_REMOVED_SUBJECT, texts.PASSKEY_REMOVED_BODY))
    mail = _headers(home, branding, address, said.subject(subject, **branding))
    when = _when(home.now())
    chunks = mime.plain_mail_chunks(mail, said.bodies_each(body, whom_to_tell(home), address=address, passkey=passkey,
                                                           when=when, portal_url=home.config["portal.url"], **branding))
    route = mailer.parse_route(home.config["mail.reinject"])
    _in_background(lambda: _send_or_audit(home, route, sender, address, chunks))


def whom_to_tell(home: Home):
    """Per language of a notice: whom its reader tells about a change that was not theirs (the
    sender, and the organisation where one is configured) and the organisation's contact text."""
    brand = home.config.values["branding"]
    organisation = str(brand.get("organisation") or "")
    own = brand.get("texts") if isinstance(brand.get("texts"), dict) else {}

    def values(code: str, _) -> dict:
        tell = (_(texts.TELL_SENDER_OR_ORGANISATION).format(organisation=organisation) if organisation
                else _(texts.TELL_SENDER))
        contact = str((own.get(code) or {}).get("contact") or "")
        return {"tell_at_once": tell, "contact": _(texts.NOTICE_CONTACT).format(contact=contact) if contact else ""}

    return values


def not_delivered(home: Home, sender: str, addresses: list[str], subject) -> None:
    """Tell the sender which recipients did not get the message (disabled accounts)."""
    if not sender:  # never answer a bounce
        return
    branding = _branding(home)
    shown = mime.decoded(subject.value) if subject else ""
    said = wording.for_address(home, sender)
    body = said.bodies(
        texts.NOT_DELIVERED_BODY, subject=shown, addresses="\n".join(f"  {a}" for a in addresses), **branding
    )
    mail = _headers(home, branding, sender, said.subject(texts.NOT_DELIVERED_SUBJECT, **branding))
    try:
        route = mailer.parse_route(home.config["mail.reinject"])
        mailer.send(route, home.config["mail.from"], [sender], mime.plain_mail_chunks(mail, body))
    except WebcryptError as e:
        events.audit(home, "webcrypt", "notice_failed", sender, detail=str(e)[:200])
    for address in addresses:
        events.audit(home, "webcrypt", "not_delivered", address, detail="account disabled")


def read_receipt(home: Home, record, subject: str | None, opened_at: int) -> None:
    """Tell the sender of *record* that its recipient opened it, in the sender's language: the
    subject only where it is kept, the time only where senders may see opening times ([senders]
    show_opening_times). Sent in the background: the reader does not wait for it."""
    branding = _branding(home)
    sender, to = home.config["mail.from"], record.sender
    said = wording.for_address(home, to)
    opened = texts.RECEIPT_OPENED_AT if home.config["senders.show_opening_times"] else texts.RECEIPT_OPENED
    values = {**branding, "recipient": record.recipient, "sent": _when(record.created), "when": _when(opened_at),
              "subject": subject or "", "message_id": record.id,
              "sender_page": home.config["portal.url"].rstrip("/") + "/sender"}
    body = texts.SEPARATOR.join(
        _(opened).format(**values) + (_(texts.RECEIPT_ABOUT).format(**values) if subject else "")
        + "\n" + _(texts.RECEIPT_LINK).format(**values)
        for _ in said.translators()
    )
    mail = _headers(home, branding, to, said.subject(texts.RECEIPT_SUBJECT, **values))
    route = mailer.parse_route(home.config["mail.reinject"])
    chunks = mime.plain_mail_chunks(mail, body)
    _in_background(lambda: _send_or_audit(home, route, sender, to, chunks))


def _when(moment: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(moment))


def recovery_link(home: Home, address: str, token: str, minutes: int) -> None:
    """Mail *address* its one-time link to the confidential question. Sent in the background:
    the page that asked for it must take as long for an address that gets no mail."""
    link = home.config["portal.url"].rstrip("/") + "/forgot/answer?token=" + token
    _secret_in_background(home, address, texts.RECOVERY_LINK_SUBJECT, texts.RECOVERY_LINK_BODY,
                          link=link, minutes=minutes)


def sign_in_code(home: Home, address: str, code: str, minutes: int) -> None:
    """Mail *address* its one-time sign-in code, in the background like a recovery link."""
    _secret_in_background(home, address, texts.MAIL_CODE_SUBJECT, texts.MAIL_CODE_BODY, code=code, minutes=minutes)


def sender_link(home: Home, address: str, link: str, minutes: int) -> None:
    """Mail a sender its one-time sign-in link to the sender page, in the background."""
    _secret_in_background(home, address, texts.SENDER_LINK_SUBJECT, texts.SENDER_LINK_BODY, link=link, minutes=minutes)


def login_data_asked(home: Home, sender: str, recipient: str, link: str) -> None:
    """Tell *sender* that their recipient asks for new login data, with a link to the page that
    sends them; in the background, so the asking page takes as long whether or not one went."""
    _secret_in_background(home, sender, texts.LOGIN_DATA_ASKED_SUBJECT, texts.LOGIN_DATA_ASKED_BODY,
                          recipient=recipient, link=link)


def _secret_in_background(home: Home, address: str, subject: str, body: str, **values) -> None:
    """A mail holding a secret for *address* alone; it leaves in the background, so that the time
    a request takes does not tell whether one was sent, and the secret is in no log."""
    branding = _branding(home)
    sender = home.config["mail.from"]
    said = wording.for_address(home, address)
    mail = _headers(home, branding, address, said.subject(subject, **branding))
    text = said.bodies(body, address=address, **values, **branding)
    route = mailer.parse_route(home.config["mail.reinject"])
    chunks = mime.plain_mail_chunks(mail, text)
    _in_background(lambda: _send_or_audit(home, route, sender, address, chunks))


def _branding(home: Home) -> dict:
    """The branding values a notice's texts name; the organisation falls back to the name."""
    branding = {**home.config.values["branding"]}
    branding["organisation"] = branding.get("organisation") or branding["name"]
    return branding


def _headers(home: Home, branding: dict, to: str, subject: str) -> mime.AutoMail:
    """A notice's headers: from [mail] from, under the branding's name."""
    return mime.AutoMail(sender_name=branding["name"], sender=home.config["mail.from"], to=to, subject=subject,
                         date=email.utils.formatdate(home.now()), message_id=crypto.random_id().hex())


def _send_or_audit(home: Home, route, sender: str, address: str, chunks: list[bytes]) -> None:
    try:
        mailer.send(route, sender, [address], chunks)
    except WebcryptError as e:
        events.audit(home, "webcrypt", "notice_failed", address, detail=str(e)[:200])


_OUTBOX: queue.Queue = queue.Queue(maxsize=1000)
_WORKER: list[threading.Thread] = []
_WORKER_LOCK = threading.Lock()


def _in_background(job) -> None:
    with _WORKER_LOCK:
        if not _WORKER or not _WORKER[0].is_alive():
            _WORKER[:] = [threading.Thread(target=_work, name="webcrypt-notices", daemon=True)]
            _WORKER[0].start()
    _OUTBOX.put(job)


def _work() -> None:
    while True:
        job = _OUTBOX.get()
        try:
            job()
        except Exception as e:  # e.g. the database gone too: one line, never the mail
            print(f"webcrypt: notice not sent: {type(e).__name__}", file=sys.stderr)
        finally:
            _OUTBOX.task_done()


def wait_sent() -> None:
    """Until every mail handed to the background was sent or given up (tests, shutdown)."""
    _OUTBOX.join()

