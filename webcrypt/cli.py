"""The administrator's command line: thin commands over the core library.

Each command opens the home, calls one use case and renders the result.
WebcryptError becomes one line on stderr and the error's exit status here,
and nowhere else. The only module that imports typer and rich.
"""

import functools
import json
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import accounts, admins, auditlog, config, events, gateway, housekeeping, keys, messages, mime, settings, store, users
from . import monitor as monitor_mod
from .errors import ExitStatus, WebcryptError
from .home import Home

app = typer.Typer(
    help="webcrypt: encrypted mail for recipients without PGP or S/MIME.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
user_app = typer.Typer(help="Manage recipient accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage the master key.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(keys_app, name="keys")

err = Console(stderr=True, highlight=False, soft_wrap=True)


def handled(func):
    """Turn WebcryptError into one line on stderr and its exit status."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except WebcryptError as e:
            err.print(f"webcrypt: error: {e}", markup=False)
            raise typer.Exit(int(e.exit_status)) from None
        except store.OperationalError as e:
            err.print(f"webcrypt: error: {store.unavailable(e)}", markup=False)
            raise typer.Exit(int(ExitStatus.UNAVAILABLE)) from None

    return wrapper


@app.callback()
def main_options(
    ctx: typer.Context,
    config_path: Optional[Path] = typer.Option(
        None, "--config", "-c", help="Configuration file [default: $WEBCRYPT_CONFIG or /etc/webcrypt/webcrypt.toml]."
    ),
):
    ctx.obj = config_path


def open_home(ctx: typer.Context, connect: bool = True) -> Home:
    home = Home(config.load(config.locate(ctx.obj)))
    if connect:
        home.connect()
        ctx.call_on_close(home.close)
    return home


def read_password(from_stdin: bool) -> Optional[str]:
    if not from_stdin:
        return None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise WebcryptError("no password on standard input")
    return password


@app.command()
@handled
def init(
    home_dir: Path = typer.Option(..., "--home", help="Folder for configuration, key and database."),
    portal_url: str = typer.Option("http://127.0.0.1:8080", "--portal-url", help="Public URL of the portal."),
):
    """Create a home: commented webcrypt.toml, master.key (0600) and the database.

    Example: webcrypt init --home /etc/webcrypt --portal-url https://secure.example.com
    """
    from . import provision

    path = provision.init_home(home_dir, portal_url)
    typer.echo(f"Created {path}, {path.parent / 'master.key'} and the database.")
    typer.echo(f"Use it with:  export WEBCRYPT_CONFIG={path}")


@app.command()
@handled
def migrate(ctx: typer.Context):
    """Bring the database schema up to date (safe to run again).

    Example: webcrypt migrate
    """
    home = open_home(ctx, connect=False)
    home.connect(check_schema=False)
    ctx.call_on_close(home.close)
    typer.echo(f"Database schema at version {store.migrate()}.")


@app.command()
@handled
def useradd(
    ctx: typer.Context,
    address: str = typer.Argument(..., help="Recipient mail address."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
):
    """Create a recipient account and key; print a generated password once.

    Example: webcrypt useradd alice@example.org
    """
    home = open_home(ctx)
    new = users.create(home, address, read_password(password_stdin), actor())
    if password_stdin:
        typer.echo(f"Created {new.address}.")
    else:
        typer.echo(f"Created {new.address}. Password (shown once): {new.password}")


@app.command()
@handled
def reset(
    ctx: typer.Context,
    address: str = typer.Argument(..., help="Recipient mail address."),
    mail: bool = typer.Option(False, "--mail", help="Mail the new login data per credentials_to instead of printing them."),
):
    """Give a recipient a new generated password; every message stays readable.

    Example: webcrypt reset alice@example.org --mail
    """
    home = open_home(ctx)
    new = users.reset(home, address, actor(), mail=mail, print_login_data=print_login_data)
    if mail:
        typer.echo(f"New login data for {new.address} sent per credentials_to.")
    else:
        typer.echo(f"New password for {new.address} (shown once): {new.password}")


@app.command()
@handled
def encrypt(
    ctx: typer.Context,
    sender: str = typer.Option(..., "--from", help="Envelope sender."),
    recipients: List[str] = typer.Option(..., "--to", help="Recipient (repeat for several)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the carrier mails (<recipient>.eml)."),
    source: str = typer.Argument("-", help="Message file (RFC 5322), or - for stdin."),
):
    """Encrypt a message into one carrier mail with secure.htm per recipient.

    Example: webcrypt encrypt --from bank@example.com --to alice@example.org letter.eml > carrier.eml
    """
    if out is None and len(recipients) > 1:
        raise WebcryptError("several recipients need --out DIR")
    home = open_home(ctx)
    raw = read_input(source)
    sealed = gateway.encrypt(home, raw, sender, recipients, print_login_data=print_login_data)
    if out is None:
        write_chunks(sys.stdout.buffer, sealed[0].chunks)
        return
    out.mkdir(parents=True, exist_ok=True)
    for item in sealed:
        path = out / f"{item.recipient}.eml"
        with open(path, "wb") as f:
            write_chunks(f, item.chunks)
        typer.echo(f"{item.recipient}: {path} (message {item.message_id})")


def print_login_data(new: accounts.NewAccount) -> None:
    err.print(f"New account {new.address}, password (shown once): {new.password}", markup=False)


def read_input(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as e:
        raise WebcryptError(f"cannot read {source}: {e.strerror}") from None


def write_chunks(stream, chunks) -> None:
    for chunk in chunks:
        stream.write(chunk)
    stream.flush()


@app.command("open")
@handled
def open_(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="Carrier mail or secure.htm, or - for stdin."),
    address: str = typer.Option(..., "--as", help="Recipient address to log in as."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
):
    """Decrypt a carrier mail or secure.htm; write the original message to stdout.

    Example: echo "$PASSWORD" | webcrypt open secure.htm --as alice@example.org --password-stdin > message.eml
    """
    home = open_home(ctx)
    data = mime.extract_envelope(read_input(source))
    password = read_password(password_stdin)
    if password is None:
        password = typer.prompt("Password", hide_input=True, err=True)
    recipient = accounts.authenticate(home, address, password)
    opened = gateway.open_envelope(home, data, recipient)
    write_chunks(sys.stdout.buffer, [opened.message])


@user_app.command("list")
@handled
def user_list(
    ctx: typer.Context,
    search: str = typer.Option("", "--search", help="Only addresses containing this text."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """List recipient accounts.

    Example: webcrypt user list --search example.org --json
    """
    open_home(ctx)
    rows = [accounts.describe(r) for r in accounts.listing(search)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    cells = [(row["address"], _date(row["created"]), _date(row["last_login"]), _date(row["valid_until"]),
              _status(row), str(row["messages"])) for row in rows]
    print_table(("address", "created", "last login", "valid until", "status", "messages"), cells)


def print_table(titles, cells) -> None:
    """A rich table on a terminal; tab-separated lines for scripts and pipes."""
    if not sys.stdout.isatty():
        for line in [titles, *cells]:
            typer.echo("\t".join(line))
        return
    table = Table(*titles)
    table.columns[0].no_wrap = True
    for row in cells:
        table.add_row(*row)
    Console(highlight=False).print(table)


@user_app.command("show")
@handled
def user_show(
    ctx: typer.Context,
    address: str = typer.Argument(..., help="Recipient mail address."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Show one recipient account.

    Example: webcrypt user show alice@example.org
    """
    open_home(ctx)
    row = accounts.describe(accounts.get(address))
    if as_json:
        typer.echo(json.dumps(row, indent=2))
        return
    for key, value in row.items():
        shown = _date(value) if key in ("created", "last_login", "valid_until", "locked_until") else value
        typer.echo(f"{key:22} {shown}")


@user_app.command("disable")
@handled
def user_disable(ctx: typer.Context, address: str = typer.Argument(..., help="Recipient mail address.")):
    """Disable an account: no logins, no new messages; keys are kept.

    Example: webcrypt user disable alice@example.org
    """
    home = open_home(ctx)
    typer.echo(f"Disabled {users.set_disabled(home, address, True, actor()).address}.")


@user_app.command("enable")
@handled
def user_enable(ctx: typer.Context, address: str = typer.Argument(..., help="Recipient mail address.")):
    """Enable a disabled account again.

    Example: webcrypt user enable alice@example.org
    """
    home = open_home(ctx)
    typer.echo(f"Enabled {users.set_disabled(home, address, False, actor()).address}.")


@user_app.command("delete")
@handled
def user_delete(
    ctx: typer.Context,
    address: str = typer.Argument(..., help="Recipient mail address."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
):
    """Delete an account and its key: its messages become unreadable for ever.

    Example: webcrypt user delete alice@example.org --yes
    """
    home = open_home(ctx)
    recipient = accounts.get(address)
    count = accounts.describe(recipient)["messages"]
    warning = (f"Deleting {recipient.address} destroys its key: its {count} message(s) "
               "can never be read again, by anyone.")
    if not yes:
        err.print(warning, markup=False)
        if not typer.confirm("Delete?", err=True):
            raise typer.Exit(int(ExitStatus.ERROR))
    destroyed = users.delete(home, recipient.address, actor())
    typer.echo(f"Deleted {recipient.address}; {destroyed} message key(s) destroyed.")


@keys_app.command("rotate")
@handled
def keys_rotate(ctx: typer.Context):
    """Add a new master key generation and re-wrap every recipient key under it.

    Example: webcrypt keys rotate
    """
    home = open_home(ctx)
    path = home.config.file("keys.master_key")
    ring = keys.add_generation(path, home.keyring)
    home.reload_keyring()
    moved = accounts.rewrap_all(home, ring.current)
    events.audit(home, actor(), "keys_rotate", f"generation {ring.current}", f"rewrapped={moved}")
    typer.echo(f"Master key generation {ring.current} is current; {moved} recipient key(s) re-wrapped.")


# --- administration and monitoring (issue 5) ---------------------------------

message_app = typer.Typer(help="Encrypted messages: list, find, expiry (metadata only).", no_args_is_help=True)
admin_app = typer.Typer(help="Administrator accounts for the web console /admin.", no_args_is_help=True)
settings_app = typer.Typer(help="Settings stored by the web console (they win over webcrypt.toml).",
                           no_args_is_help=True)
app.add_typer(message_app, name="message")
app.add_typer(admin_app, name="admin")
app.add_typer(settings_app, name="settings")


def _table_console() -> Console:
    """Tables piped into a file or grep keep whole addresses and ids on one line."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 250)


def actor() -> str:
    """Who is acting, for the audit trail: the login behind sudo, else the process owner."""
    import getpass
    import os

    return f"cli:{os.environ.get('SUDO_USER') or getpass.getuser()}"


def parse_since(text: Optional[str], now: int) -> Optional[int]:
    """'24h', '7d', '30m', '2026-11-27' or '2026-11-27T10:00' (UTC) as Unix seconds."""
    import datetime

    if not text:
        return None
    units = {"m": 60, "h": 3600, "d": 86400}
    if text[:-1].isdigit() and text[-1:] in units:
        return now - int(text[:-1]) * units[text[-1]]
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise WebcryptError(f"--since must look like 24h, 7d or 2026-11-27, not {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp())


@user_app.command("unlock")
@handled
def user_unlock(ctx: typer.Context, address: str = typer.Argument(..., help="Recipient mail address.")):
    """Lift a lockout after failed logins (the password stays).

    Example: webcrypt user unlock alice@example.org
    """
    home = open_home(ctx)
    typer.echo(f"Unlocked {users.unlock(home, address, actor()).address}.")


@user_app.command("extend")
@handled
def user_extend(
    ctx: typer.Context,
    address: str = typer.Argument(..., help="Recipient mail address."),
    days: int = typer.Option(..., "--days", min=0, help="Valid for this many days from now (0: for ever)."),
):
    """Extend the validity of an account (re-enables one that ran out).

    Example: webcrypt user extend alice@example.org --days 365
    """
    home = open_home(ctx)
    recipient = users.extend(home, address, days, actor())
    typer.echo(f"{recipient.address} is valid until {_date(recipient.valid_until) if recipient.valid_until else 'for ever'}.")


@message_app.command("list")
@handled
def message_list(
    ctx: typer.Context,
    sender: str = typer.Option("", "--sender", help="Only senders containing this text."),
    recipient: str = typer.Option("", "--recipient", help="Only recipients containing this text."),
    since: Optional[str] = typer.Option(None, "--since", help="Created since: 24h, 7d or 2026-11-27."),
    limit: int = typer.Option(500, "--limit", min=1, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """List encrypted messages (metadata only: nothing of the content is stored).

    Example: webcrypt message list --sender bank@example.com --since 7d --json
    """
    home = open_home(ctx)
    now = home.now()
    rows = [messages.describe(m, now) for m in messages.listing(sender, recipient, parse_since(since, now), limit=limit)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "created", "sender", "recipient", "expires", "size", "status")
    for row in rows:
        table.add_row(row["id"], _date(row["created"]), row["sender"], row["recipient"],
                      _date(row["expires"]), str(row["size"]), row["status"])
    _table_console().print(table)


@message_app.command("find")
@handled
def message_find(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="A copy of the carrier mail (e.g. from the Sent folder) or secure.htm."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Show the message a carrier mail or secure.htm belongs to.

    Example: webcrypt message find copy-from-sent-folder.eml
    """
    home = open_home(ctx)
    row = messages.describe(messages.get(messages.id_from_copy(read_input(source))), home.now())
    if as_json:
        typer.echo(json.dumps(row, indent=2))
        return
    for key, value in row.items():
        shown = _date(value) if key in ("created", "expires", "first_opened", "revoked") else value
        typer.echo(f"{key:14} {shown}")


@message_app.command("expire")
@handled
def message_expire(
    ctx: typer.Context,
    message_id: str = typer.Argument(..., help="Message id (X-WebCrypt-Message-Id of the carrier mail)."),
    days: int = typer.Option(..., "--days", min=0, help="Readable for this many days from now (0: not any more)."),
):
    """Change how long a message can be opened.

    Example: webcrypt message expire 0f1e2d3c4b5a69788796a5b4c3d2e1f0 --days 30
    """
    home = open_home(ctx)
    record = messages.set_expiry(home, message_id, days, actor())
    typer.echo(f"Message {record.id} can be opened until {_date(record.expires)}.")


@app.command()
@handled
def recall(
    ctx: typer.Context,
    message: str = typer.Argument(..., help="Message id, or a copy of the carrier mail or secure.htm."),
):
    """Recall a message: its key is destroyed, so no copy can ever be opened again.

    Example: webcrypt recall 0f1e2d3c4b5a69788796a5b4c3d2e1f0
    """
    home = open_home(ctx)
    message_id = messages.id_from_copy(read_input(message)) if _is_file(message) else message
    record = messages.recall(home, message_id, actor())
    typer.echo(f"Recalled message {record.id} to {record.recipient}; it can no longer be opened.")


def _is_file(text: str) -> bool:
    return text == "-" or Path(text).is_file()


@app.command()
@handled
def audit(
    ctx: typer.Context,
    since: Optional[str] = typer.Option(None, "--since", help="Events since: 24h, 7d or 2026-11-27."),
    user: str = typer.Option("", "--user", help="Only events whose actor or subject contains this text."),
    action: str = typer.Option("", "--action", help="Only this action (e.g. recall, reset, login_failed)."),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Show the audit trail: admin actions and security events.

    Example: webcrypt audit --since 24h --user alice@example.org
    """
    home = open_home(ctx)
    rows = auditlog.query(parse_since(since, home.now()), user, action, limit)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("time (UTC)", "actor", "action", "subject", "detail", "client")
    for row in rows:
        table.add_row(_date(row["at"]), row["actor"], row["action"], row["subject"], row["detail"], row["client"])
    _table_console().print(table)


@app.command()
@handled
def maintain(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Housekeeping for a timer: expired message keys, stale uploads, sessions, throttles, expired accounts.

    Example: webcrypt maintain   (e.g. hourly from a systemd timer)
    """
    home = open_home(ctx)
    done = housekeeping.maintain(home)
    if as_json:
        typer.echo(json.dumps(done, indent=2))
        return
    typer.echo(", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in done.items()))


@app.command()
@handled
def backup(ctx: typer.Context, target: Path = typer.Argument(..., help="File to write the copy to.")):
    """Copy the database consistently while the portal runs (SQLite; PostgreSQL: pg_dump).

    The master key is not in the copy: keep master.key backed up separately.
    Example: webcrypt backup /var/backups/webcrypt-$(date +%F).db
    """
    home = open_home(ctx)
    path = housekeeping.backup(home, target, actor())
    typer.echo(f"Backup written to {path}. Restore: see docs/admin.md (needs the same master.key).")


@admin_app.command("add")
@handled
def admin_add(ctx: typer.Context, name: str = typer.Argument(..., help="Administrator name (a-z 0-9 . _ -).")):
    """Create an administrator for /admin; the password is read from stdin.

    Example: printf '%s\\n' "$ADMIN_PASSWORD" | webcrypt admin add alice
    """
    home = open_home(ctx)
    admin = admins.add(home, name, read_password(True), actor())
    typer.echo(f"Created administrator {admin.name}.")


@admin_app.command("passwd")
@handled
def admin_passwd(ctx: typer.Context, name: str = typer.Argument(..., help="Administrator name.")):
    """Set an administrator's password, read from stdin; ends their sessions.

    Example: printf '%s\\n' "$NEW_PASSWORD" | webcrypt admin passwd alice
    """
    home = open_home(ctx)
    typer.echo(f"Password of {admins.set_password(home, name, read_password(True), actor()).name} changed.")


@admin_app.command("disable")
@handled
def admin_disable(ctx: typer.Context, name: str = typer.Argument(..., help="Administrator name.")):
    """Disable an administrator (no console logins; sessions end).

    Example: webcrypt admin disable alice
    """
    home = open_home(ctx)
    typer.echo(f"Disabled administrator {admins.set_disabled(home, name, True, actor()).name}.")


@admin_app.command("enable")
@handled
def admin_enable(ctx: typer.Context, name: str = typer.Argument(..., help="Administrator name.")):
    """Enable a disabled administrator.

    Example: webcrypt admin enable alice
    """
    home = open_home(ctx)
    typer.echo(f"Enabled administrator {admins.set_disabled(home, name, False, actor()).name}.")


@admin_app.command("list")
@handled
def admin_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """List administrators.

    Example: webcrypt admin list
    """
    open_home(ctx)
    rows = [admins.describe(a) for a in admins.listing()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("name", "created", "last login", "status")
    for row in rows:
        table.add_row(row["name"], _date(row["created"]), _date(row["last_login"]), "disabled" if row["disabled"] else "active")
    _table_console().print(table)


@settings_app.command("show")
@handled
def settings_show(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Show each console-changeable setting: in the file, set in the console, in effect.

    Example: webcrypt settings show
    """
    home = open_home(ctx)
    rows = settings.describe(home)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("setting", "webcrypt.toml", "console", "in effect")
    for row in rows:
        console = "-" if row["console"] is None else _shown(row["console"])
        table.add_row(row["key"], _shown(row["file"]), console, _shown(row["effective"]))
    _table_console().print(table)


@settings_app.command("set")
@handled
def settings_set(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="One of the keys 'settings show' lists."),
    value: str = typer.Argument(..., help="The value (lists comma-separated)."),
):
    """Store a setting in the database, as the web console does; it wins over webcrypt.toml.

    Example: webcrypt settings set policy.keyword WebCrypt
    """
    home = open_home(ctx)
    settings.save_overrides(home, {key: settings.parse_value(key, value)}, actor())
    typer.echo(f"{key} = {_shown(home.config[key])} (from the database, for every node).")


@settings_app.command("unset")
@handled
def settings_unset(ctx: typer.Context, key: str = typer.Argument(..., help="The key to hand back to webcrypt.toml.")):
    """Remove a stored setting: the value in webcrypt.toml applies again.

    Example: webcrypt settings unset policy.keyword
    """
    home = open_home(ctx)
    settings.save_overrides(home, {key: None}, actor())
    typer.echo(f"{key} = {_shown(home.config[key])} (from webcrypt.toml).")


def _shown(value) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


@app.command()
@handled
def monitor(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Print the dashboard once and exit."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON and exit."),
    check: bool = typer.Option(False, "--check", help="Nagios/Icinga check: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."),
    interval: float = typer.Option(5.0, "--interval", min=0.5, help="Seconds between refreshes."),
):
    """Monitoring: messages, logins, accounts, sessions, uploads, database, errors, per hour over a day.

    Thresholds for --check are in [monitor] of webcrypt.toml.
    Example: webcrypt monitor --check   (as an Icinga/Nagios command)
    """
    if check:
        raise typer.Exit(_monitor_check(ctx))
    home = open_home(ctx)
    if as_json:
        typer.echo(json.dumps(monitor_mod.snapshot(home).as_dict(), indent=2))
        return
    console = Console(highlight=False)
    if once:
        console.print(_dashboard(home, monitor_mod.snapshot(home)))
        return
    _live_dashboard(home, console, interval)


def _monitor_check(ctx: typer.Context) -> int:
    """Any failure to read the figures is UNKNOWN (3), as Nagios plugins must report it."""
    try:
        home = open_home(ctx)
        figures = monitor_mod.snapshot(home)
        verdict = monitor_mod.check(home, figures)
    except (WebcryptError, store.DatabaseError) as e:
        typer.echo(f"WEBCRYPT UNKNOWN - {str(e).splitlines()[0] if str(e) else type(e).__name__}")
        return monitor_mod.UNKNOWN
    typer.echo(verdict.line(figures))
    return verdict.state


def _live_dashboard(home: Home, console: Console, interval: float) -> None:
    import time

    from rich.live import Live

    with Live(_dashboard(home, monitor_mod.snapshot(home)), console=console, screen=False) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(_dashboard(home, monitor_mod.snapshot(home)))
        except KeyboardInterrupt:
            pass


SPARK = " ▁▂▃▄▅▆▇█"


def _sparkline(values: list[int]) -> str:
    top = max(values) or 1
    return "".join(SPARK[min(8, (v * 8 + top - 1) // top)] for v in values)


def _dashboard(home: Home, figures):
    from rich.console import Group
    from rich.panel import Panel

    counters = Table("figure", "last hour", "24 hours", "per hour (24 h, oldest left)", title="Mail and portal")
    for name in monitor_mod.COUNTERS:
        counters.add_row(name.replace("_", " "), str(figures.last_hour[name]), str(figures.totals[name]),
                         _sparkline(figures.series[name]))
    state = Table("gauge", "now", title="State")
    for name, value in figures.gauges.items():
        state.add_row(name.replace("_", " "), str(value))
    errors = Table("time (UTC)", "action", "subject", "detail", title="Last errors")
    for row in figures.last_errors:
        errors.add_row(_date(row["at"]), row["action"], row["subject"], row["detail"])
    verdict = monitor_mod.check(home, figures)
    title = f"webcrypt monitor, {_date(figures.at)} UTC: {monitor_mod.STATE_NAMES[verdict.state]}"
    return Panel(Group(counters, state, errors, verdict.line()), title=title)


def _date(value) -> str:
    if not value:
        return "-"
    import datetime

    return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _status(row: dict) -> str:
    return "disabled" if row["disabled"] else ("must change password" if row["must_change_password"] else "active")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def pipe(ctx: typer.Context):
    """Content filter for Postfix pipe(8): read one message on stdin, encrypt or pass, reinject.

    Usage: webcrypt [-c CONFIG] pipe [-f SENDER] [-q QUEUEID] -- RCPT...
    Exit 0 when every copy was accepted, 75 to defer (any temporary or unexpected
    failure), 69 with one '5.x.x' line for a deliberate refusal. See appliance/postfix/.

    Example: webcrypt pipe -f clerk@example.com -q 4XyZ -- alice@example.org < message.eml
    """
    from .pipe import main as pipe_main  # normally reached directly from main.py, without typer

    prefix = ["-c", str(ctx.parent.obj)] if ctx.parent is not None and ctx.parent.obj else []
    raise typer.Exit(pipe_main([*prefix, "pipe", *ctx.args]))


@app.command()
@handled
def relay(
    ctx: typer.Context,
    listen: Optional[str] = typer.Option(None, "--listen", help="HOST:PORT [default: relay.listen]."),
):
    """SMTP smarthost (Exchange, Domino, Postfix advanced filter): encrypt or pass, forward via mail.reinject.

    Answers 250 only after the next hop accepted every copy, 451 on temporary failure.

    Example: webcrypt relay --listen 127.0.0.1:10025
    """
    from . import relay as relay_mod  # aiosmtpd is imported by this command only

    relay_mod.serve(open_home(ctx, connect=False), listen)


@app.command()
@handled
def serve(
    ctx: typer.Context,
    listen: Optional[str] = typer.Option(None, "--listen", help="HOST:PORT [default: portal.listen]."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, max=256, help="Worker threads [default: portal.threads]."),
):
    """The recipient portal (and /admin) under waitress; put a TLS proxy in front.

    Refuses to start without the master key or the database.

    Example: webcrypt serve --listen 127.0.0.1:8080 --threads 8
    """
    from . import portal  # bottle and waitress are imported by this command only

    portal.serve(open_home(ctx, connect=False), listen, threads)


@app.command()
@handled
def demo(
    folder: Path = typer.Option(Path("demo-home"), "--home", help="Folder for the demo home."),
    serve_portal: bool = typer.Option(True, "--serve/--no-serve", help="Start the portal afterwards."),
    listen: str = typer.Option("127.0.0.1:8080", "--listen", help="HOST:PORT for the portal."),
):
    """Try webcrypt locally: a home with SQLite, a sample message encrypted, the portal started.

    Nothing leaves the machine: login data are printed, the portal runs on loopback.

    Example: webcrypt demo
    """
    from . import demo as demo_mod

    prepared = demo_mod.prepare(folder, f"http://{listen}")
    typer.echo(f"Sample carrier mail: {prepared.carrier.resolve()}")
    typer.echo(f"Sample secure.htm:   {prepared.secure_htm.resolve()}  (open it in a browser)")
    typer.echo(f"Log in as:           {prepared.address}")
    typer.echo(f"Password:            {prepared.password}")
    typer.echo(f"Portal:              {prepared.home.config['portal.url']}")
    prepared.home.close()
    if serve_portal:
        from . import portal

        typer.echo("Stop the portal with Ctrl-C.")
        portal.serve(prepared.home, listen, None)


def main(argv=None) -> int:
    try:
        app(args=argv, prog_name="webcrypt")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    return 0
