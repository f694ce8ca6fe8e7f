"""`webcrypt pipe` as a process, against a real SMTP sink and a real SQLite home."""

import io
import os
import subprocess
import sys

import pytest

from webcrypt.base import config
from webcrypt.edges import pipe
from webcrypt.infra import store
from webcrypt.context.home import Home

from conftest import CORPUS, write_settings
from gateway_support import open_carrier, pipe_command, pipe_fixtures, run_pipe, without_crlf

PORT = 12501
SENDER = "clerk@corp.example"
KEYWORD_MAIL = (
    b"From: Clerk <clerk@corp.example>\nTo: alice@example.org, boss@corp.example\n"
    b"Subject: [secure] Your contract\nMessage-ID: <m1@corp.example>\n\nDear Alice,\nthe contract.\n"
)
PLAIN_MAIL = b"From: clerk@corp.example\nTo: alice@example.org\nSubject: lunch\n\nSee you.\n"


conf, sink = pipe_fixtures(PORT)


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_keyword_mail_is_encrypted_for_external_and_original_for_internal(conf, sink):
    result = run_pipe(conf, SENDER, ["alice@example.org", "boss@corp.example"], KEYWORD_MAIL)
    assert result.returncode == 0, result.stderr
    (carrier,) = sink.carriers("alice@example.org")
    assert b"Subject: Your contract" in carrier.data and b"[secure]" not in carrier.data.split(b"\r\n\r\n")[0]
    assert b"Dear Alice" not in carrier.data
    assert open_carrier(conf, carrier.data, "alice@example.org") == KEYWORD_MAIL
    (internal,) = sink.to("boss@corp.example")
    assert internal.data == crlf(KEYWORD_MAIL) and internal.recipients == ["boss@corp.example"]
    (login,) = sink.login_mails()
    assert login.recipients == [SENDER]  # credentials_to = "print" falls back to the sender
    line = result.stderr.decode()
    assert line.count("\n") == 1 and result.stdout == b""
    assert "queue=TEST from=<clerk@corp.example> rcpts=2 action=mixed" in line and "size=" in line and "ms=" in line
    assert "Dear" not in line and "password" not in line.lower()


def test_mail_without_keyword_passes_byte_for_byte(conf, sink):
    result = run_pipe(conf, SENDER, ["alice@example.org", "bob@example.net"], PLAIN_MAIL)
    assert result.returncode == 0, result.stderr
    (copy,) = sink.messages
    assert copy.data == crlf(PLAIN_MAIL) and copy.recipients == ["alice@example.org", "bob@example.net"]
    assert b"action=pass" in result.stderr


def test_second_message_to_known_address_sends_no_login_data(conf, sink):
    assert run_pipe(conf, SENDER, ["alice@example.org"], KEYWORD_MAIL).returncode == 0
    assert run_pipe(conf, SENDER, ["alice@example.org"], KEYWORD_MAIL).returncode == 0
    assert len(sink.carriers("alice@example.org")) == 2 and len(sink.login_mails()) == 1


def test_reply_in_an_encrypted_thread_is_encrypted_again(conf, sink):
    assert run_pipe(conf, SENDER, ["alice@example.org"], KEYWORD_MAIL).returncode == 0
    reply = b"From: clerk@corp.example\nSubject: Re: Your contract\nIn-Reply-To: <m1@corp.example>\n\nmore\n"
    result = run_pipe(conf, SENDER, ["alice@example.org"], reply)
    assert result.returncode == 0 and b"reason=thread" in result.stderr
    assert open_carrier(conf, sink.carriers("alice@example.org")[-1].data, "alice@example.org") == reply
    other = b"Subject: Re: lunch\nIn-Reply-To: <unknown@corp.example>\n\nno\n"
    assert b"action=pass" in run_pipe(conf, SENDER, ["alice@example.org"], other).stderr


def test_header_marker_and_always_domain(conf, sink):
    write_settings(conf, {"policy": {"always_encrypt_domains": '["bank.example"]'}})
    marked = b"Subject: offer\nX-WebCrypt: encrypt\n\nsecret\n"
    assert run_pipe(conf, SENDER, ["a@example.org"], marked).returncode == 0
    assert run_pipe(conf, SENDER, ["b@bank.example"], PLAIN_MAIL).returncode == 0
    assert open_carrier(conf, sink.carriers("a@example.org")[0].data, "a@example.org") == marked
    assert open_carrier(conf, sink.carriers("b@bank.example")[0].data, "b@bank.example") == PLAIN_MAIL


def test_reinjection_down_or_refusing_defers(conf, sink):
    sink.handler.reply = "451 4.3.0 try again later"
    result = run_pipe(conf, SENDER, ["alice@example.org"], KEYWORD_MAIL)
    assert result.returncode == 75 and b"action=deferred" in result.stderr and b"451" in result.stderr
    sink.stop()
    try:
        result = run_pipe(conf, SENDER, ["alice@example.org"], PLAIN_MAIL)
        assert result.returncode == 75 and b"unavailable" in result.stderr
    finally:
        sink.start()
    sink.handler.reply = None
    # after the fault: one account, one login-data mail, one carrier
    assert run_pipe(conf, SENDER, ["alice@example.org"], KEYWORD_MAIL).returncode == 0
    assert len(sink.carriers("alice@example.org")) == 1 and len(sink.login_mails()) == 1


def test_too_large_is_refused_with_one_dsn_line(conf, sink):
    write_settings(conf, {"policy": {"max_message_size": "100"}})
    result = run_pipe(conf, SENDER, ["alice@example.org"], KEYWORD_MAIL + b"x" * 200)
    assert result.returncode == 69
    out = result.stderr.decode()
    assert out.startswith("5.3.4 ") and out.count("\n") == 1 and "Dear" not in out
    assert sink.messages == []


def test_key_file_unreadable_defers(conf, sink):
    (conf.parent / "master.key").chmod(0o644)
    result = run_pipe(conf, SENDER, ["alice@example.org"], KEYWORD_MAIL)
    assert result.returncode == 75 and b"master key" in result.stderr and sink.messages == []


def test_database_locked_defers(conf, sink, monkeypatch):
    monkeypatch.setitem(store.SQLITE_PRAGMAS, "busy_timeout", 200)  # in-process: no 15 s wait
    locker = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1], isolation_level=None);"
         "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)", str(conf.parent / "webcrypt.db")],
        stdout=subprocess.PIPE,
    )
    try:
        assert locker.stdout.readline() == b"locked\n"
        err = io.StringIO()
        status = pipe.main(pipe_command(conf, SENDER, ["alice@example.org"])[3:], io.BytesIO(KEYWORD_MAIL), err)
        assert status == 75 and "action=deferred" in err.getvalue() and "locked" in err.getvalue()
    finally:
        locker.kill()
        locker.wait()
    assert sink.messages == []


@pytest.mark.parametrize(
    "argv",
    [["pipe"], ["pipe", "-f", "a@b.example"], ["pipe", "-x", "--", "a@b.example"], ["-z", "pipe", "--", "a@b.example"]],
)
def test_bad_command_lines_defer_never_bounce(argv):
    err = io.StringIO()
    assert pipe.main(argv, io.BytesIO(b""), err) == 75
    assert "usage:" in err.getvalue() and err.getvalue().count("\n") == 1


def test_a_bug_defers_and_names_the_place_not_the_content(conf):
    class Exploding(io.BytesIO):
        def read(self, *a):
            raise ValueError("secret content from the mail")

    err = io.StringIO()
    assert pipe.main(["-c", str(conf), "pipe", "--", "a@example.org"], Exploding(), err) == 75
    assert "unexpected ValueError at test_pipe.py:" in err.getvalue() and "secret" not in err.getvalue()


def test_missing_configuration_defers(tmp_path):
    err = io.StringIO()
    assert pipe.main(["-c", str(tmp_path / "none.toml"), "pipe", "--", "a@example.org"], io.BytesIO(b"x"), err) == 75
    assert "no configuration" in err.getvalue()


def test_a_carrier_that_comes_back_is_passed_and_a_forged_marker_is_ignored(conf, sink):
    assert run_pipe(conf, SENDER, ["alice@example.org"], KEYWORD_MAIL).returncode == 0
    (carrier,) = sink.carriers("alice@example.org")
    back = without_crlf(carrier.data)
    result = run_pipe(conf, SENDER, ["alice@example.org"], back)
    assert result.returncode == 0 and b"reason=loop" in result.stderr
    assert sink.messages[-1].data == carrier.data
    # the same marker for another recipient, or a made-up one, does not verify
    result = run_pipe(conf, SENDER, ["mallory@example.org"], back)
    assert b"reason=loop" not in result.stderr
    forged = b"X-WebCrypt-Loop: " + b"0" * 32 + b" " + b"f" * 64 + b"\n" + KEYWORD_MAIL
    result = run_pipe(conf, SENDER, ["alice@example.org"], forged)
    assert b"action=encrypt" in result.stderr
    assert open_carrier(conf, sink.carriers("alice@example.org")[-1].data, "alice@example.org") == forged


def test_parallel_pipes_create_one_account_and_one_login_mail(conf, sink):
    addresses = ["new1@example.org", "new2@example.org"]
    env = {**os.environ}
    procs = [
        subprocess.Popen(pipe_command(conf, SENDER, addresses, f"P{i}"), stdin=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
        for i in range(6)
    ]
    for p in procs:  # all six started before any reads its message
        p.stdin.write(KEYWORD_MAIL)
        p.stdin.close()
    statuses = [p.wait(timeout=120) for p in procs]
    assert statuses == [0] * 6, [p.stderr.read() for p in procs]
    logins = sink.login_mails()
    assert len(logins) == 2
    assert sorted(a for m in logins for a in addresses if a.encode() in m.data) == addresses
    for address in addresses:
        assert len(sink.carriers(address)) == 6
    home = Home(config.load(conf))
    home.connect()
    try:
        assert store.Recipient.select().where(store.Recipient.address.in_(addresses)).count() == 2
    finally:
        home.close()


def corpus_files():
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and "licenses" not in p.parts and p.name != "SOURCES.txt")


def test_every_corpus_file_is_encrypted_byte_exact_or_passed_unchanged(conf, sink):
    write_settings(conf, {"policy": {"always_encrypt_domains": '["secure.example"]'}})
    files = corpus_files()
    assert len(files) > 100
    for path in files:
        raw = path.read_bytes()
        for rcpt in ("r@secure.example", "p@plain.example"):
            err = io.StringIO()
            status = pipe.main(["-c", str(conf), "pipe", "-f", SENDER, "--", rcpt], io.BytesIO(raw), err)
            assert status == 0, (path, err.getvalue())
    for path, (carrier, plain) in zip(files, zip(sink.to("r@secure.example"), sink.to("p@plain.example"))):
        raw = path.read_bytes()
        assert open_carrier(conf, carrier.data, "r@secure.example") == raw, path
        assert plain.data.rstrip(b"\r\n") == crlf(raw).rstrip(b"\r\n"), path


def test_every_message_line_also_goes_to_the_mail_log(conf, sink, monkeypatch):
    """Postfix drops a filter's output on success, so the line is sent to syslog too.
    (No syslog daemon runs here: its send function is the one thing replaced.)"""
    import syslog

    lines = []
    monkeypatch.setattr(syslog, "syslog", lambda priority, line: lines.append((priority, line)))
    err = io.StringIO()
    status = pipe.main(pipe_command(conf, SENDER, ["alice@example.org"])[3:], io.BytesIO(KEYWORD_MAIL), err)
    assert status == 0
    assert lines == [(syslog.LOG_INFO, err.getvalue().rstrip("\n"))]
    assert "action=encrypt" in lines[0][1] and "Dear" not in lines[0][1]
