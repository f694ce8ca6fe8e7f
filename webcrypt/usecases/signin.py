"""The one login pipeline, for recipients and administrators alike; no HTTP here.

Whoever logs in goes through the same steps, in this order (DESIGN.md, "One login pipeline"):

1. the attempt is reserved on the account's and the client's throttles, in one atomic
   statement each, before any hash is computed (throttle.reserve): parallel guesses on any
   number of portal nodes get no more checks than the limit;
2. the password is checked under the hashing semaphore (scrypt at full strength takes
   128 MiB a hash; a burst of logins must not exhaust the machine's memory), against a
   decoy hash when the account is unknown, so that an unknown name takes as long; then
   the door's further verifiers (a one-time code). A passkey stands in for the password and
   the further verifiers alike (possession and user verification in one): its ceremony is
   taken and checked instead of a hash (passkeys.verify), and costs no hashing slot; so does a
   one-time code mailed to the account's address, where the door takes one (mail_codes.py: an
   HMAC, no hash to wait for);
3. any failure is one answer (LoginFailed), counted, audited, and blocks the account when
   it reaches its limit; the answer says how many attempts are left once few are (counted per
   client and name, so that it tells nothing of anyone else's attempts, and the same for a name
   with and without an account), and when a lock this failure set ends;
4. success gives the client's reservation back, clears the account's count, re-hashes a
   password stored at a lower cost, is audited, and starts a new session, ending the one
   the browser had (session ids rotate at every login).

A ``Door`` says what differs between kinds of account: how a name is read and found, which
verifiers follow the password, and what a success, a failure and a lock record.
"""

import functools
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from ..base.errors import (
    AccountDisabled,
    BadAddress,
    LoginFailed,
    PasskeyRejected,
    SecondFactorMissing,
    Throttled,
    UnknownAccount,
    WrongPassword,
)
from ..context.home import Home
from ..core import crypto
from ..infra import store
from . import events, passkeys, sessions, throttle

HASHING = threading.BoundedSemaphore(2)
MAX_PASSWORD = 200
# What makes a login fail; SecondFactorMissing fails it too but is told (the administrator must enrol).
FAILURES = (UnknownAccount, WrongPassword, AccountDisabled, BadAddress, SecondFactorMissing, PasskeyRejected)
PASSKEY_WRONG = "this passkey was not accepted: try again, or log in with your password"
FEW_LEFT = 2  # a failure that leaves this many attempts or fewer says so


@dataclass(frozen=True)
class Proof:
    """What the person typed or presented."""

    password: str = ""
    code: str = ""  # a one-time code (TOTP)
    mail_code: str = ""  # a one-time code mailed to the account's address, instead of the password
    passkey: passkeys.Answer | None = None  # instead of the password and the code


@dataclass(frozen=True)
class Door:
    kind: str  # the session kind, "recipient" or "admin"
    wrong: str  # the one answer to every failure
    normalise: Callable[[str], str]
    account_key: Callable[[Home, str], str]  # the account's throttle key (never what was typed, if it may be a secret)
    client_key: Callable[[str], str]  # the client's throttle key, from its bucket
    find: Callable[[str], Any]  # the account for a normalised name, or None
    check_usable: Callable[[Home, Any], None]  # raises AccountDisabled
    succeeded: Callable[[Home, Any], None]  # record the login on the account
    audit_success: Callable[[Home, str, Any, str], None]  # (home, name, account, client)
    audit_failure: Callable[[Home, str, BaseException, str], None]  # (home, name, error, client)
    principal: Callable[[Any], str]  # who the session belongs to
    verifiers: tuple = ()  # (home, account, proof) -> None, raising on failure; after the password
    password_refused: Callable[[Home, Any], bool] = lambda home, account: False  # passwordless, or passkey required
    locked: Callable[[Home, str, str], None] = lambda home, name, client: None  # the account reached its limit
    session_data: Callable[[Any], dict] = field(default=lambda account: {})
    # (home, account, code) -> None, raising WrongPassword: a door that takes a code mailed to the
    # account's address (Proof.mail_code) instead of the password; None: the password
    mail_code: Callable[[Home, Any, str], None] | None = None


@dataclass(frozen=True)
class SignedIn:
    account: Any
    token: str  # for the cookie; never stored
    session: store.Session


def sign_in(home: Home, door: Door, name: str, proof: Proof, client: str, replacing: str | None = None,
            data: dict | None = None, user_agent: str = "") -> SignedIn:
    """A new session for a right name and proof; LoginFailed (or Throttled) otherwise. The session
    remembers *client* and the device *user_agent* names, for its owner's list of sessions."""
    name = door.normalise(name)
    limits = login_limits(home, door, name, client)
    counts = reserve(home, limits)
    try:
        account = _verified(home, door, name, proof)
    except FAILURES as error:
        fail(home, door, name, client, limits, counts, error)
        if isinstance(error, SecondFactorMissing):
            raise
        raise LoginFailed(PASSKEY_WRONG if proof.passkey else door.wrong, **what_is_left(home, limits, counts)) from None
    throttle.clear(limits[0][0])
    throttle.succeeded(limits[1][0])
    throttle.clear(limits[2][0])
    if proof.passkey is None and door.mail_code is None:  # a code login has no password to store again
        _rehash_if_cheaper(home, account, proof.password)
    door.succeeded(home, account)
    door.audit_success(home, name, account, client)
    sessions.end(replacing)
    sessions.purge(home)
    token, session = sessions.start(home, door.kind, door.principal(account), {**door.session_data(account), **(data or {})},
                                    client, user_agent)
    return SignedIn(account, token, session)


def login_limits(home: Home, door: Door, name: str, client: str) -> list[tuple[str, throttle.Rule]]:
    """The account's and the client's throttles, and a count of this client's attempts on this
    name alone (it refuses nothing: the warning reads it)."""
    account_key, client_key = door.account_key(home, name), door.client_key(client)
    account_rule = throttle.login_account(home)
    return [(account_key, account_rule), (client_key, throttle.login_client(home)),
            (f"login-pair:{client_key}|{account_key}", throttle.count_only(account_rule))]


def what_is_left(home: Home, limits, counts: list[int]) -> dict:
    """After a failure: when the lock it set ends, else how many attempts the reader's own
    failures on this name leave (an upper bound: the lock may come sooner when others failed on
    the same name or client, and saying so would tell of their attempts)."""
    until = throttle.lock_end(home, [key for key, _ in limits[:2]])
    if until is not None:
        return {"locked_until": until}
    left = min(limits[0][1].limit, limits[1][1].limit) - counts[2]
    return {"attempts_left": max(left, 1)}


def confirm(home: Home, door: Door, account, password: str, client: str) -> None:
    """The password asked again of someone signed in (before a change): counted like a login,
    so that whoever holds a session cannot guess the password without limit. WrongPassword."""
    name = door.principal(account)
    limits = [(door.account_key(home, name), throttle.login_account(home))]
    counts = reserve(home, limits)
    with HASHING:
        right = crypto.verify_password(password[:MAX_PASSWORD], account.password_hash)
    if not right:
        error = WrongPassword("the current password is wrong")
        fail(home, door, name, client, limits, counts, error)
        raise error
    throttle.succeeded(limits[0][0])


def reserve(home: Home, limits: list[tuple[str, throttle.Rule]]) -> list[int]:
    try:
        return throttle.reserve(home, *limits)
    except Throttled:
        events.count(home, events.LOGIN_THROTTLED)
        raise


def fail(home: Home, door: Door, name: str, client: str, limits, counts: list[int], error: BaseException) -> None:
    events.count(home, events.LOGIN_FAILED)
    door.audit_failure(home, name, error, client)
    if throttle.failed(home, limits, counts)[0]:
        door.locked(home, name, client)


def _verified(home: Home, door: Door, name: str, proof: Proof):
    if proof.passkey is not None:
        return _verified_by_passkey(home, door, name, proof.passkey)
    if door.mail_code is not None:
        return _verified_by_mail_code(home, door, name, proof)
    if len(proof.password) > MAX_PASSWORD:
        raise WrongPassword("password too long")
    account = door.find(name)
    with HASHING:  # the decoy's hash too, so that an unknown name takes as long as a known one
        right = crypto.verify_password(proof.password, account.password_hash if account else decoy_hash(home))
    if account is None:
        raise UnknownAccount("no such account")
    if not right or door.password_refused(home, account):
        raise WrongPassword("wrong password")
    door.check_usable(home, account)
    for verify in door.verifiers:
        verify(home, account, proof)
    return account


def _verified_by_mail_code(home: Home, door: Door, name: str, proof: Proof):
    account = door.find(name)
    if account is None:
        raise UnknownAccount("no such account")
    door.mail_code(home, account, proof.mail_code)  # first: a right code is used up whatever follows
    if door.password_refused(home, account):  # passkey only: the mailbox must not open it either
        raise WrongPassword("a passkey is required")
    door.check_usable(home, account)
    for verify in door.verifiers:
        verify(home, account, proof)
    return account


def _verified_by_passkey(home: Home, door: Door, name: str, answer: passkeys.Answer):
    passkeys.verify(home, door.kind, name, answer)  # first: the ceremony is used up whatever follows
    account = door.find(name)
    if account is None:  # the passkey's account is gone (deleted since)
        raise UnknownAccount("no such account")
    door.check_usable(home, account)
    return account


def decoy_hash(home: Home) -> str:
    """A hash of a random password at today's cost: what an unknown name is checked against."""
    return _decoy(home.config["accounts.scrypt_log_n"])


@functools.lru_cache(maxsize=4)
def _decoy(log_n: int) -> str:
    return crypto.hash_password(crypto.generate_password(), log_n)


def _rehash_if_cheaper(home: Home, account, password: str) -> None:
    """A password stored at a lower cost than today's is stored again at today's (the cost was
    raised since): the account row's own save writes it with the login."""
    if crypto.scrypt_cost(account.password_hash) < home.config["accounts.scrypt_log_n"]:
        with HASHING:
            account.password_hash = crypto.hash_password(password, home.config["accounts.scrypt_log_n"])
