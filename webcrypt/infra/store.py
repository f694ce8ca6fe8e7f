"""The database: peewee models, connection by URL, versioned migrations.

The only module that imports peewee. SQLite (WAL, busy timeout) by default;
``postgresql://`` URLs for several portal nodes on one database. Times are Unix
seconds in integer columns so every backend stores them alike.
"""

import contextlib
import time

import peewee as pw

from ..base.config import sqlite_path

db = pw.DatabaseProxy()

IntegrityError = pw.IntegrityError
OperationalError = pw.OperationalError
DatabaseError = pw.DatabaseError
# what a connection the server dropped (or a database that is down) raises on the next query
ConnectionLost = (pw.OperationalError, pw.InterfaceError)
DoesNotExist = pw.DoesNotExist
fn = pw.fn
Case = pw.Case

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 15000,  # ms: many pipe processes share one file
    "foreign_keys": 1,
    "synchronous": "full",  # an account whose login data left must survive a power cut
}


class _SqliteDatabase(pw.SqliteDatabase):
    """Transactions begin IMMEDIATE: they take the write lock first and wait on the busy
    timeout. A deferred one that reads, then writes, fails at once with "database is
    locked" when another process wrote in between (SQLite cannot wait there), and nearly
    every transaction here writes."""

    def begin(self, lock_type=None):
        return super().begin(lock_type or "IMMEDIATE")


class BytesField(pw.BlobField):
    """A blob that reads back as bytes on every backend (psycopg2 gives memoryviews of chars)."""

    def python_value(self, value):
        return bytes(value) if value is not None else None


class BaseModel(pw.Model):
    class Meta:
        database = db
        legacy_table_names = False
        # save() writes only the columns this process changed: a full-row save of a row read
        # earlier would undo what another node wrote meanwhile (a login saving its last_login
        # must not re-enable an account an administrator has just disabled).
        only_save_dirty = True


class Meta(BaseModel):
    key = pw.CharField(primary_key=True)
    value = pw.TextField()


class Recipient(BaseModel):
    address = pw.CharField(unique=True, max_length=320)
    password_hash = pw.CharField(max_length=200)
    key_wrapped = BytesField()
    key_generation = pw.IntegerField()
    created = pw.BigIntegerField()
    valid_until = pw.BigIntegerField(null=True)
    last_login = pw.BigIntegerField(null=True)
    password_changed = pw.BigIntegerField(null=True)
    disabled = pw.BooleanField(default=False)
    disabled_reason = pw.CharField(max_length=16, null=True)  # "admin" or "expired" (schema 2)
    must_change_password = pw.BooleanField(default=True)
    language = pw.CharField(max_length=8, null=True)
    failed_logins = pw.IntegerField(default=0)
    locked_until = pw.BigIntegerField(null=True)
    question = pw.TextField(null=True)
    answer_hash = pw.CharField(max_length=200, null=True)
    # passkeys (schema 7): the password switched off (passwordless), and when a passkey was offered
    # after a login, so that a recipient who said "not now" is not asked at every login
    password_off = pw.BooleanField(default=False)
    passkey_offered = pw.BigIntegerField(null=True)


class Message(BaseModel):
    """Metadata and the wrapped data key of one encrypted message; never its content."""

    id = pw.CharField(primary_key=True, max_length=32)
    recipient = pw.CharField(index=True, max_length=320)
    sender = pw.CharField(index=True, max_length=320)
    created = pw.BigIntegerField(index=True)
    expires = pw.BigIntegerField()
    size = pw.BigIntegerField()
    data_key_wrapped = BytesField(null=True)  # None: destroyed, unreadable for ever
    first_opened = pw.BigIntegerField(null=True)
    revoked = pw.BigIntegerField(null=True)
    # what its sender may see of it (schema 10): the last opening, the first secure reply, a read
    # receipt asked for and when it was sent, and the subject sealed under the message's own data
    # key (only with [senders] keep_subject: destroyed with the key by a recall, expiry or deletion)
    last_opened = pw.BigIntegerField(null=True)
    replied = pw.BigIntegerField(null=True)
    receipt = pw.BooleanField(default=False)
    receipt_sent = pw.BigIntegerField(null=True)
    subject_sealed = BytesField(null=True)


class ThreadRef(BaseModel):
    """Message-IDs (hashed) of mail in an encrypted thread, so replies stay encrypted."""

    ref_hash = pw.CharField(primary_key=True, max_length=64)
    message_id = pw.CharField(max_length=32, null=True)
    created = pw.BigIntegerField(index=True)


class Session(BaseModel):
    id_hash = pw.CharField(primary_key=True, max_length=64)
    kind = pw.CharField(max_length=16)  # "recipient" or "admin"
    principal = pw.CharField(index=True, max_length=320)  # address or admin name
    created = pw.BigIntegerField()
    last_seen = pw.BigIntegerField(index=True)
    data = pw.TextField(default="{}")
    # what the session list shows (schema 6): the client address at login (web.client_address,
    # behind the trusted proxy) and the device, parsed from the User-Agent (core/useragent.py;
    # the header itself is never kept)
    client = pw.CharField(max_length=64, default="")
    browser = pw.CharField(max_length=32, default="")
    system = pw.CharField(max_length=32, default="")


class Upload(BaseModel):
    """A posted envelope, kept (ciphertext only) for a few minutes until login."""

    id = pw.CharField(primary_key=True, max_length=64)
    envelope = BytesField()
    created = pw.BigIntegerField()
    expires = pw.BigIntegerField(index=True)


class Throttle(BaseModel):
    key = pw.CharField(primary_key=True, max_length=200)
    failures = pw.IntegerField(default=0)
    window_start = pw.BigIntegerField()
    blocked_until = pw.BigIntegerField(null=True)


class AuditEvent(BaseModel):
    at = pw.BigIntegerField(index=True)
    actor = pw.CharField(max_length=320)
    action = pw.CharField(index=True, max_length=64)
    subject = pw.CharField(index=True, max_length=320, default="")
    detail = pw.TextField(default="")
    client = pw.CharField(max_length=64, default="")


class Admin(BaseModel):
    name = pw.CharField(unique=True, max_length=64)
    password_hash = pw.CharField(max_length=200)
    created = pw.BigIntegerField()
    last_login = pw.BigIntegerField(null=True)
    disabled = pw.BooleanField(default=False)
    # second factor (schema 3): the TOTP secret sealed under a master-key generation, and the
    # last step whose code was accepted, so that no code is accepted twice
    totp_secret = BytesField(null=True)
    totp_generation = pw.IntegerField(null=True)
    totp_last_step = pw.BigIntegerField(null=True)


class AdminRecoveryCode(BaseModel):
    """One of an administrator's single-use recovery codes, standing in for a TOTP code (schema 8).
    Only a salted hash of the code is kept; a used code's row is deleted."""

    admin = pw.ForeignKeyField(Admin, on_delete="CASCADE", index=True)
    salt = pw.CharField(max_length=32)
    digest = pw.CharField(max_length=64)
    created = pw.BigIntegerField()


class RecoveryLink(BaseModel):
    """A one-time link to the confidential question, mailed to the account's address (schema 4).
    Only the SHA-256 fingerprint of its token is kept; used once, or expired, it is gone."""

    token_hash = pw.CharField(primary_key=True, max_length=64)
    address = pw.CharField(index=True, max_length=320)
    created = pw.BigIntegerField()
    expires = pw.BigIntegerField(index=True)


class Passkey(BaseModel):
    """A WebAuthn credential of a recipient or an administrator (schema 7). It authenticates;
    it decrypts nothing (the master-key hierarchy does not know it)."""

    kind = pw.CharField(max_length=16)  # "recipient" or "admin", as sessions
    principal = pw.CharField(index=True, max_length=320)  # address or administrator name
    credential_id = BytesField(unique=True)  # unique: one credential never belongs to two accounts
    credential = BytesField()  # attested credential data: id and public key (COSE)
    sign_count = pw.BigIntegerField(default=0)
    name = pw.CharField(max_length=64)
    created = pw.BigIntegerField()
    last_used = pw.BigIntegerField(null=True)


class Ceremony(BaseModel):
    """A WebAuthn challenge waiting for the browser's answer (schema 7): random, single-use
    (deleted when answered), five minutes. In the database so that any node can finish it."""

    id_hash = pw.CharField(primary_key=True, max_length=64)  # of the id the browser holds
    purpose = pw.CharField(max_length=16)  # "register" or "sign_in"
    kind = pw.CharField(max_length=16)
    principal = pw.CharField(max_length=320, default="")  # who registers; empty for a sign-in
    state = pw.TextField()  # fido2's state: the challenge and the user verification asked
    expires = pw.BigIntegerField(index=True)


class MailCode(BaseModel):
    """A one-time sign-in code mailed to a recipient's own address (schema 9). One per address:
    a new request replaces it. Only an HMAC of the code under a key derived from the master key
    is kept (the key is not in the database, so a copy of this table reveals no code); used,
    expired or tried too often, it is gone."""

    address = pw.CharField(primary_key=True, max_length=320)
    code_hash = pw.CharField(max_length=64)
    generation = pw.IntegerField()  # of the master key the HMAC key derives from
    created = pw.BigIntegerField()
    expires = pw.BigIntegerField(index=True)
    tries = pw.IntegerField(default=0)  # wrong codes entered for it


class SenderLink(BaseModel):
    """A one-time sign-in link to the sender page, mailed to a sender's own address (schema 11).
    Only fingerprints are kept: of its token, and of the random cookie of the browser that asked
    for it (the link opens a session in that browser only). Used once, or expired, it is gone."""

    token_hash = pw.CharField(primary_key=True, max_length=64)
    address = pw.CharField(index=True, max_length=320)
    browser_hash = pw.CharField(max_length=64)
    target = pw.CharField(max_length=200, default="")  # the sender page to continue to
    created = pw.BigIntegerField()
    expires = pw.BigIntegerField(index=True)


class Setting(BaseModel):
    """Settings every portal node must see alike (branding, texts): JSON values."""

    key = pw.CharField(primary_key=True, max_length=100)
    value = pw.TextField()


class Stat(BaseModel):
    """Counters per hour for monitoring: (hour, name) -> count."""

    hour = pw.BigIntegerField()
    name = pw.CharField(max_length=64)
    count = pw.BigIntegerField(default=0)

    class Meta:
        primary_key = pw.CompositeKey("hour", "name")


# Each migration brings the schema from version i to i+1. Append, never edit.
def _drop_columns(model, *names: str) -> None:
    """Drop columns an earlier schema had; a table migration 1 just made from today's model has none."""
    from playhouse.migrate import SchemaMigrator, migrate

    table = model._meta.table_name
    present = {column.name for column in db.get_columns(table)}
    migrator = SchemaMigrator.from_database(db.obj)
    migrate(*(migrator.drop_column(table, name) for name in names if name in present))


def _add_columns(model, *names: str) -> None:
    """Add columns a later schema gave *model*; a table that migration 1 just created from
    today's model has them already."""
    from playhouse.migrate import SchemaMigrator, migrate

    table = model._meta.table_name
    present = {column.name for column in db.get_columns(table)}
    migrator = SchemaMigrator.from_database(db.obj)
    migrate(*(migrator.add_column(table, name, model._meta.fields[name]) for name in names if name not in present))


MIGRATIONS = [
    lambda: db.create_tables(
        [Meta, Recipient, Message, ThreadRef, Session, Upload, Throttle, AuditEvent, Admin, Setting, Stat]
    ),
    # 2: why an account is disabled, so that new mail renews an expired account but not a disabled one
    lambda: _add_columns(Recipient, "disabled_reason"),
    # 3: an optional second factor (TOTP) for console administrators
    lambda: _add_columns(Admin, "totp_secret", "totp_generation", "totp_last_step"),
    # 4: forgotten password: the question is reached only through a link mailed to the address
    lambda: db.create_tables([RecoveryLink]),
    # 5: sessions' csrf column goes: the token is derived from the session id, never stored
    lambda: _drop_columns(Session, "csrf"),
    # 6: sessions a person can list and end: the client address and device of each
    lambda: _add_columns(Session, "client", "browser", "system"),
    # 7: passkeys (WebAuthn) for recipients and administrators, their ceremonies, passwordless accounts
    lambda: (db.create_tables([Passkey, Ceremony]), _add_columns(Recipient, "password_off", "passkey_offered")),
    # 8: administrators' single-use recovery codes for a lost authenticator app (hashes only)
    lambda: db.create_tables([AdminRecoveryCode]),
    # 9: one-time sign-in codes mailed to recipients whose domain allows them (mail_codes.py)
    lambda: db.create_tables([MailCode]),
    # 10: what a sender sees of their messages: last opened, replied, read receipt, sealed subject
    lambda: _add_columns(Message, "last_opened", "replied", "receipt", "receipt_sent", "subject_sealed"),
    # 11: the sender page: sign-in links, and a sender's messages found by the canonical form
    # of the envelope sender (senders.py), newest first, through an index
    lambda: (db.create_tables([SenderLink]), _add_sender_index()),
]


SENDER_INDEX = "message_sender_lower_created"


def _add_sender_index() -> None:
    """An index on (LOWER(sender), created): the sender page's one query. The envelope sender is
    stored as the MTA gave it, so its case varies; the page compares canonical (lower-case) forms."""
    if SENDER_INDEX in {index.name for index in db.get_indexes("message")}:
        return
    db.execute_sql(f"CREATE INDEX {SENDER_INDEX} ON message ((LOWER(sender)), created)")


def connect(url: str) -> pw.Database:
    """Bind the models to the database at *url* and open a connection."""
    database = _database(url)
    db.initialize(database)
    _open(database)
    return database


def _database(url: str) -> pw.Database:
    if sqlite_path(url) is not None:
        # Directly, not through playhouse.db_url: that imports every backend's
        # extension, a cost each pipe process would pay.
        return _SqliteDatabase(str(sqlite_path(url)), pragmas=SQLITE_PRAGMAS)
    from playhouse.db_url import connect as connect_url

    try:
        return connect_url(url)
    except RuntimeError as e:  # an unknown scheme (config.py refuses it first)
        raise _misconfigured(e) from None


def _open(database: pw.Database) -> None:
    try:
        database.connect(reuse_if_open=True)
    except pw.OperationalError as e:
        raise _unavailable(e) from None
    except pw.ImproperlyConfigured as e:  # a driver that is found but cannot be imported
        raise _misconfigured(e) from None


def _misconfigured(error: Exception):
    from ..base.errors import ConfigError

    return ConfigError(f"database.url cannot be used: {str(error).splitlines()[0]}")


def usable_connection(wait: float = 0) -> None:
    """This thread's connection, working: for processes that keep one across requests (portal
    threads, relay workers). One the server dropped (PostgreSQL restarted or failed over) is
    replaced instead of failing every later request; a database that is down is waited for up
    to *wait* seconds, so that a restart is a slower answer rather than an error."""
    if not db.is_closed() and not _alive():
        try:
            db.close()
        except pw.DatabaseError:  # nosec B110 - closing a dead connection; peewee forgets it anyway
            pass
    deadline = time.monotonic() + wait
    while True:
        try:
            db.connect(reuse_if_open=True)
            return
        except pw.OperationalError as e:
            if time.monotonic() >= deadline:
                raise _unavailable(e) from None
            time.sleep(0.25)


def _alive() -> bool:
    if not is_postgresql():  # SQLite is a file: nothing drops the connection
        return True
    try:
        db.execute_sql("SELECT 1")
        return True
    except (pw.OperationalError, pw.InterfaceError):
        return False


def close() -> None:
    if not db.is_closed():
        db.close()


def schema_version() -> int:
    if not db.table_exists("meta"):
        return 0
    row = Meta.get_or_none(Meta.key == "schema_version")
    return int(row.value) if row else 0


def migrate() -> int:
    """Apply pending migrations; return the new version."""
    with db.atomic():
        version = schema_version()
        for step in MIGRATIONS[version:]:
            step()
            version += 1
        Meta.insert(key="schema_version", value=str(version)).on_conflict(
            conflict_target=[Meta.key], update={Meta.value: str(version)}
        ).execute()
    return version


def _unavailable(error: Exception):
    from ..base.errors import StoreUnavailable

    return StoreUnavailable(f"database unavailable: {str(error).splitlines()[0]}")


def unavailable(error: Exception):
    """Translate a driver error into StoreUnavailable (temporary)."""
    return _unavailable(error)


class Prepared:
    """A query (a one-row SELECT, an INSERT) whose SQL text is built once per kind of database, then run with new values.

    peewee builds the SQL of a query on every execution: ~0.3 ms for a lookup by key, where the
    database itself answers in ~0.01 ms. Hot lookups (every portal request's session, every cached
    read's recall check) run from the text. *build* makes the query from its values; each value
    must come out as one parameter, in order, before any constant ones (such as LIMIT's): checked
    when the text is built, and a query that does not fit is built every time, as before.
    A value compared in a WHERE must never be None (peewee would write IS NULL for it).
    """

    def __init__(self, build):
        self._build = build
        self._texts = {}  # the database's class -> (SQL, constant parameters), or None

    def _text(self, values: tuple):
        kind = type(db.obj)
        if kind not in self._texts:
            sql, params = self._build(*values).sql()
            fits = list(params[:len(values)]) == list(values)
            self._texts[kind] = (sql, list(params[len(values):])) if fits else None
        return self._texts[kind]

    def first(self, model, *values):
        """The first row as a *model* instance, or None."""
        text = self._text(values)
        if text is None:
            return self._build(*values).first()
        return next(iter(model.raw(text[0], *values, *text[1])), None)

    def exists(self, *values) -> bool:
        text = self._text(values)
        if text is None:
            return self._build(*values).exists()
        return db.execute_sql(text[0], [*values, *text[1]]).fetchone() is not None

    def execute(self, *values) -> None:
        """Run a write (INSERT, UPDATE); its result is not needed."""
        text = self._text(values)
        if text is None:
            self._build(*values).execute()
            return
        db.execute_sql(text[0], [*values, *text[1]])


def locked(query):
    """*query* reading rows to change them: FOR UPDATE where the database has row locks (PostgreSQL,
    several portal nodes); SQLite's transactions begin IMMEDIATE and hold its one write lock already."""
    return query if is_sqlite() else query.for_update()


def lowered(field):
    """LOWER(field) in SQL: the expression the sender index (schema 11) is made on."""
    return pw.fn.LOWER(field)


def is_sqlite() -> bool:
    return isinstance(db.obj, pw.SqliteDatabase)


def description() -> str:
    """Which database this is, for the monitor and the console (never a password)."""
    if is_sqlite():
        return f"SQLite {db.obj.database}"
    params = db.obj.connect_params
    kind = "PostgreSQL" if is_postgresql() else type(db.obj).__name__.removesuffix("Database")
    where = params.get("host") or "local socket"
    return f"{kind} {db.obj.database} on {where}" + (f":{params['port']}" if params.get("port") else "")


def is_postgresql() -> bool:
    return isinstance(db.obj, pw.PostgresqlDatabase)


def database_size() -> int:
    """Bytes the database occupies (SQLite: file plus write-ahead log)."""
    if is_sqlite():
        import os

        path = db.obj.database
        return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    if isinstance(db.obj, pw.PostgresqlDatabase):
        return int(db.execute_sql("SELECT pg_database_size(current_database())").fetchone()[0])
    return 0


def backup_postgresql(target: str) -> None:
    """Dump the PostgreSQL database to *target* with pg_dump (custom format, for pg_restore).

    pg_dump reads one snapshot while the portal nodes keep working. The password goes in
    its environment, never on a command line others can see.
    """
    import os
    import shutil
    import subprocess  # nosec B404 - pg_dump, named by its full path, no shell

    from ..base.errors import StoreUnavailable, WebcryptError

    program = shutil.which("pg_dump")
    if program is None:
        raise WebcryptError("pg_dump is not installed: apt install postgresql-client (the server's version or newer)")
    params = db.obj.connect_params
    environment = {**os.environ, "PGDATABASE": db.obj.database}
    for key, name in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"), ("password", "PGPASSWORD")):
        if params.get(key) is not None:
            environment[name] = str(params[key])
    done = subprocess.run([program, "--format=custom", "--no-owner", "--file", target],  # nosec B603
                          env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise StoreUnavailable(f"pg_dump failed: {reason}")


def backup_sqlite(target: str) -> None:
    """Copy the live SQLite database to *target* with SQLite's online backup API.

    The copy is one consistent snapshot even while other processes write (WAL):
    readers and writers carry on during it.
    """
    import sqlite3

    destination = sqlite3.connect(target)
    try:
        db.obj.connection().backup(destination)
    finally:
        destination.close()


# --- moving a site to another database (copying.py) ---------------------------------------

# Every table, parents before the rows that name them.
TABLES = [Meta, Recipient, Message, ThreadRef, Session, Upload, Throttle, AuditEvent, Admin, AdminRecoveryCode,
          RecoveryLink, Setting, Stat, Passkey, Ceremony, MailCode, SenderLink]


class Other:
    """A second database open beside the connected one (a copy's target). ``with other.bound():``
    points the models at it; every function here then works on it, and on the first one after."""

    def __init__(self, url: str):
        self.database = _database(url)
        _open(self.database)

    def close(self) -> None:
        if not self.database.is_closed():
            self.database.close()

    @contextlib.contextmanager
    def bound(self):
        first = db.obj
        db.initialize(self.database)
        try:
            yield
        finally:
            db.initialize(first)


def pinned_transaction():
    """A transaction on the database the models use now, that stays with it while ``Other.bound``
    points them elsewhere (``db.atomic()`` follows the proxy)."""
    return db.obj.atomic()


def filled_tables() -> list[str]:
    """Tables that hold rows (the schema version in meta does not count)."""
    return [model._meta.table_name for model in TABLES
            if (Meta.select().where(Meta.key != "schema_version") if model is Meta else model.select()).exists()]


def table_rows(model):
    """Every row of *model* as a dict of column values, in primary-key order."""
    key = model._meta.primary_key
    order = [model._meta.fields[n] for n in key.field_names] if isinstance(key, pw.CompositeKey) else [key]
    return model.select().order_by(*order).dicts().iterator()


def insert_rows(model, rows: list[dict]) -> None:
    """Insert *rows* as they are, ids included; meta rows replace the migration's own."""
    if model is Meta:
        for row in rows:
            Meta.insert(row).on_conflict(conflict_target=[Meta.key], update={Meta.value: row["value"]}).execute()
        return
    for start in range(0, len(rows), 200):  # databases limit a statement's parameters
        try:
            model.insert_many(rows[start:start + 200]).execute()
        except ValueError as e:  # psycopg2 refuses a NUL in text before it reaches the server
            raise pw.DataError(f"{model._meta.table_name}: {e}") from None


def continue_sequences() -> None:
    """PostgreSQL: serial ids continue after the copied ones. Explicit ids do not move a
    sequence, and the next new account would collide with a copied one."""
    if not isinstance(db.obj, pw.PostgresqlDatabase):
        return
    for model in TABLES:
        key = model._meta.primary_key
        if isinstance(key, pw.AutoField):
            table, column = model._meta.table_name, key.column_name
            # names from the models, not from input
            db.execute_sql(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "  # nosec B608
                           f"COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)")
