"""One-time sign-in codes mailed to a recipient's own address; no HTTP here.

An administrator's choice per recipient domain (``[accounts] mail_code_domains``, or the
console's mail settings), off by default: the password is meant to reach the recipient by
another channel than the mailbox the encrypted message went to, and with a code, whoever
controls that mailbox reads the messages. Convenient where that is accepted (docs/admin.md).

The code is 8 random digits. Only HMAC-SHA256 of address and code is kept, under a key derived
(HKDF, its own label) from the master key, which is not in the database: a copy of the table
(a backup, an injection) offers nothing to test 10^8 candidates against, while whoever also
holds the master key can read the messages anyway. A slow hash with a salt (scrypt) would hold
10^8 candidates off for minutes of GPU time at most, and cost memory at every sign-in.

A code is used once (the sign-in that uses it deletes its row in one statement, so that two
racing sign-ins cannot both win), lives ten minutes, is void after MAX_TRIES wrong codes, and a
new request replaces it. Wrong codes are also failed logins on the account's and the client's
throttles, with the same lock as wrong passwords (login.BY_MAIL_CODE goes through signin.py).
Asking for a code answers alike for every address, like the forgotten-password link.
"""

import secrets

from ..base.errors import AccountDisabled, NotFound, WrongPassword
from ..context.home import Home
from ..core import crypto, policy
from ..infra import store
from . import accounts, events, notices, throttle

MINUTES = 10
DIGITS = 8
MAX_TRIES = 3  # wrong codes before a code is void (the account's login limit counts them too)
CODES_PER_ADDRESS = throttle.Rule(limit=5, window=3600, block=3600)  # mails a stranger can cause an address
CODES_PER_CLIENT = throttle.Rule(limit=20, window=3600, block=3600)
SIGNED_IN_BY = "mail_code"  # in the session's data: the recipient came in with a code


class WrongCode(WrongPassword):
    """A missing, wrong, expired, used or void code: to the client, a failed login."""


def offered(home: Home) -> bool:
    """Does any domain allow codes? The login page cannot know the account, so it offers them then."""
    return bool(home.config["accounts.mail_code_domains"])


def allowed(home: Home, address: str) -> bool:
    return policy.domain_listed(address, home.config["accounts.mail_code_domains"])


def request(home: Home, address: str, client: str) -> None:
    """Mail a new code to *address* (normalised) when it has a usable account in a domain that
    allows codes. Returns alike in every case, and the mail leaves in the background, so that
    neither the answer nor its time tells whether one was sent."""
    if not offered(home):
        raise NotFound("this page does not exist")
    throttle.take(home, f"mail-code-client:{throttle.client_bucket(client)}", CODES_PER_CLIENT)
    throttle.take(home, f"mail-code-account:{address}", CODES_PER_ADDRESS)
    purge(home.now())
    refused = _why_not(home, address)
    if refused:
        events.audit(home, address, "mail_code_requested", address, detail=f"no code: {refused}", client=client)
        return
    code = _new_code()
    _store(home, address, code)
    events.audit(home, address, "mail_code_requested", address, detail="code mailed", client=client)
    notices.sign_in_code(home, address, shown(code), MINUTES)


def _why_not(home: Home, address: str) -> str:
    recipient = accounts.find(address)
    if recipient is None:
        return "no account"
    try:
        accounts.check_usable(home, recipient)
    except AccountDisabled:
        return "account disabled or expired"
    if not allowed(home, address):
        return "domain not allowed"
    return ""


def _new_code() -> str:
    return f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"


def shown(code: str) -> str:
    """In two groups (1234 5678): easier to read off one screen and type into another."""
    half = len(code) // 2
    return f"{code[:half]} {code[half:]}"


def _typed(code: str) -> str:
    """The digits of what was typed: spaces and dashes people copy along are no error."""
    return "".join(c for c in code[:40] if c in "0123456789")


def _hash(home: Home, generation: int, address: str, code: str) -> str:
    key = crypto.derive(home.keyring.secrets[generation], "mail-sign-in-code")
    return crypto.mac(key, f"{address}\0{code}".encode())


def _store(home: Home, address: str, code: str) -> None:
    """One code per address: this one replaces any earlier (one statement, on every node alike)."""
    now, generation = home.now(), home.keyring.current
    values = {"code_hash": _hash(home, generation, address, code), "generation": generation,
              "created": now, "expires": now + MINUTES * 60, "tries": 0}
    M = store.MailCode
    with store.db.atomic():
        M.insert(address=address, **values).on_conflict(
            conflict_target=[M.address], update={getattr(M, name): value for name, value in values.items()}).execute()


def check(home: Home, recipient: store.Recipient, code: str) -> None:
    """The sign-in pipeline's verifier: the live code of *recipient*, used up; WrongCode otherwise."""
    row = store.MailCode.get_or_none(store.MailCode.address == recipient.address)
    if (row is None or row.expires <= home.now() or not allowed(home, recipient.address)
            or row.generation not in home.keyring.secrets):
        raise WrongCode("no live code")
    if not crypto.same(row.code_hash, _hash(home, row.generation, recipient.address, _typed(code))):
        _count_wrong(row)
        raise WrongCode("wrong code")
    M = store.MailCode
    if M.delete().where((M.address == row.address) & (M.code_hash == row.code_hash)).execute() != 1:
        raise WrongCode("code used already")


def _count_wrong(row: store.MailCode) -> None:
    M = store.MailCode
    with store.db.atomic():
        M.update(tries=M.tries + 1).where((M.address == row.address) & (M.code_hash == row.code_hash)).execute()
        M.delete().where((M.address == row.address) & (M.tries >= MAX_TRIES)).execute()


def purge(now: int) -> int:
    """Forget codes past their time; how many."""
    return store.MailCode.delete().where(store.MailCode.expires < now).execute()
