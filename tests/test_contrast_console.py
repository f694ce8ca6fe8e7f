"""Contrast (core/contrast.py; the brand colour refused or darkened; the focus ring) and a console
that speaks to people (labels, sizes, dates, wrapping actions, a focusable scroll region, a
confirmed password reset): pure unit tests and the console in-process (WSGI)."""

import re

import pytest

from conftest import write_settings
from webcrypt.base import config
from webcrypt.core import contrast, display, mime
from webcrypt.infra import store
from webcrypt.usecases import accounts, admins, gateway, settings, wording
from webcrypt.context.home import Home
from webcrypt.edges.portal import create_app
from portal_client import Client

PASSWORD = "a long admin password"
MESSAGE = b"From: service@bank.example\nTo: alice@example.org\nSubject: Contract\n\nthe contract\n"


# --- the contrast function (pure) ----------------------------------------------------

@pytest.mark.parametrize("color, expected", [
    ("#777777", "4.48:1"), ("#767676", "4.54:1"), ("#1f4e79", "8.66:1"), ("#000000", "21.00:1"),
    ("#ffffff", "1.00:1"), ("#f0a500", "2.08:1"), ("#fff", "1.00:1"),
])
def test_known_pairs_on_white(color, expected):
    assert contrast.ratio_text(contrast.ratio(color, "#ffffff")) == expected


def test_the_ratio_does_not_depend_on_the_order():
    assert contrast.ratio("#1f4e79", "#f4f6f8") == contrast.ratio("#f4f6f8", "#1f4e79")


def test_a_failing_ratio_is_never_shown_as_the_needed_one():
    assert not contrast.passes_with_white("#777777")  # 4.478: rounds to 4.48, still below 4.5
    assert contrast.ratio_text(4.4999) == "4.49:1" and contrast.ratio_text(4.5) == "4.50:1"


def test_a_colour_that_passes_is_kept():
    assert contrast.darkened_for_white("#1F4E79") == "#1f4e79"
    assert contrast.darkened_for_white("#767676") == "#767676"


@pytest.mark.parametrize("color", ["#777777", "#f0a500", "#ffcc00", "#ffffff", "#66ccff"])
def test_a_too_light_colour_becomes_the_lightest_darker_shade_that_passes(color):
    darker = contrast.darkened_for_white(color)
    assert contrast.passes_with_white(darker)
    assert contrast.luminance(darker) < contrast.luminance(color)
    one_step_lighter = contrast.hex_of(tuple(min(255, c + 1) for c in contrast.rgb(darker)))
    assert not contrast.passes_with_white(one_step_lighter)


def test_the_darker_shade_keeps_the_hue():
    r, g, b = contrast.rgb(contrast.darkened_for_white("#f0a500"))
    assert b == 0 and r > g > 0 and abs(g / r - 0xa5 / 0xf0) < 0.02


def test_what_is_not_a_colour():
    with pytest.raises(ValueError):
        contrast.rgb("red")
    assert contrast.readable_brand("red") == "#1f4e79" and contrast.readable_brand("#eeeeee") != "#eeeeee"


def test_sizes_and_lock_times_as_people_read_them():
    assert display.size_text(13) == "13 bytes" and display.size_text(13, "de") == "13 Bytes"
    assert display.size_text(13517) == "13.2 KB" and display.size_text(13517, "de") == "13,2 KB"
    assert display.size_text(10 * 1024 * 1024) == "10 MB"
    assert display.readable_detail("until 1796074587") == "until 2026-11-30 21:36 UTC"
    assert display.readable_detail("3 of 5 until tomorrow") == "3 of 5 until tomorrow"


# --- the console in-process ---------------------------------------------------------

def make_home(home_dir, clock, **sections):
    path = home_dir / "webcrypt.toml"
    write_settings(path, {"portal": {"secure_cookies": "false"}, **sections})
    home = Home(config.load(path), clock=clock)
    home.connect()
    admins.add(home, "ops", PASSWORD)
    return home


@pytest.fixture
def web(home_dir, clock):
    home = make_home(home_dir, clock)
    yield home
    home.close()


def logged_in(home) -> Client:
    client = Client(create_app(home))
    token = client.get("/admin/login").field("csrf")
    assert client.post("/admin/login", {"csrf": token, "name": "ops", "password": PASSWORD}).status == 303
    return client


def branding_form(client: Client, **values) -> dict:
    form = {"csrf": client.get("/admin/branding").field("csrf"), "name": "Bank SecureMail", "organisation": "",
            "color": "", "logo_url": "", "text_en_portal_welcome": "Welcome to the bank"}
    return {**form, **values}


def test_a_too_light_brand_colour_is_refused_with_the_ratio_and_a_darker_proposal(web):
    client = logged_in(web)
    refused = client.post("/admin/branding", branding_form(client, color="#f0a500"))
    assert refused.status == 400
    proposal = contrast.darkened_for_white("#f0a500")
    assert "White text on #f0a500 has a contrast of 2.08:1; at least 4.5:1 is needed" in refused.text
    assert proposal in refused.text and settings.read("branding") == {}
    # what was typed stays; the colour field holds the proposal; the preview shows it with white text
    assert refused.field("color") == proposal and refused.field("name") == "Bank SecureMail"
    assert "Welcome to the bank" in refused.text
    assert f".swatch-2{{--swatch:{proposal}}}" in refused.text and "too light" in refused.text
    saved = client.post("/admin/branding", branding_form(client, color=proposal))
    assert saved.status == 200 and settings.read("branding")["color"] == proposal
    assert store.AuditEvent.select().where(store.AuditEvent.action == "settings_branding").count() == 1


def test_the_refusal_is_in_german_too(web):
    client = logged_in(web)
    client.get("/admin/branding?lang=de")
    refused = client.post("/admin/branding", branding_form(client, color="#777777"))
    assert refused.status == 400 and "Weiße Schrift auf #777777 hat einen Kontrast von 4.48:1" in refused.text


def test_a_too_light_colour_in_the_file_is_loaded_and_darkened_where_it_is_shown(home_dir, clock):
    home = make_home(home_dir, clock, branding={"color": '"#ffcc00"'})  # loads: not refused
    try:
        darker = contrast.darkened_for_white("#ffcc00")
        assert home.config["branding.color"] == "#ffcc00"
        client = logged_in(home)
        assert f"--brand:{darker}" in client.get("/admin/users").text
        assert f"--brand:{darker}" in Client(create_app(home)).get("/").text
        carrier = mime.Carrier(recipient="a@example.org", sender="s@example.com", message_id="0" * 32,
                               portal_url="https://portal.example", mail_domain="example.com", date="",
                               branding=home.config.values["branding"], copied=[], subject=b"",
                               wording=wording.for_language(home, None))
        page = b"".join(mime.secure_htm_chunks(carrier, b"x")).decode("ascii")
        assert f"background:{darker}" in page and "#ffcc00" not in page
    finally:
        home.close()


def test_settings_show_human_labels_with_the_key_as_a_hint_and_sizes_in_megabytes(web):
    page = logged_in(web).get("/admin/settings").text
    assert "Largest message (bytes)" in page and page.count("policy.max_message_size</code>") == 1
    size = web.config["policy.max_message_size"]
    assert f"{size} ({display.size_text(size)})" in page and "MB)" in page
    assert ">policy.keyword<" in page and "Keyword in the subject" in page


def test_the_audit_shows_a_lock_as_a_date_in_a_scroll_region_the_keyboard_reaches(web, clock):
    accounts.create(web, "alice@example.org", "recipient password")
    until = web.now() + 900
    store.AuditEvent.create(at=web.now(), actor="alice@example.org", action="login_locked",
                            subject="alice@example.org", detail=f"until {until}", client="192.0.2.1")
    page = logged_in(web).get("/admin/audit").text
    assert f"until {display.date_text(until)} UTC" in page and f"until {until}" not in page
    assert re.search(r'<div class="scroll" tabindex="0" role="region" aria-label="[^"]+">', page)


def test_reset_password_needs_the_box_ticked(web):
    gateway.encrypt(web, MESSAGE, "service@bank.example", ["alice@example.org"], print_login_data=lambda n: None)
    client = logged_in(web)
    page = client.get("/admin/users/alice@example.org")
    assert 'name="confirm" value="yes" required' in page.text
    before = accounts.get("alice@example.org").password_hash
    refused = client.post("/admin/users/alice@example.org/reset", {"csrf": page.field("csrf")})
    assert refused.status == 400 and "tick the box" in refused.text
    assert accounts.get("alice@example.org").password_hash == before
    assert not store.AuditEvent.select().where(store.AuditEvent.action == "reset").exists()
    done = client.post("/admin/users/alice@example.org/reset", {"csrf": page.field("csrf"), "confirm": "yes"})
    assert done.status == 200 and accounts.get("alice@example.org").password_hash != before


def test_message_sizes_in_kilobytes_and_actions_in_their_own_row(web):
    gateway.encrypt(web, MESSAGE, "service@bank.example", ["alice@example.org"], print_login_data=lambda n: None)
    page = logged_in(web).get("/admin/messages").text
    size = store.Message.get().size
    assert f'<td class="num">{display.size_text(size)}</td>' in page
    assert '<tr class="row-actions"><td colspan="8">' in page

# Chromium (axe-core on these pages, the focus ring's colour): tests/test_admin_browser.py


def test_the_organisations_contact_is_at_the_foot_of_the_login_and_error_pages(web):
    client = logged_in(web)
    form = branding_form(client, text_en_contact="Bank service desk: 0800 123 456, help@bank.example",
                         text_de_contact="Kundendienst der Bank: 0800 123 456")
    assert client.post("/admin/branding", form).status == 200
    assert "Contact for recipients" in client.get("/admin/branding").text
    web.refresh_settings()
    portal = Client(create_app(web))
    login = portal.get("/login?lang=en")
    assert "Questions?</strong> Bank service desk: 0800 123 456, help@bank.example" in login.text
    missing = portal.get("/no-such-page")
    assert missing.status == 404 and "Bank service desk: 0800 123 456" in missing.text
    german = portal.get("/login?lang=de")
    assert "Fragen?</strong> Kundendienst der Bank: 0800 123 456" in german.text
