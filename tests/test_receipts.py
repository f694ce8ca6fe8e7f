"""Issue 13, what a message records and tells: openings, replies, read receipts (asked for by a
header or a subject keyword, taken out of what the recipient reads, mailed once), the subject
kept sealed under the message's data key, the login-data mail's link to the sender page, and
what administrators see (console, `message list`, /metrics, audit trail, the privacy note)."""

import email
import email.policy
import json
import re

import pytest
from typer.testing import CliRunner

import test_portal
from conftest import write_settings
from portal_client import Client
from test_portal import ready, sink  # noqa: F401 - sink: a fixture
from webcrypt.base import config
from webcrypt.context.home import Home
from webcrypt.core import mime, policy
from webcrypt.edges import cli
from webcrypt.edges.portal.app import create_app
from webcrypt.infra import store
from webcrypt.usecases import account_admin, accounts, admins, events, gateway, inbox, messages, notices

SENDER = "clerk@bank.example"
SUBJECT = "Quarterly statement Zebra-7781"
PASSWORD = "correct horse battery staple"  # the console's administrator


def letter(subject: str = SUBJECT, extra: bytes = b"") -> bytes:
    return (b"From: Clerk <clerk@bank.example>\nTo: alice@example.org\nSubject: " + subject.encode() + b"\n"
            + extra + b"Date: Mon, 01 Jan 2027 10:00:00 +0000\nMessage-ID: <r-1@bank.example>\n"
            b"Content-Type: text/plain; charset=utf-8\n\nDear Alice, your statement is ready.\n")


def make_home(home_dir, clock, **senders) -> Home:
    settings = {
        "mail": {"reinject": f'"smtp://127.0.0.1:{test_portal.SINK_PORT}"', "from": '"webcrypt@bank.example"',
                 "internal_domains": '["bank.example"]'},
    }
    if senders:
        settings["senders"] = {key: json.dumps(value) for key, value in senders.items()}
    write_settings(home_dir / "webcrypt.toml", settings)
    home = Home(config.load(home_dir / "webcrypt.toml"), clock=clock)
    home.connect()
    return home


@pytest.fixture
def made(home_dir, clock, sink):
    """make_home(**senders), closed at the end; the sink emptied first."""
    sink.messages.clear()
    homes = []

    def make(**senders):  # one home open at a time: they share the database connection
        if homes:
            homes[-1].close()
        homes.append(make_home(home_dir, clock, **senders))
        return homes[-1]
    yield make
    homes[-1].close()


def read_once(home, raw: bytes):
    """Encrypt *raw* for alice, open it in the portal, log in, change the password, read it.
    Returns (client, upload, message id, envelope, read page)."""
    client = Client(create_app(home))
    upload = ready(client, home, raw)
    page = client.get(f"/message/{upload}")
    assert page.status == 200
    notices.wait_sent()
    envelope = inbox.upload(home, upload).envelope
    return client, upload, messages.listing(limit=1)[0].id, envelope, page


def mails_to(sink, address: str) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(m.content, policy=email.policy.default)
            for m in sink.messages if m.rcpt_tos == [address]]


def receipts_in(sink) -> list[email.message.EmailMessage]:
    return [m for m in mails_to(sink, SENDER) if "read receipt" in str(m["subject"])]


def open_again(home, envelope) -> None:
    gateway.open_envelope(home, envelope, accounts.get("alice@example.org"))
    notices.wait_sent()


# --- read receipts ----------------------------------------------------------------------------


def test_a_receipt_asked_for_by_header_goes_to_the_sender_once_and_the_header_is_not_read(made, sink, clock):
    home = made()
    raw = letter(extra=b"X-WebCrypt-Receipt: yes\n")
    client, upload, message_id, envelope, page = read_once(home, raw)

    original = client.get(f"/message/{upload}/eml").body
    assert b"x-webcrypt-receipt" not in original.lower()
    assert original == raw.replace(b"X-WebCrypt-Receipt: yes\n", b"")  # every other byte as it was
    [receipt] = receipts_in(sink)
    body = receipt.get_content()
    assert "alice@example.org opened your secure message" in body
    assert "2027-01-15 08:00 UTC" in body  # the opening time: [senders] show_opening_times
    assert f"Message: {message_id}" in body and "https://portal.example.com/sender" in body
    assert "Subject:" not in body  # not kept without [senders] keep_subject
    row = messages.get(message_id)
    assert row.receipt and row.receipt_sent == clock.now and row.first_opened == row.last_opened == clock.now

    clock.advance(3600)
    open_again(home, envelope)
    assert len(receipts_in(sink)) == 1  # the first opening only
    row = messages.get(message_id)
    assert row.first_opened == clock.now - 3600 and row.last_opened == clock.now


def test_a_receipt_asked_for_by_the_keyword_without_opening_times(made, sink):
    home = made(show_opening_times=False, receipt_keyword="[confirm]")
    raw = letter(subject="Your statement [CONFIRM]")
    sealed = gateway.encrypt(home, raw, SENDER, ["bob@example.org"], print_login_data=lambda new: None)
    carrier_subject = mime.first(mime.fields(sealed[0].data), "subject").value
    assert carrier_subject == b"Your statement"

    client, upload, message_id, _, page = read_once(home, raw)
    assert "Your statement" in page.text and "[confirm]" not in page.text.lower()
    assert b"[confirm]" not in client.get(f"/message/{upload}/eml").body.lower()
    [receipt] = receipts_in(sink)
    body = receipt.get_content().replace("\r\n", "\n")
    assert "alice@example.org has opened your secure message of 2027-01-15 08:00 UTC." in body
    blocks = body.split("\n--\n")  # one per language: English, then [mail] second_language
    assert len(blocks) == 2 and all(b.count("UTC") == 1 for b in blocks)  # when it was sent, not when opened
    assert messages.get(message_id).receipt


def test_no_receipt_unless_asked_for(made, sink):
    home = made()
    _, _, message_id, envelope, _ = read_once(home, letter())
    open_again(home, envelope)
    assert receipts_in(sink) == [] and not messages.get(message_id).receipt
    assert messages.get(message_id).first_opened is not None


def test_no_receipt_when_the_sender_side_is_off_but_the_request_is_still_taken_out(made, sink):
    home = made(enabled=False)
    client, upload, message_id, _, _ = read_once(home, letter(subject=f"{SUBJECT} [receipt]",
                                                              extra=b"X-WebCrypt-Receipt: yes\n"))
    original = client.get(f"/message/{upload}/eml").body
    assert b"[receipt]" not in original and b"x-webcrypt-receipt" not in original.lower()
    assert receipts_in(sink) == []
    assert messages.get(message_id).receipt_sent is None


def test_a_receipt_for_a_sender_outside_the_sender_domains_is_not_sent(made, sink):
    home = made(domains=["other.example"])
    read_once(home, letter(extra=b"X-WebCrypt-Receipt: yes\n"))
    assert receipts_in(sink) == []


def test_the_receipt_is_claimed_once_even_by_two_nodes(made):
    home = made()
    sealed = gateway.encrypt(home, letter(extra=b"X-WebCrypt-Receipt: yes\n"), SENDER, ["carol@example.org"],
                             print_login_data=lambda new: None)
    row = messages.get(sealed[0].message_id)
    assert [messages.claim_receipt(home, row), messages.claim_receipt(home, row)] == [True, False]
    assert [messages.note_opened(home, row), messages.note_opened(home, row)] == [True, False]


def test_the_receipt_is_in_the_senders_language(made, home_dir, sink):
    write_settings(home_dir / "webcrypt.toml", {"mail": {"language": '"de"'}})
    read_once(made(), letter(extra=b"X-WebCrypt-Receipt: yes\n"))
    [receipt] = [m for m in mails_to(sink, SENDER) if "Lesebest" in str(m["subject"])]
    assert "hat Ihre sichere Nachricht vom" in receipt.get_content()


def test_the_receipt_request_is_cut_from_the_header_only():
    raw = (b"Subject: Hello [receipt] world\r\n  folded\r\nX-WebCrypt-Receipt: YES\r\nTo: a@example.org\r\n\r\n"
           b"X-WebCrypt-Receipt: yes\r\nbody [receipt]\r\n")
    fields = mime.fields(raw)
    assert policy.receipt_requested(fields, "[receipt]")
    assert policy.without_receipt_request(raw, "[receipt]") == (
        b"Subject: Hello world\r\n  folded\r\nTo: a@example.org\r\n\r\nX-WebCrypt-Receipt: yes\r\nbody [receipt]\r\n")
    plain = b"Subject: Hello\nX-WebCrypt-Receipt: no\n\nbody"
    assert not policy.receipt_requested(mime.fields(plain), "[receipt]")


# --- the subject, sealed -----------------------------------------------------------------------


def database_bytes(home_dir) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home_dir.glob("webcrypt.db*")))


def test_the_subject_is_kept_only_when_configured_and_sealed(made, home_dir, sink):
    home = made()
    _, _, plain_id, _, _ = read_once(home, letter())
    assert messages.get(plain_id).subject_sealed is None and messages.subject_of(home, messages.get(plain_id)) is None

    home = made(keep_subject=True)
    raw = letter(subject=f"=?utf-8?q?{SUBJECT.replace(' ', '_')}?= [receipt]", extra=b"")
    sealed = gateway.encrypt(home, raw, SENDER, ["dave@example.org"], print_login_data=lambda new: None)
    row = messages.get(sealed[0].message_id)
    assert row.subject_sealed is not None and messages.subject_of(home, row) == SUBJECT
    store.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = database_bytes(home_dir)
    assert b"dave@example.org" in stored  # the scan sees what is stored in plain text (metadata) ...
    assert SUBJECT.encode() not in stored and b"Zebra" not in stored  # ... and the subject is not

    # bound to its row: a sealed subject moved to another message does not open
    store.Message.update(subject_sealed=row.subject_sealed).where(store.Message.id == plain_id).execute()
    assert messages.subject_of(home, messages.get(plain_id)) is None


def test_the_receipt_names_a_kept_subject(made, sink):
    home = made(keep_subject=True)
    read_once(home, letter(extra=b"X-WebCrypt-Receipt: yes\n"))
    [receipt] = receipts_in(sink)
    assert f"Subject: {SUBJECT}" in receipt.get_content()


def test_a_recall_destroys_the_subject_with_the_key(made, clock):
    home = made(keep_subject=True)
    sealed = gateway.encrypt(home, letter(), SENDER, ["erin@example.org"], print_login_data=lambda new: None)
    message_id = sealed[0].message_id
    messages.recall(home, message_id, actor=SENDER)
    row = messages.get(message_id)
    assert row.subject_sealed is None and row.data_key_wrapped is None
    assert messages.subject_of(home, row) is None


def test_an_account_deletion_and_an_expiry_destroy_the_subjects(made, clock):
    home = made(keep_subject=True)
    first = gateway.encrypt(home, letter(), SENDER, ["frank@example.org"], print_login_data=lambda new: None)
    second = gateway.encrypt(home, letter(), SENDER, ["gina@example.org"], print_login_data=lambda new: None)
    account_admin.delete(home, "frank@example.org", "ops")
    assert messages.get(first[0].message_id).subject_sealed is None

    row = messages.get(second[0].message_id)
    clock.advance(row.expires - clock.now + 1)
    assert messages.subject_of(home, row) is None  # expired: not told, even before housekeeping
    from webcrypt.usecases import housekeeping
    housekeeping.maintain(home)
    row = messages.get(second[0].message_id)
    assert row.subject_sealed is None and row.data_key_wrapped is None


# --- replies, and the login-data mail ----------------------------------------------------------


def test_a_secure_reply_is_recorded(made, sink):
    home = made()
    client, upload, message_id, _, _ = read_once(home, letter())
    form = client.get(f"/message/{upload}/reply")
    r = client.post_multipart(f"/message/{upload}/reply", [("csrf", form.field("csrf")), ("subject", "Re: x"),
                                                            ("text", "Thanks")], [])
    assert r.status == 303
    row = messages.get(message_id)
    assert row.replied is not None and messages.status(row, home.now()) == "replied"


def test_the_login_data_mail_names_the_sender_page(made, home_dir, sink):
    write_settings(home_dir / "webcrypt.toml", {"accounts": {"credentials_to": '"sender"'}})
    home = made()
    gateway.encrypt(home, letter(), SENDER, ["hank@example.org"])
    [login_data] = mails_to(sink, SENDER)
    assert "https://portal.example.com/sender" in login_data.get_content()

    sink.messages.clear()
    home = made(enabled=False)
    gateway.encrypt(home, letter(), SENDER, ["ivy@example.org"])
    [login_data] = mails_to(sink, SENDER)
    assert "/sender" not in login_data.get_content()


# --- administration ----------------------------------------------------------------------------


def console(home) -> Client:
    admins.add(home, "ops", PASSWORD)
    client = Client(create_app(home))
    token = client.get("/admin/login").field("csrf")
    assert client.post("/admin/login", {"csrf": token, "name": "ops", "password": PASSWORD}).status == 303
    return client


def test_the_console_shows_status_and_kept_subject(made, clock):
    home = made(keep_subject=True)
    _, _, opened_id, _, _ = read_once(home, letter())
    unopened = gateway.encrypt(home, letter(subject="Contract"), SENDER, ["jo@example.org"],
                               print_login_data=lambda new: None)[0].message_id
    disabled = gateway.encrypt(home, letter(subject="Invoice"), SENDER, ["kim@example.org"],
                               print_login_data=lambda new: None)[0].message_id
    accounts.set_disabled("kim@example.org", True)
    client = console(home)
    page = client.get("/admin/messages").text
    rows = {m: page[page.index(f'id="m-{m}"'):].split("</tr>")[0] for m in (opened_id, unopened, disabled)}
    assert "not opened" in rows[unopened] and "Contract" in rows[unopened]
    assert "opened first 2027-01-15 08:00, last 2027-01-15 08:00" in rows[opened_id] and SUBJECT in rows[opened_id]
    assert "recipient disabled" in rows[disabled] and "Invoice" in rows[disabled]

    german = client.get("/admin/messages?lang=de").text
    assert "nicht geöffnet" in german or "nicht ge&ouml;ffnet" in german


def test_message_list_has_the_status_columns(made, config_env, clock):
    home = made(keep_subject=True)
    _, _, message_id, _, _ = read_once(home, letter(extra=b"X-WebCrypt-Receipt: yes\n"))
    result = CliRunner().invoke(cli.app, ["message", "list", "--json"], catch_exceptions=False)
    [row] = json.loads(result.stdout)
    assert row["status"] == "opened" and row["first_opened"] == row["last_opened"] == clock.now
    assert row["receipt"] is True and row["receipt_sent"] == clock.now and row["subject"] == SUBJECT
    table = CliRunner().invoke(cli.app, ["message", "list"], catch_exceptions=False, terminal_width=400)
    for column in ("status", "first opened", "last opened", "replied", "receipt", "subject"):
        assert column in table.stdout
    assert "2027-01-15 08:00" in table.stdout and "Zebra" in table.stdout


def test_metrics_count_opened_and_recalled_messages(made, clock):
    home = made()
    _, _, message_id, envelope, _ = read_once(home, letter())
    open_again(home, envelope)  # a second opening of the same message is not another message opened
    messages.recall(home, message_id, actor="ops")
    messages.recall(home, message_id, actor="ops")  # nor is a second recall
    text = Client(create_app(home)).get("/metrics").text
    assert 'webcrypt_events_total{event="messages_opened"} 1' in text
    assert 'webcrypt_events_total{event="messages_recalled"} 1' in text


def test_the_audit_page_shows_and_filters_sender_actions(made):
    home = made()
    sealed = gateway.encrypt(home, letter(), SENDER, ["lea@example.org"], print_login_data=lambda new: None)
    messages.recall(home, sealed[0].message_id, actor=SENDER, client="192.0.2.5")
    events.audit(home, "someone@bank.example", "recall", "other", "")
    client = console(home)
    page = client.get("/admin/audit?user=clerk%40bank.example").text
    assert SENDER in page and sealed[0].message_id in page and "someone@bank.example" not in page


# --- the privacy note --------------------------------------------------------------------------


def test_the_privacy_note_tells_what_the_sender_sees_in_both_languages(made):
    client = Client(create_app(made()))
    assert 'href="/privacy"' in client.get("/").text and 'href="/privacy"' in client.get("/login").text
    english = client.get("/privacy")
    assert english.status == 200 and "What the sender of a message can see" in english.text
    assert "when you opened it first and last" in english.text and "read receipt" in english.text
    german = client.get("/privacy?lang=de")
    assert "Was der Absender einer Nachricht sehen kann" in german.text and "Lesebestätigung" in german.text


def test_the_privacy_note_follows_the_settings(made):
    text = Client(create_app(made(show_opening_times=False, keep_subject=True))).get("/privacy").text
    assert "when you opened it first and last" not in text and "without the time" in text
    assert "the subject of the message" in text
    text = Client(create_app(made(enabled=False))).get("/privacy").text
    assert "see nothing of what you do here" in text and "read receipt" not in text


def test_status_words_are_the_ones_messages_knows():
    from pathlib import Path

    from webcrypt.edges.portal import admin as admin_module

    template = (Path(admin_module.TEMPLATES) / "admin_messages.tpl").read_text()
    words = re.search(r"% words = \{(.*)\}", template).group(1)
    assert set(re.findall(r"'(\w+)': _", words)) == set(messages.STATUSES)


def test_both_keywords_leave_the_subject_through_the_pipe(made, sink):
    """The encryption keyword and the receipt keyword in one subject: the carrier shows neither."""
    from webcrypt.usecases import processing

    home = made()
    keyword = home.config["policy.keyword"]
    outcome = processing.process(home, letter(subject=f"{keyword} Statement [receipt]"), SENDER,
                                 ["max@example.org"], print_login_data=lambda new: None)
    assert outcome.action == "encrypt"
    [carrier] = [m for m in sink.messages if m.rcpt_tos == ["max@example.org"]]
    assert mime.first(mime.fields(carrier.content), "subject").value == b"Statement"
    assert messages.listing(limit=1)[0].receipt
