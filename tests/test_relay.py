"""`webcrypt relay` on loopback: a real smtplib client, a real aiosmtpd sink as next hop."""

import io
import smtplib
import ssl
import subprocess

import pytest

from conftest import write_settings
from gateway_support import Sink, open_carrier
from webcrypt.base import config
from webcrypt.edges import relay
from webcrypt.base.errors import ConfigError
from webcrypt.context.home import Home

SINK_PORT = 12520
RELAY_PORT = 12521
SENDER = "clerk@corp.example"
KEYWORD_MAIL = b"From: clerk@corp.example\r\nTo: alice@example.org\r\nSubject: [secure] offer\r\n\r\nthe offer\r\n"
PLAIN_MAIL = b"From: clerk@corp.example\r\nTo: alice@example.org\r\nSubject: lunch\r\n\r\nnoon\r\n"


@pytest.fixture
def conf(home_dir):
    path = home_dir / "webcrypt.toml"
    write_settings(path, {"mail": {"reinject": f'"smtp://127.0.0.1:{SINK_PORT}"', "internal_domains": '["corp.example"]'}})
    return path


@pytest.fixture
def sink():
    with Sink(SINK_PORT) as s:
        yield s


def start(conf, log=None):
    home = Home(config.load(conf))
    home.connect()
    running = relay.Running(home, relay.settings(home, f"127.0.0.1:{RELAY_PORT}"), log or io.StringIO())
    return running.start()


@pytest.fixture
def log():
    return io.StringIO()


@pytest.fixture
def relay_server(conf, sink, log):
    running = start(conf, log)
    yield running
    running.stop()


def send(data, recipients=("alice@example.org",), **kwargs):
    with smtplib.SMTP("127.0.0.1", RELAY_PORT, timeout=60) as client:
        return client.sendmail(SENDER, list(recipients), data, **kwargs)


def test_keyword_mail_becomes_a_carrier_and_internal_gets_the_original(relay_server, sink, conf, log):
    assert send(KEYWORD_MAIL, ["alice@example.org", "boss@corp.example"]) == {}
    (carrier,) = sink.carriers("alice@example.org")
    assert open_carrier(conf, carrier.data, "alice@example.org") == KEYWORD_MAIL
    (internal,) = sink.to("boss@corp.example")
    assert internal.data == KEYWORD_MAIL
    assert len(sink.login_mails()) == 1 and sink.login_mails()[0].recipients == [SENDER]
    assert "rcpts=2 action=mixed" in log.getvalue() and "offer" not in log.getvalue()


def test_plain_mail_passes_unchanged(relay_server, sink):
    send(PLAIN_MAIL, ["alice@example.org", "bob@example.net"])
    (copy,) = sink.messages
    assert copy.data == PLAIN_MAIL and copy.recipients == ["alice@example.org", "bob@example.net"]


def test_next_hop_refusing_or_down_answers_451(relay_server, sink, log):
    sink.handler.reply = "452 4.3.1 full"
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(KEYWORD_MAIL)
    assert e.value.smtp_code == 451
    sink.stop()
    try:
        with pytest.raises(smtplib.SMTPDataError) as e:
            send(PLAIN_MAIL)
        assert e.value.smtp_code == 451 and b"unavailable" in e.value.smtp_error
    finally:
        sink.start()
    sink.handler.reply = None
    send(KEYWORD_MAIL)
    assert len(sink.carriers("alice@example.org")) == 1 and len(sink.login_mails()) == 1
    assert log.getvalue().count("action=deferred") == 2


def test_too_large_for_encryption_is_refused_permanently(conf, sink, log):
    write_settings(conf, {"policy": {"max_message_size": "50"}})
    running = start(conf, log)
    try:
        with pytest.raises(smtplib.SMTPDataError) as e:
            send(KEYWORD_MAIL + b"x" * 100 + b"\r\n")
        assert e.value.smtp_code == 554 and e.value.smtp_error.startswith(b"5.3.4")
    finally:
        running.stop()
    assert sink.messages == []


def test_size_is_advertised_and_enforced(conf, sink):
    write_settings(conf, {"relay": {"max_size": "1000"}})
    running = start(conf)
    try:
        with smtplib.SMTP("127.0.0.1", RELAY_PORT, timeout=60) as client:
            client.ehlo()
            assert client.has_extn("size") and client.esmtp_features["size"] == "1000"
        with pytest.raises(smtplib.SMTPException):
            send(PLAIN_MAIL + b"y" * 2000 + b"\r\n")
    finally:
        running.stop()
    assert sink.messages == []


def test_clients_outside_the_networks_are_refused(conf, sink):
    write_settings(conf, {"relay": {"client_networks": '["192.0.2.0/24"]'}})
    running = start(conf)
    try:
        with pytest.raises(smtplib.SMTPException):
            send(PLAIN_MAIL)
    finally:
        running.stop()
    assert sink.messages == []


def test_default_networks_are_loopback_only(home):
    networks = [str(n) for n in relay.settings(home).networks]
    assert networks == ["127.0.0.0/8", "::1/128"]
    handler = relay.Handler(home, relay.settings(home))
    assert handler.allowed(("127.0.0.1", 1)) and handler.allowed(("::ffff:127.0.0.1", 1))
    assert not handler.allowed(("192.0.2.1", 1)) and not handler.allowed(None)
    handler.pool.shutdown()


@pytest.fixture
def certificate(tmp_path):
    cert, key = tmp_path / "relay.crt", tmp_path / "relay.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def test_starttls_with_the_configured_certificate(conf, sink, certificate):
    cert, key = certificate
    write_settings(conf, {"relay": {"tls_cert": f'"{cert}"', "tls_key": f'"{key}"', "require_tls": "true"}})
    running = start(conf)
    try:
        with smtplib.SMTP("127.0.0.1", RELAY_PORT, timeout=60) as client:
            with pytest.raises(smtplib.SMTPSenderRefused) as e:
                client.sendmail(SENDER, ["alice@example.org"], PLAIN_MAIL)
            assert e.value.smtp_code == 530
        with smtplib.SMTP("127.0.0.1", RELAY_PORT, timeout=60) as client:
            context = ssl.create_default_context(cafile=str(cert))
            context.check_hostname = False
            client.starttls(context=context)
            assert client.sock.getpeercert()["subject"] == ((("commonName", "localhost"),),)
            client.sendmail(SENDER, ["alice@example.org"], PLAIN_MAIL)
    finally:
        running.stop()
    assert [m.data for m in sink.messages] == [PLAIN_MAIL]


def test_bad_settings_are_one_line_errors(conf):
    write_settings(conf, {"relay": {"tls_cert": '"missing.pem"'}})
    home = Home(config.load(conf))
    with pytest.raises(ConfigError, match="tls_cert"):
        relay.settings(home)
    with pytest.raises(ConfigError, match="HOST:PORT"):
        relay.parse_listen("nonsense")


def test_relay_processes_share_the_socket_and_a_dead_worker_is_replaced(conf, sink):
    import os
    import signal
    import sys
    import time

    from postfix_fixture import Postfix

    write_settings(conf, {"relay": {"processes": "2"}})
    process = subprocess.Popen(
        [sys.executable, "-m", "webcrypt", "-c", str(conf), "relay", "--listen", f"127.0.0.1:{RELAY_PORT}"],
        stderr=subprocess.PIPE,
    )
    try:
        Postfix.wait_listening(RELAY_PORT)
        workers = children(process.pid)
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (len(children(process.pid)) < 2 or workers[0] in children(process.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(children(process.pid)) == 2 and workers[0] not in children(process.pid)
        for _ in range(4):
            send(KEYWORD_MAIL)
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
    assert children(process.pid) == []
    assert len(sink.carriers("alice@example.org")) == 4 and len(sink.login_mails()) == 1


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _lines_as_aiosmtpd_reads_them(stream: bytes) -> tuple[bytes, bytes]:
    """(message, what follows the dot): a line at a time, a leading dot removed (RFC 5321 4.5.2)."""
    lines, at = [], 0
    while True:
        end = stream.index(b"\r\n", at) + 2
        line, at = stream[at:end], end
        if line == b".\r\n":
            return b"".join(line[1:] if line.startswith(b".") else line for line in lines), stream[at:]
        lines.append(line)


def test_data_read_in_blocks_is_what_aiosmtpd_read_line_by_line():
    # ends straddling block edges, stuffed dots first and last, an empty message, a pipelined QUIT
    import asyncio
    import random

    rng = random.Random(15)
    for _ in range(3000):
        lines = [b"".join(rng.choice([b"a", b".", b"..", b"\r", b"x" * 7]) for _ in range(rng.randint(0, 6)))
                 for _ in range(rng.randint(0, 6))]
        stuffed = b"".join((b"." if line.startswith(b".") else b"") + line + b"\r\n" for line in lines)
        stream = stuffed + b".\r\nQUIT\r\n"
        limit, edges = rng.choice([5, 6, 7, 64, 1 << 16]), [rng.randint(1, 5) for _ in range(rng.randint(0, 4))]

        async def read():
            reader, at = asyncio.StreamReader(limit=limit), 0
            for size in edges:
                reader.feed_data(stream[at:at + size])
                at += size
            reader.feed_data(stream[at:])
            reader.feed_eof()
            return await relay.receive_data(reader, None), await reader.read()

        assert asyncio.run(read()) == _lines_as_aiosmtpd_reads_them(stream)
        assert asyncio.run(read())[0] == b"".join(line + b"\r\n" for line in lines)


def test_data_over_the_limit_is_read_to_the_end_and_dropped():
    import asyncio

    async def read(limit):
        reader = asyncio.StreamReader(limit=8)
        reader.feed_data(b"12345678\r\n" * 10 + b".\r\nQUIT\r\n")
        reader.feed_eof()
        return await relay.receive_data(reader, limit), await reader.read()

    assert asyncio.run(read(99)) == (None, b"QUIT\r\n")
    assert asyncio.run(read(100)) == (b"12345678\r\n" * 10, b"QUIT\r\n")
