"""Portal sessions: random 256-bit ids, stored only as their SHA-256 fingerprint.

A session row knows its kind ("recipient" or "admin"), its principal (the CSRF
token is derived from the id, never stored) and a little JSON data (which uploads it may read). Idle and absolute
timeouts are checked on every lookup; ``last_seen`` is written at most every
TOUCH_EVERY seconds so that reads do not turn into database writes.
"""

import json
import secrets
from dataclasses import dataclass

from ..context.home import Home
from ..core import crypto
from ..infra import store

TOUCH_EVERY = 30
TOKEN_BYTES = 32  # 256 bits


@dataclass(frozen=True)
class Limits:
    idle: int  # seconds without a request
    total: int  # seconds since login

    @classmethod
    def from_config(cls, home: Home) -> "Limits":
        return cls(home.config["portal.session_idle_minutes"] * 60, home.config["portal.session_max_hours"] * 3600)


def _hash(token: str) -> str:
    return crypto.fingerprint(token.encode("ascii", "replace"))


def _csrf(token: str) -> str:
    """The session's CSRF token, derived from its id: nothing to keep in the database (whoever reads
    it learns no token), and useless without the cookie it comes from."""
    return crypto.fingerprint(b"csrf\0" + token.encode("ascii", "replace"))


def start(home: Home, kind: str, principal: str, data: dict | None = None) -> tuple[str, store.Session]:
    """A new session; returns the token for the cookie (never stored) and the row."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = home.now()
    row = store.Session.create(
        id_hash=_hash(token), kind=kind, principal=principal, created=now, last_seen=now,
        data=json.dumps(data or {}),
    )
    row.csrf = _csrf(token)
    return token, row


def find(home: Home, token: str | None, kind: str, limits: Limits | None = None) -> store.Session | None:
    """The live session for *token*, or None (unknown, other kind, timed out)."""
    if not token or len(token) > 128:
        return None
    row = store.Session.get_or_none(store.Session.id_hash == _hash(token))
    if row is None or row.kind != kind:
        return None
    now = home.now()
    if expired(row, now, limits or Limits.from_config(home)):
        row.delete_instance()
        return None
    if now - row.last_seen >= TOUCH_EVERY:
        store.Session.update(last_seen=now).where(store.Session.id_hash == row.id_hash).execute()
        row.last_seen = now
    row.csrf = _csrf(token)
    return row


def expired(row: store.Session, now: int, limits: Limits) -> bool:
    return now - row.last_seen > limits.idle or now - row.created > limits.total


def data(row: store.Session) -> dict:
    try:
        value = json.loads(row.data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def change_data(row: store.Session, change) -> dict:
    """Apply *change* (dict -> dict) to the session's data as it is now in the database, under a
    row lock: two requests of one session on two nodes (two secure.htm opened at once) must
    not overwrite each other's change."""
    with store.db.atomic():
        current = store.locked(store.Session.select(store.Session.data).where(store.Session.id_hash == row.id_hash)).first()
        row.data = json.dumps(change(data(current) if current else {}))
        store.Session.update(data=row.data).where(store.Session.id_hash == row.id_hash).execute()
    return data(row)


def end(token: str | None) -> None:
    if token:
        store.Session.delete().where(store.Session.id_hash == _hash(token)).execute()


def end_all(kind: str, principal: str, keep: str | None = None) -> None:
    """End every session of *principal*, but the one whose stored id is *keep* (the browser asking)."""
    query = (store.Session.kind == kind) & (store.Session.principal == principal)
    if keep:
        query &= store.Session.id_hash != keep
    store.Session.delete().where(query).execute()


def purge(home: Home, limits: Limits | None = None) -> int:
    """Delete sessions past the idle or the absolute timeout (both are also checked on lookup)."""
    limits = limits or Limits.from_config(home)
    now = home.now()
    return (store.Session.delete()
            .where((store.Session.last_seen < now - limits.idle) | (store.Session.created < now - limits.total))
            .execute())
