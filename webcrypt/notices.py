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
