"""A private Postfix instance on loopback, with webcrypt as its filter, for tests and benchmarks.

Its own config, queue and data directories in a temporary folder (``postfix -c
DIR start``); master.cf is the package's, with chroot off and these services:

- ``submit``: where tests hand mail in (smtpd), with the filter of the pattern;
- ``reinject``: where webcrypt hands mail back (smtpd, no filter: no loop);
- ``webcrypt``: the pipe(8) transport running ``webcrypt pipe`` as ``nobody``.

Every recipient is delivered by virtual(8) to the Maildir ``mail/all/``; the
Delivered-To line Postfix adds says for whom.
The services come from appliance/postfix/ (the files the README tells admins to
install), with ports, paths and the pipe user adapted, so the tests exercise them.
"""

import atexit
import compileall
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from webcrypt.usecases import provision

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = ROOT / "appliance" / "postfix"
SNIPPET_FILES = {
    "content_filter": "master.cf.content-filter",
    "transport": "master.cf.transport",
    "relay": "master.cf.relay",
}
PIPE_USER = "nobody"
PATTERNS = ("content_filter", "transport", "relay")


def postfix_available() -> str:
    """Why a private Postfix cannot run here ("" when it can)."""
    if os.geteuid() != 0:
        return "the Postfix tests need root (postfix start, pipe(8) user switch)"
    if not shutil.which("postfix") and not Path("/usr/sbin/postfix").exists():
        return "postfix is not installed (tests/run.sh installs it)"
    return ""


@functools.lru_cache(maxsize=1)
def python_for_pipe_user() -> tuple[str, ...]:
    """A command running a Python the pipe user can use, with webcrypt importable.

    The test runner is root; pipe(8) runs webcrypt as ``nobody``, who may not reach
    the interpreter (e.g. pyenv under /root) or this checkout (editable install in
    a 0700 home). For what it cannot reach, a copy is made once in /tmp: the
    interpreter's prefix hard-linked (no data copied), the package source copied
    and compiled.
    """
    libraries = ["-c", "import ssl, peewee, Crypto, aiosmtpd"]
    # this checkout's webcrypt, not one installed elsewhere (an editable install of another
    # worktree would run other code than the one under test)
    probe = ["-c", "import ssl, webcrypt.edges.pipe, peewee, Crypto, aiosmtpd, sys; "
             f"sys.exit(webcrypt.__file__ != {str(ROOT / 'webcrypt' / '__init__.py')!r})"]
    if _runs_as_pipe_user([sys.executable, *probe]):
        return (sys.executable,)
    folder = Path(tempfile.mkdtemp(prefix="webcrypt-python-", dir="/tmp"))
    folder.chmod(0o755)
    atexit.register(shutil.rmtree, folder, True)
    command = [sys.executable]
    if not _runs_as_pipe_user([sys.executable, *libraries]):
        command = _copied_interpreter(folder)
    if not _runs_as_pipe_user([*command, *probe]):
        source = folder / "src"
        shutil.copytree(ROOT / "webcrypt", source / "webcrypt", ignore=shutil.ignore_patterns("__pycache__"))
        compileall.compile_dir(str(source), quiet=1)
        command = ["/usr/bin/env", f"PYTHONPATH={source}", *[c for c in command if c != "/usr/bin/env"]]
        probe = ["-c", "import ssl, webcrypt.edges.pipe, peewee, Crypto, aiosmtpd, sys; "
                 f"sys.exit(webcrypt.__file__ != {str(source / 'webcrypt' / '__init__.py')!r})"]
    if not _runs_as_pipe_user([*command, *probe]):
        raise RuntimeError(f"no Python that user {PIPE_USER} can run with webcrypt installed")
    return tuple(command)


def _copied_interpreter(folder: Path) -> list[str]:
    prefix = folder / "py"
    _copy_tree(sys.base_prefix, prefix)
    if sys.prefix != sys.base_prefix:
        # A virtual environment (tests/run.sh makes .venv): its python is a link to the base
        # interpreter, so the base is copied and the environment's packages laid over it.
        packages = f"lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"
        _copy_tree(f"{sys.prefix}/{packages}/.", prefix / packages)
    executable = prefix / Path(sys.executable).relative_to(sys.prefix)
    # Its RUNPATH names the original lib folder, which nobody cannot reach either;
    # without this the system's libpython of the same version would be loaded.
    return ["/usr/bin/env", f"LD_LIBRARY_PATH={prefix / 'lib'}", str(executable)]


def _copy_tree(source, target: Path) -> None:
    """Hard links where the file system allows (no data copied), else a copy."""
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["cp", "-alf", f"{source}/.", str(target)], capture_output=True)
    if result.returncode != 0:
        subprocess.run(["cp", "-af", f"{source}/.", str(target)], check=True)


def _runs_as_pipe_user(command: list[str]) -> bool:
    try:
        result = subprocess.run(
            command, user=PIPE_USER, group="nogroup", extra_groups=[], cwd="/", capture_output=True, env=_pipe_env()
        )
    except OSError:
        return False
    return result.returncode == 0


def _pipe_env() -> dict:
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


@dataclass
class Ports:
    submit: int
    reinject: int
    relay: int = 0  # the webcrypt relay (advanced filter pattern)


class Postfix:
    def __init__(self, pattern: str, ports: Ports, internal_domains=("corp.example",), process_limit: int = 10,
                 smtputf8: bool = False):
        assert pattern in PATTERNS
        self.pattern = pattern
        self.ports = ports
        self.smtputf8 = smtputf8  # smtputf8_enable (Postfix's own default is yes)
        self.base = Path(tempfile.mkdtemp(prefix=f"webcrypt-postfix-{pattern}-", dir="/tmp"))
        self.base.chmod(0o755)
        self.etc, self.spool, self.data = self.base / "etc", self.base / "spool", self.base / "data"
        self.mail = self.base / "mail"
        self.home = self.base / "webcrypt"
        self.conf = self.home / "webcrypt.toml"
        self.process_limit = process_limit
        self._make_home(internal_domains)
        self._make_config()

    # --- set-up -------------------------------------------------------------
    def _make_home(self, internal_domains) -> None:
        from conftest import TEST_SETTINGS, write_settings

        provision.init_home(self.home, "https://portal.example.com")
        write_settings(self.conf, TEST_SETTINGS)
        domains = ", ".join(f'"{d}"' for d in internal_domains)
        write_settings(self.conf, {"mail": {
            "reinject": f'"smtp://127.0.0.1:{self.ports.reinject}"',
            "internal_domains": f"[{domains}]",
            "from": '"webcrypt@corp.example"',
        }})
        self.chown_home()

    def chown_home(self) -> None:
        subprocess.run(["chown", "-R", f"{PIPE_USER}:", str(self.home)], check=True)

    def _make_config(self) -> None:
        for folder in (self.etc, self.spool, self.data, self.mail):
            folder.mkdir()
        self.data.chmod(0o700)
        shutil.chown(self.data, "postfix", "postfix")
        shutil.chown(self.mail, PIPE_USER)
        shutil.copy("/etc/postfix/master.cf", self.etc / "master.cf")
        (self.etc / "main.cf").write_text(self.main_cf())
        shutil.copy(SNIPPETS / "webcrypt_transport", self.etc / "webcrypt_transport")
        self.postconf("-MX", "smtp/inet")
        for name, line in self.services().items():
            self.postconf("-M", f"{name}={line}")
        self.postconf("-F", "*/*/chroot = n")  # a chroot would need copies of /etc files in the queue

    def main_cf(self) -> str:
        uid = int(subprocess.run(["id", "-u", PIPE_USER], capture_output=True, text=True, check=True).stdout)
        lines = {
            "compatibility_level": "3.6",
            "config_directory": self.etc,
            "queue_directory": self.spool,
            "data_directory": self.data,
            "maillog_file": self.base / "maillog",
            "maillog_file_prefixes": self.base,
            "myhostname": "mx.corp.example",
            "mydomain": "corp.example",
            "myorigin": "corp.example",
            "mydestination": "",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "biff": "no",
            "smtputf8_enable": "yes" if self.smtputf8 else "no",
            "virtual_mailbox_domains": "static:all",
            "virtual_mailbox_base": self.mail,
            # One Maildir for all (virtual(8) allows no $1 in regexp maps); Delivered-To tells who.
            "virtual_mailbox_maps": "static:all/",
            "virtual_uid_maps": f"static:{uid}",
            "virtual_gid_maps": f"static:{uid}",
            "virtual_minimum_uid": "1",
            "virtual_mailbox_limit": "0",
            "mailbox_size_limit": "0",
            "default_process_limit": str(self.process_limit),
            # Deferred mail waits for 'postqueue -f', so a test decides when the retry happens.
            "queue_run_delay": "3600s",
            "minimal_backoff_time": "3600s",
            "maximal_backoff_time": "7200s",
            "message_size_limit": str(60 * 1024 * 1024),
            "smtp_dns_support_level": "disabled",
            "disable_dns_lookups": "yes",
        }
        lines.update(self.snippet_main_cf())
        return "".join(f"{k} = {v}\n" for k, v in lines.items())

    def pipe_command(self) -> str:
        return f"{' '.join(python_for_pipe_user())} -m webcrypt -c {self.conf}"

    def services(self) -> dict[str, str]:
        """The master.cf services of appliance/postfix/ for this pattern, adapted to this instance."""
        p = self.ports
        replacements = [
            (r"^submission(\s+inet)", rf"127.0.0.1:{p.submit}\1"),
            (r"127\.0\.0\.1:10026", f"127.0.0.1:{p.reinject}"),
            (r"\[127\.0\.0\.1\]:10025", f"[127.0.0.1]:{p.relay}"),
            (r"user=webcrypt", f"user={PIPE_USER}"),
            (r"/usr/bin/webcrypt -c /etc/webcrypt/webcrypt.toml", self.pipe_command().replace("\\", "\\\\")),
            # final delivery here is the local Maildir, not SMTP to the recipient domain
            (r"content_filter=smtp:(?=\s|$)", "content_filter=virtual:"),
        ]
        services = {}
        for entry in master_cf_entries(SNIPPETS / SNIPPET_FILES[self.pattern]):
            for pattern, replacement in replacements:
                entry = re.sub(pattern, replacement, entry)
            name, kind = entry.split()[:2]
            services[f"{name}/{kind}"] = entry
        submit = f"127.0.0.1:{p.submit}/inet"
        services.setdefault(submit, f"127.0.0.1:{p.submit} inet n - n - - smtpd")  # pattern B filters no service
        return services

    def snippet_main_cf(self) -> dict[str, str]:
        if self.pattern != "transport":
            return {}
        values = {}
        for line in (SNIPPETS / "main.cf.transport").read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
        values["transport_maps"] = f"texthash:{self.etc / 'webcrypt_transport'}"
        return values

    # --- control ------------------------------------------------------------
    def postconf(self, *args: str) -> str:
        return subprocess.run(["postconf", "-c", str(self.etc), *args], capture_output=True, text=True, check=True).stdout

    def start(self) -> "Postfix":
        for port in (self.ports.submit, self.ports.reinject):
            if _listening(port):
                raise RuntimeError(f"127.0.0.1:{port} is taken (a Postfix left over from an interrupted run?)")
        # postfix reports fatal start errors only to syslog, or to a terminal: give it one.
        command = f"postfix -c {self.etc} start"
        result = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"postfix start failed: {result.stdout.strip()} {result.stderr.strip()}")
        self.wait_listening(self.ports.submit)
        self.wait_listening(self.ports.reinject)
        return self

    def stop(self) -> None:
        pid = self._master_pid()
        subprocess.run(["postfix", "-c", str(self.etc), "stop"], capture_output=True)
        deadline = time.monotonic() + 30
        while pid and self._master_running() and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid and self._master_running():
            os.kill(pid, 9)  # this instance's own master, never another one

    def _master_pid(self) -> int:
        try:
            return int((self.spool / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def _master_running(self) -> bool:
        pid = self._master_pid()
        try:
            os.kill(pid, 0) if pid else None
        except OSError:
            return False
        return bool(pid)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def flush(self) -> None:
        subprocess.run(["postqueue", "-c", str(self.etc), "-f"], capture_output=True, check=True)

    def queue(self) -> list[str]:
        """Queue ids of messages still queued (any state)."""
        out = subprocess.run(["postqueue", "-c", str(self.etc), "-j"], capture_output=True, text=True).stdout
        import json

        return [json.loads(line)["queue_id"] for line in out.splitlines() if line.strip()]

    def queue_details(self) -> list[dict]:
        out = subprocess.run(["postqueue", "-c", str(self.etc), "-j"], capture_output=True, text=True).stdout
        import json

        return [json.loads(line) for line in out.splitlines() if line.strip()]

    @staticmethod
    def wait_listening(port: int, timeout: float = 30) -> None:
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")

    # --- mailboxes ----------------------------------------------------------
    def messages(self) -> list[bytes]:
        folder = self.mail / "all" / "new"
        if not folder.exists():
            return []
        return [p.read_bytes() for p in sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)]

    def delivered(self, address: str) -> list[bytes]:
        tag = f"Delivered-To: {address}\n".encode()
        return [m for m in self.messages() if tag in m.split(b"\n\n", 1)[0] + b"\n"]

    def wait_for(self, address: str, count: int = 1, timeout: float = 60) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.delivered(address)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(f"{address}: {len(self.delivered(address))} of {count} messages after {timeout}s; "
                             f"queue: {self.queue_details()}; log tail: {self.log_tail()}")

    def wait_queue_empty(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.queue():
                return
            time.sleep(0.1)
        raise AssertionError(f"queue not empty: {self.queue_details()}; log tail: {self.log_tail()}")

    def wait_deferred(self, count: int = 1, timeout: float = 60) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            deferred = [m for m in self.queue_details() if m.get("queue_name") == "deferred"]
            if len(deferred) >= count:
                return deferred
            time.sleep(0.1)
        raise AssertionError(f"not deferred: {self.queue_details()}; log tail: {self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        path = self.base / "maillog"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def master_cf_entries(path: Path) -> list[str]:
    """Service entries of a master.cf file, continuation lines joined, comments dropped."""
    entries: list[str] = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t" and entries:
            entries[-1] += " " + line.strip()
        else:
            entries.append(line.strip())
    return entries


def _listening(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def strip_trace(message: bytes) -> bytes:
    """A message without the trace lines Postfix adds in front (Return-Path, X-Original-To, Delivered-To, Received)."""
    lines = message.split(b"\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith((b"Return-Path:", b"X-Original-To:", b"Delivered-To:", b"Received:")):
            i += 1
            while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
                i += 1
            continue
        break
    return b"\n".join(lines[i:])
