"""Issue 9 item 10: large mail costs a bounded multiple of its size, not ~7x.

Through the real processes: `webcrypt pipe` reinjecting over SMTP to a real sink,
`webcrypt open` on the carrier that came out, and a `webcrypt serve` process that a
client drives as a browser would (POST /open of secure.htm's form, login, reading
page, body frame, attachment and .eml downloads). Peak RSS of each whole child
process (tests/memory_support.py), against the same command on a small message
measured in the same test. Before the fix a 20 MB message cost `pipe` about 5.7x
its size above that baseline, `open` about 6.5x and the portal about 25x.
"""

import base64
import email.encoders
import email.generator
import email.parser
import email.policy
import io
import os
import sys

import pytest

import memory_support
from conftest import write_settings
from gateway_support import ROOT, Sink

from webcrypt.base import config
from webcrypt.core import mime
from webcrypt.usecases import accounts, gateway
from webcrypt.context.home import Home

MB = 1024 * 1024
PORT = 12597
PORTAL_PORT = 12599
PASSWORD = "memory test tulip meadow"
BOUND = 4.0  # peak above the small message's, in message sizes (the issue asks for ~4x)


def message(attachment: int) -> bytes:
    return message_with(os.urandom(attachment))


def message_with(attachment: bytes) -> bytes:
    text = b"Dear customer, this is a line of your statement with figures 12345.67 EUR.\n" * 8000
    return (b"From: Bank <clerk@bank.example>\nTo: alice@example.org\nSubject: [secure] Statement\n"
            b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\n"
            + text + b"--B\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=s.pdf\n"
            b"Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(attachment) + b"--B--\n")


@pytest.fixture
def conf(home_dir):
    path = home_dir / "webcrypt.toml"
    write_settings(path, {"mail": {"reinject": f'"smtp://127.0.0.1:{PORT}"'},
                          "accounts": {"force_password_change": "false"}, "portal": {"secure_cookies": "false"}})
    home = Home(config.load(path))
    home.connect()
    accounts.create(home, "alice@example.org", PASSWORD)
    home.close()
    return path


def env(conf):
    return memory_support.clean_env(WEBCRYPT_CONFIG=str(conf), PYTHONPATH=str(ROOT))


def pipe_peak(conf, raw: bytes) -> float:
    done = memory_support.run([sys.executable, "-m", "webcrypt", "pipe", "-f", "clerk@bank.example", "--",
                               "alice@example.org"], input=raw, env=env(conf), cwd=ROOT)
    assert done.returncode == 0, done.stderr.decode()[-300:]
    return done.peak_mb


def open_peak(conf, carrier_path) -> tuple[float, bytes]:
    done = memory_support.run([sys.executable, "-m", "webcrypt", "open", str(carrier_path), "--as",
                               "alice@example.org", "--password-stdin"], input=PASSWORD.encode() + b"\n",
                              env=env(conf), cwd=ROOT)
    assert done.returncode == 0, done.stderr.decode()[-300:]
    return done.peak_mb, done.stdout


def test_pipe_and_open_of_a_20_mb_message_stay_within_4x_its_size(conf, tmp_path):
    small, big = message(1024), message(14 * MB)
    size_mb = len(big) / MB
    assert size_mb > 19
    with Sink(PORT) as sink:
        small_pipe = pipe_peak(conf, small)
        small_carrier = sink.carriers("alice@example.org")[-1].data
        sink.handler.messages.clear()
        big_pipe = pipe_peak(conf, big)
        big_carrier = sink.carriers("alice@example.org")[-1].data
    (tmp_path / "small.eml").write_bytes(small_carrier)
    (tmp_path / "big.eml").write_bytes(big_carrier)
    del big_carrier
    small_open, _ = open_peak(conf, tmp_path / "small.eml")
    big_open, opened = open_peak(conf, tmp_path / "big.eml")
    assert opened.replace(b"\r\n", b"\n") == big  # the exact original came back
    assert big_pipe - small_pipe < BOUND * size_mb, f"pipe: {big_pipe:.0f} MB against {small_pipe:.0f} MB"
    assert big_open - small_open < BOUND * size_mb, f"open: {big_open:.0f} MB against {small_open:.0f} MB"


def portal_peak(conf, carrier: bytes) -> tuple[float, dict]:
    """Peak RSS of a fresh `webcrypt serve` through one browser's reading of *carrier*, and what it served."""
    server = memory_support.Server([sys.executable, "-m", "webcrypt", "serve", "--listen", f"127.0.0.1:{PORTAL_PORT}",
                                    "--threads", "2"], env=env(conf), cwd=ROOT)
    try:
        memory_support.wait_for_port(PORTAL_PORT)
        served = memory_support.portal_read(PORTAL_PORT, mime.secure_htm_of(carrier), "alice@example.org", PASSWORD)
    finally:
        peak = server.stop()
    return peak, served


def test_the_portal_reads_and_serves_a_20_mb_message_within_4x_its_size(conf):
    attachment = os.urandom(14 * MB)
    small, big = message(1024), message_with(attachment)
    size_mb = len(big) / MB
    assert size_mb > 19
    with Sink(PORT) as sink:
        pipe_peak(conf, small)
        small_carrier = sink.carriers("alice@example.org")[-1].data
        sink.handler.messages.clear()
        pipe_peak(conf, big)
        big_carrier = sink.carriers("alice@example.org")[-1].data
    small_portal, _ = portal_peak(conf, small_carrier)
    big_portal, served = portal_peak(conf, big_carrier)
    assert b"s.pdf" in served["read"] and b"Dear customer" in served["read"]
    assert served["/part/1"] == attachment  # the attachment decoded, whole
    assert served["/eml"].replace(b"\r\n", b"\n") == big  # the exact original
    print(f"portal: {big_portal:.0f} MB for {size_mb:.1f} MB, {small_portal:.0f} MB for 2 KB")
    assert big_portal - small_portal < BOUND * size_mb, f"portal: {big_portal:.0f} MB against {small_portal:.0f} MB"


def reencoded(carrier: bytes, encoding: str) -> bytes:
    """The carrier as a mail client may save it: secure.htm re-encoded, CRLF line ends."""
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(carrier)
    for part in message.walk():
        if part.get_filename() == "secure.htm":
            page = part.get_payload(decode=True)
            del part["Content-Transfer-Encoding"]
            part.set_payload(page)
            (email.encoders.encode_base64 if encoding == "base64" else email.encoders.encode_quopri)(part)
    out = io.BytesIO()
    email.generator.BytesGenerator(out, policy=email.policy.compat32.clone(linesep="\r\n")).flatten(message)
    return out.getvalue()


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable"])
def test_the_part_walker_finds_a_re_encoded_secure_htm_in_a_forwarded_mail(home, encoding):
    raw = message(2000)
    (sealed,) = gateway.encrypt(home, raw, "clerk@bank.example", ["alice@example.org"],
                                print_login_data=lambda new: None)
    carrier = reencoded(sealed.data, encoding)
    forwarded = (b"From: alice@example.org\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
                 b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n--outer\r\nContent-Type: text/plain\r\n\r\n"
                 b"see attached\r\n--outer\r\nContent-Type: message/rfc822\r\n\r\n" + carrier + b"\r\n--outer--\r\n")
    for mail in (carrier, forwarded):
        assert b"<textarea" in mime.secure_htm_of(mail)
        assert mime.extract_envelope(mail) == sealed.envelope
        opened = gateway.open_envelope(home, mime.extract_envelope(mail), accounts.get("alice@example.org"))
        assert opened.message == raw


def test_damaged_envelope_text_is_refused_wherever_the_damage_is(home):
    (sealed,) = gateway.encrypt(home, message(3 * MB), "clerk@bank.example", ["alice@example.org"],
                                print_login_data=lambda new: None)
    text = base64.encodebytes(sealed.envelope)
    assert mime.decode_envelope_text(text) == sealed.envelope
    middle = len(text) // 2  # past the first piece the decoder takes
    # padding that ends exactly where the decoder's first piece (1 MiB of text) ends, then more data
    padded_then_more = base64.b64encode(b"x" * (3 * 262144 - 2)) + b"QUJD"
    for damaged in (text[:middle] + b"*" + text[middle + 1:], padded_then_more, text[:-3] + b"\n"):
        with pytest.raises(Exception) as caught:
            mime.decode_envelope_text(damaged)
        assert "damaged" in str(caught.value)
