"""Issue 9, items 7 and 8: non-ASCII, invalid and null envelope addresses.

Through `webcrypt pipe` as a process (and `webcrypt relay` on loopback) with real
mail and a real aiosmtpd sink as next hop, with and without SMTPUTF8 (RFC 6531).
The end-to-end test through a private real Postfix lives in test_postfix.py.
"""

import email
import email.policy
import email.utils
import io
import os
import smtplib
import socket
import sys

import pytest

from conftest import write_settings
from gateway_support import Sink, open_carrier, pipe_fixtures, run_pipe, without_crlf
from webcrypt.base import config
from webcrypt.edges import relay
from webcrypt.infra import store
from webcrypt.context.home import Home

PORT = 12581
RELAY_PORT = 12582
SENDER = "clerk@corp.example"
UTF8_SENDER = "jörg@corp.example"
MARKED = (
    "From: Jörg <jörg@corp.example>\nTo: alice@example.org\nSubject: [secure] Vertrag\n"
    "Message-ID: <utf8-1@corp.example>\n\nDer Vertrag.\n"
).encode()
PLAIN = b"From: clerk@corp.example\nTo: someone\nSubject: lunch\n\nSee you.\n"
NOT_UTF8 = os.fsdecode(b"j\xf6rg@corp.example")  # Latin-1, as argv hands it over: surrogates


conf, sink = pipe_fixtures(PORT)


@pytest.fixture
def ascii_sink():
    """A next hop that does not announce SMTPUTF8."""
    with Sink(PORT, smtputf8=False) as s:
        yield s


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def rows(conf, model) -> int:
    home = Home(config.load(conf))
    home.connect()
    try:
        return model.select().count()
    finally:
        home.close()


def encrypted_count(conf) -> int:
    home = Home(config.load(conf))
    home.connect()
    try:
        return sum(s.count for s in store.Stat.select().where(store.Stat.name == "encrypted"))
    finally:
        home.close()


# --- item 7: non-ASCII envelope addresses -------------------------------------------------


@pytest.mark.parametrize("sender, recipient", [
    (UTF8_SENDER, "alice@example.org"),
    (SENDER, "jörg@example.org"),
    (SENDER, "alice@bücher.example"),
])
def test_unmarked_mail_with_a_non_ascii_address_goes_out_with_smtputf8(conf, sink, sender, recipient):
    result = run_pipe(conf, sender, [recipient], PLAIN)
    assert result.returncode == 0, result.stderr
    (copy,) = sink.messages
    assert (copy.sender, copy.recipients, copy.data) == (sender, [recipient], crlf(PLAIN))
    assert copy.smtputf8
    assert b"action=pass" in result.stderr


def test_ascii_mail_asks_for_no_smtputf8(conf, ascii_sink):
    assert run_pipe(conf, SENDER, ["alice@example.org"], PLAIN).returncode == 0
    (copy,) = ascii_sink.messages
    assert not copy.smtputf8


def test_marked_mail_from_a_non_ascii_sender_is_encrypted_and_the_login_data_reach_the_sender(conf, sink):
    result = run_pipe(conf, UTF8_SENDER, ["alice@example.org"], MARKED)
    assert result.returncode == 0, result.stderr
    (carrier,) = sink.carriers("alice@example.org")
    assert carrier.sender == UTF8_SENDER and carrier.smtputf8
    assert open_carrier(conf, carrier.data, "alice@example.org") == MARKED
    (login,) = sink.login_mails()
    assert login.recipients == [UTF8_SENDER] and login.smtputf8
    parsed = email.message_from_string(login.data.decode("utf-8"), policy=email.policy.default)
    assert parsed["To"].addresses[0].addr_spec == UTF8_SENDER  # UTF-8 header (RFC 6532), not an encoded word
    assert b"=?" not in login.data.split(b"\r\n\r\n")[0].split(b"To:")[1].split(b"\r\n")[0]


@pytest.mark.parametrize("sender, recipient, mail", [
    (UTF8_SENDER, "alice@example.org", PLAIN),
    (SENDER, "jörg@example.org", PLAIN),
    (UTF8_SENDER, "alice@example.org", MARKED),
])
def test_a_next_hop_without_smtputf8_makes_it_a_refusal_not_a_deferral(conf, ascii_sink, sender, recipient, mail):
    for _ in range(2):  # the same answer on a retry, and nothing left behind
        result = run_pipe(conf, sender, [recipient], mail)
        assert result.returncode == 69, result.stderr
        line = result.stderr.decode()
        assert line.startswith("5.6.7 ") and "SMTPUTF8" in line and line.count("\n") == 1
    assert ascii_sink.messages == []
    assert rows(conf, store.Message) == 0 and rows(conf, store.ThreadRef) == 0
    assert encrypted_count(conf) == 0


def test_a_marked_non_ascii_recipient_is_refused_at_once(conf, sink):
    result = run_pipe(conf, SENDER, ["jörg@example.org"], MARKED)
    assert result.returncode == 69 and result.stderr.startswith(b"5.1.3 ")
    assert sink.messages == [] and rows(conf, store.Message) == 0


def test_deferred_retries_leave_no_message_records_behind(conf, sink):
    recipients = ["alice@example.org", "bob@example.org"]
    assert run_pipe(conf, SENDER, recipients, MARKED).returncode == 0  # accounts exist: no login data first
    assert rows(conf, store.Message) == 2 and encrypted_count(conf) == 2
    sink.handler.reply = "451 4.3.0 try again later"
    for _ in range(3):
        assert run_pipe(conf, SENDER, recipients, MARKED).returncode == 75
    assert rows(conf, store.Message) == 2 and encrypted_count(conf) == 2
    threads = rows(conf, store.ThreadRef)
    sink.handler.reply = None
    assert run_pipe(conf, SENDER, recipients, MARKED).returncode == 0
    assert rows(conf, store.Message) == 4 and encrypted_count(conf) == 4
    assert rows(conf, store.ThreadRef) == threads + 2  # one carrier Message-ID each, the original's once
    carrier = sink.carriers("bob@example.org")[-1]
    assert open_carrier(conf, carrier.data, "bob@example.org") == MARKED


def test_a_carrier_refused_after_another_was_accepted_keeps_only_the_accepted_record(conf, sink):
    recipients = ["alice@example.org", "bob@example.org"]
    assert run_pipe(conf, SENDER, recipients, MARKED).returncode == 0

    async def busy_for_bob(server, session, envelope, address, options):  # a next hop refuses per recipient
        if address.startswith("bob@"):
            return "450 4.2.0 mailbox busy"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    sink.handler.handle_RCPT = busy_for_bob
    assert run_pipe(conf, SENDER, recipients, MARKED).returncode == 75
    assert len(sink.carriers("alice@example.org")) == 2 and len(sink.carriers("bob@example.org")) == 1
    assert rows(conf, store.Message) == 3  # both of the first run, and alice's, who got hers


# --- invalid UTF-8 and control characters in envelope arguments ------------------------------


@pytest.mark.parametrize("sender, recipient", [
    (NOT_UTF8, "alice@example.org"),
    (SENDER, os.fsdecode(b"b\xe4r@example.org")),
    (SENDER, "alice@example.org\r\nRCPT TO:<x@evil.example>"),
])
@pytest.mark.parametrize("mail", [PLAIN, MARKED], ids=["plain", "marked"])
def test_an_envelope_argument_no_next_hop_can_take_is_refused_at_once(conf, sink, sender, recipient, mail):
    for _ in range(2):
        result = run_pipe(conf, sender, [recipient], mail)
        assert result.returncode == 69, result.stderr
        assert result.stderr.startswith(b"5.1.3 ") and result.stderr.count(b"\n") == 1
    assert sink.messages == [] and rows(conf, store.Message) == 0 and rows(conf, store.Recipient) == 0


def test_forwarding_mode_refuses_invalid_utf8_before_it_connects(conf, sink):
    # [pipe] relay names a port where nothing listens: a refusal must come before any connection
    write_settings(conf, {"pipe": {"relay": f'"127.0.0.1:{RELAY_PORT}"'}})
    result = run_pipe(conf, NOT_UTF8, ["alice@example.org"], PLAIN)
    assert result.returncode == 69 and b"not valid UTF-8" in result.stderr


@pytest.fixture
def recording_sendmail(tmp_path):
    """A sendmail program for [mail] reinject that records its arguments (as bytes) and input."""
    log = tmp_path / "sendmail.log"
    program = tmp_path / "sendmail"
    program.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        f"with open({str(log)!r}, 'ab') as f:\n"
        "    f.write(repr([os.fsencode(a) for a in sys.argv[1:]]).encode() + b'\\n')\n"
        "    f.write(repr(len(sys.stdin.buffer.read())).encode() + b'\\n')\n"
    )
    program.chmod(0o755)
    return program, log


def test_sendmail_reinjection_passes_non_ascii_arguments_as_they_are(conf, recording_sendmail):
    program, log = recording_sendmail
    write_settings(conf, {"mail": {"reinject": f'"sendmail:{program}"'}})
    result = run_pipe(conf, UTF8_SENDER, ["jörg@example.org"], PLAIN)
    assert result.returncode == 0, result.stderr
    calls = [eval(line) for line in log.read_bytes().splitlines()[::2]]  # noqa: S307 - our own repr
    assert calls == [[b"-G", b"-i", b"-f", UTF8_SENDER.encode(), b"--", "jörg@example.org".encode()]]
    assert run_pipe(conf, NOT_UTF8, ["alice@example.org"], PLAIN).returncode == 69
    assert len(log.read_bytes().splitlines()) == 2  # the invalid one never reached sendmail


# --- item 8: null sender ------------------------------------------------------------------------


def test_marked_mail_with_a_null_sender_is_encrypted_and_the_login_data_go_to_the_fallback(conf, sink):
    result = run_pipe(conf, "", ["alice@example.org"], MARKED)
    assert result.returncode == 0, result.stderr
    (carrier,) = sink.carriers("alice@example.org")
    assert carrier.sender == "<>" and open_carrier(conf, carrier.data, "alice@example.org") == MARKED
    assert b"Der Vertrag" not in carrier.data
    (login,) = sink.login_mails()
    # the template's default: the postmaster of the portal's domain
    assert login.recipients == ["postmaster@portal.example.com"]
    assert b"alice@example.org" in without_crlf(login.data)


def test_the_fallback_mailbox_is_configurable_and_used_once(conf, sink):
    write_settings(conf, {"accounts": {"credentials_fallback": '"helpdesk@corp.example"'}})
    assert run_pipe(conf, "", ["alice@example.org"], MARKED).returncode == 0
    assert run_pipe(conf, "", ["alice@example.org"], MARKED).returncode == 0
    (login,) = sink.login_mails()
    assert login.recipients == ["helpdesk@corp.example"] and len(sink.carriers("alice@example.org")) == 2


def test_without_a_fallback_setting_the_postmaster_of_mail_from_gets_them(conf, sink):
    text = conf.read_text()
    conf.write_text("\n".join(l for l in text.splitlines() if not l.startswith("credentials_fallback")) + "\n")
    write_settings(conf, {"mail": {"from": '"webcrypt@bank.example"'}})
    assert run_pipe(conf, "", ["alice@example.org"], MARKED).returncode == 0
    (login,) = sink.login_mails()
    assert login.recipients == ["postmaster@bank.example"]


def test_a_bad_fallback_setting_is_a_config_error(conf):
    write_settings(conf, {"accounts": {"credentials_fallback": '"not an address"'}})
    with pytest.raises(Exception, match="credentials_fallback"):
        config.load(conf)


def test_credentials_to_recipient_with_a_null_sender_needs_no_fallback(conf, sink):
    write_settings(conf, {"accounts": {"credentials_to": '"recipient"'}})
    assert run_pipe(conf, "", ["alice@example.org"], MARKED).returncode == 0
    (login,) = sink.login_mails()
    assert login.recipients == ["alice@example.org"]


# --- the same through webcrypt relay ----------------------------------------------------------


def start_relay(conf):
    home = Home(config.load(conf))
    home.connect()
    return relay.Running(home, relay.settings(home, f"127.0.0.1:{RELAY_PORT}"), io.StringIO()).start()


@pytest.fixture
def relay_server(conf, sink):
    running = start_relay(conf)
    yield running
    running.stop()


def relay_send(sender, recipients, data, **kwargs):
    with smtplib.SMTP("127.0.0.1", RELAY_PORT, timeout=60) as client:
        return client.sendmail(sender, recipients, crlf(data), **kwargs)


def test_relay_passes_smtputf8_on_for_a_non_ascii_sender(relay_server, sink, conf):
    assert relay_send(UTF8_SENDER, ["alice@example.org"], MARKED, mail_options=["SMTPUTF8"]) == {}
    (carrier,) = sink.carriers("alice@example.org")
    assert carrier.sender == UTF8_SENDER and carrier.smtputf8
    assert open_carrier(conf, carrier.data, "alice@example.org") == crlf(MARKED)
    assert sink.login_mails()[0].recipients == [UTF8_SENDER]


def test_relay_passes_on_smtputf8_the_client_asked_for(relay_server, sink):
    utf8_header = "From: Jörg <clerk@corp.example>\nSubject: grüße\n\nhi\n".encode()
    assert relay_send(SENDER, ["boss@corp.example"], utf8_header, mail_options=["SMTPUTF8"]) == {}
    (copy,) = sink.messages
    assert copy.smtputf8 and copy.data == crlf(utf8_header)


def test_relay_null_sender_is_encrypted_and_login_data_go_to_the_fallback(relay_server, sink, conf):
    assert relay_send("", ["alice@example.org"], MARKED) == {}
    (carrier,) = sink.carriers("alice@example.org")
    assert carrier.sender == "<>"  # aiosmtpd shows the null sender so
    (login,) = sink.login_mails()
    assert login.recipients == ["postmaster@portal.example.com"]


def test_relay_refuses_with_5_6_7_when_its_next_hop_lacks_smtputf8(conf):
    with Sink(PORT, smtputf8=False) as plain_sink:
        running = start_relay(conf)
        try:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                relay_send(UTF8_SENDER, ["alice@example.org"], MARKED, mail_options=["SMTPUTF8"])
            assert refused.value.smtp_code == 554 and b"5.6.7" in refused.value.smtp_error
        finally:
            running.stop()
        assert plain_sink.messages == [] and rows(conf, store.Message) == 0


def raw_session(commands: list[bytes]) -> list[bytes]:
    """Replies to raw SMTP lines (bytes that smtplib would not send)."""
    with socket.create_connection(("127.0.0.1", RELAY_PORT), timeout=30) as sock:
        reader = sock.makefile("rb")
        replies = [reader.readline()]
        for line in commands:
            sock.sendall(line + b"\r\n")
            reply = reader.readline()
            while reply[3:4] == b"-":
                reply = reader.readline()
            replies.append(reply)
        return replies


def test_relay_refuses_addresses_that_are_not_utf8_at_mail_and_rcpt(relay_server, sink):
    replies = raw_session([b"EHLO test", b"MAIL FROM:<j\xf6rg@corp.example> SMTPUTF8", b"RSET",
                           b"MAIL FROM:<clerk@corp.example>", b"RCPT TO:<b\xe4r@example.org>",
                           b"RCPT TO:<alice@example.org>", b"QUIT"])
    assert replies[2].startswith(b"553 5.1.7") and b"UTF-8" in replies[2]
    assert replies[5].startswith(b"553 5.1.3") and replies[6].startswith(b"250")
    assert sink.messages == []


# --- end to end through a private real Postfix (content_filter + pipe(8)) ---------------------


@pytest.fixture(scope="module")
def utf8_postfix():
    from postfix_fixture import Ports, Postfix, postfix_available

    if postfix_available():
        pytest.skip(postfix_available())
    pf = Postfix("content_filter", Ports(submit=12565, reinject=12566), smtputf8=True)
    try:
        write_settings(pf.conf, {"accounts": {"credentials_fallback": '"helpdesk@corp.example"'}})
        pf.chown_home()
        pf.start()
    except BaseException:
        pf.cleanup()
        raise
    yield pf
    pf.cleanup()


def postfix_submit(pf, sender: str, recipients: list[str], data: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", pf.ports.submit, timeout=60) as client:
        options = ["SMTPUTF8"] if not all(a.isascii() for a in [sender, *recipients]) else []
        assert client.sendmail(sender, recipients, crlf(data), mail_options=options) == {}


def complete(data: bytes) -> bytes:
    """With Date and Message-ID, so that Postfix adds only trace lines."""
    head = f"Date: {email.utils.formatdate()}\nMessage-ID: <{os.urandom(8).hex()}@corp.example>\n".encode()
    return head + b"\n".join(l for l in data.split(b"\n") if not l.startswith(b"Message-ID:"))


def postfix_opened(pf, carrier: bytes, address: str) -> bytes:
    try:
        return open_carrier(pf.conf, carrier, address)
    finally:
        pf.chown_home()


def test_postfix_non_ascii_sender_and_recipient_end_to_end(utf8_postfix):
    from postfix_fixture import strip_trace

    pf = utf8_postfix
    alice, zoe = "alice-utf8@example.org", "zoë@example.net"
    marked = complete(MARKED.replace(b"alice@example.org", alice.encode()))
    postfix_submit(pf, UTF8_SENDER, [alice], marked)
    (carrier,) = pf.wait_for(alice)
    assert b"Der Vertrag" not in carrier
    assert strip_trace(postfix_opened(pf, carrier, alice)) == marked
    (login,) = pf.wait_for(UTF8_SENDER)
    assert b"Auto-Submitted: auto-generated" in login and alice.encode() in login
    plain = complete("From: Jörg <jörg@corp.example>\nTo: zoë@example.net\nSubject: Grüße\n\nHallo.\n".encode())
    postfix_submit(pf, UTF8_SENDER, [zoe], plain)
    (copy,) = pf.wait_for(zoe)
    assert strip_trace(copy).endswith(b"\n\nHallo.\n") and b"Subject: Gr\xc3\xbc\xc3\x9fe" in copy
    pf.wait_queue_empty()


def test_postfix_null_sender_marked_mail_is_delivered_and_login_data_go_to_the_fallback(utf8_postfix):
    pf = utf8_postfix
    bob = "bob-null@example.org"
    marked = MARKED.replace(b"alice@example.org", bob.encode())
    postfix_submit(pf, "", [bob], marked)
    (carrier,) = pf.wait_for(bob)
    assert b"Der Vertrag" not in carrier and b"secure.htm" in carrier
    (login,) = pf.wait_for("helpdesk@corp.example")
    assert bob.encode() in login
    pf.wait_queue_empty()
