"""Disabled and expired accounts in the mail flow, and the schema migration that tells them apart."""

import email
import email.policy
import sqlite3

import pytest
from typer.testing import CliRunner

from conftest import write_settings
from gateway_support import Sink, open_carrier, run_pipe
from webcrypt.base import config
from webcrypt.edges import cli
from webcrypt.infra import store
from webcrypt.usecases import accounts, housekeeping
from webcrypt.context.home import Home

PORT = 12503
SENDER = "clerk@corp.example"
MAIL = b"From: clerk@corp.example\nTo: a@example.org, b@example.org\nSubject: [secure] Contract\n\nSigned.\n"


@pytest.fixture
def conf(home_dir):
    path = home_dir / "webcrypt.toml"
    write_settings(path, {"mail": {"reinject": f'"smtp://127.0.0.1:{PORT}"', "from": '"webcrypt@corp.example"',
                                   "internal_domains": '["corp.example"]'}})
    return path


@pytest.fixture
def sink():
    with Sink(PORT) as s:
        yield s


def home_of(conf, clock=None):
    home = Home(config.load(conf), clock=clock) if clock else Home(config.load(conf))
    home.connect()
    return home


def notices(sink):
    parsed = [(m, email.message_from_bytes(m.data, policy=email.policy.default)) for m in sink.messages]
    return [mail for m, mail in parsed if m.recipients == [SENDER] and "not delivered" in mail["Subject"]]


def test_a_disabled_recipient_does_not_stop_the_others(conf, sink):
    home = home_of(conf)
    accounts.create(home, "b@example.org", "a long password 1")
    accounts.set_disabled("b@example.org", True)
    home.close()
    result = run_pipe(conf, SENDER, ["a@example.org", "b@example.org"], MAIL)
    assert result.returncode == 0, result.stderr
    (carrier,) = sink.carriers("a@example.org")
    assert open_carrier(conf, carrier.data, "a@example.org") == MAIL
    assert sink.to("b@example.org") == []
    (notice,) = notices(sink)
    body = notice.get_content()
    assert "b@example.org" in body and "Contract" in body and "Signed" not in body


def test_only_disabled_recipients_is_refused_for_a_bounce(conf, sink):
    home = home_of(conf)
    accounts.create(home, "b@example.org", "a long password 1")
    accounts.set_disabled("b@example.org", True)
    home.close()
    result = run_pipe(conf, SENDER, ["b@example.org"], MAIL)
    assert result.returncode == 69
    assert result.stderr.decode().startswith("5.") and sink.messages == []


def test_new_mail_renews_an_account_that_only_expired(conf, sink, clock):
    home = home_of(conf, clock)
    accounts.create(home, "a@example.org", "a long password 1")
    clock.advance(400 * 86400)
    assert housekeeping.maintain(home, "maintain")["accounts_disabled"] == 1
    assert accounts.get("a@example.org").disabled
    from webcrypt.usecases import gateway

    (sealed,) = gateway.encrypt(home, MAIL, SENDER, ["a@example.org"], print_login_data=lambda n: None)
    renewed = accounts.get("a@example.org")
    assert not renewed.disabled and renewed.valid_until == clock.now + 365 * 86400
    assert accounts.authenticate(home, "a@example.org", "a long password 1")
    home.close()


def test_mail_to_an_account_in_use_extends_its_validity(conf, clock):
    home = home_of(conf, clock)
    accounts.create(home, "a@example.org", "a long password 1")
    from webcrypt.usecases import gateway

    clock.advance(300 * 86400)
    gateway.encrypt(home, MAIL, SENDER, ["a@example.org"], print_login_data=lambda n: None)
    assert accounts.get("a@example.org").valid_until == clock.now + 365 * 86400
    home.close()


def test_schema_1_database_is_migrated_and_refused_before(conf):
    home = home_of(conf)
    accounts.create(home, "a@example.org", "a long password 1")
    home.close()
    database = conf.parent / "webcrypt.db"
    with sqlite3.connect(database) as db:  # what a version-1 installation has on disk
        db.execute("ALTER TABLE recipient DROP COLUMN disabled_reason")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    runner = CliRunner()
    before = runner.invoke(cli.app, ["--config", str(conf), "user", "list"])
    assert before.exit_code == 15 and "webcrypt migrate" in before.output
    result = runner.invoke(cli.app, ["--config", str(conf), "migrate"])
    assert result.exit_code == 0 and f"version {len(store.MIGRATIONS)}" in result.output  # and every later one
    home = home_of(conf)
    assert store.schema_version() == len(store.MIGRATIONS) and accounts.get("a@example.org").disabled_reason is None
    home.close()
