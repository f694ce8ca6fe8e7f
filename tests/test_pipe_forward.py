"""`webcrypt pipe` in forwarding mode (`[pipe] relay`): a real pipe process hands the message
to a real `webcrypt relay` (in-process server, as in test_relay.py), whose next hop is an
aiosmtpd sink; and pattern A of appliance/postfix/ in a real Postfix. Ports 13000-13049.

SMTP carries CRLF line ends: the relay receives and keeps the message as an SMTP
client sends it, so what arrives (and what a carrier opens to) is the piped bytes
with CRLF line ends, exactly as in pattern C (test_postfix.py).
"""

import asyncio
import io
import re
import subprocess
import sys
import threading

import pytest
from aiosmtpd.controller import Controller

from conftest import CORPUS, write_settings
from gateway_support import ROOT, Sink, open_carrier, pipe_command, run_pipe, without_crlf
from webcrypt.base import config
from webcrypt.edges import pipe, relay
from webcrypt.context.home import Home

SINK_PORT = 13000
RELAY_PORT = 13001
DOWN_PORT = 13002  # nothing listens here
FAKE_PORT = 13003
SENDER = "clerk@corp.example"
KEYWORD_MAIL = b"From: clerk@corp.example\nTo: alice@example.org\nSubject: [secure] offer\n\nthe offer\n"
PLAIN_MAIL = b"From: clerk@corp.example\nTo: alice@example.org\nSubject: lunch\n\nnoon\n"


def crlf(data: bytes) -> bytes:
    return without_crlf(data).replace(b"\n", b"\r\n")


@pytest.fixture
def conf(home_dir):
    path = home_dir / "webcrypt.toml"
    write_settings(path, {
        "mail": {"reinject": f'"smtp://127.0.0.1:{SINK_PORT}"', "internal_domains": '["corp.example"]'},
        "pipe": {"relay": f'"127.0.0.1:{RELAY_PORT}"'},
    })
    return path


@pytest.fixture
def sink():
    with Sink(SINK_PORT) as s:
        yield s


class RelayServer:
    """`webcrypt relay` serving in this process (relay.Running), restartable with other settings."""

    def __init__(self, conf):
        self.conf = conf
        self.log = io.StringIO()
        self.running = None

    def start(self):
        home = Home(config.load(self.conf))
        home.connect()
        self.running = relay.Running(home, relay.settings(home, f"127.0.0.1:{RELAY_PORT}"), self.log).start()
        return self

    def stop(self):
        if self.running:
            self.running.stop()
            self.running.handler.home.close()
            self.running = None


@pytest.fixture
def relay_server(conf, sink):
    server = RelayServer(conf).start()
    yield server
    server.stop()


def forward(conf, data, recipients=("alice@example.org",), sender=SENDER):
    result = run_pipe(conf, sender, list(recipients), data)
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, result.stderr  # one line per message, never a traceback
    return result.returncode, lines[0]


def test_keyword_mail_arrives_as_a_carrier_that_opens_to_the_piped_bytes(relay_server, sink, conf):
    status, line = forward(conf, KEYWORD_MAIL, ["alice@example.org", "boss@corp.example"])
    assert status == 0, line
    assert "queue=TEST" in line and "rcpts=2 action=forwarded" in line and f"relay=127.0.0.1:{RELAY_PORT}" in line
    assert "reply=2.0.0 OK: mixed (keyword), 2 copies delivered" in line and "offer" not in line
    (carrier,) = sink.carriers("alice@example.org")
    assert open_carrier(conf, carrier.data, "alice@example.org") == crlf(KEYWORD_MAIL)
    (internal,) = sink.to("boss@corp.example")
    assert internal.data == crlf(KEYWORD_MAIL)
    assert [m.recipients for m in sink.login_mails()] == [[SENDER]]  # credentials_to = "print": the sender
    assert "action=mixed" in relay_server.log.getvalue()


def test_plain_mail_to_several_recipients_arrives_unchanged(relay_server, sink, conf):
    recipients = ["alice@example.org", "bob@example.net", "carol@example.com"]
    status, line = forward(conf, PLAIN_MAIL, recipients)
    assert status == 0 and "rcpts=3 action=forwarded" in line and "pass (none), 1 copy" in line
    (copy,) = sink.messages
    assert copy.data == crlf(PLAIN_MAIL) and copy.recipients == recipients and copy.sender == SENDER


def test_keyword_mail_to_several_recipients_makes_one_carrier_each(relay_server, sink, conf):
    recipients = ["alice@example.org", "bob@example.net", "carol@example.com"]
    assert forward(conf, KEYWORD_MAIL, recipients)[0] == 0
    for address in recipients:
        (carrier,) = sink.carriers(address)
        assert open_carrier(conf, carrier.data, address) == crlf(KEYWORD_MAIL)
    assert len(sink.messages) == 3 + 3  # three carriers, three login-data mails


def test_lines_of_dots_long_lines_and_crlf_survive(relay_server, sink, conf):
    body = b".\n..\n.leading dot\n" + b"x" * 5000 + b"\nlast line without end"
    data = b"From: clerk@corp.example\r\nSubject: dots\n\n" + body  # mixed line ends, as some clients send
    assert forward(conf, data)[0] == 0
    (copy,) = sink.messages
    assert copy.data == crlf(data) + b"\r\n"  # SMTP ends the last line
    assert forward(conf, data.replace(b"Subject: dots", b"Subject: [secure] dots"))[0] == 0
    (carrier,) = sink.carriers("alice@example.org")
    opened = open_carrier(conf, carrier.data, "alice@example.org")
    assert opened == crlf(data.replace(b"Subject: dots", b"Subject: [secure] dots")) + b"\r\n"


def test_8bit_and_broken_mime_from_the_corpus(relay_server, sink, conf):
    sample = [p for p in sorted(CORPUS.rglob("*.eml")) if re.search(rb"[\x80-\xff]", p.read_bytes())][:4]
    assert sample
    for path in sample:
        data = path.read_bytes()
        assert forward(conf, data, ["bob@example.net"])[0] == 0, path
        assert forward(conf, b"X-WebCrypt: encrypt\n" + data, ["alice@example.org"])[0] == 0, path
    assert [m.data for m in sink.to("bob@example.net")] == [crlf(p.read_bytes()) for p in sample]
    carriers = sink.carriers("alice@example.org")
    assert [open_carrier(conf, c.data, "alice@example.org") for c in carriers] == [
        crlf(b"X-WebCrypt: encrypt\n" + p.read_bytes()) for p in sample]


def test_null_sender(relay_server, sink, conf):
    assert forward(conf, PLAIN_MAIL, sender="")[0] == 0
    (copy,) = sink.messages
    assert copy.sender == "<>" and copy.data == crlf(PLAIN_MAIL)  # aiosmtpd's form of MAIL FROM:<>


def test_relay_down_the_message_is_processed_here(conf, sink):
    """The relay not started (or restarting, or crashed): pipe encrypts and reinjects the message
    itself instead of deferring it, and says so in its line."""
    write_settings(conf, {"pipe": {"relay": f'"127.0.0.1:{DOWN_PORT}"'}})
    status, line = forward(conf, KEYWORD_MAIL)
    assert status == 0, line
    assert "action=encrypt" in line and "processed=here" in line
    assert f"relay_unavailable=relay 127.0.0.1:{DOWN_PORT} unavailable" in line
    (carrier,) = sink.carriers("alice@example.org")
    assert open_carrier(conf, carrier.data, "alice@example.org") == KEYWORD_MAIL  # as piped: no SMTP on the way


def test_relay_down_and_next_hop_down_defers_saying_both(conf):
    write_settings(conf, {"pipe": {"relay": f'"127.0.0.1:{DOWN_PORT}"'}})  # and no sink listens
    status, line = forward(conf, KEYWORD_MAIL)
    assert status == 75 and "action=deferred" in line and "relay_unavailable=" in line


def test_next_hop_down_defers_then_the_retry_delivers_once(relay_server, sink, conf):
    sink.stop()
    try:
        status, line = forward(conf, KEYWORD_MAIL)
        assert status == 75 and "action=deferred" in line and "answered 451 to DATA: 4.3.0" in line
    finally:
        sink.start()
    assert sink.messages == []
    assert forward(conf, KEYWORD_MAIL)[0] == 0
    assert len(sink.carriers("alice@example.org")) == 1 and len(sink.login_mails()) == 1


def test_next_hop_refusing_defers(relay_server, sink, conf):
    sink.handler.reply = "452 4.3.1 full"
    status, line = forward(conf, PLAIN_MAIL)
    assert status == 75 and "action=deferred" in line and sink.messages == []


def test_too_large_for_encryption_is_refused_with_the_relays_code(conf, sink):
    write_settings(conf, {"policy": {"max_message_size": "50"}})
    server = RelayServer(conf).start()
    try:
        status, line = forward(conf, KEYWORD_MAIL + b"x" * 100 + b"\n")
    finally:
        server.stop()
    assert status == 69
    assert re.match(r"5\.3\.4 \S", line) and "action=refused" in line and "offer" not in line
    assert sink.messages == []


def test_over_the_relays_size_is_refused_at_mail_from(conf, sink):
    write_settings(conf, {"relay": {"max_size": "1000"}})
    server = RelayServer(conf).start()
    try:
        status, line = forward(conf, PLAIN_MAIL + b"y" * 2000 + b"\n")
    finally:
        server.stop()
    assert status == 69 and line.startswith("5.3.4 relay refused MAIL: ") and "action=refused" in line
    assert sink.messages == []


def test_a_relay_refusing_this_client_is_passed_by_never_bounced(conf, sink):
    """554 at the greeting is the relay's configuration (client_networks), not the message's
    fault: the relay took nothing, so pipe processes the message itself."""
    write_settings(conf, {"relay": {"client_networks": '["192.0.2.0/24"]'}})
    server = RelayServer(conf).start()
    try:
        status, line = forward(conf, PLAIN_MAIL)
    finally:
        server.stop()
    assert status == 0 and "processed=here" in line and "answered 554 to greeting: 5.7.1" in line
    assert [m.data for m in sink.messages] == [crlf(PLAIN_MAIL)]


def test_forwarding_loads_no_parser_cryptography_database_or_smtplib(relay_server, sink, conf):
    command = pipe_command(conf, SENDER, ["alice@example.org"])
    command[1:1] = ["-X", "importtime"]
    result = subprocess.run(command, input=KEYWORD_MAIL, capture_output=True, timeout=120,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-500:]
    imported = {line.split("|")[-1].strip() for line in result.stderr.decode().splitlines() if line.startswith("import time:")}
    assert "webcrypt.infra.mailer" in imported and "webcrypt.edges.pipe" in imported  # the list is real
    heavy = {"email.parser", "email.message", "Crypto", "peewee", "smtplib", "ssl", "sqlite3", "webcrypt.usecases.processing"}
    assert not heavy & imported, heavy & imported
    assert len(sink.carriers("alice@example.org")) == 1


def test_a_bad_relay_setting_is_a_one_line_error(conf):
    write_settings(conf, {"pipe": {"relay": '"localhost"'}})
    with pytest.raises(config.ConfigError, match="HOST:PORT"):
        config.load(conf)
    status, line = forward(conf, PLAIN_MAIL)
    assert status == 75 and "pipe.relay" in line


# --- the reply mapping, against an SMTP server that answers what a test wants ------------------

class Scripted:
    """aiosmtpd handler answering RCPT and DATA as told; records what it accepted."""

    def __init__(self, rcpt=None, data="250 2.0.0 ok", data_delay=0.0):
        self.rcpt = rcpt or {}
        self.data = data
        self.data_delay = data_delay
        self.received = []

    async def handle_RCPT(self, server, session, envelope, address, options):
        reply = self.rcpt.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.data_delay)
        if self.data.startswith("250"):
            self.received.append((envelope.rcpt_tos, envelope.original_content))
        return self.data


@pytest.fixture
def scripted(home_dir):
    path = home_dir / "webcrypt.toml"
    # a message the relay did not take is processed here: its next hop (nothing listens) defers it
    write_settings(path, {"pipe": {"relay": f'"127.0.0.1:{FAKE_PORT}"'},
                          "mail": {"reinject": f'"smtp://127.0.0.1:{DOWN_PORT}"'}})
    controllers = []

    def serve(handler):
        controller = Controller(handler, hostname="127.0.0.1", port=FAKE_PORT)
        controller.start()
        controllers.append(controller)
        return path

    yield serve
    for controller in controllers:
        controller.stop()


def run_in_process(conf, recipients, data=PLAIN_MAIL):
    """pipe.main as the MTA would call it, in this process (never raises, returns the status)."""
    stderr = io.StringIO()
    argv = ["-c", str(conf), "pipe", "-f", SENDER, "-q", "Q1", "--", *recipients]
    status = pipe.main(argv, stdin=io.BytesIO(data), stderr=stderr)
    return status, stderr.getvalue()


def test_a_permanently_refused_recipient_refuses_the_message(scripted):
    handler = Scripted(rcpt={"gone@example.org": "550 5.1.1 no such mailbox"})
    conf = scripted(handler)
    status, log = run_in_process(conf, ["alice@example.org", "gone@example.org"])
    assert status == 69 and log.startswith("5.1.1 relay refused RCPT: no such mailbox (webcrypt pipe: queue=Q1")
    assert handler.received == []


def test_a_temporarily_refused_recipient_is_processed_here(scripted):
    handler = Scripted(rcpt={"later@example.org": "450 4.2.1 try later"})
    conf = scripted(handler)
    status, log = run_in_process(conf, ["alice@example.org", "later@example.org"])
    # before DATA: the relay has nothing, so pipe tried itself (and its own next hop is down here)
    assert status == 75 and "action=deferred" in log and "relay_unavailable=relay 127.0.0.1:13003 answered 450 to RCPT: 4.2.1 try later" in log
    assert handler.received == []


def test_a_refusal_without_enhanced_code_gets_one(scripted):
    conf = scripted(Scripted(data="554 no thanks"))
    status, log = run_in_process(conf, ["alice@example.org"])
    assert status == 69 and log.startswith("5.0.0 no thanks (webcrypt pipe:")


def test_a_relay_that_never_answers_the_end_of_data_defers(scripted, monkeypatch):
    from webcrypt.infra import mailer

    monkeypatch.setattr(mailer, "FORWARD_DATA_TIMEOUT", 0.5)
    conf = scripted(Scripted(data_delay=5))
    status, log = run_in_process(conf, ["alice@example.org"])
    assert status == 75 and "timed out" in log and "action=deferred" in log
    assert "relay_unavailable" not in log  # after DATA the relay may have it: never processed twice


def piped_to_a_raw_socket(home_dir, answer):
    """pipe in forwarding mode against a server that is not aiosmtpd: *answer(connection)* speaks
    for it once. The message's own next hop is down, so a fallback here would defer too."""
    import socket

    listener = socket.create_server(("127.0.0.1", FAKE_PORT))

    def serve():
        connection, _ = listener.accept()
        with connection:
            answer(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    conf = home_dir / "webcrypt.toml"
    write_settings(conf, {"pipe": {"relay": f'"127.0.0.1:{FAKE_PORT}"'}, "mail": {"reinject": '"smtp://127.0.0.1:9"'}})
    try:
        return run_in_process(conf, ["alice@example.org"])
    finally:
        thread.join(timeout=10)
        listener.close()


def test_a_relay_dropping_the_connection_during_data_defers_never_processes_here(home_dir):
    """The message was being sent when the relay went away: it may have taken it, so only the
    MTA's retry decides (75), never a second copy from here."""

    def crash_during_data(connection):
        replies = [b"250-relay\r\n250 SIZE 1000000\r\n", b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n"]
        connection.sendall(b"220 relay ESMTP\r\n")
        reader = connection.makefile("rb")
        for reply in replies:
            reader.readline()
            connection.sendall(reply)
        reader.readline()  # the first line of the message: then the relay crashes

    status, log = piped_to_a_raw_socket(home_dir, crash_during_data)
    assert status == 75 and "action=deferred" in log and "relay_unavailable" not in log
    assert "processed=here" not in log


def test_something_else_on_the_port_defers(home_dir):
    """Not an SMTP server (e.g. a web server on the configured port): deferred, not bounced."""
    status, log = piped_to_a_raw_socket(home_dir, lambda connection: connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n"))
    assert status == 75 and "does not speak SMTP" in log


def test_the_message_goes_over_the_wire_dot_stuffed_and_comes_out_whole(scripted):
    handler = Scripted()
    conf = scripted(handler)
    data = b"Subject: x\n\n.\n.\r\n..\n"
    status, log = run_in_process(conf, ["a@example.org", "b@example.org"], data)
    assert status == 0 and "reply=2.0.0 ok" in log
    assert handler.received == [(["a@example.org", "b@example.org"], crlf(data))]


# --- pattern A in a real Postfix, forwarding to a relay -----------------------------------------

def test_postfix_pattern_a_forwarding_to_the_relay():
    from postfix_fixture import PIPE_USER, Ports, Postfix, postfix_available, python_for_pipe_user, strip_trace

    if postfix_available():
        pytest.skip(postfix_available())
    import smtplib
    import uuid

    ports = Ports(submit=13010, reinject=13011, relay=13012)
    pf = Postfix("content_filter", ports)

    def start_relay():
        process = subprocess.Popen(
            [*python_for_pipe_user(), "-m", "webcrypt", "-c", str(pf.conf), "relay", "--listen",
             f"127.0.0.1:{ports.relay}"], user=PIPE_USER, cwd="/", stderr=subprocess.DEVNULL)
        Postfix.wait_listening(ports.relay)
        return process

    def submit(data, recipients):
        with smtplib.SMTP("127.0.0.1", ports.submit, timeout=60) as client:
            assert client.sendmail(SENDER, recipients, crlf(data)) == {}

    def opened(carrier, address):
        try:
            return open_carrier(pf.conf, carrier, address)
        finally:
            pf.chown_home()

    relay_process = None
    try:
        write_settings(pf.conf, {"pipe": {"relay": f'"127.0.0.1:{ports.relay}"'}})
        pf.chown_home()
        pf.start()
        relay_process = start_relay()
        alice, boss = f"alice-{uuid.uuid4().hex[:8]}@example.org", "boss@corp.example"
        secret = (f"From: {SENDER}\nTo: {alice}\nSubject: [secure] forwarded\nDate: Sat, 28 Nov 2026 04:00:00 +0000\n"
                  f"Message-ID: <{uuid.uuid4().hex}@corp.example>\n\nsecret line\n.\nend\n").encode()
        submit(secret, [alice, boss])
        (carrier,) = pf.wait_for(alice)
        assert b"secret line" not in carrier
        assert without_crlf(strip_trace(opened(carrier, alice))) == secret
        assert strip_trace(pf.wait_for(boss)[0]) == secret
        pf.wait_queue_empty()
        assert "action=forwarded" in pf.log_tail(400)

        # the relay down: pipe processes the mail itself, which arrives at once, encrypted, once
        relay_process.terminate()
        relay_process.wait(timeout=30)
        relay_process = None
        later = secret.replace(b"forwarded", b"while the relay is down")
        submit(later, [alice])
        pf.wait_for(alice, 2)
        pf.wait_queue_empty()
        copies = pf.delivered(alice)
        assert len(copies) == 2 and b"secret line" not in copies[1]
        assert without_crlf(strip_trace(opened(copies[1], alice))) == later
        assert "action=encrypt" in pf.log_tail(400)  # pipe's own work (Postfix shortens its line)
    finally:
        if relay_process is not None:
            relay_process.terminate()
            relay_process.wait(timeout=30)
        pf.cleanup()
