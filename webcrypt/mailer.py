"""Handing mail to the MTA: ``sendmail:PATH`` or ``smtp://HOST:PORT``.

The only module that runs subprocesses or speaks SMTP. A send returns only
after the next hop accepted the message for every recipient; anything else
raises DeliveryError (temporary), so the caller can leave the mail queued.
"""

import smtplib
import socket
import subprocess
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urlsplit

from .errors import ConfigError, DeliveryError

SMTP_TIMEOUT = 120


@dataclass(frozen=True)
class Route:
    kind: str  # "sendmail" or "smtp"
    target: str  # program path, or host
    port: int = 25


def parse_route(spec: str) -> Route:
    if spec.startswith("sendmail:") and len(spec) > len("sendmail:"):
        return Route("sendmail", spec[len("sendmail:"):])
    if spec.startswith("smtp://"):
        parts = urlsplit(spec)
        if parts.hostname:
            return Route("smtp", parts.hostname, parts.port or 25)
    raise ConfigError(f"mail.reinject must be 'sendmail:/path' or 'smtp://host:port', not {spec!r}")


def send(route: Route, sender: str, recipients: list[str], chunks: Iterable[bytes], headers: bytes = b"") -> None:
    """Deliver one message (given as byte chunks, optional extra header lines first)."""
    if route.kind == "sendmail":
        _sendmail(route.target, sender, recipients, [headers, *chunks])
    else:
        _smtp(route, sender, recipients, [headers, *chunks])


def _sendmail(program: str, sender: str, recipients: list[str], chunks: list[bytes]) -> None:
    # -G: this is not an initial submission; -i: a lone dot is not the end;
    # never -t: recipients come from the envelope, not from headers.
    command = [program, "-G", "-i", "-f", sender, "--", *recipients]
    try:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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


def _smtp(route: Route, sender: str, recipients: list[str], chunks: list[bytes]) -> None:
    data = _crlf(b"".join(chunks))
    try:
        with smtplib.SMTP(route.target, route.port, timeout=SMTP_TIMEOUT) as smtp:
            refused = smtp.sendmail(sender, recipients, data)
    except smtplib.SMTPRecipientsRefused as e:
        raise DeliveryError(f"next hop refused every recipient: {_first_reason(e.recipients)}") from None
    except smtplib.SMTPResponseException as e:
        raise DeliveryError(f"next hop answered {e.smtp_code}: {_text(e.smtp_error)}") from None
    except (smtplib.SMTPException, OSError, socket.timeout) as e:
        raise DeliveryError(f"next hop {route.target}:{route.port} unavailable: {e}") from None
    if refused:
        raise DeliveryError(f"next hop refused {len(refused)} recipient(s): {_first_reason(refused)}")


def _crlf(data: bytes) -> bytes:
    """SMTP wants CRLF line ends; mail built here uses LF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _first_reason(refused: dict) -> str:
    address, (code, text) = next(iter(refused.items()))
    return f"{address} {code} {_text(text)}"


def _text(value) -> str:
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))[:200]
