"""Recipient log-in, password changes and the confidential question; no HTTP here.

Failures are counted per account and per client address (see throttle.py) and
always answered alike, so that nobody learns whether an address has an
account. scrypt runs under a small semaphore: at full strength each hash takes
128 MiB, and a burst of logins must not exhaust the machine's memory.
"""

import functools
import re
import threading
import unicodedata
from importlib import resources

from . import accounts, crypto, events, notices, sessions, store, throttle
from .addresses import normalise
from .errors import AccountDisabled, BadAddress, LoginFailed, PasswordRejected, Throttled, UnknownAccount, WrongPassword
from .home import Home

HASHING = threading.BoundedSemaphore(2)
MIN_LENGTH = 12  # OWASP ASVS 4.0.3 V2.1.1, runs of blanks counted as one
MAX_LENGTH = 200
QUESTION_MAX = 200


def _account_key(address: str) -> str:
    return f"login-account:{address}"


def _client_key(client: str) -> str:
    return f"login-client:{throttle.client_bucket(client)}"


def login(home: Home, address: str, password: str, client: str) -> store.Recipient:
    """The recipient, when address and password are right; LoginFailed/Throttled otherwise."""
    address = _normalised(address)
    limits = _login_limits(home, address, client)
    counts = _reserved(home, limits)
    try:
        with HASHING:
            recipient = _authenticate(home, address, password)
    except (UnknownAccount, WrongPassword, AccountDisabled, BadAddress):
        _failed(home, address, client, limits, counts)
        raise LoginFailed("the address or the password is wrong") from None
    throttle.clear(_account_key(address))
    throttle.succeeded(_client_key(client))
    if crypto.scrypt_cost(recipient.password_hash) < home.config["accounts.scrypt_log_n"]:  # the cost was raised since
        with HASHING:
            recipient.password_hash = accounts.hash_password(home, password)
    recipient.previous_login = recipient.last_login  # shown on the profile page (not a column)
    recipient.last_login = home.now()
    recipient.failed_logins = 0
    recipient.save()
    events.audit(home, address, "login", address, client=client)
    return recipient


def _login_limits(home: Home, address: str, client: str) -> list[tuple[str, throttle.Rule]]:
    return [(_account_key(address), throttle.login_account(home)), (_client_key(client), throttle.login_client(home))]


def _reserved(home: Home, limits) -> list[int]:
    """The attempt counted before any hash is computed (see throttle.reserve)."""
    try:
        return throttle.reserve(home, *limits)
    except Throttled:
        events.count(home, events.LOGIN_THROTTLED)
        raise


NOT_AN_ADDRESS = "(not a mail address)"


def _normalised(address: str) -> str:
    try:
        return normalise(address)
    except BadAddress:
        # may be a password typed into the wrong field: never kept (throttle key, audit trail)
        return NOT_AN_ADDRESS


def _authenticate(home: Home, address: str, password: str) -> store.Recipient:
    if len(password) > MAX_LENGTH:
        raise WrongPassword("password too long")
    try:
        return accounts.authenticate(home, address, password)
    except UnknownAccount:
        crypto.verify_password(password, _decoy_hash(home.config["accounts.scrypt_log_n"]))  # same time taken
        raise


@functools.lru_cache(maxsize=4)
def _decoy_hash(log_n: int) -> str:
    return crypto.hash_password(crypto.generate_password(), log_n)


def _failed(home: Home, address: str, client: str, limits, counts: list[int]) -> None:
    events.count(home, events.LOGIN_FAILED)
    events.audit(home, address, "login_failed", address, client=client)
    if throttle.failed(home, limits, counts)[0]:
        _lock(home, address, client)


def _lock(home: Home, address: str, client: str) -> None:
    until = home.now() + throttle.login_account(home).block
    store.Recipient.update(locked_until=until).where(store.Recipient.address == address).execute()
    events.audit(home, address, "login_locked", address, detail=f"until {until}", client=client)


# Passwords


@functools.lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("webcrypt").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def check_strength(password: str, address: str) -> None:
    """Length over composition (NIST SP 800-63B): long enough, not common, not the address."""
    if len(re.sub(r"\s{2,}", " ", password)) < MIN_LENGTH:
        raise PasswordRejected(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"the password must have at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in common_passwords() or len(set(password)) < 4:
        raise PasswordRejected("this password is among the most common ones; choose another")
    local = address.split("@", 1)[0].lower()
    if lowered in (address.lower(), local) or (len(local) >= 4 and lowered.startswith(local) and len(password) - len(local) < 4):
        raise PasswordRejected("the password must not be your mail address")


def change_password(home: Home, recipient: store.Recipient, current: str, new: str, repeated: str, client: str) -> None:
    """Check the current password, apply the rules, store the new one and end every session."""
    _check_current(home, recipient, current, client)
    if new != repeated:
        raise PasswordRejected("the two new passwords differ")
    if new == current:
        raise PasswordRejected("the new password must differ from the current one")
    check_strength(new, recipient.address)
    chosen_freely = not recipient.must_change_password  # not the expected first change of a given password
    with HASHING:
        accounts.set_password(home, recipient, new)  # ends all sessions of the recipient
    events.audit(home, recipient.address, "password_changed", recipient.address, client=client)
    if chosen_freely:
        notices.password_changed(home, recipient.address)


def _check_current(home: Home, recipient: store.Recipient, password: str, client: str) -> None:
    """The current password, asked again with a session: wrong ones count like failed logins,
    so that whoever holds a session cannot guess the password without limit."""
    limits = _login_limits(home, recipient.address, client)[:1]
    counts = _reserved(home, limits)
    with HASHING:
        right = crypto.verify_password(password[:MAX_LENGTH], recipient.password_hash)
    if not right:
        _failed(home, recipient.address, client, limits, counts)
        raise PasswordRejected("the current password is wrong")
    throttle.succeeded(*(key for key, _ in limits))


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
    with HASHING:
        recipient.answer_hash = crypto.hash_password(_answer_form(answer), home.config["accounts.scrypt_log_n"])
    recipient.question = question
    recipient.save()
    events.audit(home, recipient.address, "question_set", recipient.address, client=client)


# Shown for an address without a question of its own (an unknown one included), so that the
# forgotten-password pages never tell whether an address has an account; answers to it always
# fail, after the same scrypt and with the same throttling as a wrong answer.
DECOY_QUESTIONS = (
    "What was the name of your first pet?",
    "In which town was your mother born?",
    "What was the name of your first school?",
    "What was your childhood nickname?",
    "What was the first name of your favourite teacher?",
)


def question_shown(home: Home, address: str) -> str | None:
    """The question the forgotten-password page asks: the account's own or, looking alike, a decoy
    (the same every time for an address); None only when the feature is off."""
    if not home.config["portal.password_questions"]:
        return None
    return question_for(home, address) or _decoy_question(home, address)


def _decoy_question(home: Home, address: str) -> str:
    first = min(home.keyring.secrets)  # not the newest: a decoy that changed with a key rotation would give itself away
    digest = crypto.mac(home.keyring.mac_key(first), f"decoy-question\0{_normalised(address)}".encode())
    return DECOY_QUESTIONS[int(digest[:8], 16) % len(DECOY_QUESTIONS)]


def question_for(home: Home, address: str) -> str | None:
    """The question of an usable account, or None (unknown address, none set, feature off)."""
    if not home.config["portal.password_questions"]:
        return None
    recipient = store.Recipient.get_or_none(store.Recipient.address == _normalised(address))
    if recipient is None or not recipient.question or not recipient.answer_hash or recipient.disabled:
        return None
    return recipient.question


def recover(home: Home, address: str, answer: str, client: str) -> accounts.NewAccount:
    """A new generated password when the answer is right; guesses are throttled."""
    address = _normalised(address)
    limits = [(f"answer-account:{address}", throttle.answer_account(home)),
              (f"answer-client:{throttle.client_bucket(client)}", throttle.answer_client(home))]
    if not home.config["portal.password_questions"]:
        raise LoginFailed("no confidential question is set for this address")
    counts = throttle.reserve(home, *limits)
    recipient = store.Recipient.get_or_none(store.Recipient.address == address)
    own = recipient is not None and question_for(home, address) is not None
    expected = recipient.answer_hash if own else _decoy_hash(home.config["accounts.scrypt_log_n"])
    with HASHING:  # the decoy's hash too, so that an unknown address takes as long as a known one
        matches = crypto.verify_password(_answer_form(answer)[:MAX_LENGTH], expected)
    right = own and matches
    if not right:
        throttle.failed(home, limits, counts)
        events.audit(home, address, "question_failed", address, client=client)
        raise LoginFailed("the answer is wrong")
    throttle.succeeded(limits[1][0])
    new = accounts.reset(home, address)
    throttle.clear(limits[0][0])
    throttle.clear(_account_key(address))
    events.audit(home, address, "password_recovered", address, client=client)
    notices.password_changed(home, address)
    return new


def logout(token: str | None) -> None:
    sessions.end(token)
