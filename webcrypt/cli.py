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

from . import accounts, config, gateway, keys, mime, store
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
    new = accounts.create(home, address, read_password(password_stdin))
    if password_stdin:
        typer.echo(f"Created {new.address}.")
    else:
        typer.echo(f"Created {new.address}. Password (shown once): {new.password}")


@app.command()
@handled
def reset(ctx: typer.Context, address: str = typer.Argument(..., help="Recipient mail address.")):
    """Give a recipient a new generated password; every message stays readable.

    Example: webcrypt reset alice@example.org
    """
    home = open_home(ctx)
    new = accounts.reset(home, address)
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
    open_home(ctx)
    typer.echo(f"Disabled {accounts.set_disabled(address, True).address}.")


@user_app.command("enable")
@handled
def user_enable(ctx: typer.Context, address: str = typer.Argument(..., help="Recipient mail address.")):
    """Enable a disabled account again.

    Example: webcrypt user enable alice@example.org
    """
    open_home(ctx)
    typer.echo(f"Enabled {accounts.set_disabled(address, False).address}.")


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
    open_home(ctx)
    recipient = accounts.get(address)
    count = accounts.describe(recipient)["messages"]
    warning = (f"Deleting {recipient.address} destroys its key: its {count} message(s) "
               "can never be read again, by anyone.")
    if not yes:
        err.print(warning, markup=False)
        if not typer.confirm("Delete?", err=True):
            raise typer.Exit(int(ExitStatus.ERROR))
    destroyed = accounts.delete(recipient.address)
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
    typer.echo(f"Master key generation {ring.current} is current; {moved} recipient key(s) re-wrapped.")


def _date(value) -> str:
    if not value:
        return "-"
    import datetime

    return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _status(row: dict) -> str:
    return "disabled" if row["disabled"] else ("must change password" if row["must_change_password"] else "active")


def main(argv=None) -> int:
    try:
        app(args=argv, prog_name="webcrypt")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    return 0
