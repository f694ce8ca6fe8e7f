"""Administrator accounts: separate from recipients, used only by /admin.

A recipient can never log in to the console and an administrator name is not
a mail address, so neither account kind can stand in for the other.
"""

import re
from typing import NamedTuple
from urllib.parse import quote, urlencode

from ..base.errors import (
    AccountDisabled,
    AlreadyExists,
    SecondFactorMissing,
    UnknownAccount,
    WebcryptError,
    WrongPassword,
)
from ..context.home import Home
from ..core import crypto
from ..infra import store
from . import events, passkeys, sessions, signin, throttle

KIND = "admin"  # the kind of their sessions
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 12


def checked_name(name: str) -> str:
    name = name.strip().lower()
    if not NAME.match(name):
        raise WebcryptError(f"administrator name {name!r} must be 1-64 of a-z 0-9 . _ - (starting with a letter or digit)")
    return name


def checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise WebcryptError(f"an administrator password needs at least {MIN_PASSWORD} characters")
    return password


def add(home: Home, name: str, password: str, actor: str = "cli") -> store.Admin:
    name = checked_name(name)
    digest = crypto.hash_password(checked_password(password), home.config["accounts.scrypt_log_n"])
    try:
        with store.db.atomic():
            admin = store.Admin.create(name=name, password_hash=digest, created=home.now())
            events.audit(home, actor, "admin_add", name)
    except store.IntegrityError:
        raise AlreadyExists(f"administrator {name} exists already") from None
    return admin


def get(name: str) -> store.Admin:
    admin = store.Admin.get_or_none(store.Admin.name == name.strip().lower())
    if admin is None:
        raise UnknownAccount(f"no administrator {name.strip().lower()!r}")
    return admin


def authenticate(home: Home, name: str, password: str) -> store.Admin:
    """The administrator, if the password is right and the account enabled (the password only,
    no throttle, no session: for commands run by root; the console signs in through ``login``)."""
    admin = _find(_normalised(name))
    with signin.HASHING:
        right = crypto.verify_password(password, admin.password_hash if admin else signin.decoy_hash(home))
    if admin is None or not right:
        raise WrongPassword("wrong administrator name or password")
    _check_usable(home, admin)
    _succeeded(home, admin)
    return admin


def _normalised(name: str) -> str:
    return name.strip().lower()[:64]


def _find(name: str) -> store.Admin | None:
    return store.Admin.get_or_none(store.Admin.name == name)


def _check_usable(home: Home, admin: store.Admin) -> None:
    if admin.disabled:
        raise AccountDisabled(f"administrator {admin.name} is disabled")


def _succeeded(home: Home, admin: store.Admin) -> None:
    admin.last_login = home.now()
    admin.save()  # with a password hash re-made at today's cost


def _name_key(home: Home, name: str) -> str:
    # the name as a MAC: what was typed may be a password in the wrong field, never to be stored
    return "admin-account:" + crypto.mac(home.keyring.mac_key(), f"admin-name\0{name}".encode())[:32]


def _audit_failure(home: Home, name: str, error: BaseException, client: str) -> None:
    shown = name if _find(name) else "(unknown name)"
    detail = str(error) if isinstance(error, (SecondFactorMissing, _WrongCode)) else ""
    events.audit(home, f"admin:{shown}", "admin_login_failed", shown, detail, client=client)


ADMINS = signin.Door(
    kind=KIND,
    wrong="the name or the password is wrong",
    normalise=_normalised,
    account_key=_name_key,
    client_key=lambda client: f"admin-client:{throttle.client_bucket(client)}",
    find=_find,
    check_usable=_check_usable,
    succeeded=_succeeded,
    audit_success=lambda home, name, admin, client: events.audit(home, f"admin:{admin.name}", "admin_login", admin.name,
                                                                 client=client),
    audit_failure=_audit_failure,
    principal=lambda admin: admin.name,
    verifiers=(lambda home, admin, proof: _check_second_factor(home, admin, proof.code[:20]),),
    password_refused=lambda home, admin: home.config["admin.require_passkey"] and passkeys.has_any(KIND, admin.name),
)


def login(home: Home, name: str, password: str, client: str, code: str = "", replacing: str | None = None,
          user_agent: str = "") -> signin.SignedIn:
    """A new console session for a right name and password, and the right one-time code when the
    administrator has a second factor; the same pipeline as recipients. A missing or wrong code
    is a failed login like a wrong password, and says nothing about the password."""
    return signin.sign_in(home, ADMINS, name, signin.Proof(password=password, code=code), client, replacing,
                          user_agent=user_agent)


def login_with_passkey(home: Home, answer: passkeys.Answer, client: str, replacing: str | None = None,
                       user_agent: str = "") -> signin.SignedIn:
    """A console session for a passkey (possession and user verification: no password, no code);
    throttled and audited under the administrator it claims to be."""
    owner = passkeys.claimed_owner(home, KIND, answer)
    return signin.sign_in(home, ADMINS, owner, signin.Proof(passkey=answer), client, replacing,
                          user_agent=user_agent)


def must_add_passkey(home: Home, name: str) -> bool:
    """[admin] require_passkey and none yet: the console lets this administrator only add one."""
    return bool(home.config["admin.require_passkey"]) and not passkeys.has_any(KIND, name)


def confirm_password(home: Home, name: str, password: str, client: str) -> store.Admin:
    """The signed-in administrator's password asked again before a change to their second factor:
    counted like a login (signin.confirm), so a left-open session cannot guess it. WrongPassword."""
    admin = get(name)
    signin.confirm(home, ADMINS, admin, password, client)
    return admin


def set_password(home: Home, name: str, password: str, actor: str = "cli") -> store.Admin:
    admin = get(name)
    admin.password_hash = crypto.hash_password(checked_password(password), home.config["accounts.scrypt_log_n"])
    with store.db.atomic():
        admin.save()
        sessions.end_all(KIND, admin.name)
        events.audit(home, actor, "admin_password", admin.name)
    return admin


def set_disabled(home: Home, name: str, disabled: bool, actor: str = "cli") -> store.Admin:
    admin = get(name)
    admin.disabled = disabled
    with store.db.atomic():
        admin.save()
        if disabled:
            sessions.end_all(KIND, admin.name)
        events.audit(home, actor, "admin_disable" if disabled else "admin_enable", admin.name)
    return admin


# --- second factor (TOTP, RFC 6238) ---------------------------------------------------------


class _WrongCode(WrongPassword):
    """A missing, wrong or replayed one-time code: to the client, a wrong password."""


def _check_second_factor(home: Home, admin: store.Admin, code: str) -> None:
    if admin.totp_secret is None:
        if home.config["admin.require_totp"] and not passkeys.has_any(KIND, admin.name):
            raise SecondFactorMissing(f"administrator {admin.name} has no second factor; "
                                      f"enrol with 'webcrypt admin totp {admin.name}'")
        return
    if _is_recovery_code(code):
        _use_recovery_code(home, admin, code)
        return
    step = crypto.totp_match(_totp_secret(home, admin), code, home.now() // crypto.TOTP_PERIOD)
    if step is None:
        raise _WrongCode("missing or wrong one-time code")
    # claim the step in the database, so that two logins racing with one code cannot both win
    claimed = store.Admin.update(totp_last_step=step).where(
        (store.Admin.id == admin.id)
        & (store.Admin.totp_last_step.is_null() | (store.Admin.totp_last_step < step))
    ).execute()
    if not claimed:
        raise _WrongCode("one-time code used already")


def _totp_key(home: Home, generation: int) -> bytes:
    return crypto.derive(home.keyring.secrets[generation], "admin-totp")


def _totp_aad(name: str) -> bytes:
    return f"admin-totp\0{name}".encode()


def _totp_secret(home: Home, admin: store.Admin) -> bytes:
    return crypto.unseal(_totp_key(home, admin.totp_generation), admin.totp_secret, _totp_aad(admin.name))


class Enrolment(NamedTuple):
    """What an administrator is shown once at enrolment, and never again."""

    secret: str  # base32, to type into the authenticator app
    uri: str  # otpauth://, for the QR code
    recovery_codes: list[str]


def enrol_totp(home: Home, name: str, actor: str = "cli", keep: store.Session | None = None) -> Enrolment:
    """A new second factor for *name* (replacing any) and a new set of recovery codes, shown once.
    The secret is stored sealed under the current master-key generation, the codes only hashed.
    Every session of the administrator ends but *keep* (the console page that asked)."""
    admin = get(name)
    secret = crypto.totp_secret()
    generation = home.keyring.current
    with store.db.atomic():
        store.Admin.update(
            totp_secret=crypto.seal(_totp_key(home, generation), secret, _totp_aad(admin.name)),
            totp_generation=generation, totp_last_step=None,
        ).where(store.Admin.id == admin.id).execute()
        codes = _new_recovery_codes(home, admin)
        sessions.end_all(KIND, admin.name, keep)
        events.audit(home, actor, "admin_totp_on", admin.name, f"{len(codes)} recovery codes")
    text = crypto.base32(secret)
    uri = f"otpauth://totp/webcrypt:{quote(admin.name)}?" + urlencode(
        {"secret": text, "issuer": "webcrypt", "algorithm": "SHA1", "digits": crypto.TOTP_DIGITS,
         "period": crypto.TOTP_PERIOD})
    return Enrolment(text, uri, codes)


def remove_totp(home: Home, name: str, actor: str = "cli") -> store.Admin:
    """The password alone logs in again; the recovery codes go with the second factor."""
    admin = get(name)
    with store.db.atomic():
        store.Admin.update(totp_secret=None, totp_generation=None, totp_last_step=None).where(
            store.Admin.id == admin.id).execute()
        store.AdminRecoveryCode.delete().where(store.AdminRecoveryCode.admin == admin.id).execute()
        events.audit(home, actor, "admin_totp_off", admin.name)
    return admin


# --- recovery codes: single-use stand-ins for a TOTP code, for a lost or broken phone ----------

RECOVERY_CODES = 10
RECOVERY_GROUPS, RECOVERY_GROUP_LEN = 3, 4  # 12 symbols of crypto.PASSWORD_ALPHABET (32): 60 bits
FEW_RECOVERY_CODES = 3  # the console warns at this many left


def regenerate_recovery_codes(home: Home, name: str, actor: str = "cli") -> list[str]:
    """A fresh set of recovery codes for *name*, shown once; every earlier one stops working."""
    admin = get(name)
    if admin.totp_secret is None:
        raise WebcryptError(f"administrator {admin.name} has no second factor; "
                            f"enrol with 'webcrypt admin totp {admin.name}' (it makes recovery codes too)")
    with store.db.atomic():
        codes = _new_recovery_codes(home, admin)
        events.audit(home, actor, "admin_recovery_codes_new", admin.name, f"{len(codes)} recovery codes")
    return codes


def recovery_codes_left(name: str) -> int:
    return (store.AdminRecoveryCode.select().join(store.Admin)
            .where(store.Admin.name == _normalised(name)).count())


def recovery_codes_low(name: str) -> int | None:
    """How many recovery codes *name* has left when it is FEW_RECOVERY_CODES or fewer and a second
    factor is on (the console then warns on every page), else None."""
    admin = _find(_normalised(name))
    if admin is None or admin.totp_secret is None:
        return None
    left = recovery_codes_left(admin.name)
    return left if left <= FEW_RECOVERY_CODES else None


def _new_recovery_codes(home: Home, admin: store.Admin) -> list[str]:
    """Replace *admin*'s recovery codes by new ones (in the caller's transaction); the plaintext
    is returned to be shown once and is never stored."""
    store.AdminRecoveryCode.delete().where(store.AdminRecoveryCode.admin == admin.id).execute()
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    rows = []
    for code in codes:
        salt = crypto.random_id().hex()
        rows.append({"admin": admin.id, "salt": salt, "digest": _recovery_digest(salt, admin.name, _plain(code)),
                     "created": home.now()})
    store.AdminRecoveryCode.insert_many(rows).execute()
    return codes


def _recovery_digest(salt: str, name: str, code: str) -> str:
    # A fast salted hash suffices, unlike for passwords: a code is 60 random bits, not a word a
    # person chose, so even with the database in hand a guess costs 2^60 hashes per code (each
    # salt its own search); online, every wrong code is a failed login under the login throttle.
    # scrypt would make each console login with a code check ten 128 MiB hashes for nothing.
    return crypto.mac(bytes.fromhex(salt), f"admin-recovery\0{name}\0{code}".encode())


def _plain(code: str) -> str:
    """A code as typed, in its one stored form: no spaces or hyphens, lower case."""
    return "".join(code.split()).replace("-", "").lower()


def _is_recovery_code(code: str) -> bool:
    # the app's one-time codes are digits only, a recovery code always holds a letter (_recovery_code)
    return not _plain(code).isdigit() and bool(_plain(code))


def _recovery_code() -> str:
    while True:  # all digits (2-9) once in 2^24 codes: drawn again, or it would pass for a TOTP code
        code = crypto.generate_password(RECOVERY_GROUPS, RECOVERY_GROUP_LEN)
        if not _plain(code).isdigit():
            return code


def _use_recovery_code(home: Home, admin: store.Admin, code: str) -> None:
    rows = list(store.AdminRecoveryCode.select().where(store.AdminRecoveryCode.admin == admin.id))
    # every row is compared, so the time taken says nothing about which one matched
    matched = [row for row in rows if crypto.same(_recovery_digest(row.salt, admin.name, _plain(code)), row.digest)]
    if not matched:
        raise _WrongCode("wrong or used recovery code")
    # deleting the row claims the code: of two logins racing with it, only one deletes it
    if not store.AdminRecoveryCode.delete().where(store.AdminRecoveryCode.id == matched[0].id).execute():
        raise _WrongCode("recovery code used already")
    left = recovery_codes_left(admin.name)
    events.audit(home, f"admin:{admin.name}", "admin_recovery_code_used", admin.name,
                 f"recovery code used, {left} left")


def listing() -> list[store.Admin]:
    return list(store.Admin.select().order_by(store.Admin.name))


def describe(admin: store.Admin) -> dict:
    return {"name": admin.name, "created": admin.created, "last_login": admin.last_login, "disabled": admin.disabled,
            "totp": admin.totp_secret is not None, "recovery_codes": recovery_codes_left(admin.name)}
