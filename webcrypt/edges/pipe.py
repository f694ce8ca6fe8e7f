"""``webcrypt [-c CONFIG] pipe [-f SENDER] [-q QUEUEID] -- RCPT...``: the MTA's content filter.

Postfix pipe(8) and FILTER_README contract, as sysexits:

- 0 only after the next hop accepted every copy;
- 75 (EX_TEMPFAIL) for anything temporary or unexpected, a bug included:
  Postfix keeps the message queued and retries (a traceback would exit 1,
  and Postfix would bounce the message);
- 69 (EX_UNAVAILABLE) with one line ``5.x.x text`` for a deliberate refusal.

Postfix logs what a filter prints and quotes it in bounces, so exactly one
line is printed per message (queue id, sender, recipient count, action,
size, milliseconds) and never content, passwords or login data.

Imported for every message: only the standard library modules needed to
parse arguments and read stdin are imported before the message is read.

Forwarding mode (``[pipe] relay = "HOST:PORT"``): the message is handed unchanged
over SMTP to a running ``webcrypt relay``, which decides, encrypts and reinjects;
its reply becomes the status (2xx: 0, 5xx to the message: 69 with its enhanced
code, anything else: 75). No mail parser, cryptography or database is loaded, so
a message costs little more than starting Python (like spamc for spamd). When the
relay cannot have taken the message (no connection, or any refusal before DATA but a
deliberate 5xx to the message), pipe processes it itself, so mail never waits for a
relay that is down, and its log line says ``relay_unavailable=... processed=here``;
once DATA began, an unclear end defers (75), so that no message goes out twice.
"""

import os
import sys
import time

EX_OK = 0
EX_UNAVAILABLE = 69
EX_TEMPFAIL = 75

USAGE = "usage: webcrypt [-c CONFIG] pipe [-f SENDER] [-q QUEUEID] -- RCPT..."


HELP = f"""{USAGE}

Content filter for Postfix pipe(8) (see appliance/postfix/README.md): reads one
message on stdin, encrypts it for the recipients policy marks, passes it unchanged
to the others, and reinjects every copy through [mail] reinject. With [pipe] relay =
"HOST:PORT" it only hands the message to a running 'webcrypt relay', which does that.

  -c, --config PATH   configuration (else $WEBCRYPT_CONFIG, else /etc/webcrypt/webcrypt.toml)
  -f SENDER           envelope sender (Postfix: ${{sender}})
  -q QUEUEID          queue id, for the log line (Postfix: ${{queue_id}})
  -- RCPT...          envelope recipients (Postfix: ${{recipient}})

Exit status: 0 every copy was accepted by the next hop; 75 temporary failure (the MTA
keeps the message and retries); 69 refused on purpose, with one line "5.x.x text".
One log line per message goes to stderr, never content or passwords.

Example: webcrypt pipe -f clerk@bank.example -q 4F2A1 -- alice@example.org < message.eml"""


class Usage(Exception):
    pass


class Help(Exception):
    pass


def parse(argv: list[str]) -> dict:
    """The options of a pipe command line (``pipe`` itself included in *argv*)."""
    options = {"config": None, "sender": "", "queue_id": "-", "recipients": []}
    args = list(argv)
    while args and args[0] != "pipe":
        flag = args.pop(0)
        if flag not in ("-c", "--config") or not args:
            raise Usage(f"unknown option {flag[:40]!r} before 'pipe'")
        options["config"] = args.pop(0)
    if not args:
        raise Usage("missing 'pipe'")
    args.pop(0)
    if args[:1] in (["-h"], ["--help"]):
        raise Help()
    while args:
        flag = args.pop(0)
        if flag == "--":
            options["recipients"] = args
            break
        if flag in ("-f", "-q", "-c", "--config") and args:
            key = {"-f": "sender", "-q": "queue_id"}.get(flag, "config")
            options[key] = args.pop(0)
        else:
            raise Usage(f"unknown argument {flag[:40]!r} (recipients go after --)")
    if not options["recipients"]:
        raise Usage("no recipients after --")
    return options


def main(argv: list[str] | None = None, stdin=None, stderr=None, environ=os.environ, whole_process=False) -> int:
    """Process one message; return the sysexits status. Never raises.

    *whole_process*: this process exists for this one message (the MTA started it),
    so it may skip imports it does not need and end without interpreter teardown.
    """
    status = _main(argv, stdin, stderr, environ, whole_process)
    if whole_process:
        leave(status)
    return status


def _main(argv, stdin, stderr, environ, whole_process) -> int:
    started = time.monotonic()
    stdin = stdin or sys.stdin.buffer
    stderr = stderr or sys.stderr
    log = _Log(stderr, started)
    try:
        options = parse(sys.argv[1:] if argv is None else argv)
        log.options = options
        raw = stdin.read()
        log.size = len(raw)
        outcome = _process(options, raw, environ, whole_process, log)
    except Help:
        try:
            print(HELP, file=sys.stdout, flush=True)
        except OSError:  # e.g. piped into head
            pass
        return EX_OK
    except BaseException as e:  # noqa: BLE001 - every failure must become a sysexits status
        return log.failed(e)
    return log.done(outcome)


def leave(status: int) -> int:
    """End the process now: everything is closed and flushed, so skip the interpreter's
    teardown of every imported module (about 20 ms of each message's time)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(status)


def _process(options: dict, raw: bytes, environ, whole_process: bool, log: "_Log"):
    from ..base import config

    settings = config.load(config.locate(options["config"], environ))
    if settings["pipe.relay"]:
        from ..base.errors import NotTaken

        try:
            return _forward(settings["pipe.relay"], options, raw)
        except NotTaken as e:  # the relay is down or refused before DATA: it has nothing; do it here
            log.relay_unavailable = str(e)
    return _process_here(settings, options, raw, whole_process)


def _process_here(settings, options: dict, raw: bytes, whole_process: bool):
    if whole_process:
        _skip_unneeded_imports(settings.database_url)
    from ..context.home import Home
    from ..usecases import events, processing

    home = Home(settings)
    try:
        # print_login_data=None: with credentials_to = "print" they go to the sender,
        # since what a filter prints ends up in logs and bounces.
        outcome = processing.process(home, raw, options["sender"], options["recipients"])
    except BaseException as e:
        _count_failure(home, e)
        raise
    else:
        if outcome.action != "encrypt":  # encrypted carriers are counted by processing
            events.count(home, events.PASSED)
        return outcome
    finally:
        if home.connected:
            home.close()


class Forwarded:
    """A message the relay accepted (its 250 comes after its next hop accepted every copy)."""

    action = "forwarded"

    def __init__(self, relay: str, reply: str):
        self.relay = relay
        self.reply = reply


def _forward(relay: str, options: dict, raw: bytes) -> Forwarded:
    """Forwarding mode: the relay, a long-running process, does the work."""
    from ..infra import mailer

    from ..base.config import host_port

    host, port = host_port(relay)
    reply = mailer.forward(host, port, options["sender"], options["recipients"], raw)
    return Forwarded(relay, reply)


def _skip_unneeded_imports(url: str) -> None:
    """Imports this one-message process can do without (a None entry in sys.modules
    makes an import fail fast, and each library expects that case):

    - peewee imports every database driver it finds (psycopg2 alone costs ~9 ms of each
      message); on SQLite none is needed;
    - pycryptodome binds its own C code through cffi when cffi is installed (~13 ms,
      pycparser parsing declarations), else through ctypes (~1 ms): same C code;
    - smtplib imports ssl for STARTTLS and SMTP_SSL (~3 ms), which the reinjection and the
      forwarding client never use (plain SMTP to the local MTA or relay);
    - ctypes.util (shutil, subprocess, tempfile, bz2, lzma: ~3 ms) is imported by
      pycryptodome's ctypes binding for find_library, which it calls only for a library
      named without a path (never for its own): a stand-in loads the real one if it is.
    """
    sys.modules.setdefault("cffi", None)
    sys.modules.setdefault("ssl", None)
    sys.modules.setdefault("ctypes.util", _LateCtypesUtil("ctypes.util"))
    if url.startswith("sqlite:"):
        for name in ("psycopg2", "psycopg2cffi", "psycopg", "pymysql", "MySQLdb", "mysql"):
            sys.modules.setdefault(name, None)


class _LateCtypesUtil(type(sys)):
    """ctypes.util, imported only if one of its functions is called (`from ctypes.util import
    find_library` takes the attribute at once: the stand-in has it and loads the real one late)."""

    @staticmethod
    def find_library(name: str):
        return _real_ctypes_util().find_library(name)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_real_ctypes_util(), name)


def _real_ctypes_util():
    import importlib

    if isinstance(sys.modules.get("ctypes.util"), _LateCtypesUtil):
        del sys.modules["ctypes.util"]
    return importlib.import_module("ctypes.util")


def _count_failure(home, error: BaseException) -> None:
    """Deferred or refused, for `webcrypt monitor`; never an error of its own."""
    try:
        from ..usecases import events
        from . import dsn as failures

        if home.connected:
            permanent = failures.classify(error).permanent
            events.count(home, events.REFUSED if permanent else events.DEFERRED)
    except Exception:  # noqa: BLE001  # nosec B110 - the message's own failure is what counts
        pass


class _Log:
    """The one line written per message."""

    def __init__(self, stream, started: float):
        self.stream = stream
        self.started = started
        self.options = {"queue_id": "-", "sender": "", "recipients": []}
        self.size = 0
        self.relay_unavailable = ""  # why the configured relay was passed by, if it was

    def fields(self, action: str) -> str:
        o = self.options
        ms = round((time.monotonic() - self.started) * 1000)
        from .dsn import log_line

        return log_line("pipe", o["queue_id"], o["sender"], len(o["recipients"]), action, self.size, ms)

    def done(self, outcome) -> int:
        from .dsn import clean

        if isinstance(outcome, Forwarded):
            tail = f"relay={clean(outcome.relay)} reply={clean(outcome.reply)}"
        else:
            tail = f"reason={outcome.reason} copies={outcome.copies}"
        if self.relay_unavailable:  # said, so that a relay that is down does not go unseen
            tail += f" relay_unavailable={clean(self.relay_unavailable)} processed=here"
        self._write(f"{self.fields(outcome.action)} {tail}")
        return EX_OK

    def failed(self, error: BaseException) -> int:
        from .dsn import clean

        if isinstance(error, Usage):
            status, dsn, text = EX_TEMPFAIL, "4.3.5", f"{clean(str(error))}; {USAGE}"
        else:
            status, dsn, text = _classified(error)
        if status == EX_UNAVAILABLE:
            self._write(f"{dsn} {text} ({self.fields('refused')})")
        else:
            tail = f" relay_unavailable={clean(self.relay_unavailable)}" if self.relay_unavailable else ""
            self._write(f"{self.fields('deferred')} error={text}{tail}")
        return status

    def _write(self, line: str) -> None:
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except Exception:  # noqa: BLE001  # nosec B110 - a closed stderr must not change the exit status
            pass
        _to_syslog(line)


def _to_syslog(line: str) -> None:
    """Postfix keeps a filter's output only when it defers or bounces the message, so the
    line of every message also goes to syslog (facility mail, beside Postfix's own lines)."""
    try:
        import syslog

        syslog.openlog("webcrypt", syslog.LOG_PID, syslog.LOG_MAIL)
        syslog.syslog(syslog.LOG_INFO, line)
    except Exception:  # noqa: BLE001  # nosec B110 - no syslog: stderr has the line
        pass


def _classified(error: BaseException) -> tuple[int, str, str]:
    try:
        from .dsn import classify

        failure = classify(error)
    except Exception:  # noqa: BLE001 - even a broken installation defers, never bounces
        return EX_TEMPFAIL, "4.3.0", f"unexpected {type(error).__name__}"
    return (EX_UNAVAILABLE if failure.permanent else EX_TEMPFAIL), failure.dsn, failure.text


