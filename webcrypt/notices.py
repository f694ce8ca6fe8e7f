"""Notices to recipients about their own account (ASVS 2.2.3).

Best effort: a notice that cannot be sent is recorded in the audit trail and
never undoes the change it reports. A notice holds no secret.
"""

import email.utils
import time

from . import crypto, events, mailer, mime, texts
from .errors import WebcryptError
from .home import Home


def password_changed(home: Home, address: str) -> None:
    """Tell *address* that its password was changed, so a stranger's change does not go unseen."""
    branding = {**home.config.values["branding"]}
    branding["organisation"] = branding.get("organisation") or branding["name"]
    sender = home.config["mail.from"]
    mail = mime.AutoMail(
        sender_name=branding["name"], sender=sender, to=address,
        subject=texts.PASSWORD_NOTICE_SUBJECT.format(**branding),
        date=email.utils.formatdate(home.now()), message_id=crypto.random_id().hex(),
    )
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(home.now()))
    chunks = mime.password_notice_chunks(mail, branding, address, home.config["portal.url"], when)
    try:
        mailer.send(mailer.parse_route(home.config["mail.reinject"]), sender, [address], chunks)
    except WebcryptError as e:
        events.audit(home, "webcrypt", "notice_failed", address, detail=str(e)[:200])


def not_delivered(home: Home, sender: str, addresses: list[str], subject) -> None:
    """Tell the sender which recipients did not get the message (disabled accounts)."""
    if not sender:  # never answer a bounce
        return
    branding = {**home.config.values["branding"]}
    branding["organisation"] = branding.get("organisation") or branding["name"]
    shown = mime.decoded(subject.value) if subject else ""
    body = texts.NOT_DELIVERED_BODY.format(
        subject=shown, addresses="\n".join(f"  {a}" for a in addresses), **branding
    )
    mail = mime.AutoMail(
        sender_name=branding["name"], sender=home.config["mail.from"], to=sender,
        subject=texts.NOT_DELIVERED_SUBJECT.format(**branding),
        date=email.utils.formatdate(home.now()), message_id=crypto.random_id().hex(),
    )
    try:
        route = mailer.parse_route(home.config["mail.reinject"])
        mailer.send(route, home.config["mail.from"], [sender], mime.plain_mail_chunks(mail, body))
    except WebcryptError as e:
        events.audit(home, "webcrypt", "notice_failed", sender, detail=str(e)[:200])
    for address in addresses:
        events.audit(home, "webcrypt", "not_delivered", address, detail="account disabled")
