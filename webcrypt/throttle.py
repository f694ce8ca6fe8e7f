"""Counting failures and requests per key in the database, so every portal node agrees.

Keys are strings such as ``login-account:alice@example.org`` or
``login-client:192.0.2.7``. A key that reaches its rule's limit within the
window is blocked for the rule's block time.
"""

import ipaddress
from dataclasses import dataclass

from . import store
from .errors import Throttled
from .home import Home


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


def blocked(home: Home, key: str) -> bool:
    row = store.Throttle.get_or_none(store.Throttle.key == key[:200])
    return bool(row and row.blocked_until and row.blocked_until > home.now())


def check(home: Home, *keys: str) -> None:
    """Raise Throttled when any of *keys* is blocked."""
    if any(blocked(home, key) for key in keys):
        raise Throttled("too many attempts: please wait a while and try again")


def record(home: Home, key: str, rule: Rule) -> bool:
    """Count one failure (or request); True when the key is now blocked."""
    now = home.now()
    with store.db.atomic():
        row = store.Throttle.get_or_none(store.Throttle.key == key[:200])
        if row is None:
            row = store.Throttle(key=key[:200], failures=0, window_start=now)
            row.save(force_insert=True)
        if now - row.window_start >= rule.window:
            row.failures, row.window_start, row.blocked_until = 0, now, None
        row.failures += 1
        newly_blocked = row.failures >= rule.limit and not (row.blocked_until and row.blocked_until > now)
        if row.failures >= rule.limit:
            row.blocked_until = now + rule.block
        row.save()
    return newly_blocked


def take(home: Home, key: str, rule: Rule) -> None:
    """Use one of the rule's allowance of requests (e.g. replies an hour); raise when none is left."""
    row = store.Throttle.get_or_none(store.Throttle.key == key[:200])
    now = home.now()
    if row and now - row.window_start < rule.window and row.failures >= rule.limit:
        raise Throttled("the limit for this action is reached: please try again later")
    record(home, key, rule)


def clear(key: str) -> None:
    store.Throttle.delete().where(store.Throttle.key == key[:200]).execute()
