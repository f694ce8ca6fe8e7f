"""``webcrypt relay``: the same processing as ``pipe``, as an SMTP smarthost (aiosmtpd).

For MTAs that cannot pipe (Exchange, Domino) and for Postfix's advanced
content filter. The reply to the end of DATA is 250 only after the next hop
(``mail.reinject``) accepted every copy; a temporary failure answers 451 and
the client keeps the message; a deliberate refusal answers 554 with the DSN.

Only clients in ``relay.client_networks`` (default: loopback) may connect:
webcrypt is never an open relay. The only module that imports aiosmtpd.
"""

import asyncio
import ipaddress
import os
import signal
import socket
import ssl
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session, syntax

from ..base.config import host_port
from ..base.errors import BadAddress, ConfigError
from ..context.home import Home
from ..core import addresses
from ..infra import store
from ..usecases import events, processing
from . import dsn as failures

SETTINGS_SECONDS = 30  # how stale the web console's settings may be here
DATABASE_WAIT_SECONDS = 10  # a PostgreSQL restart shorter than this delays the reply, not the mail


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    networks: tuple
    max_size: int
    tls: ssl.SSLContext | None
    require_tls: bool
    workers: int
    processes: int = 1


def settings(home: Home, listen: str | None = None) -> Settings:
    """The relay settings from the configuration (*listen* overrides ``relay.listen``)."""
    c = home.config
    host, port = parse_listen(listen or c["relay.listen"])
    try:
        networks = tuple(ipaddress.ip_network(n, strict=False) for n in c["relay.client_networks"])
    except ValueError as e:
        raise ConfigError(f"relay.client_networks: {e}") from None
    return Settings(
        host, port, networks, c["relay.max_size"], _tls(home), c["relay.require_tls"], c["relay.workers"] or 1,
        c["relay.processes"] or 1,
    )


def parse_listen(text: str) -> tuple[str, int]:
    try:
        return host_port(text)
    except ConfigError:
        raise ConfigError(f"listen address must be HOST:PORT, not {text!r}") from None


def _tls(home: Home) -> ssl.SSLContext | None:
    cert, key = home.config["relay.tls_cert"], home.config["relay.tls_key"]
    if not cert:
        if home.config["relay.require_tls"]:
            raise ConfigError("relay.require_tls needs relay.tls_cert and relay.tls_key")
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(home.config.file("relay.tls_cert"), home.config.file("relay.tls_key") if key else None)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"cannot load relay.tls_cert/tls_key: {e}") from None
    return context


class Handler:
    """aiosmtpd handler: policy lives in processing, this only speaks SMTP."""

    def __init__(self, home: Home, config: Settings, log=sys.stderr):
        self.home = home
        self.config = config
        self.log = log
        self.pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="relay")
        self.hostname = socket.getfqdn()  # once: aiosmtpd would look it up for every connection

    def allowed(self, peer) -> bool:
        try:
            address = ipaddress.ip_address(peer[0])
        except (ValueError, TypeError, IndexError):
            return False
        if address.version == 6 and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.config.networks)

    async def handle_MAIL(self, server, session: Session, envelope: Envelope, address, options):
        if not self.allowed(session.peer):
            return "550 5.7.1 relaying from this address is not allowed"
        refusal = _unsendable(address, "5.1.7")
        if refusal:
            return refusal
        envelope.mail_from = address  # the null sender stays "<>" here: aiosmtpd wants MAIL to be truthy
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session: Session, envelope: Envelope, address, options):
        refusal = _unsendable(address, "5.1.3")
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server, session: Session, envelope: Envelope) -> str:
        started = time.monotonic()
        raw = envelope.original_content or b""
        sender, recipients = _sender(envelope.mail_from), list(envelope.rcpt_tos)
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(self.pool, self._process, raw, sender, recipients, envelope.smtp_utf8)
        except BaseException as e:  # noqa: BLE001 - every failure is an SMTP reply, never a dropped message
            failure = failures.classify(e)
            code = "554" if failure.permanent else "451"
            self._write(started, sender, recipients, raw, "refused" if failure.permanent else "deferred", f"error={failure.text}")
            return f"{code} {failure.dsn} {failure.text}"
        self._write(started, sender, recipients, raw, outcome.action, f"reason={outcome.reason} copies={outcome.copies}")
        # the action in the reply: Postfix logs it, and 'webcrypt pipe' in forwarding mode too
        copies = f"{outcome.copies} cop{'y' if outcome.copies == 1 else 'ies'}"
        return f"250 2.0.0 OK: {outcome.action} ({outcome.reason}), {copies} delivered to the next hop"

    def _process(self, raw: bytes, sender: str, recipients: list[str], smtputf8: bool = False):
        # SMTP hands over CRLF lines; the original bytes are kept as the client sent them.
        # a connection PostgreSQL dropped (restart, failover) is replaced; a short outage is waited for
        store.usable_connection(wait=DATABASE_WAIT_SECONDS)
        self.home.refresh_settings(max_age=SETTINGS_SECONDS)  # the web console's keyword, domains, ...
        try:
            outcome = processing.process(self.home, raw, sender, recipients, smtputf8=smtputf8)
        except BaseException as e:  # noqa: BLE001 - counted, then answered by handle_DATA
            events.count(self.home, events.REFUSED if failures.classify(e).permanent else events.DEFERRED)
            raise
        if outcome.action != "encrypt":  # encrypted carriers are counted by processing
            events.count(self.home, events.PASSED)
        return outcome

    def _write(self, started, sender, recipients, raw, action, tail) -> None:
        ms = round((time.monotonic() - started) * 1000)
        line = f"{failures.log_line('relay', '', sender, len(recipients), action, len(raw), ms)} {tail}"
        try:
            print(line, file=self.log, flush=True)
        except Exception:  # noqa: BLE001  # nosec B110 - logging must not change the reply
            pass


def _sender(mail_from: str | None) -> str:
    """The envelope sender as pipe has it: "" for the null sender (aiosmtpd gives "<>")."""
    return "" if mail_from in (None, "", "<>") else mail_from


def _unsendable(address: str, dsn: str) -> str | None:
    """The 553 reply for an address no next hop could take (aiosmtpd decodes arguments
    that are not UTF-8 with surrogateescape), None for one that can go on."""
    try:
        addresses.check_envelope(address)
    except BadAddress as e:
        return f"553 {dsn} {failures.clean(str(e))}"
    return None


class _Server(SMTP):
    """Closes connections from outside the client networks before saying anything else."""

    # Lines longer than RFC 5321's 1000 bytes: Postfix accepts and keeps them, and
    # 'webcrypt pipe' in forwarding mode hands them over unchanged (aiosmtpd's default
    # would answer 500, a bounce). The total stays bounded by relay.max_size.
    line_length_limit = 1 << 20

    def connection_made(self, transport):
        super().connection_made(transport)
        if not self.event_handler.allowed(transport.get_extra_info("peername")):
            transport.write(b"554 5.7.1 this server accepts mail only from configured networks\r\n")
            transport.close()

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA, with the message read in blocks instead of a line at a time.

        aiosmtpd awaits every line, keeps each as a bytearray and joins them: ~10 us of
        CPU per line (a third of the relay's CPU for a 100 KB mail) and 2.8x the message
        in memory. Same replies: 503/501 before 354, 552 over the size limit (read to the
        end first, as RFC 5321 4.2.5 implies); lines are not limited, the total is.
        """
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            content = await receive_data(self._reader, self.data_size_limit)
        except asyncio.IncompleteReadError:  # the client went away: no reply, nothing accepted
            self._writer.close()
            return
        if content is None:
            await self.push("552 Error: Too much mail data")
            self._set_post_data_state()
            return
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)


_END = b"\r\n.\r\n"  # the line with a lone dot ends DATA (RFC 5321 4.1.1.4)


async def receive_data(reader: asyncio.StreamReader, limit: int | None) -> bytes | None:
    """The message after DATA up to the lone dot, transparency undone (RFC 5321 4.5.2),
    or None when it is longer than *limit* (then read to the end and dropped).

    Read in blocks up to each possible end (readuntil), so that bytes after the dot (a
    pipelined QUIT) stay in the reader; byte by byte only where an end could straddle
    what was already taken (the start, a block's edge), a few bytes per message."""
    pieces, received, tail = [], 0, b"\r\n"  # DATA's own line end: the first line starts a line
    while True:
        overlap = _end_prefix(tail)
        if overlap == len(_END):
            break
        if overlap:
            piece = await reader.readexactly(1)
        else:
            try:
                piece = await reader.readuntil(_END)
            except asyncio.LimitOverrunError as e:  # no end in the reader's buffer yet: take what cannot hold one
                piece = await reader.readexactly(e.consumed)
        received += len(piece)
        tail = (tail + piece)[-len(_END):]
        if limit and received > limit + 3:
            pieces = None  # dropped at once; the rest is still read
        if pieces is not None:
            pieces.append(piece)
        if not overlap and piece.endswith(_END):
            break
    if pieces is None:
        return None
    _drop_end(pieces, 3)  # the ".\r\n" line; the CRLF before it ends the message's last line
    content = b"".join(pieces)
    del pieces
    if content.startswith(b"."):
        content = content[1:]
    return content.replace(b"\r\n.", b"\r\n") if b"\r\n." in content else content


def _drop_end(pieces: list[bytes], count: int) -> None:
    """Remove the last *count* bytes of *pieces* (without joining them)."""
    while count and pieces:
        last = pieces.pop()
        if len(last) > count:
            pieces.append(last[:-count])
        count -= min(count, len(last))


def _end_prefix(tail: bytes) -> int:
    """How many bytes at the end of *tail* begin the end of DATA (5: it is complete)."""
    for size in range(min(len(tail), len(_END)), 0, -1):
        if tail.endswith(_END[:size]):
            return size
    return 0


def make_server(handler: Handler) -> _Server:
    c = handler.config
    return _Server(
        handler,
        data_size_limit=c.max_size,  # advertised as SIZE, enforced by aiosmtpd
        enable_SMTPUTF8=True,
        decode_data=False,
        tls_context=c.tls,
        require_starttls=c.require_tls,
        hostname=handler.hostname,
        ident="webcrypt relay",
    )


class Running:
    """A relay serving in a background thread (for ``serve`` and for tests)."""

    def __init__(self, home: Home, config: Settings, log=sys.stderr, sock: socket.socket | None = None):
        self.handler = Handler(home, config, log)
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.sock = sock  # already listening (shared by the processes of one relay), or None
        self.thread = threading.Thread(target=self.loop.run_forever, name="relay-loop", daemon=True)

    def start(self) -> "Running":
        c = self.handler.config
        factory = lambda: make_server(self.handler)  # noqa: E731
        if self.sock is not None:
            coroutine = self.loop.create_server(factory, sock=self.sock)
        else:
            coroutine = self.loop.create_server(factory, host=c.host, port=c.port)
        self.thread.start()
        try:
            self.server = asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)
        except OSError as e:
            self.stop()
            raise ConfigError(f"cannot listen on {c.host}:{c.port}: {e.strerror}") from None
        return self

    def stop(self) -> None:
        if self.server is not None:
            # closed in the loop's own thread: asyncio's Server is not thread-safe (closing it from
            # here raced with a connection ending in the loop: TypeError in Server._wakeup)
            asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.handler.pool.shutdown(wait=True)

    async def _close(self) -> None:
        self.server.close()
        await self.server.wait_closed()


def serve(home: Home, listen: str | None = None, log=sys.stderr) -> None:
    """Serve until SIGTERM or Ctrl-C, in ``relay.processes`` processes sharing one socket.

    One process runs Python on one core at a time (the GIL); encryption is CPU work,
    so on a machine with several cores several processes accept from the same socket.
    """
    config = settings(home, listen)
    sock = _listening_socket(config)
    print(f"webcrypt relay: listening on {config.host}:{config.port} ({config.processes} processes)",
          file=log, flush=True)
    if config.processes <= 1:
        _serve_here(home, config, log, sock)
        return
    _supervise(home, config, log, sock)


def _listening_socket(config: Settings) -> socket.socket:
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as e:
        sock.close()
        raise ConfigError(f"cannot listen on {config.host}:{config.port}: {e.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _serve_here(home: Home, config: Settings, log, sock: socket.socket) -> None:
    home.connect()
    running = Running(home, config, log, sock).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()


def _supervise(home: Home, config: Settings, log, sock: socket.socket) -> None:
    """Fork the workers (none connected to the database yet), restart any that dies, stop them on SIGTERM."""
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    children = {_fork_worker(home, config, log, sock) for _ in range(config.processes)}
    try:
        while not stopping.is_set():
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid in children:
                children.discard(pid)
                print(f"webcrypt relay: worker {pid} ended ({status}), starting another", file=log, flush=True)
                children.add(_fork_worker(home, config, log, sock))
            stopping.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for pid in children:
            _signal(pid, signal.SIGTERM)
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _fork_worker(home: Home, config: Settings, log, sock: socket.socket) -> int:
    pid = os.fork()
    if pid:
        return pid
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the supervisor, which stops us
        _serve_here(Home(home.config, clock=home.clock), config, log, sock)
    except BaseException:  # noqa: BLE001 - a worker never returns into the supervisor's code
        status = 1
    finally:
        os._exit(status)


def _signal(pid: int, sig) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
