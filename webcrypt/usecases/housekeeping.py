"""Housekeeping for a timer (`webcrypt maintain`) and consistent backups.

``maintain`` is idempotent: run it hourly or daily, run it twice, nothing
breaks. ``backup`` copies the SQLite database while portal and pipe keep
working (SQLite's online backup API); restore is documented in docs/admin.md.
"""

import os
import pwd
import tempfile
from pathlib import Path

from ..base.errors import ConfigError, WebcryptError
from ..context.home import Home
from ..infra import store
from . import accounts, events, inbox, login, mail_codes, messages, passkeys, senders, sessions, throttle

THROTTLE_KEEP = 86400  # a throttle row older than a day has no window left to count in


def maintain(home: Home, actor: str = "maintain") -> dict[str, int]:
    """Destroy expired message keys, drop stale rows, disable expired accounts."""
    now = home.now()
    with store.db.atomic():
        done = {
            "message_keys_destroyed": messages.destroy_expired_keys(now),
            "uploads_deleted": inbox.purge(home),
            "sessions_deleted": sessions.purge(home),
            "throttles_deleted": throttle.purge(now, THROTTLE_KEEP),
            "recovery_links_deleted": login.purge_links(now),
            "mail_codes_deleted": mail_codes.purge(now),
            "sender_links_deleted": senders.purge(now),
            "ceremonies_deleted": passkeys.purge(home),
            "accounts_disabled": _disable_expired_accounts(home, now, actor),
        }
        if any(done.values()):
            detail = " ".join(f"{key}={value}" for key, value in done.items())
            events.audit(home, actor, "maintain", "", detail)
    return done


def _disable_expired_accounts(home: Home, now: int, actor: str) -> int:
    expired = accounts.disable_expired(now)
    for address in expired:
        events.audit(home, actor, "disable", address, "validity ended")
    return len(expired)


def backup(home: Home, target: Path, actor: str = "backup") -> Path:
    """A consistent copy of the database at *target* (mode 0600), written atomically: SQLite's
    online backup, or pg_dump's custom format for pg_restore (docs/admin.md)."""
    if not (store.is_sqlite() or store.is_postgresql()):
        raise ConfigError("backup copies SQLite and PostgreSQL databases; use your database's own tools")
    target = Path(target).expanduser().absolute()
    if target.is_dir():
        raise WebcryptError(f"{target} is a folder; name the backup file")
    partial = _partial_file(target)
    try:
        (store.backup_sqlite if store.is_sqlite() else store.backup_postgresql)(str(partial))
        os.replace(partial, target)
    except OSError as e:
        raise WebcryptError(f"cannot write backup {target}: {e.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    events.audit(home, actor, "backup", str(target)[:320])
    return target


def _user_name() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def _partial_file(target: Path) -> Path:
    """An empty 0600 file beside *target*: the copy holds wrapped keys, nobody else reads it."""
    try:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    except OSError as e:
        # As root, the appliance's admin command runs as the webcrypt user: say whose rights count.
        raise WebcryptError(f"cannot write backup into {target.parent} as user {_user_name()}: {e.strerror}"
                            " (the appliance's folder for backups: /var/backups/webcrypt)") from None
    os.close(handle)
    return Path(name)
