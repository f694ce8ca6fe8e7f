"""Uploaded envelopes and reading them: POST /open stores ciphertext, reads decrypt it.

An upload row holds only the envelope as posted (ciphertext) and expires after
``portal.upload_minutes``; while its reader reads, it stays open (``keep_open``). Every read
decrypts again from the upload; the only
plaintext kept is a parsed view in this process's memory, for a few seconds,
keyed by session and upload (never written anywhere).
"""

import dataclasses
import secrets
import threading
import time
from collections import OrderedDict

from ..base.errors import EnvelopeError, NotFound
from ..context.home import Home
from ..core import envelope, policy
from ..infra import store
from . import events, gateway, reading

VIEW_SECONDS = 30
VIEW_ENTRIES = 256
KEEP_STEP = 60  # a read moves an upload's end only by more than this: reads close together write nothing


def accept(home: Home, data: bytes | bytearray) -> tuple[str, store.Message]:
    """Check and keep a posted envelope; return the upload id and the message record."""
    record = gateway.openable_record(home, envelope.read_header(data))
    if len(data) > largest_envelope(record.size):  # padding is not checked before login, but stored
        raise EnvelopeError("the envelope in secure.htm is damaged")
    purge(home)
    upload_id = secrets.token_hex(16)
    now = home.now()
    store.Upload.create(  # the buffer as it is: a copy would hold a large envelope twice
        id=upload_id, envelope=data, created=now, expires=now + home.config["portal.upload_minutes"] * 60
    )
    events.count(home, events.PORTAL_OPENS)
    return upload_id, record


def largest_envelope(size: int) -> int:
    """The longest envelope a message of *size* bytes can have (zlib may grow data by 0.1% at worst)."""
    return size + size // 1000 + envelope.LARGEST_OVERHEAD


def purge(home: Home) -> int:
    return store.Upload.delete().where(store.Upload.expires < home.now()).execute()


def upload(home: Home, upload_id: str) -> store.Upload:
    row = store.Upload.get_or_none(store.Upload.id == upload_id[:64])
    if row is None or row.expires < home.now():
        raise NotFound("this message is no longer open here: please open the file secure.htm again")
    return row


def record_of(home: Home, upload_id: str) -> store.Message | None:
    """The message record an upload refers to (for the login page), or None."""
    try:
        header = envelope.read_header(upload(home, upload_id).envelope)
    except (NotFound, EnvelopeError):
        return None
    return store.Message.get_or_none(store.Message.id == header.message_id)


@dataclasses.dataclass(frozen=True)
class Listed:
    """An open message as its reader's profile names it."""

    upload: str
    sender: str
    created: int
    subject: str  # "" unless this session's view of it is still in memory: subjects are never stored


def listing(home: Home, cache: "ViewCache | None", session_key: str, uploads: list[str],
            address: str) -> tuple[list[Listed], int]:
    """The still open messages of *uploads* for *address*, newest first, and how many of them
    have closed since (their uploads expired)."""
    shown, closed = [], 0
    for upload_id in reversed(uploads):
        record = record_of(home, upload_id)
        if record is None:
            closed += 1
        elif record.recipient == address:
            hit = cached(home, cache, session_key, upload_id)
            shown.append(Listed(upload_id, record.sender, record.created, hit[0].subject if hit else ""))
    return shown, closed


def open_upload(home: Home, recipient: store.Recipient, upload_id: str) -> gateway.Opened:
    row = upload(home, upload_id)
    opened = gateway.open_envelope(home, row.envelope, recipient)
    keep_open(home, row)
    return opened


def _kept_until(home: Home, row: store.Upload) -> int:
    """Where a read moves the end of *row*: past the session's idle time by one more
    ``upload_minutes``, so that a reader whose session ended while away finds the message again
    after logging in (with equal defaults, the upload would otherwise always close with the
    session); never later than ``session_max_hours`` after it was opened, the longest a session
    may last, so a message left open in a browser does not stay on the server for ever."""
    config = home.config
    extended = home.now() + (config["portal.session_idle_minutes"] + config["portal.upload_minutes"]) * 60
    return min(extended, row.created + config["portal.session_max_hours"] * 3600)


def keep_open(home: Home, row: store.Upload) -> int:
    """Move the end of *row* to ``_kept_until``, never earlier, and return the end a reader is
    told. One conditional UPDATE: with several nodes reading at once, each only ever lengthens
    it (PostgreSQL re-checks the WHERE on the newest row version), and an upload that has
    expired or was purged stays closed."""
    until = _kept_until(home, row)
    store.Upload.update(expires=until).where(
        (store.Upload.id == row.id) & (store.Upload.expires < until - KEEP_STEP)
        & (store.Upload.expires >= home.now())
    ).execute()
    return max(row.expires, until)


class ViewCache:
    """Parsed views in memory for VIEW_SECONDS: a reload need not decrypt again."""

    def __init__(self, seconds: float = VIEW_SECONDS, entries: int = VIEW_ENTRIES):
        self.seconds, self.entries = seconds, entries
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] < time.monotonic():
                self._items.pop(key, None)
                return None
            return item[1]

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + self.seconds, value)
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)

    def drop(self, prefix) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] == prefix]:
                del self._items[key]


def cached(home: Home, cache: ViewCache | None, session_key: str, upload_id: str):
    """(View, Message record, Recipient) when this session read this upload moments ago, else None.

    Entries are made only after the session's owner was checked and the message
    decrypted for it; ending a session (logout, password change, disabling the
    account) makes its entries unreachable, since lookups start from the session,
    and a recall or expiry is checked on every hit.
    """
    hit = cache.get((session_key, upload_id)) if cache else None
    if hit is None or hit[2] < home.now() or not still_readable(home, hit[1].id):
        return None
    return hit[0], hit[1], hit[3]


def still_readable(home: Home, message_id: str) -> bool:
    """Not recalled, deleted or expired since it was cached: a recall takes effect at once."""
    return _READABLE.exists(message_id, home.now())


# checked on every cached read: SQL built once (store.Prepared)
_READABLE = store.Prepared(lambda message_id, now: store.Message.select(store.Message.id).where(
    (store.Message.id == message_id)
    & store.Message.revoked.is_null()
    & store.Message.data_key_wrapped.is_null(False)
    & (store.Message.expires >= now)
).limit(1))


def view(home: Home, recipient: store.Recipient, upload_id: str, cache: ViewCache | None, session_key: str):
    """(View, Message record) of an upload, decrypted and parsed, or from the cache."""
    hit = cached(home, cache, session_key, upload_id)
    if hit is not None:
        return hit[0], hit[1]
    row = upload(home, upload_id)
    opened = gateway.open_envelope(home, row.envelope, recipient)
    expires = keep_open(home, row)
    del row  # its ciphertext is not needed beside the message while that is parsed
    result = reading.parse(opened.message)
    result = dataclasses.replace(result, subject=policy.shown_subject(result.subject, home.config["policy.keyword"]))
    if cache:  # the view only: text, sanitised HTML and attachment sizes, never the message itself
        cache.put((session_key, upload_id), (result, opened.record, expires, recipient))
    return result, opened.record
