"""Every path that interrupts reading leads back to the message that was open (issue 14, item 1),
the profile names open messages by sender, date and subject (item 7), and the print view (Print).

In process (WSGI); each recovery path is followed redirect by redirect, as a browser would."""

import re

import pytest

from portal_client import Client
from test_portal import (  # noqa: F401 (fixtures)
    HTML,
    NEW_PASSWORD,
    answer,
    app,
    encrypt,
    open_and_login,
    portal_home,
    posted,
    ready,
    recovery_links,
    set_question,
    sink,
)
from webcrypt.edges.portal.app import create_app

ADDRESS = "alice@example.org"


@pytest.fixture
def long_uploads(portal_home):
    """Uploads kept for an hour: long enough to outlive a session that ended (15 minutes idle)."""
    portal_home.config.values["portal"]["upload_minutes"] = 60
    return portal_home


def follow(client, response, limit=6) -> tuple[list[str], object]:
    """Follow 303s as a browser does; (the locations visited, the last response)."""
    chain = []
    while response.status in (302, 303) and len(chain) < limit:
        chain.append(response.location)
        response = client.get(response.location)
    return chain, response


def log_in(client, page, password, address=ADDRESS):
    """Submit the login form *page* as shown (its hidden upload, if any, included)."""
    fields = {"csrf": page.field("csrf"), "address": address, "password": password}
    if 'name="upload"' in page.text:
        fields["upload"] = page.field("upload")
    return client.post("/login", fields)


def end_session_by_time(client, clock, upload):
    clock.advance(16 * 60)
    page = client.get(f"/message/{upload}")
    assert page.status == 401 and "session has ended" in page.text
    return page


# Item 1: back to the message


def test_after_the_session_ends_the_login_link_leads_back_to_the_message(app, long_uploads, clock):
    client = Client(app)
    upload = ready(client, long_uploads)
    expired = end_session_by_time(client, clock, upload)
    link = re.search(r'href="(/login[^"]*)"', expired.text).group(1)
    assert link == f"/login?upload={upload}"
    form = client.get(link)
    assert form.field("upload") == upload and "clerk@bank.example" in form.text
    chain, page = follow(client, log_in(client, form, NEW_PASSWORD))
    assert chain == [f"/message/{upload}"]
    assert page.status == 200 and "Dear Alice, the balance is 1234." in page.text


def test_a_plain_login_page_remembers_the_message_this_browser_opened(app, long_uploads, clock):
    client = Client(app)
    upload = ready(client, long_uploads)
    clock.advance(16 * 60)
    form = client.get("/login")  # e.g. from the start page or a bookmark: no upload in the address
    assert form.field("upload") == upload
    chain, page = follow(client, log_in(client, form, NEW_PASSWORD))
    assert chain == [f"/message/{upload}"] and "Your statement" in page.text


def test_a_message_closed_meanwhile_is_said_so_clearly(app, portal_home, clock):
    client = Client(app)
    upload = ready(client, portal_home)  # uploads last 15 minutes: gone with the session
    expired = end_session_by_time(client, clock, upload)
    form = client.get(re.search(r'href="(/login[^"]*)"', expired.text).group(1))
    assert form.status == 200 and "clerk@bank.example" not in form.text
    assert "has not been deleted" in form.text and "secure.htm in your mail again" in form.text
    chain, page = follow(client, log_in(client, form, NEW_PASSWORD))
    assert chain == ["/profile?closed=1"]
    assert "has not been deleted" in page.text and "Open messages" not in page.text


def test_forced_password_change_returns_to_the_message(app, portal_home):
    envelope, account, _ = encrypt(portal_home)
    client = Client(app)
    upload, r = open_and_login(client, envelope, ADDRESS, account.password)
    form = client.get(r.location)
    r = client.post("/password", {"csrf": form.field("csrf"), "current": account.password, "new": NEW_PASSWORD,
                                  "repeat": NEW_PASSWORD})
    chain, page = follow(client, r)
    assert chain == [f"/message/{upload}"] and "Dear Alice" in page.text


def test_forgotten_password_returns_to_the_message(app, long_uploads, sink, clock):
    client = Client(app)
    upload = ready(client, long_uploads)
    set_question(client)
    end_session_by_time(client, clock, upload)
    form = client.get("/forgot")
    assert client.post("/forgot", {"csrf": form.field("csrf"), "address": ADDRESS}).status == 200
    (token,) = recovery_links(sink, ADDRESS)
    done = answer(client, token, "rex the dog")  # the mailed link, opened in the same browser
    new_password = re.search(r'id="new-password">([^<]+)<', done.text).group(1)
    form = client.get(re.search(r'href="(/login[^"]*)"', done.text).group(1))
    assert form.field("upload") == upload
    chain, page = follow(client, log_in(client, form, new_password))
    assert chain == ["/password"]
    r = client.post("/password", {"csrf": page.field("csrf"), "current": new_password, "new": "amber lantern orchard",
                                  "repeat": "amber lantern orchard"})
    chain, page = follow(client, r)
    assert chain == [f"/message/{upload}"] and "Dear Alice" in page.text


def test_language_links_stay_on_the_same_page(app, portal_home):
    reader = Client(app)
    upload = ready(reader, portal_home)
    assert 'href="?lang=de"' in reader.get(f"/message/{upload}").text
    assert "Sicher antworten" in reader.get(f"/message/{upload}?lang=de").text
    envelope, _, _ = encrypt(portal_home)
    client = Client(app)
    login_path = client.post("/open", posted(envelope)).location
    form = client.get(login_path)
    link = re.search(r'href="([^"]*lang=de)"', form.text).group(1).replace("&amp;", "&")
    upload = login_path.split("=")[1]
    assert link == f"?upload={upload}&lang=de"
    german = client.get("/login" + link)
    assert "Anmelden" in german.text and german.field("upload") == upload


def test_a_lifted_lock_keeps_the_message(app, long_uploads, clock):
    client = Client(app)
    upload = ready(client, long_uploads)
    end_session_by_time(client, clock, upload)
    form = client.get(f"/login?upload={upload}")
    for _ in range(5):
        r = log_in(client, form, "wrong password")
    r = log_in(client, form, NEW_PASSWORD)
    assert r.status == 429 and "Too many attempts" in r.text
    assert r.field("upload") == upload and f'value="{ADDRESS}"' in r.text  # the form, kept
    clock.advance(16 * 60)  # the lock ends (login_block_minutes = 15)
    chain, page = follow(client, log_in(client, r, NEW_PASSWORD))
    assert chain == [f"/message/{upload}"] and "Dear Alice" in page.text


def test_no_open_redirect_and_no_message_of_someone_else(app, portal_home):
    client = Client(app)
    ready(client, portal_home)
    client.post("/logout", {"csrf": client.get("/profile").field("csrf")})
    for bad in ("//evil.example/x", "https://evil.example/", "/profile/../../evil", "0" * 31 + "G"):
        form = client.get("/login?upload=" + bad + "&next=https://evil.example/")
        assert 'name="upload"' not in form.text
        r = client.post("/login", {"csrf": form.field("csrf"), "address": ADDRESS, "password": NEW_PASSWORD,
                                   "upload": bad, "next": "https://evil.example/"})
        assert (r.status, r.location) == (303, "/profile"), bad
    bobs, _, _ = encrypt(portal_home, to="bob@example.org")  # a browser shared with bob
    shared = Client(app)
    bob_upload = shared.post("/open", posted(bobs)).location.split("=")[1]
    form = shared.get("/login")
    assert form.field("upload") == bob_upload
    r = log_in(shared, form, NEW_PASSWORD)
    assert (r.status, r.location) == (303, "/profile")  # alice is not led to bob's message
    assert bob_upload not in shared.get("/profile").text


def test_logout_forgets_the_messages_this_browser_opened(app, long_uploads):
    client = Client(app)
    ready(client, long_uploads)
    client.post("/logout", {"csrf": client.get("/profile").field("csrf")})
    assert not any("opened" in name for name in client.cookies)
    assert 'name="upload"' not in client.get("/login").text



# Reading keeps the message open (with the default settings, upload and idle time are both 15 minutes)


def test_a_message_read_until_the_session_ended_is_there_after_logging_in_again(app, portal_home, clock):
    client = Client(app)
    upload = ready(client, portal_home)
    clock.advance(10 * 60)
    assert client.get(f"/message/{upload}").status == 200  # read at 10 minutes: open past the idle time
    clock.advance(15 * 60 + 1)
    page = client.get(f"/message/{upload}")
    assert page.status == 401 and "session has ended" in page.text
    clock.advance(10 * 60)  # back after a while: 35 minutes after opening secure.htm
    form = client.get(f"/login?upload={upload}")
    assert form.field("upload") == upload and "clerk@bank.example" in form.text
    chain, page = follow(client, log_in(client, form, NEW_PASSWORD))
    assert chain == [f"/message/{upload}"] and "Dear Alice" in page.text


def test_reading_keeps_it_open_no_longer_than_a_session_may_last(portal_home, clock):
    from webcrypt.infra import store
    from webcrypt.usecases import inbox

    envelope, _account, _ = encrypt(portal_home)
    upload, _ = inbox.accept(portal_home, envelope)
    row = store.Upload.get_by_id(upload)
    inbox.keep_open(portal_home, row)
    assert store.Upload.get_by_id(upload).expires == clock.now + 30 * 60  # idle time and one more upload time
    clock.advance(10 * 60)
    inbox.keep_open(portal_home, row)
    assert store.Upload.get_by_id(upload).expires == clock.now + 30 * 60
    for _ in range(20):  # read every 25 minutes, for more than the 8 hours a session may last
        clock.advance(25 * 60)
        inbox.keep_open(portal_home, row)
    assert store.Upload.get_by_id(upload).expires == row.created + 8 * 3600
    portal_home.config.values["portal"]["session_idle_minutes"] = 1
    inbox.keep_open(portal_home, row)  # a shorter extension never shortens it
    assert store.Upload.get_by_id(upload).expires == row.created + 8 * 3600


def test_an_expired_upload_is_not_opened_again_by_a_late_read(portal_home, clock):
    from webcrypt.infra import store
    from webcrypt.usecases import inbox

    envelope, _account, _ = encrypt(portal_home)
    upload, _ = inbox.accept(portal_home, envelope)
    row = store.Upload.get_by_id(upload)
    clock.advance(15 * 60 + 1)  # a read that began before the end, its update after it
    inbox.keep_open(portal_home, row)
    assert inbox.record_of(portal_home, upload) is None


# Item 7: the profile names the messages


def test_profile_names_sender_date_and_subject(app, portal_home):
    client = Client(app)
    upload = ready(client, portal_home)
    client.get(f"/message/{upload}")
    page = client.get("/profile")
    listed = re.search(r'<ul class="opened">(.*?)</ul>', page.text, re.S).group(1)
    assert f'href="/message/{upload}"' in listed and "Your statement" in listed
    assert "clerk@bank.example" in listed and re.search(r"\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d", listed)
    assert f"Message {upload[:8]}" not in page.text


def test_profile_without_the_message_in_memory_names_sender_and_date(portal_home):
    portal_home.config.values["portal"]["view_cache_seconds"] = 0  # nothing of the content is kept
    app = create_app(portal_home)
    client = Client(app)
    upload = ready(client, portal_home)
    client.get(f"/message/{upload}")
    listed = re.search(r'<ul class="opened">(.*?)</ul>', client.get("/profile").text, re.S).group(1)
    assert "Message from clerk@bank.example" in listed and "Your statement" not in listed


# Print


def test_print_view_shows_the_whole_message_without_the_portal(app, portal_home):
    client = Client(app)
    upload = ready(client, portal_home)
    assert f'href="/message/{upload}/print"' in client.get(f"/message/{upload}").text
    page = client.get(f"/message/{upload}/print")
    assert page.status == 200
    assert "Your statement" in page.text and "Dear Alice, the balance is 1234." in page.text
    assert "statement.pdf" in page.text and "clerk@bank.example" in page.text
    assert 'class="top"' not in page.text and "/logout" not in page.text and "<footer" not in page.text
    policy = page.headers["content-security-policy"]
    assert "sandbox" in policy and "allow-same-origin" not in policy and "unsafe-inline" not in policy
    assert "form-action 'none'" in policy and "img-src data:" in policy


def test_print_view_inlines_the_sanitised_html_body(app, portal_home):
    client = Client(app)
    upload = ready(client, portal_home, HTML)
    page = client.get(f"/message/{upload}/print")
    assert page.status == 200 and "Hello <b>HTML</b>" in page.text and 'src="data:' in page.text
    assert "alert(" not in page.text and "onload" not in page.text and "evil.example" not in page.text


def test_print_view_needs_the_session(app, portal_home):
    client = Client(app)
    upload = ready(client, portal_home)
    assert Client(app).get(f"/message/{upload}/print").status == 401
    assert client.get(f"/message/{'0' * 32}/print").status == 404
