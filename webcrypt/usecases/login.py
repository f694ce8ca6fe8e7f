"""Recipients: their door into the login pipeline (signin.py), password changes, the
confidential question and recovery links; no HTTP here.

Failures are counted per account and per client address and always answered alike, so
that nobody learns whether an address has an account.
"""

import dataclasses
import functools
import re
import secrets
import unicodedata
from importlib import resources

from ..base.errors import (
    BadAddress,
    BadRequest,
    LoginFailed,
    NotFound,
    PasswordRejected,
    WrongPassword,
)
from ..context.home import Home
from ..core import crypto
from ..core.addresses import normalise
from ..infra import store
from . import accounts, events, mail_codes, notices, passkeys, sessions, signin, throttle

MIN_LENGTH = 12  # OWASP ASVS 4.0.3 V2.1.1, runs of blanks counted as one
MAX_LENGTH = signin.MAX_PASSWORD
QUESTION_MAX = 200
NOT_AN_ADDRESS = "(not a mail address)"


def _normalised(address: str) -> str:
    try:
        return normalise(address)
    except BadAddress:
        # may be a password typed into the wrong field: never kept (throttle key, audit trail)
        return NOT_AN_ADDRESS


def normalised_or_blank(address: str) -> str:
    """An address typed before a passkey sign-in, normalised; blank when none was typed."""
    return _normalised(address) if address.strip() else ""


def _account_key(address: str) -> str:
    return f"login-account:{address}"


def _lock(home: Home, address: str, client: str) -> None:
    until = home.now() + throttle.login_account(home).block
    accounts.lock(address, until)
    events.audit(home, address, "login_locked", address, detail=f"until {until}", client=client)


RECIPIENTS = signin.Door(
    kind=accounts.KIND,
    wrong="the address or the password is wrong",
    normalise=_normalised,
    account_key=lambda home, address: _account_key(address),
    client_key=lambda client: f"login-client:{throttle.client_bucket(client)}",
    find=lambda address: store.Recipient.get_or_none(store.Recipient.address == address),
    check_usable=accounts.check_usable,
    succeeded=accounts.note_login,
    audit_success=lambda home, address, recipient, client: events.audit(home, address, "login", address, client=client),
    audit_failure=lambda home, address, error, client: events.audit(home, address, "login_failed", address, client=client),
    principal=lambda recipient: recipient.address,
    locked=_lock,
    session_data=lambda recipient: {"previous_login": recipient.previous_login},
    password_refused=lambda home, recipient: recipient.password_off,
)


def login(home: Home, address: str, password: str, client: str, replacing: str | None = None,
          uploads: list[str] | None = None, user_agent: str = "") -> signin.SignedIn:
    """A recipient's new session (ending *replacing*) when address and password are right,
    with the *uploads* it may read; LoginFailed/Throttled otherwise."""
    return signin.sign_in(home, RECIPIENTS, address, signin.Proof(password=password), client, replacing,
                          {"uploads": uploads or [], PASSWORD_PROVEN: home.now()}, user_agent)


def login_with_passkey(home: Home, answer: passkeys.Answer, client: str, replacing: str | None = None,
                       uploads: list[str] | None = None, user_agent: str = "") -> signin.SignedIn:
    """The same pipeline with a passkey instead of the password: throttled and audited under the
    account the passkey claims to belong to (nothing, for an unknown one)."""
    owner = passkeys.claimed_owner(home, accounts.KIND, answer)
    return signin.sign_in(home, RECIPIENTS, owner, signin.Proof(passkey=answer), client, replacing,
                          {"uploads": uploads or []}, user_agent)


def offer_passkey(home: Home, recipient: store.Recipient) -> bool:
    """Whether to offer a passkey after this login: once, to whoever has none (not at every login)."""
    return not recipient.passkey_offered and not passkeys.has_any(accounts.KIND, recipient.address)


def switch_password_off(home: Home, recipient: store.Recipient, client: str) -> None:
    """Passwordless, for a recipient who has a passkey (else they could not sign in again)."""
    if not passkeys.has_any(accounts.KIND, recipient.address):
        raise BadRequest("add a passkey before you switch the password off")
    accounts.switch_password_off(home, recipient)
    events.audit(home, recipient.address, "password_off", recipient.address, client=client)
    notices.password_changed(home, recipient.address)


def set_first_password(home: Home, recipient: store.Recipient, new: str, repeated: str, client: str) -> None:
    """A password again for a passwordless recipient (signed in with a passkey: no current one to ask)."""
    if not recipient.password_off:
        raise BadRequest("this account has a password: change it with the current one")
    _refuse(_new_password_problems(recipient, new, repeated, None))
    with signin.HASHING:
        accounts.set_password(home, recipient, new)  # ends all sessions of the recipient
    events.audit(home, recipient.address, "password_changed", recipient.address, client=client)
    notices.password_changed(home, recipient.address)


# One-time codes by mail (mail_codes.py): the same door, the same throttles and lock, with a code
# instead of the password; audited as such, and the session says how it began.
CODE_WRONG = "the code is wrong or no longer valid: please ask for a new one"


def _audit_code_failure(home: Home, address: str, error: BaseException, client: str) -> None:
    events.audit(home, address, "mail_code_failed", address, detail=str(error)[:200], client=client)


BY_MAIL_CODE = dataclasses.replace(
    RECIPIENTS,
    wrong=CODE_WRONG,
    mail_code=mail_codes.check,
    audit_success=lambda home, address, recipient, client: events.audit(home, address, "mail_code_used", address,
                                                                        client=client),
    audit_failure=_audit_code_failure,
    session_data=lambda recipient: {"previous_login": recipient.previous_login, "signed_in_by": mail_codes.SIGNED_IN_BY},
)


def codes_offered(home: Home) -> bool:
    return mail_codes.offered(home)


def request_code(home: Home, address: str, client: str) -> None:
    """Mail a sign-in code to *address* if it may sign in with one; returns alike for every address."""
    mail_codes.request(home, _normalised(address), client)


def login_with_code(home: Home, address: str, code: str, client: str, replacing: str | None = None,
                    uploads: list[str] | None = None) -> signin.SignedIn:
    """A recipient's new session for the live code mailed to *address*, as ``login`` gives for a
    password; LoginFailed/Throttled otherwise (NotFound when no domain allows codes)."""
    if not mail_codes.offered(home):
        raise NotFound("this page does not exist")
    return signin.sign_in(home, BY_MAIL_CODE, address, signin.Proof(mail_code=code), client, replacing,
                          {"uploads": uploads or []})


def signed_in_by_code(session_data: dict) -> bool:
    """Did this session begin with a mailed code? Such a recipient need not know a password."""
    return session_data.get("signed_in_by") == mail_codes.SIGNED_IN_BY


# Passwords


@functools.lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("webcrypt").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def check_strength(password: str, address: str) -> None:
    """Length over composition (NIST SP 800-63B): long enough, not common, not the address."""
    counted = len(re.sub(r"\s{2,}", " ", password))
    if counted < MIN_LENGTH:
        raise PasswordRejected("the password must have at least {minimum} characters; this one has {count}",
                               values={"minimum": MIN_LENGTH, "count": counted})
    if len(password) > MAX_LENGTH:
        raise PasswordRejected("the password must have at most {maximum} characters; this one has {count}",
                               values={"maximum": MAX_LENGTH, "count": len(password)})
    lowered = password.lower()
    if lowered in common_passwords() or len(set(password)) < 4:
        raise PasswordRejected("this password is among the most common ones; choose another")
    local = address.split("@", 1)[0].lower()
    if lowered in (address.lower(), local) or (len(local) >= 4 and lowered.startswith(local) and len(password) - len(local) < 4):
        raise PasswordRejected("the password must not be your mail address")


# The forced first change right after a login with the given password asks for it no more: the
# login proved it a moment ago (the session records when, PASSWORD_PROVEN). Later, or for a change
# the reader chose, the current password is asked again, counted like a login (signin.confirm):
# whoever finds a session left open cannot take the account without knowing the password.
PASSWORD_PROVEN = "password_proven"  # nosec B105 - the name of a session data key, not a password
FRESH_LOGIN_SECONDS = 5 * 60


def proven_just_now(home: Home, session_data: dict) -> bool:
    """Did this session begin with the password, at most FRESH_LOGIN_SECONDS ago?"""
    at = session_data.get(PASSWORD_PROVEN)
    return isinstance(at, int) and 0 <= home.now() - at <= FRESH_LOGIN_SECONDS


def asks_current(home: Home, recipient: store.Recipient, session_data: dict) -> bool:
    """Whether a password change of this session must ask for the current password: not for the
    forced first change just after a password login, nor for one who signed in by a mailed code
    (who may never have seen the given password)."""
    if not recipient.must_change_password:
        return True
    return not (signed_in_by_code(session_data) or proven_just_now(home, session_data))


def change_password(home: Home, recipient: store.Recipient, current: str, new: str, repeated: str, client: str,
                    session_data: dict | None = None) -> None:
    """Check the current password (when asks_current), apply the rules, store the new one and end
    every session. PasswordRejected names every problem found at once, each with its field."""
    session_data = session_data or {}
    asked = asks_current(home, recipient, session_data)
    problems = []
    if asked:
        try:
            _check_current(home, recipient, current, client)
        except PasswordRejected as wrong:
            problems.append(wrong)
    problems += _new_password_problems(recipient, new, repeated, current if asked and not problems else None)
    if not problems and not asked:
        problems += _same_as_given(recipient, new)
    _refuse(problems)
    chosen_freely = not recipient.must_change_password  # not the expected first change of a given password
    with signin.HASHING:
        accounts.set_password(home, recipient, new)  # ends all sessions of the recipient
    events.audit(home, recipient.address, "password_changed", recipient.address, client=client)
    if chosen_freely:
        notices.password_changed(home, recipient.address)


def _new_password_problems(recipient: store.Recipient, new: str, repeated: str, current: str | None) -> list:
    """What is wrong with the new password (field "new") and its repetition (field "repeat")."""
    try:
        check_strength(new, recipient.address)
        if current is not None and new == current:
            raise PasswordRejected("the new password must differ from the current one")
    except PasswordRejected as weak:
        return [weak]  # the repetition is typed again with the new one: no word about it yet
    return [PasswordRejected("the two new passwords differ", field="repeat")] if new != repeated else []


def _refuse(problems: list) -> None:
    """Raise the first problem, carrying all of them, so that the form marks every field at once."""
    if problems:
        problems[0].problems = tuple(problems)
        raise problems[0]


def _same_as_given(recipient: store.Recipient, new: str) -> list:
    """The given password chosen again, found by its hash (it was not asked for). Not counted as a
    guess: only a password that passes every rule gets here, and one that is not the given one is
    stored at once, which ends the forced change and with it this way of asking."""
    with signin.HASHING:
        same = crypto.verify_password(new, recipient.password_hash)
    return [PasswordRejected("the new password must differ from the one you were given")] if same else []


def _check_current(home: Home, recipient: store.Recipient, password: str, client: str) -> None:
    """The current password, asked again with a session: wrong ones count like failed logins,
    so that whoever holds a session cannot guess the password without limit."""
    try:
        signin.confirm(home, RECIPIENTS, recipient, password, client)
    except WrongPassword:
        raise PasswordRejected("the current password is wrong", field="current") from None


# The confidential question


def _answer_form(answer: str) -> str:
    """Answers compare case- and space-insensitively: people retype them from memory."""
    text = unicodedata.normalize("NFKC", answer).casefold()
    return " ".join(text.split())


def set_question(home: Home, recipient: store.Recipient, password: str, question: str, answer: str, client: str) -> None:
    _check_current(home, recipient, password, client)
    question = " ".join(question.split())
    if not question or len(question) > QUESTION_MAX:
        raise PasswordRejected(f"the question must have between 1 and {QUESTION_MAX} characters")
    if len(_answer_form(answer)) < 4:
        raise PasswordRejected("the answer must have at least 4 characters")
    with signin.HASHING:
        answer_hash = crypto.hash_password(_answer_form(answer), home.config["accounts.scrypt_log_n"])
    accounts.set_question(recipient, question, answer_hash)
    events.audit(home, recipient.address, "question_set", recipient.address, client=client)


# Forgotten password: the question is shown only to whoever opens a one-time link mailed to the
# address. Asking for the link answers alike for every address (no mail for one without an
# account that can use it), so these pages never tell whether an address has an account.
RECOVERY_MINUTES = 30
LINKS_PER_ADDRESS = throttle.Rule(limit=3, window=3600, block=3600)  # mails a stranger can cause an address


def question_for(home: Home, address: str) -> str | None:
    """The question of an usable account, or None (unknown address, none set, feature off)."""
    if not home.config["portal.password_questions"]:
        return None
    recipient = store.Recipient.get_or_none(store.Recipient.address == _normalised(address))
    if recipient is None or not recipient.question or not recipient.answer_hash or recipient.disabled:
        return None
    return recipient.question


def request_recovery(home: Home, address: str, client: str) -> None:
    """Mail a one-time link to the question page when *address* has an account with a question.
    Returns alike in every case; the mail leaves in the background, so even the time taken
    does not tell whether one was sent."""
    address = _normalised(address)
    throttle.take(home, f"forgot-account:{address}", LINKS_PER_ADDRESS)
    now = home.now()
    purge_links(now)
    if question_for(home, address) is None:
        events.audit(home, address, "recovery_requested", address, detail="no link: no account with a question", client=client)
        return
    token = secrets.token_urlsafe(32)
    store.RecoveryLink.create(token_hash=_link_hash(token), address=address, created=now,
                              expires=now + RECOVERY_MINUTES * 60)
    events.audit(home, address, "recovery_requested", address, detail="link mailed", client=client)
    notices.recovery_link(home, address, token, RECOVERY_MINUTES)


def purge_links(now: int) -> int:
    """Forget links past their time; how many."""
    return store.RecoveryLink.delete().where(store.RecoveryLink.expires < now).execute()


def _link_hash(token: str) -> str:
    return crypto.fingerprint(b"recovery\0" + token.encode("ascii", "replace"))


def _live_link(home: Home, token: str) -> store.RecoveryLink:
    row = None
    if token and len(token) <= 100 and home.config["portal.password_questions"]:
        row = store.RecoveryLink.get_or_none(store.RecoveryLink.token_hash == _link_hash(token))
    if row is None or row.expires < home.now() or question_for(home, row.address) is None:
        raise BadRequest("this link is not valid: it was used already or is too old. Please ask for a new one")
    return row


def recovery_question(home: Home, token: str) -> str:
    """The question of the account a live recovery link belongs to; BadRequest otherwise."""
    return question_for(home, _live_link(home, token).address)


def recover(home: Home, token: str, answer: str, client: str) -> accounts.NewAccount:
    """A new generated password for the right answer to the question of a live link, which it
    uses up (once, on every portal node); guesses are throttled."""
    link = _live_link(home, token)
    address = link.address
    limits = [(f"answer-account:{address}", throttle.answer_account(home)),
              (f"answer-client:{throttle.client_bucket(client)}", throttle.answer_client(home))]
    counts = throttle.reserve(home, *limits)  # before the hash: parallel guesses cannot pass the limit
    recipient = store.Recipient.get(store.Recipient.address == address)
    with signin.HASHING:
        right = crypto.verify_password(_answer_form(answer)[:MAX_LENGTH], recipient.answer_hash)
    if not right:
        throttle.failed(home, limits, counts)
        events.audit(home, address, "question_failed", address, client=client)
        raise LoginFailed("the answer is wrong")
    throttle.succeeded(limits[1][0])
    if store.RecoveryLink.delete().where(store.RecoveryLink.token_hash == link.token_hash).execute() != 1:
        raise BadRequest("this link is not valid: it was used already or is too old. Please ask for a new one")
    store.RecoveryLink.delete().where(store.RecoveryLink.address == address).execute()  # and every other link
    new = accounts.reset(home, address)
    throttle.clear(limits[0][0])
    throttle.clear(_account_key(address))
    events.audit(home, address, "password_recovered", address, client=client)
    notices.password_changed(home, address)
    return new


def logout(token: str | None) -> None:
    sessions.end(token)
