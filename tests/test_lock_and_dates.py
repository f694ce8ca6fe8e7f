"""What a reader meets at a lock (issue 14, item 2) and the dates and sizes they read (item 4).

In process (WSGI). The test clock starts at 2027-01-15 08:00 UTC; the lock lasts 15 minutes."""

import re
import zoneinfo

import pytest

from conftest import write_settings
from portal_client import Client
from test_admin_web import app_for, web  # noqa: F401 (fixture)
from test_portal import (  # noqa: F401 (fixtures)
    PLAIN,
    app,
    encrypt,
    portal_home,
    ready,
    reply_form,
    sink,
)
from webcrypt.base import config, errors
from webcrypt.core import display
from webcrypt.edges.portal import i18n

ZONE_COOKIE = "__Host-webcrypt-tz"
NOW = 1_800_000_000  # the test clock's start


def fail_five_times(app, address, remote_addr, times=6):
    """Five wrong passwords and one more try from a fresh browser in Berlin; the answers."""
    client = Client(app, remote_addr=remote_addr, cookies={ZONE_COOKIE: "Europe/Berlin"})
    csrf = client.get("/login").field("csrf")
    return [client.post("/login", {"csrf": csrf, "address": address, "password": f"wrong password {n}"})
            for n in range(times)]


def alert_of(page) -> str:
    found = re.search(r'<p class="error" role="alert" id="login-error">(.*?)</p>', page.text, re.S)
    return found.group(1).strip() if found else ""


def test_the_countdown_and_the_lock_say_the_same_for_known_and_unknown_addresses(app, portal_home):
    encrypt(portal_home)  # alice has an account, nobody has not
    known = fail_five_times(app, "alice@example.org", "192.0.2.1")
    unknown = fail_five_times(app, "nobody@example.org", "192.0.2.2")
    said = [alert_of(page) for page in known]
    assert said == [alert_of(page) for page in unknown]
    assert [p.status for p in known] == [p.status for p in unknown] == [401] * 5 + [429]
    assert "more attempt" not in said[0] + said[1]
    assert "You have 2 more attempts. If they are wrong too, logging in will be locked for 15 minutes." in said[2]
    assert "You have one more attempt." in said[3]
    lock = '<time datetime="2027-01-15T09:15:00+01:00">09:15</time> (in 15 minutes)'
    assert said[4] == "The address or the password is wrong. Too many attempts: logging in is locked until " + lock + "."
    assert said[5] == "Too many attempts: logging in is locked until " + lock + "."
    assert known[5].headers["retry-after"] == "900"
    for page in known[2:]:
        assert 'value="alice@example.org"' in page.text and "What else you can do" in page.text
        assert 'href="/forgot"' in page.text
    assert "What else you can do" not in known[1].text


def test_the_countdown_counts_only_the_readers_own_attempts(app, portal_home):
    encrypt(portal_home)
    elsewhere = fail_five_times(app, "alice@example.org", "198.51.100.7", times=3)  # someone else, three times
    assert "2 more attempts" in alert_of(elsewhere[2])
    client = Client(app, remote_addr="192.0.2.1")
    csrf = client.get("/login").field("csrf")
    first = client.post("/login", {"csrf": csrf, "address": "alice@example.org", "password": "wrong password"})
    assert alert_of(first) == "The address or the password is wrong"  # nothing of the other client's tries


def test_the_lock_keeps_the_message_and_names_the_contact_and_the_sender(app, portal_home, clock):
    portal_home.config.values["branding"]["texts"] = {"de": {"contact": "Telefon 0800 123"}}
    envelope, _, _ = encrypt(portal_home)
    client = Client(app, language="de")
    opened = client.post("/open", {"envelope": __import__("base64").encodebytes(envelope).decode()})
    page = client.get(opened.location)
    upload = page.field("upload")
    for n in range(5):
        last = client.post("/login", {"csrf": page.field("csrf"), "upload": upload, "address": "alice@example.org",
                                      "password": f"falsch {n}"})
    assert last.status == 401 and f'name="upload" value="{upload}"' in last.text
    assert "Die Anmeldung ist bis" in alert_of(last) and "(in 15 Minuten)" in alert_of(last)
    assert "(UTC)" in alert_of(last)  # no browser zone told: the zone is named
    assert "Fragen Sie uns:</li>" not in last.text and "Telefon 0800 123" in last.text


def test_the_consoles_login_counts_down_and_says_when_its_lock_ends(web):  # noqa: F811
    answers = {}
    for name, remote in (("ops", "127.0.0.5"), ("nobody", "127.0.0.6")):
        client = Client(app_for(web), remote_addr=remote)
        token = client.get("/admin/login").field("csrf")
        answers[name] = [client.post("/admin/login", {"csrf": token, "name": name, "password": "nope"})
                         for _ in range(6)]
    texts = {name: [re.search(r'role="alert">(.*?)</p>', r.text, re.S).group(1) for r in pages]
             for name, pages in answers.items()}
    assert texts["ops"] == texts["nobody"]
    assert "2 more attempts" in texts["ops"][2] and "locked until" in texts["ops"][4]
    assert answers["ops"][5].status == 429 and "(in 15 minutes)" in texts["ops"][5]


# Time zones


def read_page(app, portal_home, cookie=None, language="en", raw=PLAIN):
    client = Client(app, language=language)
    upload = ready(client, portal_home, raw)
    if cookie is not None:
        client.cookies[ZONE_COOKIE] = cookie
    page = client.get(f"/message/{upload}")
    assert page.status == 200
    return page, client, upload


def date_line(page) -> str:
    return re.search(r"<dd>(<time[^>]*>[^<]*</time>.*?)</dd>", page.text).group(1)


def test_the_browsers_zone_shows_the_mails_date_with_the_senders_clock_beside_it(app, portal_home):
    page, _, _ = read_page(app, portal_home, "Europe/Berlin")
    line = date_line(page)
    assert line.startswith('<time datetime="2027-01-01T11:00:00+01:00" title="Mon, 01 Jan 2027 10:00:00 +0000">'
                           '1 January 2027, 11:00</time>')
    assert "(10:00 (UTC+00:00) for the sender)" in line
    assert 'src="/static/timezone.js"' in page.text and 'data-cookie="__Host-webcrypt-tz"' in page.text


def test_a_bad_zone_cookie_falls_back_to_the_configured_zone(app, portal_home):
    portal_home.config.values["portal"]["time_zone"] = "America/New_York"
    _, client, upload = read_page(app, portal_home)
    for cookie in ("Not/AZone", "../../etc/passwd", "x" * 300):
        client.cookies[ZONE_COOKIE] = cookie
        page = client.get(f"/message/{upload}")
        assert '<time datetime="2027-01-01T05:00:00-05:00"' in date_line(page) and "05:00 (EST)" in date_line(page)


def test_without_zone_data_everything_is_utc_and_nothing_fails(app, portal_home, monkeypatch):
    portal_home.config.values["portal"]["time_zone"] = "Europe/Berlin"
    page_ready, client, upload = read_page(app, portal_home)
    monkeypatch.setattr(zoneinfo, "TZPATH", ())
    zoneinfo.reset_tzpath(to=[])
    zoneinfo.ZoneInfo.clear_cache()
    try:
        client.cookies[ZONE_COOKIE] = "Europe/Paris"
        page = client.get(f"/message/{upload}")
        profile = client.get("/profile")
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()
    assert page.status == 200 and profile.status == 200
    assert date_line(page).startswith('<time datetime="2027-01-01T10:00:00+00:00"') and "10:00 (UTC)" in page.text


@pytest.mark.parametrize("language, date, size", [
    ("en", "1 January 2027, 10:00 (UTC)", "(25 bytes)"),
    ("de", "1. Januar 2027, 10:00 (UTC)", "(25 Bytes)"),
    ("fr", "1 janvier 2027 à 10:00 (UTC)", "(25 octets)"),
])
def test_dates_and_sizes_in_each_language(app, portal_home, language, date, size):
    page, client, upload = read_page(app, portal_home, language=language)
    assert f">{date}</time>" in page.text and size in page.text
    for path in ("/profile", f"/message/{upload}/print"):
        other = client.get(path)
        assert other.status == 200 and "<time datetime=" in other.text and " UTC</" not in other.text


@pytest.mark.parametrize("language, intro", [("en", "bank.example&gt; wrote:\n&gt; Dear"),
                                             ("de", "bank.example&gt; schrieb:\n&gt; Dear")])
def test_a_reply_to_a_mail_without_a_date_quotes_without_one(app, portal_home, language, intro):
    undated = PLAIN.replace(b"Date: Mon, 01 Jan 2027 10:00:00 +0000\n", b"")
    client = Client(app, language=language)
    form = reply_form(client, ready(client, portal_home, undated))
    text = re.search(r"<textarea[^>]*>(.*?)</textarea>", form.text, re.S).group(1)
    assert intro in text and " am " not in text and "wrote on" not in text


def test_the_configured_zone_is_checked_at_load(home_dir):
    path = home_dir / "webcrypt.toml"
    write_settings(path, {"portal": {"time_zone": '"Mars/Olympus_Mons"'}})
    with pytest.raises(errors.ConfigError, match="time_zone"):
        config.load(path)
    write_settings(path, {"portal": {"time_zone": '"Europe/Berlin"'}})
    assert config.load(path)["portal.time_zone"] == "Europe/Berlin"


# The pure module


def test_sizes_moments_and_minutes_read_as_people_read_them():
    assert [display.size_text(1536, lang) for lang in ("en", "de", "fr")] == ["1.5 KB", "1,5 KB", "1,5 Ko"]
    assert display.size_text(10 * 1024 * 1024, "fr") == "10 Mo"
    berlin = display.Reader(i18n.translator("de"), zoneinfo.ZoneInfo("Europe/Berlin"), own_zone=True)
    assert display.moment_text(NOW, berlin) == "15. Januar 2027, 09:00"
    late = NOW + 15 * 3600  # 2027-01-16 00:00 in Berlin: another day, so the date is said
    assert display.soon_text(NOW + 600, NOW, berlin) == "09:10"
    assert display.soon_text(late, NOW, berlin) == "16. Januar 2027, 00:00"
    assert display.minutes_from_now(NOW + 61, NOW, berlin) == "in 2 Minuten"
    assert display.minutes_from_now(NOW + 30, NOW, berlin) == "in 1 Minute"
    assert display.mail_date("not a date") is None and display.mail_date("") is None


@pytest.mark.parametrize("code", ["de", "fr"])
def test_every_date_word_has_a_translation(code):
    from webcrypt.edges.portal import admin_text, moments

    words = [*display.MONTHS, display.MOMENT, display.TIME, display.WITH_ZONE, display.IN_MINUTES,
             display.IN_ONE_MINUTE, moments.LEFT_ONE, moments.LEFT_MANY, moments.LOCKED]
    portal_only = [moments.SENDER_CLOCK, moments.QUOTE_DATED, moments.QUOTE_UNDATED, display.DAY]
    assert [w for w in words + portal_only if w not in i18n.catalogue(code)] == []
    assert [w for w in words if w not in admin_text.catalogue(code)] == []
