"""A private PostgreSQL server for scale-out tests (Debian's postgresql package).

initdb refuses root, so the cluster belongs to the ``postgres`` system user and
lives in a temporary folder; it listens on loopback only.
"""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")


def available() -> bool:
    return (BIN / "initdb").exists() and shutil.which("runuser") is not None


def _as_postgres(*command, **kwargs):
    return subprocess.run(["runuser", "-u", "postgres", "--", *map(str, command)], check=True,
                          capture_output=True, text=True, **kwargs)


class Server:
    def __init__(self, port: int):
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="webcrypt-pg-"))
        self.data = self.dir / "data"

    def start(self) -> "Server":
        shutil.chown(self.dir, "postgres", "postgres")
        _as_postgres(BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        _as_postgres(BIN / "pg_ctl", "-D", self.data, "-l", self.dir / "log", "-w", "start",
                     "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off")
        return self

    def restart(self) -> None:
        """Stop (fast: clients are disconnected, as 'systemctl restart postgresql' does) and start again."""
        _as_postgres(BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        _as_postgres(BIN / "pg_ctl", "-D", self.data, "-l", self.dir / "log", "-w", "start",
                     "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off")

    def create_database(self, name: str) -> str:
        _as_postgres(BIN / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", name)
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            _as_postgres(BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def home_on(server: Server, home_dir: Path, clock):
    """A migrated webcrypt home whose database is a fresh one on *server* (a fixture body)."""
    import uuid

    from conftest import write_settings
    from webcrypt.base import config
    from webcrypt.infra import store
    from webcrypt.context.home import Home

    url = server.create_database("wc_" + uuid.uuid4().hex[:12])
    path = home_dir / "webcrypt.toml"
    write_settings(path, {"database": {"url": f'"{url}"'}})
    home = Home(config.load(path), clock=clock)
    home.connect(check_schema=False)
    store.migrate()
    yield home
    home.close()
