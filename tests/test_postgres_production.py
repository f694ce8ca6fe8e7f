"""PostgreSQL in production (issue 11.2): every configuration key checked when the file loads,
a running site's SQLite moved into PostgreSQL without loss, backup and restore on PostgreSQL."""

import subprocess
import sys

import pytest

from conftest import write_settings
from webcrypt.base.errors import ExitStatus

# key, TOML literal, words the one line must carry (besides the key and the file)
BAD_VALUES = [
    ("database", "url", '"mongodb://db/webcrypt"', "must start with sqlite:///, postgresql://"),
    ("database", "url", '"postgresql://u:secret@db"', "must name the database"),
    ("database", "url", '"sqlite://webcrypt.db"', "four slashes"),
    ("portal", "listen", '"abc"', "must be HOST:PORT"),
    ("portal", "listen", '"127.0.0.1:99999"', "must be HOST:PORT"),
    ("relay", "listen", '":25"', "must be HOST:PORT"),
    ("portal", "threads", "0", "must be at least 1"),
    ("relay", "processes", "0", "must be at least 1"),
    ("throttle", "login_failures_per_account", "0", "must be at least 1"),
    ("admin", "networks", '["not-a-net"]', "IP addresses or networks"),
    ("portal", "trusted_proxies", '["10.0.0.0/33"]', "IP addresses or networks"),
    ("monitor", "metrics_networks", '["localhost"]', "IP addresses or networks"),
    ("relay", "client_networks", '["10.1.2.3/8x"]', "IP addresses or networks"),
    ("mail", "internal_domains", '["https://example.com"]', "mail domains"),
    ("policy", "never_encrypt_domains", '["a@b.example"]', "mail domains"),
    ("mail", "from", '"webcrypt"', "one mail address"),
    ("portal", "legacy_urls", '["old.example.com"]', "http://"),
    ("branding", "color", '"blue"', "#1f4e79"),
    ("branding", "logo_url", '"http://x.example/logo.png"', "https://"),
    ("keys", "master_key", '""', "master key file"),
]


def webcrypt(config_path, *args, env=None):
    return subprocess.run([sys.executable, "-m", "webcrypt", "--config", str(config_path), *args],
                          capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("section,key,literal,words", BAD_VALUES, ids=[f"{s}.{k}={v}" for s, k, v, _ in BAD_VALUES])
def test_a_bad_value_is_one_line_naming_key_file_and_fix(home_dir, capsys, section, key, literal, words):
    from webcrypt.edges.cli import main

    path = home_dir / "webcrypt.toml"
    write_settings(path, {section: {key: literal}})
    assert main(["--config", str(path), "user", "list"]) == ExitStatus.CONFIG
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"'{section}.{key}'" in lines[0] and str(path) in lines[0] and words in lines[0], lines[0]
    assert "secret" not in lines[0]  # a password in a database URL is never echoed


@pytest.mark.parametrize("literal", ['"abc"', '"postgresql://u:secret@127.0.0.1:1"'])
def test_every_command_refuses_a_bad_value_at_load(home_dir, literal):
    path = home_dir / "webcrypt.toml"
    key = "listen" if literal == '"abc"' else "url"
    write_settings(path, {"portal" if key == "listen" else "database": {key: literal}})
    for command in (["user", "list"], ["monitor"], ["serve"], ["relay"], ["migrate"], ["maintain"]):
        result = webcrypt(path, *command)
        assert result.returncode == ExitStatus.CONFIG, (command, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and key in result.stderr, (command, result.stderr)


def test_pipe_defers_on_a_bad_value_with_the_same_line(home_dir):
    path = home_dir / "webcrypt.toml"
    write_settings(path, {"portal": {"threads": "0"}})
    result = subprocess.run([sys.executable, "-m", "webcrypt", "--config", str(path), "pipe", "-f", "a@b.example",
                             "--", "c@d.example"], input="Subject: x\n\nbody\n", capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 75, result.stderr  # stays in the MTA's queue until the file is fixed
    assert "'portal.threads' must be at least 1" in result.stderr and "Traceback" not in result.stderr


def test_a_missing_database_driver_names_the_package_to_install(home_dir, tmp_path):
    # a driver that cannot be imported, as on a system without psycopg2
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['psycopg2'] = None\n")
    import os

    path = home_dir / "webcrypt.toml"
    write_settings(path, {"database": {"url": '"postgresql://webcrypt@127.0.0.1:5432/webcrypt"'}})
    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = webcrypt(path, "migrate", env=env)
    assert result.returncode == ExitStatus.CONFIG, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "'database.url'" in result.stderr and "psycopg2" in result.stderr
    assert "pip install 'webcrypt[postgres]'" in result.stderr and "python3-psycopg2" in result.stderr


def test_good_values_still_load(home_dir):
    from webcrypt.base import config

    path = home_dir / "webcrypt.toml"
    write_settings(path, {"portal": {"listen": '"[::1]:8081"', "threads": "2"},
                          "mail": {"internal_domains": '["example.com", "sub.example.org."]'},
                          "admin": {"networks": '["10.0.0.0/8", "2001:db8::1"]'}})
    loaded = config.load(path)
    assert loaded["portal.listen"] == "[::1]:8081" and loaded["portal.threads"] == 2


# --- moving a running site's SQLite into PostgreSQL ---------------------------------------

import base64  # noqa: E402
import uuid  # noqa: E402

import postgres  # noqa: E402
from portal_client import Client  # noqa: E402
from webcrypt.base import config
from webcrypt.core import mime
from webcrypt.infra import store
from webcrypt.usecases import admins, gateway, settings, throttle  # noqa: E402
from webcrypt.context.home import Home  # noqa: E402
from webcrypt.edges.portal.app import create_app  # noqa: E402

PG_PORT = 13200
NEW_PASSWORD = "violet tractor harbour"
needs_postgres = pytest.mark.skipif(not postgres.available(), reason="Debian package postgresql-15 is not installed")


@pytest.fixture(scope="module")
def pg():
    server = postgres.Server(PG_PORT).start()
    yield server
    server.stop()


def mail(number: int, to: str) -> bytes:
    return (f"From: clerk@bank.example\nTo: {to}\nSubject: Statement {number}\nMessage-ID: <m{number}@bank.example>\n\n"
            f"Balance number {number} for {to}.\n").encode()


def read_in_portal(client: Client, envelope: bytes, address: str, password: str) -> str:
    """Open a secure.htm's envelope, log in (changing a first password), return the message page."""
    r = client.post("/open", {"envelope": base64.encodebytes(envelope).decode()})
    assert r.status == 303, r.text
    page = client.get(r.location)
    upload = page.field("upload")
    r = client.post("/login", {"csrf": page.field("csrf"), "upload": upload, "address": address, "password": password})
    assert r.status == 303, r.text
    if r.location == "/password":
        form = client.get("/password")
        r = client.post("/password", {"csrf": form.field("csrf"), "current": password, "new": NEW_PASSWORD,
                                      "repeat": NEW_PASSWORD})
        assert r.status == 303, r.text
    client.upload = upload
    return client.get(f"/message/{upload}").text


def a_running_site(home, count: int = 6):
    """Mail to several recipients, one read (a session, first_opened), an administrator, console
    settings, throttle rows, audit lines and counters: what a site that has been in use holds."""
    envelopes = []
    for number in range(count):
        to = f"reader{number % 3}@example.org"
        logins = []
        (sealed,) = gateway.encrypt(home, mail(number, to), "clerk@bank.example", [to], print_login_data=logins.append)
        envelopes.append((number, to, mime.extract_envelope(sealed.data), logins[0].password if logins else None))
    passwords = {to: password for _, to, _, password in envelopes if password}
    admins.add(home, "root", "correct horse battery staple", actor="test")
    settings.save_branding(home, {"name": "Bank SecureMail", "color": "#003366"}, actor="test")
    with pytest.raises(Exception):
        throttle.take(home, "test:key", throttle.Rule(0, 3600, 3600))
    reader = Client(create_app(home))
    number, to, envelope, _ = envelopes[0]
    assert f"Balance number {number} for {to}." in read_in_portal(reader, envelope, to, passwords[to])
    return envelopes, passwords, reader


@needs_postgres
def test_db_copy_moves_everything_and_every_old_secure_htm_opens(pg, home, home_dir):
    envelopes, passwords, reader = a_running_site(home)
    before = {model._meta.table_name: list(store.table_rows(model)) for model in store.TABLES}
    assert all(before[name] for name in ("recipient", "message", "session", "audit_event", "admin", "setting",
                                         "throttle", "stat", "thread_ref"))
    home.close()
    url = pg.create_database("wc_" + uuid.uuid4().hex[:12])
    path = home_dir / "webcrypt.toml"

    result = webcrypt(path, "db", "copy", "--to", url)
    assert result.returncode == 0, result.stderr
    assert f"Copied and verified" in result.stdout and "recipient\t3" in result.stdout

    again = webcrypt(path, "db", "copy", "--to", url)  # never into a database that holds rows
    assert again.returncode == ExitStatus.EXISTS and len(again.stderr.strip().splitlines()) == 1, again.stderr
    assert "is not empty" in again.stderr

    write_settings(path, {"database": {"url": f'"{url}"'}})
    moved = Home(config.load(path), clock=home.clock)
    moved.connect()
    try:
        after = {model._meta.table_name: list(store.table_rows(model)) for model in store.TABLES}
        assert after == before  # every row of every table, the copy's own audit line aside (on the source)
        app = create_app(moved)
        reader.app = app  # the reader logged in before the move is still logged in
        page = reader.get(f"/message/{reader.upload}")
        assert page.status == 200 and "Balance number 0 for reader0@example.org." in page.text
        for number, to, envelope, _ in envelopes:  # every secure.htm sent before the move opens
            client = Client(app)
            password = NEW_PASSWORD if to == envelopes[0][1] else passwords[to]
            page = read_in_portal(client, envelope, to, password)
            assert f"Balance number {number} for {to}." in page, page[:500]
            if to != envelopes[0][1]:
                passwords[to] = NEW_PASSWORD
        # new rows after the move: ids continue after the copied ones
        logins = []
        gateway.encrypt(moved, mail(99, "newcomer@example.org"), "clerk@bank.example", ["newcomer@example.org"],
                        print_login_data=logins.append)
        assert store.Recipient.get(store.Recipient.address == "newcomer@example.org").id == 4
        assert store.Setting.get(store.Setting.key == "branding")
    finally:
        moved.close()


@needs_postgres
def test_a_copy_the_target_refuses_leaves_it_empty(pg, home, home_dir):
    a_running_site(home, count=2)
    # a value SQLite keeps and PostgreSQL refuses (a NUL in a text column)
    store.AuditEvent.create(at=home.now(), actor="test", action="odd", detail="nul\x00inside")
    home.close()
    url = pg.create_database("wc_" + uuid.uuid4().hex[:12])
    path = home_dir / "webcrypt.toml"
    result = webcrypt(path, "db", "copy", "--to", url)
    assert result.returncode == ExitStatus.ERROR, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "nothing was copied" in result.stderr, result.stderr
    target = store.Other(url)
    try:
        with target.bound():
            assert store.filled_tables() == []
    finally:
        target.close()


@needs_postgres
def test_backup_and_restore_on_postgresql_as_docs_admin_md_says(pg, home_dir, tmp_path, clock):
    url = pg.create_database("wc_" + uuid.uuid4().hex[:12])
    path = home_dir / "webcrypt.toml"
    write_settings(path, {"database": {"url": f'"{url}"'}})
    assert webcrypt(path, "migrate").returncode == 0
    site = Home(config.load(path), clock=clock)
    site.connect()
    try:
        envelopes, passwords, _ = a_running_site(site, count=3)
    finally:
        site.close()
    dump = tmp_path / "webcrypt.dump"
    result = webcrypt(path, "backup", str(dump))  # docs/admin.md: webcrypt backup FILE, pg_dump inside
    assert result.returncode == 0, result.stderr
    assert dump.read_bytes()[:5] == b"PGDMP" and dump.stat().st_mode & 0o077 == 0

    # the disaster: mail after the backup, then the database lost
    site.connect()
    gateway.encrypt(site, mail(50, "late@example.org"), "clerk@bank.example", ["late@example.org"],
                    print_login_data=lambda new: None)
    store.db.execute_sql("DROP TABLE recipient CASCADE")
    site.close()
    # docs/admin.md, "Restore (PostgreSQL)": pg_restore into the database, then webcrypt migrate
    restore = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={url}", str(dump)],
                             capture_output=True, text=True, timeout=120)
    assert restore.returncode == 0, restore.stderr
    assert webcrypt(path, "migrate").returncode == 0

    site.connect()
    try:
        app = create_app(site)
        for number, to, envelope, _ in envelopes:
            password = NEW_PASSWORD if number == 0 else passwords[to]
            assert f"Balance number {number} for {to}." in read_in_portal(Client(app), envelope, to, password)
            passwords[to] = NEW_PASSWORD if number else passwords[to]
        assert not store.Recipient.select().where(store.Recipient.address == "late@example.org").exists()
    finally:
        site.close()


# --- the appliance on PostgreSQL: install.sh --database, the built executable's driver -----


@needs_postgres
def test_install_sh_database_puts_the_appliance_on_postgresql(pg, tmp_path):
    """install.sh --database URL with the built executable (build.spec carries psycopg2): the
    configuration names the database, it is migrated there, and the monitor shows which store."""
    import json
    import shutil
    import tempfile
    from pathlib import Path

    from appliance_support import ROOT, built
    from test_appliance import ACCOUNT, layout, user_exists

    onedir = built()["onedir"]
    url = pg.create_database("wc_" + uuid.uuid4().hex[:12])
    root = Path(tempfile.mkdtemp(prefix="webcrypt-pg-appliance-", dir="/tmp"))
    root.chmod(0o755)
    had_user = user_exists(ACCOUNT)
    env = layout(root)
    try:
        result = subprocess.run([str(ROOT / "appliance/install.sh"), "--hostname", "secure.example.com",
                                 "--web", "none", "--no-postfix", "--database", url,
                                 "--executable", str(onedir.parent)], env=env, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        config_path = root / "etc/webcrypt/webcrypt.toml"
        assert f'url = "{url}"' in config_path.read_text()
        admin = [str(root / "usr/local/bin/webcrypt"), "--config", str(config_path)]
        figures = subprocess.run([*admin, "monitor", "--json"], capture_output=True, text=True, timeout=60, cwd="/")
        assert figures.returncode == 0, figures.stderr
        assert json.loads(figures.stdout)["database"] == f"PostgreSQL {url.rsplit('/', 1)[1]} on 127.0.0.1:{PG_PORT}"
        assert not (root / "var/lib/webcrypt/webcrypt.db").exists()  # no SQLite beside it
        # an upgrade run keeps it; another URL for an existing site is refused with the way to move
        again = subprocess.run([str(ROOT / "appliance/install.sh"), "--hostname", "secure.example.com", "--web", "none",
                                "--no-postfix", "--database", url + "x", "--executable", str(onedir.parent)],
                               env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode != 0 and "webcrypt db copy" in again.stderr, again.stdout + again.stderr
    finally:
        subprocess.run([str(ROOT / "appliance/uninstall.sh"), *([] if had_user else ["--purge"])], env=env,
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


# --- a connection the database drops in the middle of a request ------------------------------

@pytest.fixture
def pg_home(pg, home_dir, clock):
    yield from postgres.home_on(pg, home_dir, clock)


def drop_connection_once(app, pg):
    """After the request's own connection check: the server ends this session, as a restart's fast
    shutdown does between the check and the first query."""
    import psycopg2

    dropped = []

    def drop():
        if dropped:
            return
        pid = store.db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
        with psycopg2.connect(host="127.0.0.1", port=pg.port, user="postgres", dbname="postgres") as other:
            other.cursor().execute("SELECT pg_terminate_backend(%s)", (pid,))
        dropped.append(pid)

    app.add_hook("before_request", drop)
    return dropped


@needs_postgres
def test_a_read_whose_connection_drops_is_answered_on_a_fresh_one(pg, pg_home):
    logins = []
    (sealed,) = gateway.encrypt(pg_home, mail(1, "reader@example.org"), "clerk@bank.example", ["reader@example.org"],
                                print_login_data=logins.append)
    app = create_app(pg_home)
    reader = Client(app)
    read_in_portal(reader, mime.extract_envelope(sealed.data), "reader@example.org", logins[0].password)

    dropped = drop_connection_once(app, pg)
    page = reader.get(f"/message/{reader.upload}")
    assert dropped and page.status == 200 and "Balance number 1" in page.text
    assert store.db.execute_sql("SELECT pg_backend_pid()").fetchone()[0] != dropped[0]

    # a form is never sent twice: its page says to try again, and the next one works
    form = reader.get("/profile")
    dropped = drop_connection_once(app, pg)
    r = reader.post("/profile/language", {"csrf": form.field("csrf"), "language": "de"})
    assert dropped and r.status == 503, r.text
    r = reader.post("/profile/language", {"csrf": form.field("csrf"), "language": "de"})
    assert r.status == 303, r.text
