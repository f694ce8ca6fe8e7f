"""Senders: the people of the organisation who send secure mail, on their own page of the portal
(issue 13); no HTTP here. The only writer of the SenderLink table.

Who is a sender: an address in the internal domains (``[mail] internal_domains``, and
``[senders] domains`` when set) that is the envelope sender of at least one message, while
``[senders] enabled``. A sender has no password: they are trusted through their own mailbox.
They sign in with a one-time link mailed to that address, or with a passkey added once signed
in; both go through the one login pipeline (signin.py) with the doors below.

A sender sees and changes only messages whose envelope sender is their own address, compared in
canonical form (core/addresses.normalise): the MTA hands the envelope sender over as the client
typed it, so the stored value's case varies; a display name, a non-ASCII look-alike or any other
spelling that does not normalise to the very address matches nothing.

The sign-in link: 256 random bits, of which only a fingerprint is kept; single-use (the sign-in
that uses it deletes its row in one statement), 15 minutes; and bound to the browser that asked
(the fingerprint of a random cookie set with the request is kept with the link), so that a link
that leaks from a mailbox (a forwarded mail, a scanner) opens nothing elsewhere. Asking for one
answers alike for every address, and the mail leaves in the background.
"""

import dataclasses
import math
import secrets
from dataclasses import dataclass

from ..base.errors import (
    AccountDisabled,
    BadAddress,
    BadRequest,
    NotFound,
    OtherBrowser,
    WrongPassword,
)
from ..context.home import Home
from ..core import crypto, display
from ..core.addresses import normalise
from ..infra import store
from . import account_admin, accounts, events, messages, notices, passkeys, signin, throttle

KIND = "sender"  # the kind of their sessions and passkeys
LINK_MINUTES = 15
PAGE_SIZE = 50
TARGET_MAX = 200
LINKS_PER_ADDRESS = throttle.Rule(limit=5, window=3600, block=3600)  # mails a stranger can cause an address
LINKS_PER_CLIENT = throttle.Rule(limit=20, window=3600, block=3600)
LOGIN_DATA_PER_SENDER = throttle.Rule(limit=10, window=3600, block=3600)
ASKS_PER_ADDRESS = throttle.Rule(limit=3, window=3600, block=3600)  # "ask the sender" mails per recipient
ASKS_PER_CLIENT = throttle.Rule(limit=20, window=3600, block=3600)
LINK_INVALID = "this link is not valid: it was used already or is too old. Please ask for a new one"
NOT_YOURS = "this message does not exist"
NOT_AN_ADDRESS = "(not a mail address)"


@dataclass(frozen=True)
class Sender:
    """A signed-in (or signing-in) sender: the canonical address, nothing stored of its own."""

    address: str


def actor(address: str) -> str:
    """How the audit trail names a sender."""
    return f"sender:{address}"


# Who is a sender


def enabled(home: Home) -> bool:
    return bool(home.config["senders.enabled"])


def canonical(address: str) -> str | None:
    try:
        return normalise(address)
    except BadAddress:
        return None


def domain_allowed(home: Home, address: str) -> bool:
    """In the internal domains, and in [senders] domains when that is set (messages' one rule)."""
    return messages.sender_domain(home, address)


def _sent_by(address: str):
    """The messages whose envelope sender is *address* (canonical) in some case: the index's expression."""
    return store.Message.select().where(store.lowered(store.Message.sender) == address)


def owns(address: str, record: store.Message) -> bool:
    """Is *record*'s envelope sender *address* in canonical form? (SQL's LOWER of some Unicode
    letters gives ASCII ones; this check is the one that decides.)"""
    return canonical(record.sender or "") == address


def has_sent(address: str) -> bool:
    return _sent_by(address).exists()


def is_sender(home: Home, address: str) -> bool:
    """May *address* (canonical) use the sender page now?"""
    return enabled(home) and domain_allowed(home, address) and has_sent(address)


def _find(address: str):
    # the door's find has no home: the usability check (check_usable) asks the configuration
    return Sender(address) if address and address != NOT_AN_ADDRESS and has_sent(address) else None


def _check_usable(home: Home, sender: Sender) -> None:
    if not enabled(home) or not domain_allowed(home, sender.address):
        raise AccountDisabled("the sender page is not available for this address")


def _normalised(address: str) -> str:
    return canonical(address) or NOT_AN_ADDRESS


def _audit_failure(home: Home, address: str, error: BaseException, client: str) -> None:
    events.audit(home, actor(address), "sender_login_failed", address, detail=str(error)[:200], client=client)


# The sender's doors into the login pipeline: a passkey (SENDERS) or a mailed link (BY_LINK).
SENDERS = signin.Door(
    kind=KIND,
    wrong="the sign-in was not accepted: please ask for a new sign-in link",
    normalise=_normalised,
    account_key=lambda home, address: f"sender-account:{address}",
    client_key=lambda client: f"sender-client:{throttle.client_bucket(client)}",
    find=_find,
    check_usable=_check_usable,
    succeeded=lambda home, sender: None,
    audit_success=lambda home, address, sender, client: events.audit(home, actor(address), "sender_login", address,
                                                                     client=client),
    audit_failure=_audit_failure,
    principal=lambda sender: sender.address,
    password_refused=lambda home, sender: True,  # a sender has no password
)


def _use_link(home: Home, sender: Sender, token: str) -> None:
    """The link door's verifier: the live link of *sender*, used up in one statement; WrongPassword otherwise."""
    L = store.SenderLink
    used = L.delete().where((L.token_hash == _link_hash(token)) & (L.address == sender.address)
                            & (L.expires >= home.now())).execute()
    if used != 1:
        raise WrongPassword("no live link")


BY_LINK = dataclasses.replace(SENDERS, wrong=LINK_INVALID, mail_code=_use_link,
                              password_refused=lambda home, sender: False)  # the link is the way in


# The sign-in link


def new_browser_secret() -> str:
    """The random value of the cookie that binds a link to the browser that asked for it."""
    return secrets.token_urlsafe(32)


def _link_hash(token: str) -> str:
    return crypto.fingerprint(b"sender-link\0" + token.encode("ascii", "replace"))


def _browser_hash(secret: str) -> str:
    return crypto.fingerprint(b"sender-browser\0" + secret.encode("ascii", "replace"))


def safe_target(value: str) -> str:
    """A sender page to continue to after signing in, never another site or page."""
    if value.startswith("/sender/") and "//" not in value and "\\" not in value and len(value) <= TARGET_MAX:
        return value
    return ""


def request_link(home: Home, address: str, browser_secret: str, client: str, target: str = "") -> None:
    """Mail a sign-in link to *address* if it is a sender's; returns alike for every address."""
    if not enabled(home):
        raise NotFound("this page does not exist")
    throttle.take(home, f"sender-link-client:{throttle.client_bucket(client)}", LINKS_PER_CLIENT)
    address = _normalised(address)
    throttle.take(home, f"sender-link-account:{address}", LINKS_PER_ADDRESS)
    purge(home.now())
    if address == NOT_AN_ADDRESS or not is_sender(home, address):
        events.audit(home, actor(address), "sender_link_requested", address, detail="no link: not a sender",
                     client=client)
        return
    token, now = secrets.token_urlsafe(32), home.now()
    store.SenderLink.create(token_hash=_link_hash(token), address=address, browser_hash=_browser_hash(browser_secret),
                            target=safe_target(target), created=now, expires=now + LINK_MINUTES * 60)
    events.audit(home, actor(address), "sender_link_requested", address, detail="link mailed", client=client)
    link = home.config["portal.url"].rstrip("/") + "/sender/link?token=" + token
    notices.sender_link(home, address, link, LINK_MINUTES)


def _live_link(home: Home, token: str) -> store.SenderLink:
    row = None
    if token and len(token) <= 100:
        row = store.SenderLink.get_or_none(store.SenderLink.token_hash == _link_hash(token))
    if row is None or row.expires < home.now():
        raise BadRequest(LINK_INVALID)
    return row


def sign_in_with_link(home: Home, token: str, browser_secret: str, client: str, replacing: str | None = None,
                      user_agent: str = "") -> tuple[signin.SignedIn, str]:
    """A sender's session for a live link opened in the browser that asked for it, and the page
    to continue to. OtherBrowser (the link stays usable there), BadRequest for a used or expired
    link, LoginFailed/Throttled from the pipeline."""
    row = _live_link(home, token)
    if not browser_secret or not crypto.same(_browser_hash(browser_secret[:100]), row.browser_hash):
        events.audit(home, actor(row.address), "sender_link_elsewhere", row.address, client=client)
        raise OtherBrowser("please open this link in the browser where you asked for it")
    signed = signin.sign_in(home, BY_LINK, row.address, signin.Proof(mail_code=token), client, replacing,
                            user_agent=user_agent)
    return signed, row.target


def sign_in_with_passkey(home: Home, answer: passkeys.Answer, client: str, replacing: str | None = None,
                         user_agent: str = "") -> signin.SignedIn:
    owner = passkeys.claimed_owner(home, KIND, answer)
    return signin.sign_in(home, SENDERS, owner, signin.Proof(passkey=answer), client, replacing, user_agent=user_agent)


def purge(now: int) -> int:
    """Forget links past their time; how many."""
    return store.SenderLink.delete().where(store.SenderLink.expires < now).execute()


def signed_in(home: Home, address: str) -> Sender | None:
    """The sender a live session names, if they may still use the page (switched off, domain
    no longer allowed: None)."""
    return Sender(address) if is_sender(home, address) else None


# What a sender sees


@dataclass(frozen=True)
class Search:
    recipient: str = ""  # a part of the recipient's address
    since: int | None = None  # created at or after (UTC seconds)
    until: int | None = None  # created before
    page: int = 1


@dataclass(frozen=True)
class Listing:
    rows: list  # of Row
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class Row:
    record: store.Message
    status: str  # one of messages.STATUSES
    recipient_state: str  # active, locked, disabled, expired, deleted


def day(text: str, end: bool = False) -> int | None:
    """A date typed as YYYY-MM-DD as UTC seconds (its start, or with *end* the next day's); None
    when blank; BadRequest otherwise (a typo must not silently widen the search)."""
    if not text.strip():
        return None
    start = display.parse_day(text)
    if start is None:
        raise BadRequest("please give dates as year-month-day, e.g. 2024-05-31")
    return start + 86400 if end else start


def listing(home: Home, address: str, search: Search) -> Listing:
    """*address*'s messages newest first, PAGE_SIZE a page, through the sender index."""
    query = _sent_by(address)
    if search.recipient.strip():
        query = query.where(store.Message.recipient.contains(search.recipient.strip().lower()[:320]))
    if search.since is not None:
        query = query.where(store.Message.created >= search.since)
    if search.until is not None:
        query = query.where(store.Message.created < search.until)
    total = query.count()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, search.page), pages)
    records = [r for r in query.order_by(store.Message.created.desc(), store.Message.id)
               .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE) if owns(address, r)]
    states = recipient_states(home, {r.recipient for r in records})
    now = home.now()
    rows = [Row(r, messages.status(r, now, states[r.recipient] in ("disabled", "expired", "deleted")),
                states[r.recipient]) for r in records]
    return Listing(rows, total, page, pages)


def own_message(home: Home, address: str, message_id: str) -> Row:
    """One of *address*'s messages; NotFound for any other id (another sender's: nothing told)."""
    record = None
    if len(message_id) <= 64:
        record = store.Message.get_or_none(store.Message.id == message_id.strip().lower())
    if record is None or not owns(address, record):
        raise NotFound(NOT_YOURS)
    state = recipient_states(home, {record.recipient})[record.recipient]
    return Row(record, messages.status(record, home.now(), state in ("disabled", "expired", "deleted")), state)


def recipient_states(home: Home, addresses: set[str]) -> dict[str, str]:
    """The account state of each recipient: never more (no password, no login times)."""
    found = {r.address: r for r in store.Recipient.select().where(store.Recipient.address.in_(list(addresses)))}
    return {a: _state(home, found.get(a)) for a in addresses}


def _state(home: Home, recipient: store.Recipient | None) -> str:
    if recipient is None:
        return "deleted"
    if recipient.disabled:
        return "expired" if recipient.disabled_reason == "expired" else "disabled"
    if recipient.valid_until is not None and recipient.valid_until < home.now():
        return "expired"
    if recipient.locked_until is not None and recipient.locked_until > home.now():
        return "locked"
    return "active"


# What a sender does: each audited with the sender as actor and the client's address


def recall(home: Home, address: str, message_id: str, client: str) -> store.Message:
    row = own_message(home, address, message_id)
    if row.record.revoked is not None:
        return row.record
    return messages.recall(home, row.record.id, actor(address), client)


def max_days(home: Home) -> int:
    return int(home.config["senders.max_expiry_days"])


def extend(home: Home, address: str, message_id: str, days: int, client: str) -> store.Message:
    """The message opens until *days* days from now, 1 to [senders] max_expiry_days."""
    row = own_message(home, address, message_id)
    if max_days(home) < 1:
        raise NotFound("this page does not exist")
    if not 1 <= days <= max_days(home):
        raise BadRequest("the number of days is outside what is allowed")
    return messages.set_expiry(home, row.record.id, days, actor(address), client)


def login_data_allowed(home: Home) -> bool:
    return bool(home.config["senders.new_login_data"])


def send_login_data(home: Home, address: str, message_id: str, client: str) -> accounts.NewAccount:
    """New login data for the recipient of one of *address*'s messages, delivered as [accounts]
    credentials_to says (to this sender by default); throttled per sender."""
    row = own_message(home, address, message_id)
    if not login_data_allowed(home):
        raise NotFound("this page does not exist")
    if accounts.find(row.record.recipient) is None:
        raise NotFound("this recipient has no account any more")
    throttle.take(home, f"sender-login-data:{address}", LOGIN_DATA_PER_SENDER)
    return account_admin.reset(home, row.record.recipient, actor(address), client, sender=address)


# "Ask the sender for new login data", from the recipient's forgotten-password page


def ask_offered(home: Home) -> bool:
    return enabled(home) and login_data_allowed(home)


def ask_sender(home: Home, recipient_address: str, client: str) -> None:
    """Mail the sender of the recipient's latest message (an internal sender) a link straight to
    the page that sends new login data; returns alike for every address, never mails anyone else."""
    if not ask_offered(home):
        raise NotFound("this page does not exist")
    throttle.take(home, f"ask-sender-client:{throttle.client_bucket(client)}", ASKS_PER_CLIENT)
    address = _normalised(recipient_address)
    throttle.take(home, f"ask-sender-account:{address}", ASKS_PER_ADDRESS)
    latest = _latest_message(address)
    sender = canonical(latest.sender or "") if latest else None
    refused = _why_no_ask(home, address, sender)
    if refused:
        events.audit(home, address, "sender_asked", address, detail=f"no mail: {refused}", client=client)
        return
    events.audit(home, address, "sender_asked", address, detail=f"mailed to {sender}", client=client)
    link = home.config["portal.url"].rstrip("/") + f"/sender/message/{latest.id}#login-data"
    notices.login_data_asked(home, sender, address, link)


def _latest_message(address: str) -> store.Message | None:
    return (store.Message.select().where(store.Message.recipient == address)
            .order_by(store.Message.created.desc()).first())


def _why_no_ask(home: Home, address: str, sender: str | None) -> str:
    if address == NOT_AN_ADDRESS or accounts.find(address) is None:
        return "no account"
    if sender is None:
        return "no message with a sender"
    if not is_sender(home, sender):
        return "the sender is not an internal sender"
    return ""

