"""Handing mail to the MTA: ``sendmail:PATH`` or ``smtp://HOST:PORT``.

The only module that runs subprocesses or speaks SMTP. A send returns only
after the next hop accepted the message for every recipient; anything else
raises DeliveryError (temporary), so the caller can leave the mail queued.

``forward`` is the thin client of ``webcrypt pipe`` in forwarding mode
(``[pipe] relay``): it hands a message unchanged to a running ``webcrypt relay``
over a plain socket. It is on the path of every message Postfix starts a process
for, so this module imports only what that needs at the top: smtplib (which
pulls in ssl and email, ~25 ms) and subprocess are imported where they are used.
"""

import functools
import itertools
import socket
from collections import namedtuple
from typing import Iterable, Iterator

from ..base.errors import ConfigError, DeliveryError, NextHopRefused, NotTaken
from ..core import addresses

SMTP_TIMEOUT = 120
FORWARD_CONNECT_TIMEOUT = 30
FORWARD_REPLY_TIMEOUT = 300  # RFC 5321 4.5.3.2: 5 minutes for MAIL, RCPT
FORWARD_DATA_TIMEOUT = 600  # 10 minutes for the reply to the end of DATA (the relay encrypts and reinjects first)


# kind: "sendmail" or "smtp"; target: program path, or host. A named tuple, not a dataclass:
# this module is imported by every forwarding `pipe`, and dataclasses costs ~7 ms to import.
Route = namedtuple("Route", ["kind", "target", "port"], defaults=[25])


def parse_route(spec: str) -> Route:
    if spec.startswith("sendmail:") and len(spec) > len("sendmail:"):
        return Route("sendmail", spec[len("sendmail:"):])
    if spec.startswith("smtp://"):
        from urllib.parse import urlsplit

        parts = urlsplit(spec)
        if parts.hostname:
            return Route("smtp", parts.hostname, parts.port or 25)
    raise ConfigError(f"mail.reinject must be 'sendmail:/path' or 'smtp://host:port', not {spec!r}")


def send(
    route: Route, sender: str, recipients: list[str], chunks: Iterable[bytes], headers: bytes = b"", smtputf8: bool = False
) -> None:
    """Deliver one message (given as byte chunks, optional extra header lines first), written
    as the chunks come: a big message is never joined into one buffer here.

    SMTPUTF8 (RFC 6531) is requested when an address is not ASCII, and when *smtputf8*
    (the client that handed the message in asked for it) if the next hop offers it.
    An address that can never be sent raises BadAddress; non-ASCII where the next hop
    cannot take it, NextHopRefused (5.6.7): both permanent, never a retry for ever.
    """
    check_envelope(sender, recipients)
    if route.kind == "sendmail":
        _sendmail(route.target, sender, recipients, itertools.chain((headers,), chunks))
    else:
        _smtp(route, sender, recipients, itertools.chain((headers,), chunks), smtputf8)


def check_envelope(sender: str, recipients: list[str]) -> None:
    """BadAddress unless every envelope address can go out as it is (see addresses.check_envelope)."""
    for address in (sender, *recipients):
        addresses.check_envelope(address)


def _sendmail(program: str, sender: str, recipients: list[str], chunks: Iterable[bytes]) -> None:
    # -G: this is not an initial submission; -i: a lone dot is not the end;
    # never -t: recipients come from the envelope, not from headers.
    # Non-ASCII addresses go as they are: Postfix's sendmail has no SMTPUTF8 option; it
    # sees UTF-8 in the envelope itself (smtputf8_autodetect_classes, default "sendmail").
    import subprocess  # nosec B404 - the configured sendmail program, never a shell

    command = [program, "-G", "-i", "-f", sender, "--", *recipients]
    try:
        # an argument list (no shell); the program is the administrator's [mail] reinject
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # nosec B603
    except OSError as e:
        raise DeliveryError(f"cannot run {program}: {e.strerror}") from None
    try:
        for chunk in chunks:
            proc.stdin.write(chunk)
        proc.stdin.close()
    except BrokenPipeError:
        pass  # the exit status below says why
    stderr = proc.stderr.read()
    status = proc.wait()
    if status != 0:
        reason = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {status}"]
        raise DeliveryError(f"{program} refused the message: {reason[0][:200]}")


def _smtp(route: Route, sender: str, recipients: list[str], chunks: Iterable[bytes], smtputf8: bool = False) -> None:
    import smtplib

    try:
        with smtplib.SMTP(route.target, route.port, timeout=SMTP_TIMEOUT, local_hostname=_local_hostname()) as smtp:
            _no_delay(smtp.sock)
            options = _utf8_options(smtp, route, addresses.needs_smtputf8([sender, *recipients]), smtputf8)
            refused = _transaction(smtp, sender, recipients, chunks, options)
    except smtplib.SMTPRecipientsRefused as e:
        raise DeliveryError(f"next hop refused every recipient: {_first_reason(e.recipients)}") from None
    except smtplib.SMTPResponseException as e:
        raise DeliveryError(f"next hop answered {e.smtp_code}: {_text(e.smtp_error)}") from None
    except (smtplib.SMTPException, OSError, socket.timeout) as e:
        raise DeliveryError(f"next hop {route.target}:{route.port} unavailable: {e}") from None
    if refused:
        raise DeliveryError(f"next hop refused {len(refused)} recipient(s): {_first_reason(refused)}")


def _transaction(smtp, sender: str, recipients: list[str], chunks: Iterable[bytes], options=()) -> dict:
    """smtplib's sendmail, but with DATA written piece by piece as data_pieces makes it:
    sendmail wants the message in one buffer and copies it three times (line ends,
    dot-stuffing, the final dot), four copies of a big carrier at once."""
    import smtplib

    smtp.ehlo_or_helo_if_needed()
    code, reply = smtp.mail(sender, list(options))
    if code != 250:
        _abandon(smtp, code)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused = {}
    for recipient in recipients:
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, reply)
        if code == 421:
            break
    if len(refused) == len(recipients) or code == 421:
        _abandon(smtp, code)
        raise smtplib.SMTPRecipientsRefused(refused)
    smtp.putcmd("data")
    code, reply = smtp.getreply()
    if code != 354:
        _abandon(smtp, code)
        raise smtplib.SMTPDataError(code, reply)
    for piece in data_pieces(chunks):
        smtp.send(piece)
    smtp.send(b".\r\n")
    code, reply = smtp.getreply()
    if code != 250:
        _abandon(smtp, code)
        raise smtplib.SMTPDataError(code, reply)
    return refused


def _abandon(smtp, code: int) -> None:
    """As smtplib does: a 421 ends the session, anything else resets the transaction."""
    import smtplib

    try:
        if code == 421:
            smtp.close()
        else:
            smtp.rset()
    except (smtplib.SMTPException, OSError):
        pass


_PIECE = 1 << 20


def data_pieces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The message as DATA carries it (RFC 5321 4.5.2), in pieces of about a MiB: CRLF line ends
    (from LF or CRLF; a bare CR is left alone), a dot doubled at the start of a line, a final
    line end; the receiver undoes the dots. The same bytes as normalising the whole at once:
    a CR at the end of a piece waits for the next, so no CRLF is split."""
    carry = b""
    line_start, last = True, b""
    for chunk in chunks:
        view = memoryview(chunk).cast("B")
        for start in range(0, len(view), _PIECE):
            piece = carry + bytes(view[start:start + _PIECE])
            carry = b""
            if piece.endswith(b"\r"):
                piece, carry = piece[:-1], b"\r"
            if not piece:
                continue
            piece = _crlf(piece).replace(b"\r\n.", b"\r\n..")
            if line_start and piece.startswith(b"."):
                piece = b"." + piece
            line_start, last = piece.endswith(b"\r\n"), piece[-2:]
            yield piece
    if carry:
        last = carry
        yield carry
    if last and not last.endswith(b"\r\n"):
        yield b"\r\n"
def _utf8_options(smtp, route: Route, needed: bool, wanted: bool) -> list[str]:
    """["SMTPUTF8"] when the message needs or wants it and the next hop offers it.

    Only requested when needed or asked for: a message flagged SMTPUTF8 may be bounced
    further on by an MTA whose own next hop lacks it, where unflagged UTF-8 headers pass.
    """
    if not (needed or wanted):
        return []
    smtp.ehlo_or_helo_if_needed()
    if smtp.has_extn("smtputf8"):
        return ["SMTPUTF8"]
    if needed:
        raise NextHopRefused(
            "5.6.7", f"next hop {route.target}:{route.port} does not support SMTPUTF8, needed for a non-ASCII address"
        )
    return []


def _no_delay(sock) -> None:
    """Send each write at once (TCP_NODELAY). The message goes in pieces and then the
    final dot: with Nagle's algorithm that short last write waits for the ACK of the data
    before it, which the server delays (40 ms on Linux) while it waits for the dot, so
    every message stalled ~40 ms and a relay worker carried ~17 messages a second."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):  # not TCP (a test's socket pair), or gone already: nothing to tune
        pass


@functools.cache
def _local_hostname() -> str:
    """The name for EHLO, as smtplib finds it (getfqdn), looked up once per process rather
    than per message: a relay sends hundreds a second."""
    return socket.getfqdn()


def _crlf(data: bytes) -> bytes:
    """SMTP wants CRLF line ends; mail built here uses LF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _first_reason(refused: dict) -> str:
    address, (code, text) = next(iter(refused.items()))
    return f"{address} {code} {_text(text)}"


def _text(value) -> str:
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))[:200]


def forward(host: str, port: int, sender: str, recipients: list[str], data: bytes) -> str:
    """Hand *data* unchanged over SMTP to *host:port* (a running ``webcrypt relay``).

    Returns the text of the server's 2xx to the end of DATA (the relay gives it only
    after its next hop accepted every copy). Raises NextHopRefused, with the server's
    enhanced status code, when the server refuses the message for good: a 5xx to its
    SIZE at MAIL, to a recipient or to the end of DATA. Everything else raises
    DeliveryError (temporary): 4xx, no connection, a timeout, a broken reply, and a
    5xx to the session itself (greeting, EHLO, or a 530 / 5.7.x to MAIL: this client
    is not allowed there, a fault of the configuration, not of the message).
    """
    check_envelope(sender, recipients)
    where = f"relay {host}:{port}"
    body = _Body(data)
    try:
        sock = socket.create_connection((host, port), timeout=FORWARD_CONNECT_TIMEOUT)
    except OSError as e:
        raise NotTaken(f"{where} unavailable: {_os_reason(e)}") from None
    _no_delay(sock)
    client = _Client(sock, where)
    try:
        return client.deliver(sender, recipients, body, data.isascii())
    except (OSError, DeliveryError) as e:
        reason = f"{where} unavailable: {_os_reason(e)}" if isinstance(e, OSError) else str(e)
        if client.sending_data:  # the server may have the message: only a retry may tell
            raise DeliveryError(reason) from None
        raise NotTaken(reason) from None
    finally:
        client.close()


class _Client:
    """One SMTP session over a plain socket: just what forwarding a message needs."""

    def __init__(self, sock: socket.socket, where: str):
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.where = where
        self.sending_data = False  # from the first byte of the message on, the outcome may be unclear

    def deliver(self, sender: str, recipients: list[str], body: "_Body", ascii_only: bool) -> str:
        self.expect("greeting", *self.reply(FORWARD_REPLY_TIMEOUT), session=True)
        local = self.sock.getsockname()[0]
        literal = f"[IPv6:{local}]" if ":" in local else f"[{local}]"
        _, lines = self.expect("EHLO", *self.command(f"EHLO {literal}"), session=True)
        extensions = {line.split(" ", 1)[0].upper() for line in lines[1:] if line}
        params = ""
        if "SIZE" in extensions:
            params += f" SIZE={len(body)}"
        if not ascii_only and "8BITMIME" in extensions:
            params += " BODY=8BITMIME"
        if addresses.needs_smtputf8([sender, *recipients]):
            if "SMTPUTF8" not in extensions:
                raise NextHopRefused("5.6.7", f"{self.where} does not support SMTPUTF8, needed for a non-ASCII address")
            params += " SMTPUTF8"
        self.expect("MAIL", *self.command(f"MAIL FROM:<{sender}>{params}"))
        for recipient in recipients:
            self.expect("RCPT", *self.command(f"RCPT TO:<{recipient}>"))
        code, lines = self.command("DATA")
        if code != 354:
            raise DeliveryError(f"{self.where} answered {code} to DATA: {_joined(code, lines)[1]}")
        self.sending_data = True
        for piece in body.pieces():
            self.sock.sendall(piece)
        self.sock.sendall(b".\r\n")
        _, lines = self.expect("DATA", *self.reply(FORWARD_DATA_TIMEOUT))
        self.quit()  # the message is accepted: nothing after this may fail it
        return " ".join(lines)[:300]

    def command(self, line: str, timeout: float = FORWARD_REPLY_TIMEOUT) -> tuple[int, list[str]]:
        self.sock.settimeout(timeout)
        # strict: check_envelope refused arguments that were not UTF-8 before anything was sent
        self.sock.sendall(line.encode("utf-8") + b"\r\n")
        return self.reply(timeout)

    def reply(self, timeout: float) -> tuple[int, list[str]]:
        """(code, lines without the code) of one reply, multi-line replies joined."""
        self.sock.settimeout(timeout)
        lines = []
        while True:
            line = self.reader.readline(4096)
            if not line.endswith(b"\n"):
                raise DeliveryError(f"{self.where} closed the connection or sent a broken reply")
            text = line.rstrip(b"\r\n").decode("utf-8", "replace")
            if len(text) < 3 or not text[:3].isdigit() or (lines and text[:3] != lines[0][:3]):
                raise DeliveryError(f"{self.where} does not speak SMTP ({_text(text)!r})")
            lines.append(text)
            if text[3:4] != "-" or len(lines) > 100:
                return int(text[:3]), [t[4:] for t in lines]

    def expect(self, stage: str, code: int, lines: list[str], session: bool = False) -> tuple[int, list[str]]:
        if 200 <= code < 300:
            return code, lines
        dsn, text = _joined(code, lines)
        refuses_client = session or (stage == "MAIL" and (code == 530 or dsn.startswith("5.7.")))
        if 500 <= code < 600 and not refuses_client:
            prefix = "" if stage == "DATA" else f"relay refused {stage}: "
            raise NextHopRefused(dsn, f"{prefix}{text}")
        raise DeliveryError(f"{self.where} answered {code} to {stage}: {dsn} {text}")

    def quit(self) -> None:
        try:
            self.command("QUIT", timeout=5)
        except (OSError, DeliveryError):
            pass

    def close(self) -> None:
        try:
            self.reader.close()
            self.sock.close()
        except OSError:
            pass


class _Body:
    """A message as DATA carries it, made piece by piece each time it is read (data_pieces)."""

    def __init__(self, data: bytes):
        self.data = data

    def pieces(self) -> Iterator[bytes]:
        return data_pieces([self.data])

    def __len__(self) -> int:  # for SIZE: counted, not built
        return sum(len(piece) for piece in self.pieces())


# Enhanced status codes (RFC 3463) for servers that give none.
_DEFAULT_DSN = {552: "5.3.4", 554: "5.0.0"}


def _joined(code: int, lines: list[str]) -> tuple[str, str]:
    """(enhanced status code, text) of a reply; the code from its first line."""
    texts = []
    dsn = ""
    for line in lines:
        first, _, rest = line.partition(" ")
        pieces = first.split(".")
        if len(pieces) == 3 and all(p.isdigit() and len(p) <= 3 for p in pieces) and first[0] == str(code)[0]:
            dsn = dsn or first
            line = rest
        texts.append(line.strip())
    dsn = dsn or _DEFAULT_DSN.get(code, f"{str(code)[0]}.0.0")
    return dsn, _text("; ".join(t for t in texts if t))


def _os_reason(error: OSError) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    return error.strerror or type(error).__name__
