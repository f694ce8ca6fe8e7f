"""Audit events and hourly counters, the raw material of monitoring.

Counters are best-effort (a failure to count never fails a message); audit
events are written in the caller's transaction, so an action and its record
land together.
"""

from ..context.home import Home
from ..infra import store

HOUR = 3600

# Counter names used across webcrypt (monitor and /metrics read these).
ENCRYPTED = "encrypted"  # carrier mails sent
PASSED = "passed"  # copies delivered unchanged
DEFERRED = "deferred"  # messages left in the MTA's queue (exit 75 / 4xx)
REFUSED = "refused"  # messages refused on purpose (exit 69 / 5xx)
PORTAL_OPENS = "portal_opens"
REPLIES = "replies"
OPENED = "messages_opened"  # messages opened for the first time
RECALLED = "messages_recalled"
LOGIN_FAILED = "login_failed"
LOGIN_THROTTLED = "login_throttled"
ERRORS = "errors"


# once per mail: SQL built once (store.Prepared)
_COUNT = store.Prepared(lambda hour, name, amount, added: store.Stat.insert(hour=hour, name=name, count=amount).on_conflict(
    conflict_target=[store.Stat.hour, store.Stat.name], update={store.Stat.count: store.Stat.count + added}))


def count(home: Home, name: str, amount: int = 1) -> None:
    hour = home.now() // HOUR * HOUR
    try:
        # A savepoint: inside a caller's transaction a failed count must not abort it
        # (PostgreSQL refuses every later statement of an aborted transaction).
        with store.db.atomic():
            _COUNT.execute(hour, name, amount, amount)
    except Exception:  # noqa: BLE001  # nosec B110 - monitoring must never cost (or duplicate) a message
        pass


def audit(home: Home, actor: str, action: str, subject: str = "", detail: str = "", client: str = "") -> None:
    """Record one event. *detail* must never hold a password or message content."""
    store.AuditEvent.create(
        at=home.now(), actor=actor[:320], action=action, subject=subject[:320], detail=detail, client=client[:64]
    )
