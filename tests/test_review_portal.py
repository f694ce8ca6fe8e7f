"""Issue 9, items 2 and 3, through the real portal (WSGI app) and a real SMTP sink.

2: nothing a recipient types (or a mail says) can add a header field to the secure reply.
3: the forgotten-password pages never tell whether an address has an account.
"""

import base64
import email
import email.policy
import html
import re
import threading

import pytest

from conftest import write_settings
from gateway_support import Sink
from portal_client import Client
from test_portal import NEW_PASSWORD, PLAIN, encrypt, free_port, ready
from webcrypt.base import config, errors
from webcrypt.infra import store
from webcrypt.usecases import login, notices, settings
from webcrypt.context.home import Home
from webcrypt.edges.portal.app import create_app

EVIL = "Hi\r\nFrom: boss@bank.example\r\nReply-To: evil@evil.example\r\nContent-Type: text/html\r\n\r\n<b>pay</b>"


@pytest.fixture(scope="module")
def sink():
    with Sink(free_port(12861, 12890)) as running:
        yield running


@pytest.fixture
def portal_home(home_dir, clock, sink):
    sink.messages.clear()
    write_settings(home_dir / "webcrypt.toml", {
        "mail": {"reinject": f'"smtp://127.0.0.1:{sink.port}"', "from": '"webcrypt@bank.example"',
                 "internal_domains": '["bank.example"]'},
    })
    h = Home(config.load(home_dir / "webcrypt.toml"), clock=clock)
    h.connect()
    yield h
    h.close()


@pytest.fixture
def app(portal_home):
    return create_app(portal_home)


def q_word(text: str) -> str:
    encoded = "".join(c if c.isalnum() else "".join(f"={b:02X}" for b in c.encode()) for c in text)
    return f"=?utf-8?q?{encoded}?="


def b_word(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


def post_reply(client, upload, subject, files=(), cc=()):
    form = client.get(f"/message/{upload}/reply")
    assert form.status == 200
    fields = [("csrf", form.field("csrf")), ("subject", subject), ("text", "my answer")] + [("cc", c) for c in cc]
    return client.post_multipart(f"/message/{upload}/reply", fields, list(files))


def received(sink):
    (item,) = sink.messages
    return item.data, email.message_from_bytes(item.data, policy=email.policy.default)


def assert_one_reply_as_intended(data: bytes, message, subject: str) -> None:
    assert message.get_all("From") == ["alice@example.org"]
    assert message.get_all("To") == ["clerk@bank.example"]
    assert message.get_all("Reply-To") is None and message.get_all("Bcc") is None
    assert message.get_all("Subject") == [subject]
    assert message.get_content_type() in ("text/plain", "multipart/mixed")
    assert "my answer" in message.get_body(("plain",)).get_content()
    assert message.get_body(("html",)) is None
    head = data.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):  # every line a field or a continuation, all of it ASCII
        assert re.match(rb"[A-Za-z-]+: |[ \t]", line) and line.isascii(), line


# Item 2: typed subjects that must arrive exactly as typed, and nothing else with them
KEPT = [
    "Grüße € and more",
    "=?utf-8?q?Caf=C3=A9?=",  # looks like an encoded word: shown as typed, never decoded by readers
    "Re: " + "=?utf-8?b?SGk=?= " * 3 + "plain",
    " ".join(["folded"] * 130),  # longer than a line: folded, and unfolded alike
    "Straße " * 60 + q_word("x"),
    "x" * 990,  # one long word
]


@pytest.mark.parametrize("subject", KEPT, ids=range(len(KEPT)))
def test_reply_subject_arrives_as_typed_and_alone(app, portal_home, sink, subject):
    client = Client(app)
    upload = ready(client, portal_home)
    r = post_reply(client, upload, subject)
    assert r.status == 303, r.text[-500:]
    data, message = received(sink)
    assert_one_reply_as_intended(data, message, subject)


REFUSED = {
    "q-word CR LF": q_word(EVIL),
    "b-word CR LF": b_word(EVIL),
    "q-word lower-case hex": q_word(EVIL).lower().replace("=?utf-8?q?", "=?UTF-8?Q?"),
    "q-word NUL": q_word("Hi\0there"),
    "b-word U+2028": b_word("Hi\u2028From: boss@bank.example"),
    "b-word U+0085": b_word("Hi\x85From: boss@bank.example"),
    "b-word in latin-1 NEL": "=?iso-8859-1?q?Hi=85there?=",
    "encoded word inside an encoded word": b_word(q_word(EVIL)),
    "raw NUL": "Hi\0there",
    "raw CR LF": "Hi\r\nReply-To: evil@evil.example",
    "raw LF": "Hi\nReply-To: evil@evil.example",
    "raw U+2028": "Hi\u2028Reply-To: evil@evil.example",
    "raw U+0085": "Hi\x85Reply-To: evil@evil.example",
    "raw DEL": "Hi\x7fthere",
    "raw TAB": "Hi\tthere",
    "raw bidi override": "Invoice \u202efdp.exe",
    "long folded value with a word at the end": "x " * 400 + q_word("\r\nReply-To: evil@evil.example"),
}


@pytest.mark.parametrize("subject", REFUSED.values(), ids=REFUSED.keys())
def test_reply_subject_with_control_characters_is_refused_and_nothing_sent(app, portal_home, sink, subject):
    client = Client(app)
    upload = ready(client, portal_home)
    r = post_reply(client, upload, subject)
    assert r.status == 400 and "control characters are not allowed" in r.text
    assert ">my answer</textarea>" in r.text  # the form again, with what was typed
    assert sink.messages == []


BAD_FILE_NAMES = {
    "encoded CR LF": q_word("a\r\nReply-To: evil@evil.example") + ".txt",
    "NUL": "a\0.txt",
    "U+2028": "a\u2028b.txt",
    "bidi override": "invoice\u202efdp.exe",
}


@pytest.mark.parametrize("name", BAD_FILE_NAMES.values(), ids=BAD_FILE_NAMES.keys())
def test_attachment_names_with_control_characters_are_refused(app, portal_home, sink, name):
    client = Client(app)
    upload = ready(client, portal_home)
    r = post_reply(client, upload, "Files", files=[("attachment", name, b"data")])
    assert r.status == 400, r.text[-300:]
    assert sink.messages == []


@pytest.mark.parametrize("name, kept", [
    ("a%0D%0AContent-Type: text%2Fhtml.txt", "a_0D_0AContent-Type_ text_2Fhtml.txt"),  # as browsers send CR LF
    ("a.txt\r\nContent-Type: text/html", "a.txt"),  # raw: ends the multipart header line, the rest is dropped
])
def test_attachment_name_with_line_breaks_cannot_add_a_field(app, portal_home, sink, name, kept):
    client = Client(app)
    upload = ready(client, portal_home)
    r = post_reply(client, upload, "Files", files=[("attachment", name, b"data")])
    assert r.status == 303
    data, message = received(sink)
    assert_one_reply_as_intended(data, message, "Files")
    (attached,) = message.iter_attachments()
    assert attached.get_filename() == kept and attached.get_content_type() == "text/plain"


def test_attachment_name_that_looks_like_an_encoded_word_is_only_a_name(app, portal_home, sink):
    client = Client(app)
    upload = ready(client, portal_home)
    r = post_reply(client, upload, "Files", files=[("attachment", "C:\\Users\\me\\" + q_word("Café") + ".pdf", b"%PDF")])
    assert r.status == 303
    data, message = received(sink)
    assert_one_reply_as_intended(data, message, "Files")
    (attached,) = message.iter_attachments()
    assert "\\" not in attached.get_filename() and attached.get_payload(decode=True) == b"%PDF"


def hostile_original(subject: bytes, extra: bytes = b"") -> bytes:
    raw = PLAIN.replace(b"Subject: Your statement", b"Subject: " + subject)
    return raw.replace(b"Message-ID: <orig-1@bank.example>\n", b"Message-ID: <orig-1@bank.example>\n" + extra)


HOSTILE_SUBJECTS = {
    "encoded CR LF": q_word(EVIL).encode(),
    "encoded word inside an encoded word": b_word(q_word(EVIL)).encode(),
    "encoded NUL and U+2028": b_word("Hi\0\u2028Reply-To: evil@evil.example").encode(),
}


@pytest.mark.parametrize("subject", HOSTILE_SUBJECTS.values(), ids=HOSTILE_SUBJECTS.keys())
def test_replying_to_a_hostile_original_subject_is_safe(app, portal_home, sink, subject):
    """The suggested "Re:" subject comes from the decrypted mail: posted unchanged, it is safe."""
    client = Client(app)
    upload = ready(client, portal_home, hostile_original(subject))
    form = client.get(f"/message/{upload}/reply")
    suggested = html.unescape(form.field("subject"))  # as the browser sends it back
    assert suggested.startswith("Re: Hi")
    r = post_reply(client, upload, suggested)
    assert r.status == 303, r.text[-500:]
    data, message = received(sink)
    assert_one_reply_as_intended(data, message, suggested)


BAD_ID = b_word(q_word("<x@y>\r\nReply-To: evil@evil.example")).encode()
REFERENCES = b"References: <a@bank.example> " + BAD_ID + b" <b\x00@bank.example>\n"


def test_hostile_references_of_the_original_are_left_out(app, portal_home, sink):
    client = Client(app)
    upload = ready(client, portal_home, hostile_original(b"Thread", REFERENCES))
    assert post_reply(client, upload, "Re: Thread").status == 303
    data, message = received(sink)
    assert_one_reply_as_intended(data, message, "Re: Thread")
    assert message["In-Reply-To"] == "<orig-1@bank.example>"
    assert message["References"] == "<a@bank.example> <orig-1@bank.example>"


def test_a_hostile_message_id_of_the_original_leaves_the_thread_headers_out(app, portal_home, sink):
    raw = hostile_original(b"Thread", REFERENCES).replace(b"<orig-1@bank.example>", BAD_ID)
    client = Client(app)
    upload = ready(client, portal_home, raw)
    assert post_reply(client, upload, "Re: Thread").status == 303
    data, message = received(sink)
    assert_one_reply_as_intended(data, message, "Re: Thread")
    assert message.get_all("In-Reply-To") is None and message.get_all("References") is None


def test_a_copy_address_holding_an_encoded_word_is_refused(app, portal_home, sink):
    """Addresses are never encoded words; the email package would decode one in an address header."""
    hostile = "=?utf-8?q?a=0D=0AReply-To=3A_evil?=@bank.example"
    raw = PLAIN.replace(b"Boss <boss@bank.example>", hostile.encode())
    client = Client(app)
    upload = ready(client, portal_home, raw)
    r = post_reply(client, upload, "Hi", cc=[hostile])
    assert r.status == 400 and "control characters are not allowed" in r.text
    assert sink.messages == []


@pytest.mark.parametrize("name", ["Bank\r\nBcc: evil@evil.example", "Bank\u2028x", "Bank\x85x"])
def test_branding_names_with_control_characters_are_refused(portal_home, name):
    """The branding name is the display name and part of the subject of every mail webcrypt writes."""
    with pytest.raises(errors.ConfigError):
        settings.save_branding(portal_home, {"name": name}, "admin")
    with pytest.raises(errors.ConfigError):
        config.with_overrides(portal_home.config, {"branding.name": name})


# Item 3: the forgotten-password pages never tell whether an address has an account

def with_question(app, portal_home, question="Name of my first pet?", answer="Rex the dog"):
    client = Client(app)
    ready(client, portal_home)
    page = client.get("/profile")
    r = client.post("/profile/question", {"csrf": page.field("csrf"), "password": NEW_PASSWORD,
                                          "question": question, "answer": answer})
    assert r.status == 200 and "is saved" in r.text
    return client


def ask(app, address: str, remote: str):
    client = Client(app, remote_addr=remote)
    form = client.get("/forgot")
    return client, client.post("/forgot", {"csrf": form.field("csrf"), "address": address})


def attackers_view(response, address: str) -> tuple:
    """All a stranger sees of the answer, with per-request random values and the address taken out."""
    def plain(text: str) -> str:
        text = text.replace(address, "ADDRESS")
        return re.sub(r"nonce-[\w-]+|nonce=\"[^\"]*\"|value=\"[^\"]*\"", "RANDOM", text)
    headers = sorted((name.lower(), plain(value) if name.lower() != "set-cookie" else value.split("=", 1)[0] + "; "
                      + value.split(";", 1)[-1]) for name, value in response.header_list)
    return response.status, plain(response.text), headers


def recovery_mails(sink) -> list:
    notices.wait_sent()
    return [m for m in sink.messages if "forgotten password" in subject_of(m)]


def subject_of(mail) -> str:
    return email.message_from_bytes(mail.data, policy=email.policy.default)["Subject"]


def token_of(mail) -> str:
    text = email.message_from_bytes(mail.data, policy=email.policy.default).get_content()
    return re.search(r"https://portal\.example\.com/forgot/answer\?token=([\w-]+)\s", text).group(1)


def test_asking_for_a_link_looks_alike_for_every_address(app, portal_home, sink):
    with_question(app, portal_home)
    encrypt(portal_home, to="bob@example.org")  # an account without a question
    views = []
    for n, address in enumerate(["alice@example.org", "bob@example.org", "nobody@example.org", "Alice@Example.org"]):
        _client, r = ask(app, address, f"192.0.2.{100 + n}")
        assert r.status == 200
        views.append(attackers_view(r, address))
    assert all(view == views[0] for view in views)
    assert "pet" not in views[0][1].lower()
    mails = recovery_mails(sink)
    assert [(m.sender, m.recipients) for m in mails] == [("webcrypt@bank.example", ["alice@example.org"])] * 2


def test_the_per_address_limit_looks_alike_too(app, portal_home, sink):
    with_question(app, portal_home)
    statuses = {}
    for address in ("alice@example.org", "nobody@example.org"):
        statuses[address] = [ask(app, address, f"192.0.2.{110 + n}")[1].status for n in range(4)]
    assert statuses == {"alice@example.org": [200, 200, 200, 429], "nobody@example.org": [200, 200, 200, 429]}
    assert len(recovery_mails(sink)) == 3


def test_the_whole_recovery_through_the_mailed_link(app, portal_home, sink):
    with_question(app, portal_home)
    stranger, _ = ask(app, "alice@example.org", "192.0.2.120")
    (mail,) = recovery_mails(sink)
    token = token_of(mail)
    page = stranger.get(f"/forgot/answer?token={token}")
    assert page.status == 200 and "Name of my first pet?" in page.text
    wrong = stranger.post("/forgot/answer", {"csrf": page.field("csrf"), "token": token, "answer": "cat"})
    assert wrong.status == 401 and "answer is wrong" in wrong.text and "Name of my first pet?" in wrong.text
    done = stranger.post("/forgot/answer", {"csrf": page.field("csrf"), "token": token, "answer": " rex THE dog "})
    assert done.status == 200
    new_password = re.search(r'id="new-password">([^<]+)<', done.text).group(1)
    assert login.login(portal_home, "alice@example.org", new_password, "192.0.2.121").account.must_change_password
    notices.wait_sent()
    assert any("password was changed" in subject_of(m) and m.recipients == ["alice@example.org"] for m in sink.messages)


@pytest.mark.parametrize("token", ["", "x", "A" * 43, "A" * 5000])
def test_no_question_without_a_live_link(app, portal_home, token):
    with_question(app, portal_home)
    page = Client(app).get(f"/forgot/answer?token={token}")
    assert page.status == 400 and "link is not valid" in page.text and "pet" not in page.text
    client = Client(app)
    form = client.get("/forgot")
    r = client.post("/forgot/answer", {"token": token, "answer": "rex the dog", "csrf": form.field("csrf")})
    assert r.status == 400 and "link is not valid" in r.text and "new-password" not in r.text


def test_the_link_works_once_and_ends_the_others(app, portal_home, sink):
    with_question(app, portal_home)
    ask(app, "alice@example.org", "192.0.2.130")
    stranger, _ = ask(app, "alice@example.org", "192.0.2.131")
    first, second = (token_of(m) for m in recovery_mails(sink))
    page = stranger.get(f"/forgot/answer?token={second}")
    assert stranger.post("/forgot/answer", {"csrf": page.field("csrf"), "token": second, "answer": "rex the dog"}).status == 200
    for token in (second, first):
        assert stranger.get(f"/forgot/answer?token={token}").status == 400
        again = stranger.post("/forgot/answer", {"csrf": page.field("csrf"), "token": token, "answer": "rex the dog"})
        assert again.status == 400 and "new-password" not in again.text


def test_the_link_expires(app, portal_home, sink, clock):
    with_question(app, portal_home)
    stranger, _ = ask(app, "alice@example.org", "192.0.2.140")
    token = token_of(recovery_mails(sink)[0])
    page = stranger.get(f"/forgot/answer?token={token}")
    clock.advance(login.RECOVERY_MINUTES * 60 + 1)
    assert stranger.get(f"/forgot/answer?token={token}").status == 400
    r = stranger.post("/forgot/answer", {"csrf": page.field("csrf"), "token": token, "answer": "rex the dog"})
    assert r.status == 400
    assert login.login(portal_home, "alice@example.org", NEW_PASSWORD, "192.0.2.141")  # unchanged


def test_the_link_is_stored_only_as_a_fingerprint(app, portal_home, sink):
    with_question(app, portal_home)
    ask(app, "alice@example.org", "192.0.2.150")
    token = token_of(recovery_mails(sink)[0])
    (row,) = store.RecoveryLink.select()
    assert row.address == "alice@example.org" and token not in row.token_hash and len(row.token_hash) == 64
    store.close()  # everything written to the file
    folder = portal_home.config.home
    stored = b"".join(p.read_bytes() for p in folder.glob("webcrypt.db*"))
    assert token.encode() not in stored and row.token_hash.encode() in stored


def test_two_portal_nodes_answering_one_link_at_once_give_one_password(portal_home, sink):
    app = create_app(portal_home)
    with_question(app, portal_home)
    ask(app, "alice@example.org", "192.0.2.160")
    token = token_of(recovery_mails(sink)[0])
    nodes = [create_app(portal_home), create_app(portal_home)]
    clients = [Client(node, remote_addr=f"192.0.2.{161 + n}") for n, node in enumerate(nodes)]
    pages = [c.get(f"/forgot/answer?token={token}") for c in clients]
    barrier = threading.Barrier(2)
    results = [None, None]

    def answer(n):
        barrier.wait()
        results[n] = clients[n].post("/forgot/answer", {"csrf": pages[n].field("csrf"), "token": token,
                                                        "answer": "rex the dog"})

    threads = [threading.Thread(target=answer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in results) == [200, 400]
    assert sum("new-password" in r.text for r in results) == 1
