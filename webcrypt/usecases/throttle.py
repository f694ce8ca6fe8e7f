"""Counting failures and requests per key in the database, so every portal node agrees.

Keys are strings such as ``login-account:alice@example.org`` or
``login-client:192.0.2.7``. A key that reaches its rule's limit within the
window is blocked for the rule's block time.
"""

import ipaddress
from dataclasses import dataclass

from ..base.errors import Throttled
from ..context.home import Home
from ..infra import store


@dataclass(frozen=True)
class Rule:
    limit: int  # failures (or requests) allowed per window
    window: int  # seconds
    block: int  # seconds blocked once the limit is reached


# The rules an administrator tunes in [throttle]: failures counted within the block time
# block the key for that time.
def login_account(home: Home) -> Rule:
    return _rule(home, "login_failures_per_account", "login_block_minutes")


def login_client(home: Home) -> Rule:
    return _rule(home, "login_failures_per_client", "login_block_minutes")


def answer_account(home: Home) -> Rule:
    return _rule(home, "answer_failures_per_account", "answer_block_minutes")


def answer_client(home: Home) -> Rule:
    return _rule(home, "answer_failures_per_client", "answer_block_minutes")


def _rule(home: Home, limit: str, minutes: str) -> Rule:
    seconds = home.config[f"throttle.{minutes}"] * 60
    return Rule(limit=home.config[f"throttle.{limit}"], window=seconds, block=seconds)


def client_bucket(client: str) -> str:
    """What a per-client key counts: an IPv6 client by its /64, since one host may use any address in it."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client
    if address.version == 6 and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


# A count that never refuses nor blocks: how many attempts one client made on one name, so that a
# warning can say what the reader's own attempts left, and nothing of anyone else's.
COUNT_ONLY_LIMIT = 1 << 30


def count_only(rule: Rule) -> Rule:
    return Rule(limit=COUNT_ONLY_LIMIT, window=rule.window, block=rule.block)


def blocked(home: Home, key: str) -> bool:
    return lock_end(home, [key]) is not None


def lock_end(home: Home, keys: list[str]) -> int | None:
    """When the last block on *keys* ends (Unix seconds); None when none is blocked."""
    rows = store.Throttle.select(store.Throttle.blocked_until).where(
        store.Throttle.key.in_([key[:200] for key in keys]) & (store.Throttle.blocked_until > home.now()))
    return max((row.blocked_until for row in rows), default=None)


def reserve(home: Home, *limits: tuple[str, Rule]) -> list[int]:
    """Count one attempt on each (key, rule) before it is made; raise Throttled when a key is
    blocked or the attempt would pass its limit. The count is one atomic statement, so parallel
    requests (on any number of portal nodes) can never make more attempts than the limit
    allows. The returned counts go to ``failed`` (the attempt failed: it stays counted) or
    ``succeeded`` (it is given back)."""
    counts: list[int] = []
    for key, rule in limits:
        count, blocked_until = _count_attempt(home, key, rule)
        # Over the limit while attempts are still being checked: refused, not blocked, since
        # those may yet succeed (an office behind one address logging in at once).
        if (blocked_until and blocked_until > home.now()) or count > rule.limit:
            for done, _ in limits[:len(counts) + 1]:
                _give_back(done)
            raise Throttled("too many attempts: please wait a while and try again",
                            until=lock_end(home, [k for k, _ in limits]))
        counts.append(count)
    return counts


def failed(home: Home, limits: list[tuple[str, Rule]], counts: list[int]) -> list[bool]:
    """The reserved attempts failed (they stay counted): block each key whose limit is reached.
    For each key, whether this failure is the one that reached its limit."""
    for (key, rule), count in zip(limits, counts):
        if count >= rule.limit:
            _block(home, key, rule)
    return [count == rule.limit for (_, rule), count in zip(limits, counts)]


def succeeded(*keys: str) -> None:
    """The reserved attempts succeeded: they are not failures."""
    for key in keys:
        _give_back(key)


def _count_attempt(home: Home, key: str, rule: Rule) -> tuple[int, int | None]:
    """Add one to the key's count in a single INSERT ... ON CONFLICT DO UPDATE ... RETURNING;
    a window that has passed (and is not blocked) starts again at one."""
    T, now = store.Throttle, home.now()
    stale = (T.window_start <= now - rule.window) & (T.blocked_until.is_null() | (T.blocked_until <= now))
    query = (T.insert(key=key[:200], failures=1, window_start=now, blocked_until=None)
             .on_conflict(conflict_target=[T.key], update={
                 T.failures: store.Case(None, [(stale, 1)], T.failures + 1),
                 T.window_start: store.Case(None, [(stale, now)], T.window_start),
                 T.blocked_until: store.Case(None, [(stale, None)], T.blocked_until)})
             .returning(T.failures, T.blocked_until))
    with store.db.atomic():
        row = next(iter(query.execute()))
    return row.failures, row.blocked_until


def _block(home: Home, key: str, rule: Rule) -> bool:
    """Block the key for the rule's block time unless it is blocked already; True when this call blocked it."""
    T, now = store.Throttle, home.now()
    with store.db.atomic():
        changed = (T.update(blocked_until=now + rule.block)
                   .where((T.key == key[:200]) & (T.blocked_until.is_null() | (T.blocked_until <= now))).execute())
    return changed > 0


def _give_back(key: str) -> None:
    T = store.Throttle
    with store.db.atomic():
        T.update(failures=T.failures - 1).where((T.key == key[:200]) & (T.failures > 0)).execute()


def check(home: Home, *keys: str) -> None:
    """Raise Throttled when any of *keys* is blocked (a look only: attempts use ``reserve``)."""
    if any(blocked(home, key) for key in keys):
        raise Throttled("too many attempts: please wait a while and try again")


def take(home: Home, key: str, rule: Rule) -> None:
    """Use one of the rule's allowance of requests (e.g. replies an hour); raise when none is left."""
    try:
        count = reserve(home, (key, rule))[0]
    except Throttled:
        raise Throttled("the limit for this action is reached: please try again later") from None
    failed(home, [(key, rule)], [count])  # every request counts: the last allowed one blocks the rest


def clear_naming(address: str) -> None:
    """Forget every count whose key names *address* (an administrator's unlock)."""
    store.Throttle.delete().where(store.Throttle.key.contains(address)).execute()


def purge(now: int, keep: int) -> int:
    """Drop counts older than *keep* seconds that block nothing: they have no window left."""
    blocked_over = store.Throttle.blocked_until.is_null() | (store.Throttle.blocked_until < now)
    return store.Throttle.delete().where(blocked_over & (store.Throttle.window_start < now - keep)).execute()


def clear(key: str) -> None:
    store.Throttle.delete().where(store.Throttle.key == key[:200]).execute()
