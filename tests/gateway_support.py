"""Helpers for the gateway tests: a real SMTP sink (aiosmtpd) and running `webcrypt pipe`."""

import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from conftest import write_settings
from webcrypt.base import config
from webcrypt.core import mime
from webcrypt.usecases import accounts, gateway
from webcrypt.context.home import Home

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    smtputf8: bool = False  # MAIL FROM asked for SMTPUTF8


@dataclass
class SinkHandler:
    """Accepts every message, or answers *reply* (e.g. "451 try later") to DATA."""

    messages: list[Received] = field(default_factory=list)
    reply: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        if self.reply:
            return self.reply
        with self.lock:
            self.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, envelope.smtp_utf8)
            )
        return "250 OK"


class _LongLines(SMTP):
    line_length_limit = 1 << 20  # like Postfix, which takes over-long lines too


class _Controller(Controller):
    def factory(self):
        return _LongLines(self.handler, **self.SMTP_kwargs)


class Sink:
    """*smtputf8*: announce SMTPUTF8 (RFC 6531), as Postfix does; False: a next hop without it."""

    def __init__(self, port: int, smtputf8: bool = True, host: str = "127.0.0.1"):
        self.handler = SinkHandler()
        self.port = port
        self.host = host
        self.smtputf8 = smtputf8
        self.controller = None

    def start(self) -> None:
        self.controller = _Controller(
            self.handler, hostname=self.host, port=self.port, data_size_limit=0, enable_SMTPUTF8=self.smtputf8
        )
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def to(self, recipient: str) -> list[Received]:
        return [m for m in self.messages if recipient in m.recipients]

    def carriers(self, recipient: str) -> list[Received]:
        return [m for m in self.to(recipient) if b"secure.htm" in m.data and b"X-WebCrypt-Message-Id" in m.data]

    def login_mails(self) -> list[Received]:
        return [m for m in self.messages if b"Auto-Submitted: auto-generated" in m.data]


def pipe_command(conf: Path, sender: str, recipients: list[str], queue_id: str = "TEST") -> list[str]:
    return [sys.executable, "-m", "webcrypt", "-c", str(conf), "pipe", "-f", sender, "-q", queue_id, "--", *recipients]


def run_pipe(conf: Path, sender: str, recipients: list[str], data: bytes, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        pipe_command(conf, sender, recipients), input=data, capture_output=True, env=env, timeout=120, **kwargs
    )


def open_carrier(conf: Path, carrier: bytes, address: str) -> bytes:
    """The original bytes inside a carrier mail, as the portal would decrypt them."""
    home = Home(config.load(conf))
    home.connect()
    try:
        # the SMTP sink sees CRLF line ends; mime.extract_envelope expects LF, as a Maildir has
        envelope = mime.extract_envelope(without_crlf(carrier))
        opened = gateway.open_envelope(home, envelope, accounts.get(address))
        return opened.message
    finally:
        home.close()


def without_crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def pipe_fixtures(port: int):
    """The fixtures of a pipe test file: ``conf`` (a home reinjecting to the sink on *port*,
    corp.example internal) and ``sink``. In the test file: ``conf, sink = pipe_fixtures(PORT)``."""

    @pytest.fixture
    def conf(home_dir):
        path = home_dir / "webcrypt.toml"
        write_settings(path, {"mail": {"reinject": f'"smtp://127.0.0.1:{port}"', "internal_domains": '["corp.example"]'}})
        return path

    @pytest.fixture
    def sink():
        with Sink(port) as running:
            yield running

    return conf, sink
