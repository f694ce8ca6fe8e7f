"""A webcrypt home: its configuration, master key and database, opened late.

Commands build one Home in ``main()``; use cases receive it. The clock is
injectable so that tests can move time instead of sleeping.
"""

import time
from dataclasses import dataclass, field
from typing import Callable

from ..base.config import Config
from ..base.errors import StoreUnavailable
from ..infra import keys, store


@dataclass
class Home:
    config: Config
    clock: Callable[[], float] = time.time
    _keyring: keys.Keyring | None = field(default=None, repr=False)
    _connected: bool = field(default=False, repr=False)
    file_config: Config | None = field(default=None, repr=False)  # as read from the file, before overrides
    _settings_read: float = field(default=float("-inf"), repr=False)  # time.monotonic() of the last read

    def now(self) -> int:
        return int(self.clock())

    @property
    def keyring(self) -> keys.Keyring:
        if self._keyring is None:
            self._keyring = keys.load(self.config.file("keys.master_key"))
        return self._keyring

    def reload_keyring(self) -> keys.Keyring:
        self._keyring = None
        return self.keyring

    def connect(self, check_schema: bool = True) -> None:
        """Open the database; refuse a schema this program does not know."""
        if self._connected:
            return
        store.connect(self.config.database_url)
        self._connected = True
        if check_schema:
            version = store.schema_version()
            if version != len(store.MIGRATIONS):
                raise StoreUnavailable(
                    f"database schema is at version {version}, this program needs "
                    f"{len(store.MIGRATIONS)}: run 'webcrypt migrate'"
                )
            self.refresh_settings()

    def refresh_settings(self, max_age: float = 0) -> None:
        """Apply the settings stored by the web console over the file (context/overrides.py).

        Long-running processes (serve, relay) may call this on every request with
        *max_age* seconds: the database is read at most that often.
        """
        from . import overrides  # imported when first needed: pipe's cold start stays lean

        now = time.monotonic()
        if max_age and now - self._settings_read < max_age:
            return
        if self.file_config is None:
            self.file_config = self.config
        self.config = overrides.effective(self.file_config)
        self._settings_read = now

    @property
    def connected(self) -> bool:
        return self._connected

    def close(self) -> None:
        store.close()
        self._connected = False
