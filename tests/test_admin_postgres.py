"""Administration on a real PostgreSQL server: monitor, maintain, recall, settings; backup by pg_dump."""


import pytest

import postgres
from webcrypt.infra import store
from webcrypt.usecases import accounts, events, gateway, housekeeping, messages, monitor, settings

pytestmark = pytest.mark.skipif(not postgres.available(), reason="Debian package postgresql-15 is not installed")

MESSAGE = b"From: s@bank.example\nTo: a@example.org\nSubject: pg\n\nover PostgreSQL\n"


@pytest.fixture(scope="module")
def server():
    pg = postgres.Server(12750).start()
    yield pg
    pg.stop()


@pytest.fixture
def pg_home(server, home_dir, clock):
    yield from postgres.home_on(server, home_dir, clock)


def test_admin_use_cases_on_postgresql(pg_home, clock, tmp_path):
    (sealed,) = gateway.encrypt(pg_home, MESSAGE, "s@bank.example", ["a@example.org"], print_login_data=lambda n: None)
    events.count(pg_home, events.ENCRYPTED)  # on top of the carrier encrypt counted itself
    events.count(pg_home, events.ENCRYPTED)
    figures = monitor.snapshot(pg_home)
    assert figures.last_hour["encrypted"] == 3 and figures.gauges["database_bytes"] > 1_000_000
    assert monitor.check(pg_home, figures).state == monitor.OK

    assert [m.id for m in messages.listing(sender="bank")] == [sealed.message_id]
    messages.recall(pg_home, sealed.message_id, actor="test")
    assert messages.status(messages.get(sealed.message_id), clock.now) == "recalled"

    store.Recipient.update(valid_until=clock.now - 1).execute()
    assert housekeeping.maintain(pg_home)["accounts_disabled"] == 1
    assert accounts.get("a@example.org").disabled

    settings.save_overrides(pg_home, {"policy.keyword": "WebCrypt"}, actor="test")
    assert pg_home.config["policy.keyword"] == "WebCrypt"

    # backup calls pg_dump (restore: tests/test_postgres_production.py)
    assert housekeeping.backup(pg_home, tmp_path / "copy.dump").read_bytes()[:5] == b"PGDMP"
