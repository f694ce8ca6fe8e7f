"""webcrypt in a real Postfix (private instance on loopback, ports 12540-12569).

Three patterns of appliance/postfix/README.md, each in its own instance:
content_filter on the submission service + pipe(8), a transport map + pipe(8),
and the advanced SMTP filter with ``webcrypt relay``. Mail is submitted with
smtplib and read back from the Maildir Postfix delivers to.
"""

import email.utils
import re
import smtplib
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from conftest import CORPUS, write_settings
from gateway_support import open_carrier
from postfix_fixture import PIPE_USER, Ports, Postfix, postfix_available, python_for_pipe_user, strip_trace

pytestmark = pytest.mark.skipif(bool(postfix_available()), reason=postfix_available() or "postfix available")

SENDER = "clerk@corp.example"


def message(subject: str, to: str = "someone@example.org", extra: str = "", body: str = "Hello.\n") -> bytes:
    """A complete message (Date and Message-ID present, so Postfix adds only trace lines)."""
    head = (
        f"From: Clerk <{SENDER}>\nTo: {to}\n{extra}Subject: {subject}\n"
        f"Date: {email.utils.formatdate()}\nMessage-ID: <{uuid.uuid4().hex}@corp.example>\n"
    )
    return (head + "\n" + body).encode()


def submit(pf: Postfix, data: bytes, recipients: list[str], port: int | None = None, sender: str = SENDER) -> None:
    crlf = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", port or pf.ports.submit, timeout=60) as client:
        refused = client.sendmail(sender, recipients, crlf)
    assert refused == {}


def unique(local: str, domain: str = "example.org") -> str:
    return f"{local}-{uuid.uuid4().hex[:8]}@{domain}"


def carriers(pf: Postfix, address: str) -> list[bytes]:
    return [m for m in pf.delivered(address) if b"X-WebCrypt-Message-Id:" in m.split(b"\n\n", 1)[0]]


def login_mails(pf: Postfix, about: str) -> list[bytes]:
    return [m for m in pf.delivered(SENDER) if b"Auto-Submitted: auto-generated" in m and about.encode() in m]


def opened(pf: Postfix, carrier: bytes, address: str) -> bytes:
    """Decrypt as the portal would, then give the database back to the pipe user."""
    try:
        return open_carrier(pf.conf, carrier, address)
    finally:
        pf.chown_home()


def body_of(delivered: bytes) -> bytes:
    """A delivered message without Postfix's trace lines (Return-Path, X-Original-To, Delivered-To, Received)."""
    return strip_trace(delivered)


def start_instance(pattern: str, ports: Ports) -> Postfix:
    pf = Postfix(pattern, ports)
    try:
        write_settings(pf.conf, {"policy": {"always_encrypt_domains": '["bank.example"]'}})
        pf.chown_home()
        return pf.start()
    except BaseException:
        pf.cleanup()
        raise


@pytest.fixture(scope="module")
def pf():
    instance = start_instance("content_filter", Ports(submit=12540, reinject=12541))
    yield instance
    instance.cleanup()


# --- content_filter on the submission service, pipe(8) ------------------------------------

def test_keyword_mail_to_internal_external_and_cc(pf):
    alice, bob, boss = unique("alice"), unique("bob", "example.net"), "boss@corp.example"
    data = message("[secure] Your contract", to=alice, extra=f"Cc: {bob}, {boss}\n", body="Dear Alice,\nsecret.\n")
    submit(pf, data, [alice, bob, boss])
    for address in (alice, bob):
        (carrier,) = pf.wait_for(address)
        assert b"secure.htm" in carrier and b"Dear Alice" not in carrier and b"secret." not in carrier
        head = carrier.split(b"\n\n", 1)[0]
        assert b"Subject: Your contract" in head and b"[secure]" not in head
        assert body_of(opened(pf, carrier, address)) == data
    (internal,) = pf.wait_for(boss)
    assert body_of(internal) == data
    pf.wait_for(SENDER, 1)
    pf.wait_queue_empty()
    assert len(login_mails(pf, alice)) == 1 and len(login_mails(pf, bob)) == 1


def test_mail_without_keyword_arrives_unchanged(pf):
    alice, carol = unique("alice"), unique("carol", "example.net")
    data = message("Lunch", to=alice, body="Noon?\n")
    submit(pf, data, [alice, carol])
    for address in (alice, carol):
        (copy,) = pf.wait_for(address)
        assert body_of(copy) == data


def test_reply_to_an_encrypted_thread_is_encrypted_again(pf):
    alice = unique("alice")
    first = message("[secure] Offer", to=alice)
    submit(pf, first, [alice])
    pf.wait_for(alice)
    first_id = re.search(rb"Message-ID: (<[^>]+>)", first).group(1).decode()
    reply = message("Re: Offer", to=alice, extra=f"In-Reply-To: {first_id}\nReferences: {first_id}\n", body="More.\n")
    submit(pf, reply, [alice])
    copies = pf.wait_for(alice, 2)
    assert all(b"X-WebCrypt-Message-Id:" in c for c in copies)
    assert body_of(opened(pf, copies[1], alice)) == reply


def test_header_marker_and_always_encrypt_domain(pf):
    alice, banker = unique("alice"), unique("b", "bank.example")
    marked = message("Offer", to=alice, extra="X-WebCrypt: encrypt\n")
    plain = message("Statement", to=banker)
    submit(pf, marked, [alice])
    submit(pf, plain, [banker])
    assert body_of(opened(pf, pf.wait_for(alice)[0], alice)) == marked
    assert body_of(opened(pf, pf.wait_for(banker)[0], banker)) == plain


def corpus_sample() -> list:
    pattern = re.compile(r"8bit|broken|bad|mailformed|malformed|missing|false|endless|long|encod|russian|iso", re.I)
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and "licenses" not in p.parts and p.name != "SOURCES.txt")
    chosen = [p for p in files if pattern.search(p.name) or re.search(rb"[\x80-\xff]", p.read_bytes())]
    return chosen[:30]


def test_8bit_and_broken_mime_from_the_corpus(pf):
    """Each file to an always-encrypt and a plain recipient: the carrier opens to what the plain copy got."""
    sample = corpus_sample()
    assert len(sample) >= 15
    pairs = []
    for path in sample:
        secret, plain = unique("r", "bank.example"), unique("p", "example.net")
        submit(pf, path.read_bytes(), [secret, plain])
        pairs.append((path, secret, plain))
    for path, secret, plain in pairs:
        (carrier,) = pf.wait_for(secret)
        (copy,) = pf.wait_for(plain)
        assert b"secure.htm" in carrier, path
        assert body_of(opened(pf, carrier, secret)) == body_of(copy), path
    pf.wait_queue_empty()


def test_parallel_messages_to_one_new_address_make_one_account(pf):
    alice = unique("alice")
    threads = [threading.Thread(target=submit, args=(pf, message(f"[secure] part {i}", to=alice), [alice]))
               for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pf.wait_for(alice, 6)
    pf.wait_queue_empty()
    assert len(carriers(pf, alice)) == 6
    assert len(login_mails(pf, alice)) == 1


# --- faults: the mail stays queued, then arrives exactly once ---------------------------

def set_reinject(pf: Postfix, target: str) -> None:
    write_settings(pf.conf, {"mail": {"reinject": f'"{target}"'}})


def assert_once_after_flush(pf: Postfix, address: str, data: bytes) -> None:
    pf.flush()
    pf.wait_for(address)
    pf.wait_queue_empty()
    (carrier,) = carriers(pf, address)
    assert body_of(opened(pf, carrier, address)) == data
    assert len(login_mails(pf, address)) == 1


def test_reinjection_down_defers_then_delivers_once(pf):
    alice = unique("alice")
    data = message("[secure] while down", to=alice)
    set_reinject(pf, "smtp://127.0.0.1:12549")  # nothing listens there
    try:
        submit(pf, data, [alice])
        (deferred,) = pf.wait_deferred()
        assert "temporary" in str(deferred) or "deferred" in str(deferred) or deferred["queue_name"] == "deferred"
        assert pf.delivered(alice) == [] and login_mails(pf, alice) == []
    finally:
        set_reinject(pf, f"smtp://127.0.0.1:{pf.ports.reinject}")
    assert_once_after_flush(pf, alice, data)


def test_reinjection_refused_defers_then_delivers_once(pf):
    from gateway_support import Sink

    alice = unique("alice")
    data = message("[secure] while refused", to=alice)
    with Sink(12548) as sink:
        sink.handler.reply = "451 4.3.2 not now"
        set_reinject(pf, "smtp://127.0.0.1:12548")
        try:
            submit(pf, data, [alice])
            pf.wait_deferred()
        finally:
            set_reinject(pf, f"smtp://127.0.0.1:{pf.ports.reinject}")
        assert sink.messages == []
    assert_once_after_flush(pf, alice, data)


def test_key_file_unreadable_defers_then_delivers_once(pf):
    alice = unique("alice")
    data = message("[secure] key locked away", to=alice)
    key = pf.home / "master.key"
    key.chmod(0o000)
    try:
        submit(pf, data, [alice])
        (deferred,) = pf.wait_deferred()
        assert "master key" in pf.log_tail(200)
    finally:
        key.chmod(0o600)
    assert_once_after_flush(pf, alice, data)


def hold_database_lock(pf: Postfix) -> subprocess.Popen:
    locker = subprocess.Popen(
        [*python_for_pipe_user(), "-c",
         "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1], isolation_level=None);"
         "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.read()",
         str(pf.home / "webcrypt.db")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, user=PIPE_USER, cwd="/",
    )
    assert locker.stdout.readline() == b"locked\n"
    return locker


def release(locker: subprocess.Popen) -> None:
    locker.stdin.close()
    locker.wait(timeout=30)


def test_database_locked_defers_then_delivers_once(pf):
    """The pipe waits out the SQLite busy timeout (15 s), then defers."""
    alice = unique("alice")
    data = message("[secure] database busy", to=alice)
    locker = hold_database_lock(pf)
    try:
        submit(pf, data, [alice])
        pf.wait_deferred(timeout=90)
        assert "database" in pf.log_tail(200)
    finally:
        release(locker)
    assert_once_after_flush(pf, alice, data)


def pipe_processes(pf: Postfix) -> list[int]:
    """Our own pipe processes: their command line names this instance's configuration."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        # the python process, not Postfix's pipe(8) daemon (whose arguments quote ours)
        python = b"python" in Path(args[0].decode(errors="replace")).name.encode()
        if proc.name.isdigit() and python and str(pf.conf).encode() in args and b"pipe" in args:
            found.append(int(proc.name))
    return found


def test_pipe_killed_mid_message_defers_then_delivers_once(pf):
    alice = unique("alice")
    data = message("[secure] killed", to=alice)
    locker = hold_database_lock(pf)  # keeps the pipe busy inside the message
    try:
        submit(pf, data, [alice])
        deadline = time.monotonic() + 30
        while not (pids := pipe_processes(pf)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pids, "no webcrypt pipe process seen"
        for pid in pids:
            subprocess.run(["kill", "-KILL", str(pid)], check=True)
        pf.wait_deferred()
    finally:
        release(locker)
    assert "signal" in pf.log_tail(200)
    assert_once_after_flush(pf, alice, data)


# --- transport map + pipe(8) ---------------------------------------------------------------

@pytest.fixture(scope="module")
def pf_transport():
    instance = start_instance("transport", Ports(submit=12550, reinject=12551))
    yield instance
    instance.cleanup()


def test_transport_map_pattern(pf_transport):
    pf = pf_transport
    alice, boss = unique("alice"), "boss@corp.example"
    secret = message("[secure] via transport map", to=alice)
    plain = message("plain via transport map", to=alice)
    submit(pf, secret, [alice, boss])
    submit(pf, plain, [alice])
    copies = pf.wait_for(alice, 2)
    pf.wait_queue_empty()
    time.sleep(0.5)  # a loop would show as more copies
    assert len(pf.delivered(alice)) == 2
    (carrier,) = carriers(pf, alice)
    assert body_of(opened(pf, carrier, alice)) == secret
    assert [body_of(c) for c in copies if c != carrier] == [plain]
    # corp.example is not in the transport map: webcrypt never saw it
    assert body_of(pf.wait_for(boss)[0]) == secret
    assert "to=<boss@corp.example>, relay=virtual" in pf.log_tail(400)


# --- advanced content filter: webcrypt relay --------------------------------------------

@pytest.fixture(scope="module")
def pf_relay():
    instance = start_instance("relay", Ports(submit=12560, reinject=12561, relay=12562))
    instance.relay_process = start_relay(instance)
    yield instance
    instance.relay_process.terminate()
    instance.relay_process.wait(timeout=30)
    instance.cleanup()


def start_relay(pf: Postfix) -> subprocess.Popen:
    process = subprocess.Popen(
        [*python_for_pipe_user(), "-m", "webcrypt", "-c", str(pf.conf), "relay", "--listen", f"127.0.0.1:{pf.ports.relay}"],
        user=PIPE_USER, cwd="/", stderr=subprocess.DEVNULL,
    )
    Postfix.wait_listening(pf.ports.relay)
    return process


def test_relay_pattern_encrypts_and_passes(pf_relay):
    pf = pf_relay
    alice, boss = unique("alice"), "boss@corp.example"
    secret = message("[secure] via relay", to=alice)
    submit(pf, secret, [alice, boss])
    (carrier,) = pf.wait_for(alice)
    # the relay received CRLF lines over SMTP and encrypted them as they came
    assert body_of(opened(pf, carrier, alice)).replace(b"\r\n", b"\n") == secret
    assert body_of(pf.wait_for(boss)[0]) == secret
    pf.wait_queue_empty()


def test_relay_down_defers_then_delivers_once(pf_relay):
    pf = pf_relay
    pf.relay_process.terminate()
    pf.relay_process.wait(timeout=30)
    alice = unique("alice")
    data = message("[secure] relay down", to=alice)
    submit(pf, data, [alice])
    pf.wait_deferred()
    pf.relay_process = start_relay(pf)
    pf.flush()
    pf.wait_for(alice)
    pf.wait_queue_empty()
    (carrier,) = carriers(pf, alice)
    assert body_of(opened(pf, carrier, alice)).replace(b"\r\n", b"\n") == data
