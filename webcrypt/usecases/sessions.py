"""Portal sessions: random 256-bit ids, stored only as their SHA-256 fingerprint.

A session row knows its kind ("recipient" or "admin"), its principal (the CSRF
token is derived from the id, never stored), a little JSON data (which uploads it may read),
and what its owner's session list shows: the client address and the device at login. Idle
and absolute timeouts are checked on every lookup; ``last_seen`` (the list's "last active")
is written at most every TOUCH_EVERY seconds so that reads do not turn into database writes.

A person sees their live sessions (``listing``) and ends any other one (``end_one``, by a
public handle: neither the token nor its stored fingerprint ever reaches a page) or all
others (``end_others``); each end is audited.
"""

import json
import re
import secrets
from dataclasses import dataclass

from ..base.errors import BadRequest, NotFound
from ..context.home import Home
from ..core import crypto, display, useragent
from ..infra import store
from . import events

TOUCH_EVERY = 30
# every request of a signed-in reader or administrator looks its session up: SQL built once
_BY_HASH = store.Prepared(lambda id_hash: store.Session.select().where(store.Session.id_hash == id_hash).limit(1))
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


def start(home: Home, kind: str, principal: str, data: dict | None = None, client: str = "",
          user_agent: str = "") -> tuple[str, store.Session]:
    """A new session from *client* with the browser *user_agent* (its header, of which only the
    parsed label is kept); returns the token for the cookie (never stored) and the row."""
    return _started(home, kind, principal, data, client[:64], useragent.parse(user_agent))


def continued(home: Home, row: store.Session) -> tuple[str, store.Session]:
    """A new session in place of *row* (ended with a password change), on the same device."""
    return _started(home, row.kind, row.principal, data(row), row.client, useragent.Device(row.browser, row.system))


def _started(home: Home, kind: str, principal: str, values: dict | None, client: str,
             device: useragent.Device) -> tuple[str, store.Session]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = home.now()
    row = store.Session.create(
        id_hash=_hash(token), kind=kind, principal=principal, created=now, last_seen=now,
        data=json.dumps(values or {}), client=client, browser=device.browser, system=device.system,
    )
    row.csrf = _csrf(token)
    return token, row


def find(home: Home, token: str | None, kind: str, limits: Limits | None = None) -> store.Session | None:
    """The live session for *token*, or None (unknown, other kind, timed out)."""
    if not token or len(token) > 128:
        return None
    row = _BY_HASH.first(store.Session, _hash(token))
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


def end_all(kind: str, principal: str, keep: store.Session | None = None) -> None:
    """End every session of *principal*, but *keep* (the one that asked, when it stays signed in)."""
    query = (store.Session.kind == kind) & (store.Session.principal == principal)
    if keep is not None:
        query &= store.Session.id_hash != keep.id_hash
    store.Session.delete().where(query).execute()


def purge(home: Home, limits: Limits | None = None) -> int:
    """Delete sessions past the idle or the absolute timeout (both are also checked on lookup)."""
    limits = limits or Limits.from_config(home)
    now = home.now()
    return (store.Session.delete()
            .where((store.Session.last_seen < now - limits.idle) | (store.Session.created < now - limits.total))
            .execute())


# The owner's list of sessions


HANDLE = re.compile(r"^s-[0-9a-f]{32}$")


@dataclass(frozen=True)
class Listed:
    """One live session as its owner's list shows it."""

    handle: str  # what a form names it by: derived from the stored fingerprint, never revealing it
    device: useragent.Device
    client: str
    created: int
    last_seen: int
    current: bool  # the session this list is shown in


def handle(row: store.Session) -> str:
    """A session's public name. One-way from the stored fingerprint (itself one-way from the
    token), so a page's source gives nothing that opens the session or finds its row's key."""
    return "s-" + crypto.fingerprint(b"session-handle\0" + row.id_hash.encode())[:32]


def listing(home: Home, kind: str, principal: str, current: store.Session | None = None,
            limits: Limits | None = None) -> list[Listed]:
    """*principal*'s live sessions of *kind*, the one in use first, then the most recently active."""
    rows = _live(home, kind, principal, limits)
    shown = [Listed(handle(r), useragent.Device(r.browser, r.system), r.client, r.created, r.last_seen,
                    current is not None and r.id_hash == current.id_hash) for r in rows]
    return sorted(shown, key=lambda s: (not s.current, -s.last_seen))


def _live(home: Home, kind: str, principal: str, limits: Limits | None = None) -> list[store.Session]:
    now, limits = home.now(), limits or Limits.from_config(home)
    query = store.Session.select().where((store.Session.kind == kind) & (store.Session.principal == principal))
    return [row for row in query if not expired(row, now, limits)]


def end_one(home: Home, current: store.Session, wanted: str, client: str) -> store.Session:
    """End the session named *wanted* (a handle) of *current*'s own principal and kind.
    BadRequest for what is no handle or names *current* itself (that is a logout);
    NotFound for a session that has ended or was never this person's."""
    if not HANDLE.match(wanted or ""):
        raise BadRequest("this is not a session of yours")
    row = next((r for r in _live(home, current.kind, current.principal) if crypto.same(handle(r), wanted)), None)
    if row is None:
        raise NotFound("this session has already ended")
    if row.id_hash == current.id_hash:
        raise BadRequest("to end the session you are using, log out")
    _end_rows(home, [row], _owner(current), current.principal, client)
    return row


def end_others(home: Home, current: store.Session, client: str) -> list[store.Session]:
    """End every session of *current*'s principal and kind but *current*; the rows ended."""
    others = [r for r in _live(home, current.kind, current.principal) if r.id_hash != current.id_hash]
    _end_rows(home, others, _owner(current), current.principal, client)
    return others


def end_everywhere(home: Home, kind: str, principal: str, actor: str, client: str) -> list[store.Session]:
    """End all of *principal*'s sessions of *kind*: an administrator's action on an account."""
    rows = _live(home, kind, principal)
    _end_rows(home, rows, actor, principal, client)
    return rows


def _owner(row: store.Session) -> str:
    """The audit trail's actor for a session's own person (as their login is recorded)."""
    return f"{row.kind}:{row.principal}" if row.kind in ("admin", "sender") else row.principal


def _end_rows(home: Home, rows: list[store.Session], actor: str, subject: str, client: str) -> None:
    with store.db.atomic():
        for row in rows:
            store.Session.delete().where(store.Session.id_hash == row.id_hash).execute()
            events.audit(home, actor, "session_ended", subject, detail=_described(row), client=client)


def _described(row: store.Session) -> str:
    device = useragent.Device(row.browser, row.system).label()
    return f"{device} from {row.client or 'an unknown address'}, started {display.date_text(row.created)} UTC"
