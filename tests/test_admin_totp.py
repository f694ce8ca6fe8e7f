"""A second factor (TOTP, RFC 6238) for console administrators: enrolled over SSH, asked at /admin/login."""

import base64
import hashlib
import hmac
import re
import sqlite3
import struct
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from conftest import write_settings
from portal_client import Client
from webcrypt.base import config
from webcrypt.core import crypto
from webcrypt.edges import cli
from webcrypt.infra import store
from webcrypt.usecases import admins
from webcrypt.context.home import Home
from webcrypt.edges.portal import create_app

PASSWORD = "a long admin password"


def run(*args, input=None):
    return CliRunner().invoke(cli.app, list(args), input=input, catch_exceptions=False)


def reference_totp(secret_b32: str, unix_time: float, digits: int = 6, period: int = 30) -> str:
    """RFC 6238 written out here, independent of webcrypt.core.crypto."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(unix_time // period)), hashlib.sha1).digest()
    offset = digest[19] & 15
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10 ** digits:0{digits}d}"


@pytest.fixture
def web(config_env, clock):
    write_settings(config_env, {"portal": {"secure_cookies": "false"}})
    home = Home(config.load(config_env), clock=clock)
    home.connect()
    admins.add(home, "ops", PASSWORD)
    yield home
    home.close()


def enrol(name="ops") -> str:
    result = run("admin", "totp", name)
    assert result.exit_code == 0, result.output
    uri = re.search(r"otpauth://\S+", result.output).group(0)
    secret = re.search(r"Secret \(base32\): ([A-Z2-7]+)", result.output).group(1)
    parts = urlsplit(uri)
    assert parts.netloc == "totp" and parts.path == f"/webcrypt:{name}"
    query = parse_qs(parts.query)
    assert query["secret"] == [secret] and query["issuer"] == ["webcrypt"]
    return secret


def attempt(home, code=None, password=PASSWORD):
    client = Client(create_app(home))
    page = client.get("/admin/login")
    form = {"csrf": page.field("csrf"), "name": "ops", "password": password}
    if code is not None:
        form["code"] = code
    return client, client.post("/admin/login", form)


def test_rfc_6238_vectors():
    key = b"12345678901234567890"  # RFC 6238 appendix B, SHA-1, last six of the eight digits
    for unix_time, expected in ((59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
                                (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130")):
        assert crypto.totp(key, unix_time // 30) == expected[-6:]
    assert crypto.unbase32(crypto.base32(key)) == key
    assert crypto.totp_match(key, "287082", 59 // 30 + 1) == 1 and crypto.totp_match(key, "287082", 4) is None


def test_login_form_offers_a_one_time_code_field(web):
    page = Client(create_app(web)).get("/admin/login").text
    field = re.search(r'<input id="code"[^>]*>', page).group(0)
    assert 'autocomplete="one-time-code"' in field and 'inputmode="numeric"' in field and "required" not in field
    german = Client(create_app(web)).get("/admin/login", headers={"Accept-Language": "de"}).text
    assert "Authenticator-App" in german


def test_enrolled_admin_needs_the_right_fresh_code(web, clock):
    secret = enrol()
    row = store.Admin.get(store.Admin.name == "ops")
    assert crypto.base32(crypto.unbase32(secret)).encode() not in row.totp_secret  # sealed, never plaintext
    assert row.totp_generation == web.keyring.current
    code = reference_totp(secret, clock.now)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for refused_code in (None, "", wrong):
        _, refused = attempt(web, refused_code)
        # the same text as a wrong password: nothing says the password was right
        assert refused.status == 403 and "The name or the password is wrong." in refused.text
    _, wrong_password = attempt(web, code, password="not the admin password")
    assert wrong_password.status == 403
    client, ok = attempt(web, code)
    assert ok.status == 303 and client.get("/admin/users").status == 200
    _, replayed = attempt(web, code)
    assert replayed.status == 403 and "The name or the password is wrong." in replayed.text
    clock.advance(30)  # the code, one step old now, is still in the window but used
    _, late = attempt(web, code)
    assert late.status == 403
    _, next_step = attempt(web, reference_totp(secret, clock.now))
    assert next_step.status == 303
    failed = [e.detail for e in store.AuditEvent.select().where(store.AuditEvent.action == "admin_login_failed")]
    assert len(failed) == 6 and sum("one-time code" in d for d in failed) == 5  # the audit trail tells why


def test_a_code_of_the_neighbouring_step_is_accepted_once_older_ones_not(web, clock):
    secret = enrol()
    _, early = attempt(web, reference_totp(secret, clock.now + 30))  # the phone's clock runs ahead
    assert early.status == 303
    _, before = attempt(web, reference_totp(secret, clock.now))  # a step before the one used
    assert before.status == 403
    _, far = attempt(web, reference_totp(secret, clock.now + 90))
    assert far.status == 403


def test_failed_codes_count_towards_the_throttle(web, clock):
    enrol()
    statuses = [attempt(web, "000000" if i % 2 else None)[1].status for i in range(6)]
    assert statuses[:5] == [403] * 5 and statuses[5] == 429


def test_off_restores_password_only_login_and_is_audited(web, clock):
    secret = enrol()
    assert run("admin", "list", "--json").exit_code == 0
    _, refused = attempt(web)
    assert refused.status == 403
    result = run("admin", "totp", "ops", "--off")
    assert result.exit_code == 0 and "removed" in result.output
    assert store.Admin.get(store.Admin.name == "ops").totp_secret is None
    _, ok = attempt(web)
    assert ok.status == 303
    actions = [e.action for e in store.AuditEvent.select().order_by(store.AuditEvent.id)]
    assert actions.index("admin_totp_on") < actions.index("admin_totp_off")
    assert secret not in "".join(e.detail + e.subject for e in store.AuditEvent.select())
    assert run("admin", "totp", "nobody").exit_code != 0


def test_require_totp_refuses_an_admin_without_one(web, clock, config_env):
    write_settings(config_env, {"admin": {"require_totp": "true"}})
    home = Home(config.load(config_env), clock=clock)
    home.connect()
    try:
        client, refused = attempt(home)
        assert refused.status == 403 and "webcrypt admin totp" in refused.text
        assert client.get("/admin/users").status == 303
        _, wrong = attempt(home, password="not the admin password")
        assert wrong.status == 403 and "webcrypt admin totp" not in wrong.text  # only a right password learns it
        secret = enrol()
        _, ok = attempt(home, reference_totp(secret, clock.now))
        assert ok.status == 303
    finally:
        home.close()


def test_schema_2_database_gets_the_columns(config_env):
    home = Home(config.load(config_env))
    home.connect()
    admins.add(home, "ops", PASSWORD)
    home.close()
    database = config_env.parent / "webcrypt.db"
    with sqlite3.connect(database) as db:  # what a version-2 installation has on disk
        for column in ("totp_secret", "totp_generation", "totp_last_step"):
            db.execute(f"ALTER TABLE admin DROP COLUMN {column}")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    before = run("admin", "list")
    assert before.exit_code == 15 and "webcrypt migrate" in before.output
    result = run("migrate")
    assert result.exit_code == 0 and f"version {len(store.MIGRATIONS)}" in result.output
    with sqlite3.connect(database) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(admin)")}
    assert {"totp_secret", "totp_generation", "totp_last_step"} <= columns
    assert run("admin", "totp", "ops").exit_code == 0
