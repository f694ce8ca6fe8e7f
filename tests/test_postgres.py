"""The core on a real PostgreSQL server: the store several portal nodes share."""

import subprocess
import sys

import pytest

import postgres
from webcrypt.core import mime
from webcrypt.infra import store
from webcrypt.usecases import accounts, gateway

pytestmark = pytest.mark.skipif(not postgres.available(), reason="Debian package postgresql-15 is not installed")

MESSAGE = b"From: s@bank.example\nTo: a@example.org\nSubject: pg\n\nover PostgreSQL\n"


@pytest.fixture(scope="module")
def server():
    pg = postgres.Server(12950).start()
    yield pg
    pg.stop()


@pytest.fixture
def pg_home(server, home_dir, clock):
    yield from postgres.home_on(server, home_dir, clock)


def test_round_trip_reset_rotation_and_delete(pg_home):
    from webcrypt.infra import keys

    (sealed,) = gateway.encrypt(pg_home, MESSAGE, "s@bank.example", ["a@example.org"], print_login_data=lambda n: None)
    data = mime.extract_envelope(sealed.data)
    new = accounts.reset(pg_home, "a@example.org")
    recipient = accounts.authenticate(pg_home, "a@example.org", new.password)
    assert gateway.open_envelope(pg_home, data, recipient).message == MESSAGE
    ring = keys.add_generation(pg_home.config.file("keys.master_key"), pg_home.keyring)
    pg_home.reload_keyring()
    assert accounts.rewrap_all(pg_home, ring.current) == 1
    assert gateway.open_envelope(pg_home, data, accounts.get("a@example.org")).message == MESSAGE
    assert accounts.delete("a@example.org") == 1
    assert store.Message.get_by_id(sealed.message_id).data_key_wrapped is None


RACER = r"""
import sys
from pathlib import Path
from webcrypt.base import config
from webcrypt.usecases import accounts
from webcrypt.context.home import Home
home = Home(config.load(Path(sys.argv[1])))
home.connect()
sent = []
accounts.ensure(home, "race@example.org", sent.append)
print(len(sent))
"""


def test_racing_first_use_creates_one_account(pg_home):
    path = str(pg_home.config.path)
    procs = [subprocess.Popen([sys.executable, "-c", RACER, path], stdout=subprocess.PIPE, text=True) for _ in range(6)]
    delivered = sum(int(p.communicate(timeout=60)[0]) for p in procs)
    assert all(p.returncode == 0 for p in procs)
    assert delivered == 1
    assert store.Recipient.select().where(store.Recipient.address == "race@example.org").count() == 1


def test_reading_keeps_an_upload_open_and_an_older_read_never_shortens_it(pg_home, clock):
    """inbox.keep_open is one conditional UPDATE: a node whose read computed an earlier end (it
    began before another node's read) leaves the later end alone; an expired upload stays closed."""
    from webcrypt.usecases import inbox

    (sealed,) = gateway.encrypt(pg_home, MESSAGE, "s@bank.example", ["a@example.org"], print_login_data=lambda n: None)
    upload, _ = inbox.accept(pg_home, mime.extract_envelope(sealed.data))
    row = store.Upload.get_by_id(upload)
    clock.advance(600)
    inbox.keep_open(pg_home, row)
    later = store.Upload.get_by_id(upload).expires
    assert later == clock.now + 30 * 60
    clock.advance(-300)  # the other node's read, five minutes older
    inbox.keep_open(pg_home, row)
    assert store.Upload.get_by_id(upload).expires == later
    clock.advance(later - clock.now + 1)
    inbox.keep_open(pg_home, row)
    assert store.Upload.get_by_id(upload).expires == later and inbox.record_of(pg_home, upload) is None
