"""Housekeeping (`maintain`) and backups taken while another process writes."""

import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from typer.testing import CliRunner

from webcrypt.base import config
from webcrypt.core import mime
from webcrypt.edges import cli
from webcrypt.infra import store
from webcrypt.usecases import accounts, gateway, housekeeping
from webcrypt.base.errors import AccountDisabled, MessageExpired, MessageRevoked
from webcrypt.context.home import Home

DAY = 86400
MESSAGE = b"From: service@bank.example\nTo: alice@example.org\nSubject: Old letter\n\nkept for years\n"


def encrypt_for(home, recipient, passwords, raw=MESSAGE):
    sealed = gateway.encrypt(home, raw, "service@bank.example", [recipient],
                             print_login_data=lambda new: passwords.update({new.address: new.password}))
    return sealed[0]


def test_maintain_removes_what_has_run_out(home, clock):
    passwords = {}
    old = encrypt_for(home, "alice@example.org", passwords)
    clock.advance(91 * DAY)  # past expire_days = 90
    fresh = encrypt_for(home, "bob@example.org", passwords)
    now = clock.now
    session = dict(kind="recipient", principal="bob@example.org")
    store.Session.create(id_hash="idle", created=now - 3600, last_seen=now - 3600, **session)
    store.Session.create(id_hash="old", created=now - 9 * 3600, last_seen=now - 60, **session)
    store.Session.create(id_hash="live", created=now - 60, last_seen=now - 60, **session)
    store.Upload.create(id="stale", envelope=b"x", created=now - 3600, expires=now - 1)
    store.Upload.create(id="pending", envelope=b"x", created=now, expires=now + 600)
    store.Throttle.create(key="login-client:192.0.2.1", failures=3, window_start=now - 2 * DAY)
    store.Throttle.create(key="login-client:192.0.2.2", failures=9, window_start=now - 2 * DAY,
                          blocked_until=now + 600)
    store.Throttle.create(key="login-client:192.0.2.3", failures=1, window_start=now - 60)
    store.Recipient.update(valid_until=now - 1).where(store.Recipient.address == "alice@example.org").execute()
    link = dict(address="bob@example.org", created=now - 3600)
    store.RecoveryLink.create(token_hash="used-up-by-time", expires=now - 1, **link)
    store.RecoveryLink.create(token_hash="live", expires=now + 600, **link)
    code = dict(code_hash="0" * 64, generation=1, created=now - 900)
    store.MailCode.create(address="alice@example.org", expires=now - 1, **code)
    store.MailCode.create(address="bob@example.org", expires=now + 60, **code)
    sender_link = dict(address="clerk@bank.example", browser_hash="b" * 64, target="", created=now - 900)
    store.SenderLink.create(token_hash="old", expires=now - 1, **sender_link)
    store.SenderLink.create(token_hash="new", expires=now + 600, **sender_link)
    ceremony = dict(purpose="sign_in", kind="recipient", state="{}")
    store.Ceremony.create(id_hash="unanswered", expires=now - 1, **ceremony)
    store.Ceremony.create(id_hash="running", expires=now + 60, **ceremony)

    done = housekeeping.maintain(home)
    assert done == {"message_keys_destroyed": 1, "uploads_deleted": 1, "sessions_deleted": 2,
                    "throttles_deleted": 1, "recovery_links_deleted": 1, "mail_codes_deleted": 1,
                    "sender_links_deleted": 1, "ceremonies_deleted": 1, "accounts_disabled": 1}
    assert [r.token_hash for r in store.SenderLink.select()] == ["new"]
    assert [c.id_hash for c in store.Ceremony.select()] == ["running"]
    assert [c.address for c in store.MailCode.select()] == ["bob@example.org"]
    assert [r.token_hash for r in store.RecoveryLink.select()] == ["live"]
    assert store.Message.get_by_id(old.message_id).data_key_wrapped is None
    assert store.Message.get_by_id(fresh.message_id).data_key_wrapped is not None
    assert [s.id_hash for s in store.Session.select()] == ["live"]
    assert [u.id for u in store.Upload.select()] == ["pending"]
    assert {t.key for t in store.Throttle.select()} == {"login-client:192.0.2.2", "login-client:192.0.2.3"}
    assert accounts.get("alice@example.org").disabled
    with pytest.raises(AccountDisabled):
        accounts.authenticate(home, "alice@example.org", passwords["alice@example.org"])

    # an expired message stays unreadable even if its expiry were pushed out again by hand
    store.Message.update(expires=now + DAY).where(store.Message.id == old.message_id).execute()
    store.Recipient.update(disabled=False, valid_until=None).execute()
    alice = accounts.authenticate(home, "alice@example.org", passwords["alice@example.org"])
    with pytest.raises(MessageRevoked):
        gateway.open_envelope(home, mime.extract_envelope(old.data), alice)

    assert housekeeping.maintain(home) == dict.fromkeys(done, 0)  # idempotent


def test_expired_message_cannot_be_opened_before_maintain_either(home, clock):
    passwords = {}
    sealed = encrypt_for(home, "alice@example.org", passwords)
    clock.advance(91 * DAY)
    alice = accounts.authenticate(home, "alice@example.org", passwords["alice@example.org"])
    with pytest.raises(MessageExpired):
        gateway.open_envelope(home, mime.extract_envelope(sealed.data), alice)


def test_extend_re_enables_an_account_that_maintain_disabled(home, clock):
    from webcrypt.usecases import account_admin

    accounts.create(home, "carol@example.org", "carol password")
    store.Recipient.update(valid_until=clock.now - 1).execute()
    housekeeping.maintain(home)
    assert accounts.get("carol@example.org").disabled
    account_admin.extend(home, "carol@example.org", 30, actor="test")
    assert not accounts.get("carol@example.org").disabled
    account_admin.set_disabled(home, "carol@example.org", True, actor="test")  # an admin's disable stays
    store.Recipient.update(valid_until=clock.now - 1).execute()
    account_admin.extend(home, "carol@example.org", 30, actor="test")
    assert accounts.get("carol@example.org").disabled


WRITER = textwrap.dedent("""
    import sys, time
    from webcrypt.base import config
    from webcrypt.usecases import gateway
    from webcrypt.context.home import Home
    from pathlib import Path
    home = Home(config.load(Path(sys.argv[1])))
    home.connect()
    raw = b"From: a@bank.example\\nSubject: load\\n\\n" + b"x" * 20000
    print("ready", flush=True)
    end = time.monotonic() + float(sys.argv[2])
    n = 0
    while time.monotonic() < end:
        gateway.encrypt(home, raw, "a@bank.example", [f"load{n % 50}@example.org"], print_login_data=lambda new: None)
        n += 1
    print(n, flush=True)
""")


def test_backup_under_load_restores_to_a_working_system(home_dir, home, tmp_path, monkeypatch):
    passwords = {}
    old = encrypt_for(home, "alice@example.org", passwords)
    config_path = home_dir / "webcrypt.toml"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(config_path), "4"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # let the writer get going
        monkeypatch.setenv("WEBCRYPT_CONFIG", str(config_path))
        backups = []
        for i in range(3):  # several copies, each in the middle of the writing
            target = tmp_path / f"backup-{i}.db"
            result = CliRunner().invoke(cli.app, ["backup", str(target)], catch_exceptions=False)
            assert result.exit_code == 0, result.output
            backups.append(target)
            time.sleep(0.3)
        written = int(writer.stdout.readline())
    finally:
        writer.wait(timeout=60)
    assert writer.returncode == 0 and written > 0

    for target in backups:
        assert oct(target.stat().st_mode)[-3:] == "600"
        with sqlite3.connect(target) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not list(tmp_path.glob(".*.partial"))

    restored = restore(backups[1], home_dir, tmp_path / "restored")
    try:
        alice = accounts.authenticate(restored, "alice@example.org", passwords["alice@example.org"])
        assert gateway.open_envelope(restored, mime.extract_envelope(old.data), alice).message == MESSAGE
        copied = store.Message.select().count()
        assert 1 < copied <= 1 + written  # some of the load, consistently cut
        assert store.Recipient.select().count() >= 2
        encrypt_for(restored, "dave@example.org", passwords)  # and it keeps working
    finally:
        restored.close()


def restore(backup, home_dir, folder):
    """The documented restore (docs/admin.md): config and master.key, the backup as webcrypt.db."""
    folder.mkdir()
    shutil.copy2(home_dir / "webcrypt.toml", folder / "webcrypt.toml")
    shutil.copy2(home_dir / "master.key", folder / "master.key")
    shutil.copy2(backup, folder / "webcrypt.db")
    home = Home(config.load(folder / "webcrypt.toml"))
    store.close()
    home.connect()
    return home


def test_backup_refuses_a_folder_and_an_unwritable_place(config_env, tmp_path):
    result = CliRunner().invoke(cli.app, ["backup", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 1 and "is a folder" in result.stderr
    result = CliRunner().invoke(cli.app, ["backup", str(tmp_path / "no" / "such" / "x.db")], catch_exceptions=False)
    assert result.exit_code == 1 and "cannot write backup" in result.stderr


def test_maintain_cli(config_env, home):
    result = CliRunner().invoke(cli.app, ["maintain"], catch_exceptions=False)
    assert result.exit_code == 0 and "message keys destroyed: 0" in result.stdout


def test_backup_while_a_real_portal_serves_restores_to_a_working_system(home_dir, home, tmp_path, monkeypatch):
    """`webcrypt serve` takes uploads and logins (database writes) while backups are taken."""
    import base64
    import http.client
    import threading
    import urllib.parse

    from conftest import write_settings

    port = 12791
    config_path = home_dir / "webcrypt.toml"
    write_settings(config_path, {"portal": {"secure_cookies": "false"}})
    passwords = {}
    old = encrypt_for(home, "alice@example.org", passwords)
    body = urllib.parse.urlencode({"envelope": base64.encodebytes(mime.extract_envelope(old.data)).decode()})
    server = subprocess.Popen([sys.executable, "-m", "webcrypt", "--config", str(config_path), "serve",
                               "--listen", f"127.0.0.1:{port}", "--threads", "4"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    answers, stop = [], threading.Event()

    def load():
        while not stop.is_set():
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("POST", "/open", body, {"Content-Type": "application/x-www-form-urlencoded"})
                answers.append(connection.getresponse().status)
                connection.close()
            except OSError:
                time.sleep(0.05)  # not listening yet

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while answers.count(303) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        monkeypatch.setenv("WEBCRYPT_CONFIG", str(config_path))
        backups = []
        for i in range(3):
            target = tmp_path / f"portal-backup-{i}.db"
            assert CliRunner().invoke(cli.app, ["backup", str(target)], catch_exceptions=False).exit_code == 0
            backups.append(target)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
        server.terminate()
        server.wait(timeout=20)
    # uploads stored (never "database is locked": 503), some throttled per client
    assert answers.count(303) >= 20 and set(answers) <= {303, 429}
    for target in backups:
        with sqlite3.connect(target) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert copy.execute("SELECT COUNT(*) FROM upload").fetchone()[0] > 0
    restored = restore(backups[-1], home_dir, tmp_path / "restored")
    try:
        alice = accounts.authenticate(restored, "alice@example.org", passwords["alice@example.org"])
        assert gateway.open_envelope(restored, mime.extract_envelope(old.data), alice).message == MESSAGE
        encrypt_for(restored, "erin@example.org", passwords)
    finally:
        restored.close()
