"""Issue 9, items 5, 6 and 9: `webcrypt pipe` with real mail, against a real SMTP sink.

5: no line of an original's body may reach a carrier's header, however the original ends its
   header (a blank-only line, bare CR line ends, no separator at all);
6: a carrier whose Subject holds the envelope's markup still opens (CLI open, message find);
9: a References field of 50,000 ids: the thread lookup takes a bounded number of ids.
"""

import email
import email.policy
import io
import os
import quopri
import re
import subprocess
import sys

import pytest

from webcrypt.base import config
from webcrypt.core import mime, policy
from webcrypt.edges import pipe
from webcrypt.usecases import processing
from webcrypt.context.home import Home

from conftest import CORPUS, write_settings
from gateway_support import ROOT, open_carrier, pipe_fixtures, run_pipe, without_crlf

PORT = 12531
SENDER = "clerk@corp.example"
RCPT = "alice@example.org"
MARKUP = b'<textarea name="envelope" readonly>'

FORWARDED = (
    b"From: Boss <boss@corp.example>\n"
    b"To: Partner <partner@secret-deal.example>\n"
    b"Cc: Lawyer <lawyer@secret-deal.example>\n"
    b"Date: Mon, 1 Jan 2024 09:00:00 +0000\n"
    b"Subject: Takeover price 41.50\n"
    b"\n"
    b"The offer stands at 41.50 per share.\n"
)


conf, sink = pipe_fixtures(PORT)


def head_of(carrier: bytes) -> bytes:
    return without_crlf(carrier).split(b"\n\n", 1)[0]


SHOWN = (b"from", b"to", b"cc", b"date", b"reply-to", b"in-reply-to", b"references", b"subject")


def shown_fields(carrier: bytes) -> bytes:
    """The carrier's header lines that can hold the original's text (its own fields, such as
    MIME-Version or Message-ID, are webcrypt's)."""
    kept, keep = [], False
    for line in head_of(carrier).split(b"\n"):
        if line[:1] not in (b" ", b"\t"):
            keep = line.split(b":", 1)[0].strip().lower() in SHOWN
        if keep:
            kept.append(line)
    return b"\n".join(kept)


def parsed_head(carrier: bytes):
    return email.message_from_bytes(without_crlf(carrier), policy=email.policy.compat32)


_HEADER_LINE = re.compile(rb"^[!-9;-~]+[ \t]*:")


def split_for_every_reader(raw: bytes) -> tuple[list[bytes], list[bytes]]:
    """(header lines, body lines) as the most doubtful reader sees them, written independently of
    webcrypt: the header ends at the first empty or blank-only line, at the first line that is
    neither a field nor a continuation, and at the first line holding a bare CR."""
    lines = [line[:-1] if line.endswith(b"\r") else line for line in raw.split(b"\n")]
    if lines and lines[0].startswith(b"From "):
        lines = lines[1:]
    end = 0
    for end, line in enumerate(lines):
        blank_only = not line.strip(b" \t")
        continuation = line[:1] in (b" ", b"\t") and end > 0
        if blank_only or b"\r" in line or not (_HEADER_LINE.match(line) or continuation):
            break
    else:
        end = len(lines)
    body = [piece for line in lines[end:] for piece in re.split(rb"\r", line)]
    return lines[:end], body


def assert_no_body_line_in_head(raw: bytes, carrier: bytes) -> None:
    header, body = split_for_every_reader(raw)
    head, known = shown_fields(carrier), b"\n".join(header)
    # text that the header itself holds too (a list address, a subject quoted) proves nothing
    leaked = [line for line in body if len(line.strip()) >= 8 and line.strip() not in known and line.strip() in head]
    assert not leaked, leaked[:3]


def one_carrier(conf, sink, raw: bytes) -> bytes:
    result = run_pipe(conf, SENDER, [RCPT], raw)
    assert result.returncode == 0, result.stderr
    (carrier,) = sink.carriers(RCPT)
    assert open_carrier(conf, carrier.data, RCPT) == raw  # the original stays exact
    return carrier.data


# --- 5: plaintext in the carrier's header ---------------------------------------------------

HEAD = b"From: Clerk <clerk@corp.example>\nTo: alice@example.org\nSubject: [secure] Fwd: offer\n"


@pytest.mark.parametrize("separator", [b" \n", b"\t\n", b"  \t \n", b" \r\n"], ids=["space", "tab", "blanks", "space-crlf"])
def test_blank_only_separator_keeps_the_forwarded_header_out_of_the_carrier(conf, sink, separator):
    raw = HEAD + separator + FORWARDED
    carrier = one_carrier(conf, sink, raw)
    head = parsed_head(carrier)
    assert head.get_all("From") == ["Clerk <clerk@corp.example>"] and head.get_all("To") == ["alice@example.org"]
    assert head.get_all("Cc") is None and head.get_all("Subject") == ["Fwd: offer"]
    assert b"boss@corp.example" not in carrier and b"secret-deal" not in carrier and b"41.50" not in carrier
    assert_no_body_line_in_head(raw, carrier)


def test_bare_cr_line_ends_are_encrypted_and_nothing_of_them_is_copied(conf, sink):
    raw = (HEAD + b"\n" + FORWARDED).replace(b"\n", b"\r")
    carrier = one_carrier(conf, sink, raw)
    head = parsed_head(carrier)
    # Postfix reads one line; a mail client ends lines at the CRs: neither may see its body here
    assert head.get_all("From") == [f"<{SENDER}>"] and head.get_all("To") == [f"<{RCPT}>"]
    assert head.get_all("Subject") is None and head.get_all("Cc") is None
    assert b"secret-deal" not in carrier and b"41.50" not in carrier
    assert_no_body_line_in_head(raw, carrier)


def test_bare_cr_inside_a_crlf_header_ends_what_is_copied(conf, sink):
    raw = (
        b"From: Clerk <clerk@corp.example>\r\nTo: alice@example.org\r\n"
        b"Subject: [secure] offer\r\rCc: lawyer@secret-deal.example\r\n\r\nbody\r\n"
    )
    carrier = one_carrier(conf, sink, raw)
    head = parsed_head(carrier)
    assert head.get_all("From") == ["Clerk <clerk@corp.example>"] and head.get_all("To") == ["alice@example.org"]
    assert head.get_all("Subject") is None and b"secret-deal" not in carrier


def test_a_line_that_is_no_field_ends_the_header(conf, sink):
    raw = HEAD + b"-------- Forwarded Message --------\n" + FORWARDED
    carrier = one_carrier(conf, sink, raw)
    head = parsed_head(carrier)
    assert head.get_all("From") == ["Clerk <clerk@corp.example>"] and head.get_all("Date") != ["Mon, 1 Jan 2024 09:00:00 +0000"]
    assert b"secret-deal" not in carrier and b"Forwarded" not in carrier


def test_each_copied_field_once(conf, sink):
    raw = (
        b"From: Clerk <clerk@corp.example>\nFrom: Other <other@corp.example>\nTo: alice@example.org\n"
        b"To: bob@example.org\nSubject: [secure] twice\nSubject: second\nDate: Mon, 1 Jan 2024 09:00:00 +0000\n"
        b"Date: Tue, 2 Jan 2024 09:00:00 +0000\nX-Private: internal note\n\nbody\n"
    )
    head = parsed_head(one_carrier(conf, sink, raw))
    for name in ("From", "To", "Subject", "Date"):
        assert len(head.get_all(name)) == 1, name
    assert head["From"] == "Clerk <clerk@corp.example>" and head["Subject"] == "twice"
    assert head["X-Private"] is None


def test_keyword_after_a_blank_only_line_still_encrypts(conf, sink):
    """Postfix reads a blank-only line as a continuation, so the Subject after it is a header field
    for the next hop: the message is encrypted, but that Subject is not shown on the carrier."""
    raw = b"From: clerk@corp.example\nTo: alice@example.org\n \nSubject: [secure] the offer\n\nbody\n"
    head = parsed_head(one_carrier(conf, sink, raw))
    assert head.get_all("Subject") is None and head.get_all("To") == ["alice@example.org"]


def corpus_files():
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and "licenses" not in p.parts and p.name != "SOURCES.txt")


def test_no_corpus_body_line_reaches_a_carrier(conf, sink):
    write_settings(conf, {"policy": {"always_encrypt_domains": '["secure.example"]'}})
    files = corpus_files()
    assert len(files) > 100
    for path in files:
        err = io.StringIO()
        status = pipe.main(["-c", str(conf), "pipe", "-f", SENDER, "--", "r@secure.example"], io.BytesIO(path.read_bytes()), err)
        assert status == 0, (path, err.getvalue())
    carriers = sink.carriers("r@secure.example")
    assert len(carriers) == len(files)
    for path, carrier in zip(files, carriers):
        raw = path.read_bytes()
        assert_no_body_line_in_head(raw, carrier.data)
        head = parsed_head(carrier.data)
        for name in ("From", "To", "Cc", "Date", "Subject", "Reply-To", "References", "In-Reply-To"):
            assert len(head.get_all(name) or []) <= 1, (path, name)


def test_the_doubtful_reader_of_this_file_finds_body_lines():
    """The check above can fail: it finds the forwarded header in a mail of item 5."""
    _header, body = split_for_every_reader(HEAD + b" \n" + FORWARDED)
    assert b"To: Partner <partner@secret-deal.example>" in body


# --- 6: the envelope's markup in a header -----------------------------------------------------

def cli(conf, *args, data: bytes = b"") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "webcrypt", "-c", str(conf), *args], input=data, capture_output=True, env=env, timeout=120
    )


def password_from(sink) -> str:
    (login,) = sink.login_mails()
    body = quopri.decodestring(without_crlf(login.data).split(b"\n\n", 1)[1]).decode()
    return re.search(r"Password:\s+(\S+)", body).group(1)


@pytest.mark.parametrize("where", ["subject", "from-name"])
def test_carrier_with_the_envelope_markup_in_a_header_opens(conf, sink, tmp_path, where):
    markup = MARKUP + b"AAAA</textarea>"
    if where == "subject":
        raw = b"From: clerk@corp.example\nTo: alice@example.org\nSubject: [secure] " + markup + b"\n\nDear Alice\n"
    else:
        raw = b"From: \"" + markup + b"\" <clerk@corp.example>\nTo: alice@example.org\nSubject: [secure] x\n\nDear Alice\n"
    carrier = one_carrier(conf, sink, raw)
    assert MARKUP in head_of(carrier)  # the attack's precondition holds
    saved = tmp_path / "carrier.eml"
    saved.write_bytes(without_crlf(carrier))
    opened = cli(conf, "open", str(saved), "--as", RCPT, "--password-stdin", data=password_from(sink).encode() + b"\n")
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == raw
    found = cli(conf, "message", "find", str(saved), "--json")
    assert found.returncode == 0 and RCPT in found.stdout.decode(), found.stderr
    page = tmp_path / "secure.htm"
    page.write_bytes(mime.secure_htm_of(without_crlf(carrier)))
    assert cli(conf, "message", "find", str(page)).returncode == 0


def test_secure_htm_with_the_markup_in_its_branding_opens(conf, sink):
    write_settings(conf, {"branding": {"name": '"Bank <textarea name=\\"envelope\\" readonly> AAAA </textarea>"'}})
    raw = b"From: clerk@corp.example\nTo: alice@example.org\nSubject: [secure] x\n\nDear Alice\n"
    carrier = one_carrier(conf, sink, raw)
    page = mime.secure_htm_of(without_crlf(carrier))
    assert b"&lt;textarea" in page and mime.extract_envelope(page) == mime.extract_envelope(without_crlf(carrier))


def test_markup_in_a_comment_or_title_of_a_page_is_not_the_envelope(conf, sink):
    raw = b"From: clerk@corp.example\nTo: alice@example.org\nSubject: [secure] x\n\nDear Alice\n"
    page = mime.secure_htm_of(without_crlf(one_carrier(conf, sink, raw)))
    decoy = b"<!-- " + MARKUP + b"AAAA</textarea> --><title>" + MARKUP + b"AAAA</title>"
    doctored = page.replace(b"<head>", b"<head>" + decoy, 1)
    assert doctored != page and mime.extract_envelope(doctored) == mime.extract_envelope(page)


# --- 9: a long References field ---------------------------------------------------------------

def references(count: int, remembered: str, position: int) -> bytes:
    ids = [f"<id{i:06d}.thread@mail{i % 97}.example>" for i in range(count)]
    ids[position] = remembered
    return b"References: " + "\n ".join(ids).encode() + b"\n"


def test_thread_lookup_takes_a_bounded_number_of_ids():
    ids = policy.thread_ids(mime.fields(references(50_000, "<x@y>", 0) + b"In-Reply-To: <p@q>\n\nbody\n"))
    assert len(ids) == 1 + 1 + policy.REFERENCES_KEPT
    assert ids[:2] == ["<p@q>", "<x@y>"] and ids[-1] == "<id049999.thread@mail44.example>"


@pytest.mark.parametrize("from_end, encrypted", [(1, True), (policy.REFERENCES_KEPT, True), (policy.REFERENCES_KEPT + 1, False)])
def test_reply_with_50000_references_is_found_in_its_thread_by_the_last_ids(conf, sink, from_end, encrypted):
    first = b"From: clerk@corp.example\nTo: alice@example.org\nSubject: [secure] start\nMessage-ID: <start@corp.example>\n\nx\n"
    assert run_pipe(conf, SENDER, [RCPT], first).returncode == 0
    reply = b"From: clerk@corp.example\nTo: alice@example.org\nSubject: Re: start\n" + references(
        50_000, "<start@corp.example>", 50_000 - from_end
    ) + b"\nmore\n"
    result = run_pipe(conf, SENDER, [RCPT], reply)
    assert result.returncode == 0, result.stderr
    assert (b"reason=thread" in result.stderr) is encrypted
    assert len(sink.carriers(RCPT)) == (2 if encrypted else 1)


def test_thread_root_counts_however_long_the_references(home_dir):
    home = Home(config.load(home_dir / "webcrypt.toml"))
    home.connect()
    try:
        from webcrypt.usecases import gateway

        gateway.remember_thread(home, "<root@corp.example>", None)
        raw = references(50_000, "<root@corp.example>", 0) + b"Subject: Re: a\n\nbody\n"
        assert processing.in_encrypted_thread(home, mime.fields_any_reader_sees(raw))
    finally:
        home.close()
