"""Administrator accounts: separate from recipients, used only by /admin.

A recipient can never log in to the console and an administrator name is not
a mail address, so neither account kind can stand in for the other.
"""

import re
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
from . import events, sessions, signin, throttle

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
)


def login(home: Home, name: str, password: str, client: str, code: str = "", replacing: str | None = None,
          user_agent: str = "") -> signin.SignedIn:
    """A new console session for a right name and password, and the right one-time code when the
    administrator has a second factor; the same pipeline as recipients. A missing or wrong code
    is a failed login like a wrong password, and says nothing about the password."""
    return signin.sign_in(home, ADMINS, name, signin.Proof(password=password, code=code), client, replacing,
                          user_agent=user_agent)


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
        if home.config["admin.require_totp"]:
            raise SecondFactorMissing(f"administrator {admin.name} has no second factor; "
                                      f"enrol with 'webcrypt admin totp {admin.name}'")
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


def enrol_totp(home: Home, name: str, actor: str = "cli") -> tuple[str, str]:
    """A new second factor for *name* (replacing any): (base32 secret, otpauth:// URI), shown once.
    The secret is stored sealed under the current master-key generation, never in plaintext."""
    admin = get(name)
    secret = crypto.totp_secret()
    generation = home.keyring.current
    with store.db.atomic():
        store.Admin.update(
            totp_secret=crypto.seal(_totp_key(home, generation), secret, _totp_aad(admin.name)),
            totp_generation=generation, totp_last_step=None,
        ).where(store.Admin.id == admin.id).execute()
        sessions.end_all(KIND, admin.name)
        events.audit(home, actor, "admin_totp_on", admin.name)
    text = crypto.base32(secret)
    uri = f"otpauth://totp/webcrypt:{quote(admin.name)}?" + urlencode(
        {"secret": text, "issuer": "webcrypt", "algorithm": "SHA1", "digits": crypto.TOTP_DIGITS,
         "period": crypto.TOTP_PERIOD})
    return text, uri


def remove_totp(home: Home, name: str, actor: str = "cli") -> store.Admin:
    admin = get(name)
    with store.db.atomic():
        store.Admin.update(totp_secret=None, totp_generation=None, totp_last_step=None).where(
            store.Admin.id == admin.id).execute()
        events.audit(home, actor, "admin_totp_off", admin.name)
    return admin


def listing() -> list[store.Admin]:
    return list(store.Admin.select().order_by(store.Admin.name))


def describe(admin: store.Admin) -> dict:
    return {"name": admin.name, "created": admin.created, "last_login": admin.last_login, "disabled": admin.disabled,
            "totp": admin.totp_secret is not None}
