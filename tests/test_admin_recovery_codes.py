"""Recovery codes for administrators' second factor, and the QR code shown at enrolment in the console."""

import html
import re
import shutil
import sqlite3
import subprocess

import pytest
from typer.testing import CliRunner

import test_admin_totp
from portal_client import Client
from test_admin_totp import PASSWORD, reference_totp
from webcrypt.base import config
from webcrypt.context.home import Home
from webcrypt.core import qr
from webcrypt.edges import cli
from webcrypt.edges.portal import create_app
from webcrypt.infra import store
from webcrypt.usecases import admins

CODE = re.compile(r"\b[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}\b")


def run(*args):
    return CliRunner().invoke(cli.app, list(args), catch_exceptions=False)


web = test_admin_totp.web  # the same home and administrator "ops"


def enrol_on_cli() -> tuple[str, list[str]]:
    result = run("admin", "totp", "ops")
    assert result.exit_code == 0, result.output
    return re.search(r"Secret \(base32\): ([A-Z2-7]+)", result.output).group(1), CODE.findall(result.output)


def attempt(home, code, client=None):
    client = client or Client(create_app(home))
    page = client.get("/admin/login?recovery=1")
    return client, client.post("/admin/login", {"csrf": page.field("csrf"), "name": "ops", "password": PASSWORD,
                                                "code": code, "recovery": "1"})


def signed_in(home, code=None) -> Client:
    client, response = attempt(home, code or "")
    assert response.status == 303, response.text
    return client


def change(client: Client, action: str, password=PASSWORD):
    csrf = client.get("/admin/second-factor").field("csrf")
    return client.post("/admin/second-factor", {"csrf": csrf, "password": password, "action": action})


def shown_codes(page_text: str) -> list[str]:
    return re.findall(r'<li><span class="secret">([^<]+)</span></li>', page_text)


def audit_details(action: str) -> list[str]:
    return [e.detail for e in store.AuditEvent.select().where(store.AuditEvent.action == action)
            .order_by(store.AuditEvent.id)]


def test_console_enrolment_shows_ten_codes_and_the_qr_code_once(web, clock):
    client = signed_in(web)
    other = signed_in(web)  # the same administrator in another browser
    page = client.get("/admin/second-factor")
    assert page.status == 200 and "Set up an authenticator app" in page.text and "<svg" not in page.text
    enrolled = change(client, "enrol")
    assert enrolled.status == 200, enrolled.text
    codes = shown_codes(enrolled.text)
    assert len(codes) == 10 == len(set(codes)) and all(CODE.fullmatch(c) for c in codes)
    secret = re.search(r'<code id="secret" class="secret"[^>]*>([A-Z2-7]+)</code>', enrolled.text).group(1)
    svg = re.search(r"<svg .*?</svg>", enrolled.text, re.S).group(0)
    assert 'role="img"' in svg and 'aria-label="QR code for your authenticator app"' in svg
    assert "<title>QR code for your authenticator app</title>" in svg and "<script" not in enrolled.text.lower()
    assert "style=" not in svg  # nothing the strict CSP (style-src with a nonce) would block
    assert "'unsafe-inline'" not in enrolled.headers["content-security-policy"]
    assert enrolled.headers["cache-control"] == "no-store"
    # the enrolling page stays signed in, every other session of the administrator ends
    assert client.get("/admin/users").status == 200 and other.get("/admin/users").status == 303
    again = client.get("/admin/second-factor")
    assert again.status == 200 and shown_codes(again.text) == [] and "<svg" not in again.text
    assert secret not in again.text and not any(code in again.text for code in codes)
    assert re.search(r"Recovery codes left</th><td>10<", again.text)
    # what the app makes of the secret logs in
    _, ok = attempt(web, reference_totp(secret, clock.now))
    assert ok.status == 303
    assert audit_details("admin_totp_on") == ["10 recovery codes"]
    german = client.get("/admin/second-factor?lang=de").text
    assert "Verbleibende Wiederherstellungscodes" in german and "Authenticator-App ersetzen" in german


def test_a_wrong_password_changes_nothing_and_counts(web):
    client = signed_in(web)
    refused = change(client, "enrol", password="not the admin password")
    assert refused.status == 403 and "The password is wrong." in refused.text and shown_codes(refused.text) == []
    assert store.Admin.get(store.Admin.name == "ops").totp_secret is None
    assert change(client, "nonsense").status == 400
    assert [e.action for e in store.AuditEvent.select()].count("admin_login_failed") == 1


def read_svg(svg: str) -> list[list[bool]]:
    """The modules segno's SVG draws, read back from its path (a rasteriser written here: each
    ``h`` draws a horizontal run of dark modules on the row the pen is on); the quiet zone removed."""
    size = int(re.search(r'width="(\d+)"', svg).group(1)) // int(re.search(r"scale\((\d+)\)", svg).group(1))
    dark_path = re.search(r'<path stroke="#000" d="([^"]+)"', svg).group(1)
    grid = [[False] * size for _ in range(size)]
    x = y = 0.0
    for command, args in re.findall(r"([MmHh])([-\d. ]+)", dark_path):
        numbers = [float(n) for n in args.split()]
        if command == "M":
            x, y = numbers
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            end = numbers[0] if command == "H" else x + numbers[0]
            for column in range(int(x), int(end)):
                grid[int(y)][column] = True
            x = end
    assert "".join(re.findall(r"[MmHh]", dark_path)) == "".join(re.findall(r"[A-Za-z]", dark_path))
    border = next(i for i, row in enumerate(grid) if any(row))
    return [row[border:size - border] for row in grid[border:size - border]]


def decoded_by_zbar(matrix: list[list[bool]], tmp_path) -> str:
    """What zbarimg (a real QR decoder) reads from the matrix drawn as a greyscale picture."""
    pixels, quiet = 8, 4
    side = (len(matrix) + 2 * quiet) * pixels
    rows = []
    for row in [[False] * len(matrix)] * quiet + matrix + [[False] * len(matrix)] * quiet:
        line = b"".join((b"\x00" if dark else b"\xff") * pixels for dark in [False] * quiet + row + [False] * quiet)
        rows += [line] * pixels
    picture = tmp_path / "qr.pgm"
    picture.write_bytes(b"P5 %d %d 255\n" % (side, side) + b"".join(rows))
    result = subprocess.run(["zbarimg", "--quiet", "--raw", str(picture)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_qr_code_holds_the_otpauth_uri(web, tmp_path):
    client = signed_in(web)
    enrolled = change(client, "enrol")
    secret = re.search(r'<code id="secret" class="secret"[^>]*>([A-Z2-7]+)</code>', enrolled.text).group(1)
    svg = html.unescape(re.search(r"<svg .*?</svg>", enrolled.text, re.S).group(0))
    uri = f"otpauth://totp/webcrypt:ops?secret={secret}&issuer=webcrypt&algorithm=SHA1&digits=6&period=30"
    drawn = read_svg(svg)
    assert drawn == qr.matrix(uri) and len(drawn) >= 21
    assert drawn != qr.matrix(uri.replace(secret, secret[::-1]))  # the comparison can tell codes apart
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg (Debian's zbar-tools, installed by tests/run.sh) is missing: the matrix was checked only")
    assert decoded_by_zbar(drawn, tmp_path) == uri


def test_the_database_holds_no_plaintext_code(web, config_env):
    _, codes = enrol_on_cli()
    assert len(codes) == 10
    rows = list(store.AdminRecoveryCode.select().dicts())
    assert len(rows) == 10 and len({r["salt"] for r in rows}) == 10
    stored = repr(rows)
    database = config_env.parent / "webcrypt.db"
    raw = b"".join(p.read_bytes() for p in database.parent.glob("webcrypt.db*"))  # the file and its WAL
    with sqlite3.connect(database) as db:
        dumped = "\n".join(db.iterdump())
    for code in codes:
        for form in (code, code.replace("-", ""), code.upper()):
            assert form not in stored and form not in dumped and form.encode() not in raw


def test_a_recovery_code_logs_in_once_and_never_twice(web, clock):
    _, codes = enrol_on_cli()
    client, ok = attempt(web, codes[0])
    assert ok.status == 303 and client.get("/admin/users").status == 200
    _, again = attempt(web, codes[0])
    assert again.status == 403 and "The name or the password is wrong." in again.text
    # typed as people type: upper case, spaces for hyphens
    _, typed = attempt(web, " " + codes[1].upper().replace("-", " ") + " ")
    assert typed.status == 303
    assert admins.recovery_codes_left("ops") == 8
    assert audit_details("admin_recovery_code_used") == ["recovery code used, 9 left", "recovery code used, 8 left"]
    assert "wrong or used recovery code" in audit_details("admin_login_failed")[-1]
    # in the app's code field of the ordinary form too
    client = Client(create_app(web))
    form = {"csrf": client.get("/admin/login").field("csrf"), "name": "ops", "password": PASSWORD, "code": codes[2]}
    assert client.post("/admin/login", form).status == 303


def test_wrong_recovery_codes_are_failed_logins_up_to_the_lock(web):
    _, codes = enrol_on_cli()
    statuses = [attempt(web, "abcd-efgh-jkmn")[1].status for _ in range(5)]
    assert statuses == [403] * 5
    _, locked = attempt(web, codes[0])  # a right code no longer helps: the account is locked
    assert locked.status == 429
    assert admins.recovery_codes_left("ops") == 10  # and it was not spent
    assert len(audit_details("admin_login_failed")) == 5


def test_regenerating_invalidates_the_old_set(web):
    _, old = enrol_on_cli()
    result = run("admin", "recovery-codes", "ops")
    assert result.exit_code == 0, result.output
    new = CODE.findall(result.output)
    assert len(new) == 10 and not set(new) & set(old)
    assert attempt(web, old[0])[1].status == 403
    client = signed_in(web, new[0])
    page = change(client, "recovery-codes")
    newest = shown_codes(page.text)
    assert page.status == 200 and len(newest) == 10 and "the earlier ones no longer work" in page.text
    assert attempt(web, new[1])[1].status == 403 and attempt(web, newest[0])[1].status == 303
    assert shown_codes(client.get("/admin/second-factor").text) == []
    assert len(audit_details("admin_recovery_codes_new")) == 2


def test_removing_the_second_factor_removes_the_codes(web):
    enrol_on_cli()
    assert run("admin", "totp", "ops", "--off").exit_code == 0
    assert store.AdminRecoveryCode.select().count() == 0
    client = signed_in(web)
    enrolled = change(client, "enrol")
    assert len(shown_codes(enrolled.text)) == 10 and store.AdminRecoveryCode.select().count() == 10
    removed = change(client, "remove")
    assert removed.status == 200 and "your password alone logs you in" in removed.text
    assert store.AdminRecoveryCode.select().count() == 0
    assert store.Admin.get(store.Admin.name == "ops").totp_secret is None
    refused = run("admin", "recovery-codes", "ops")  # no second factor, no codes
    assert refused.exit_code != 0 and "has no second factor" in refused.output


def test_the_console_warns_when_few_codes_are_left(web):
    _, codes = enrol_on_cli()
    client = signed_in(web, codes[0])
    assert "Recovery codes left:" not in client.get("/admin/users").text
    for code in codes[1:7]:
        client = signed_in(web, code)
    warned = client.get("/admin/users")
    assert "Recovery codes left: 3. Make a new set before you run out." in warned.text
    assert 'href="/admin/second-factor"' in warned.text
    assert "Verbleibende Wiederherstellungscodes: 3." in client.get("/admin/users?lang=de").text
    change(client, "recovery-codes")
    assert "Recovery codes left:" not in client.get("/admin/users").text


def test_the_login_form_leads_to_the_recovery_code_field(web):
    client = Client(create_app(web))
    page = client.get("/admin/login?next=/admin/audit").text
    link = re.search(r'<a href="([^"]+)">Lost your phone\? Use a recovery code instead</a>', page).group(1)
    assert "recovery=1" in link and "next=%2Fadmin%2Faudit" in link
    recovery = client.get(html.unescape(link)).text
    field = re.search(r'<input id="code"[^>]*>', recovery).group(0)
    assert '<label for="code">Recovery code</label>' in recovery and "inputmode" not in field
    assert 'autocapitalize="none"' in field and 'name="recovery" value="1"' in recovery
    assert "Use the code of your authenticator app instead" in recovery
    assert "Wiederherstellungscode" in client.get("/admin/login?recovery=1&lang=de").text


def test_cli_enrolment_prints_the_codes_once(web):
    result = run("admin", "totp", "ops", "--qr")
    assert result.exit_code == 0, result.output
    codes = CODE.findall(result.output)
    assert len(codes) == 10 and "shown once" in result.output and "█" in result.output
    listed = run("admin", "list")
    assert listed.exit_code == 0 and "10 recovery codes" in listed.output
    assert not any(code in listed.output + run("admin", "list", "--json").output for code in codes)
    assert not any(code in e.detail + e.subject for e in store.AuditEvent.select() for code in codes)


def test_an_older_database_gets_the_table(config_env):
    home = Home(config.load(config_env))
    home.connect()
    admins.add(home, "ops", PASSWORD)
    home.close()
    database = config_env.parent / "webcrypt.db"
    # the migration that makes the table, found by what it names (its number may change at a merge)
    ours = next(i for i, m in enumerate(store.MIGRATIONS) if "AdminRecoveryCode" in m.__code__.co_names)
    with sqlite3.connect(database) as db:  # what an installation of the schema before it has on disk
        db.execute("DROP TABLE admin_recovery_code")
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(ours),))
    assert run("admin", "list").exit_code == 15
    assert run("migrate").exit_code == 0
    with sqlite3.connect(database) as db:
        assert {row[1] for row in db.execute("PRAGMA table_info(admin_recovery_code)")} >= {"admin_id", "salt", "digest"}
    _, codes = enrol_on_cli()
    assert len(codes) == 10
    home = Home(config.load(config_env))
    home.connect()
    try:
        store.MIGRATIONS[ours]()  # idempotent: run again where the table is, it keeps the codes
        assert admins.recovery_codes_left("ops") == 10
    finally:
        home.close()
