"""The command-line application object, its groups, and what every command shares:
error handling at the edge, opening the home, reading passwords, printing tables."""

import functools
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ...base import config
from ...base.errors import ExitStatus, WebcryptError
from ...context.home import Home
from ...infra import store
from ...core.display import date_text, parse_since, shown_value  # noqa: F401 - for the commands
from ...usecases import accounts

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
message_app = typer.Typer(help="Encrypted messages: list, find, expiry (metadata only).", no_args_is_help=True)
admin_app = typer.Typer(help="Administrator accounts for the web console /admin.", no_args_is_help=True)
settings_app = typer.Typer(help="Settings stored by the web console (they win over webcrypt.toml).",
                           no_args_is_help=True)
app.add_typer(message_app, name="message")
app.add_typer(admin_app, name="admin")
app.add_typer(settings_app, name="settings")


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


def print_login_data(new: accounts.NewAccount) -> None:
    err.print(f"Login data for {new.address}, password (shown once): {new.password}", markup=False)


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
    Console(highlight=False, markup=False).print(table)  # mail data is never markup


def table_console() -> Console:
    """Tables piped into a file or grep keep whole addresses and ids on one line."""
    # markup=False: values such as the keyword "[secure]" are data, not rich markup tags.
    return Console(highlight=False, markup=False, width=None if sys.stdout.isatty() else 250)


def actor() -> str:
    """Who is acting, for the audit trail: the login behind sudo, else the process owner."""
    import getpass
    import os

    return f"cli:{os.environ.get('SUDO_USER') or getpass.getuser()}"


def is_file(text: str) -> bool:
    return text == "-" or Path(text).is_file()


def status_text(row: dict) -> str:
    return "disabled" if row["disabled"] else ("must change password" if row["must_change_password"] else "active")


def main(argv=None) -> int:
    try:
        app(args=argv, prog_name="webcrypt")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    return 0
