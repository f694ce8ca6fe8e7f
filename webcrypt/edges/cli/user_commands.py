"""Commands for recipient accounts and console administrators."""

import json

import typer
from rich.table import Table

from ...base.errors import ExitStatus
from ...usecases import account_admin, accounts, admins
from .base import (
    actor,
    admin_app,
    app,
    date_text,
    err,
    handled,
    open_home,
    print_login_data,
    print_table,
    read_password,
    status_text,
    table_console,
    user_app,
)


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
    new = account_admin.create(home, address, read_password(password_stdin), actor())
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
    new = account_admin.reset(home, address, actor(), mail=mail, print_login_data=print_login_data)
    if mail and home.config["accounts.credentials_to"] != "print":
        typer.echo(f"New login data for {new.address} sent per credentials_to.")
    elif mail:
        pass  # credentials_to = "print": print_login_data showed them on stderr
    else:
        typer.echo(f"New password for {new.address} (shown once): {new.password}")


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
    home = open_home(ctx)
    rows = [accounts.describe(home, r) for r in accounts.listing(search)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    cells = [(row["address"], date_text(row["created"]), date_text(row["last_login"]), date_text(row["valid_until"]),
              status_text(row), str(row["messages"])) for row in rows]
    print_table(("address", "created", "last login", "valid until", "status", "messages"), cells)


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
    home = open_home(ctx)
    row = accounts.describe(home, accounts.get(address))
    if as_json:
        typer.echo(json.dumps(row, indent=2))
        return
    for key, value in row.items():
        shown = date_text(value) if key in ("created", "last_login", "valid_until", "locked_until") else value
        typer.echo(f"{key:22} {shown}")


@user_app.command("disable")
@handled
def user_disable(ctx: typer.Context, address: str = typer.Argument(..., help="Recipient mail address.")):
    """Disable an account: no logins, no new messages; keys are kept.

    Example: webcrypt user disable alice@example.org
    """
    home = open_home(ctx)
    typer.echo(f"Disabled {account_admin.set_disabled(home, address, True, actor()).address}.")


@user_app.command("enable")
@handled
def user_enable(ctx: typer.Context, address: str = typer.Argument(..., help="Recipient mail address.")):
    """Enable a disabled account again.

    Example: webcrypt user enable alice@example.org
    """
    home = open_home(ctx)
    typer.echo(f"Enabled {account_admin.set_disabled(home, address, False, actor()).address}.")


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
    count = accounts.describe(home, recipient)["messages"]
    warning = (f"Deleting {recipient.address} destroys its key: its {count} message(s) "
               "can never be read again, by anyone.")
    if not yes:
        err.print(warning, markup=False)
        if not typer.confirm("Delete?", err=True):
            raise typer.Exit(int(ExitStatus.ERROR))
    destroyed = account_admin.delete(home, recipient.address, actor())
    typer.echo(f"Deleted {recipient.address}; {destroyed} message key(s) destroyed.")


@user_app.command("unlock")
@handled
def user_unlock(ctx: typer.Context, address: str = typer.Argument(..., help="Recipient mail address.")):
    """Lift a lockout after failed logins (the password stays).

    Example: webcrypt user unlock alice@example.org
    """
    home = open_home(ctx)
    typer.echo(f"Unlocked {account_admin.unlock(home, address, actor()).address}.")


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
    recipient = account_admin.extend(home, address, days, actor())
    typer.echo(f"{recipient.address} is valid until {date_text(recipient.valid_until) if recipient.valid_until else 'for ever'}.")


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


@admin_app.command("totp")
@handled
def admin_totp(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Administrator name."),
    off: bool = typer.Option(False, "--off", help="Remove the second factor and its recovery codes: the password alone logs in again."),
    qr_code: bool = typer.Option(False, "--qr", help="Also draw the QR code in the terminal (for a dark background)."),
):
    """Enrol a second factor (TOTP app) for console logins; prints the secret and 10 recovery codes once. Ends their sessions.

    Example: webcrypt admin totp alice   (then: webcrypt admin totp alice --off)
    """
    home = open_home(ctx)
    if off:
        typer.echo(f"Second factor of administrator {admins.remove_totp(home, name, actor()).name} removed.")
        return
    enrolment = admins.enrol_totp(home, name, actor())
    typer.echo(f"Second factor enrolled for administrator {admins.get(name).name} (shown once).")
    typer.echo(f"Secret (base32): {enrolment.secret}")
    typer.echo(f"URI: {enrolment.uri}")
    if qr_code:
        from ...core import qr  # segno only when asked for

        typer.echo(qr.terminal(enrolment.uri))
    typer.echo("Add it to an authenticator app; the console then asks for its 6-digit code.")
    echo_recovery_codes(enrolment.recovery_codes)


@admin_app.command("recovery-codes")
@handled
def admin_recovery_codes(ctx: typer.Context, name: str = typer.Argument(..., help="Administrator name.")):
    """Make a fresh set of 10 recovery codes (printed once); the earlier codes stop working.

    Example: webcrypt admin recovery-codes alice
    """
    home = open_home(ctx)
    echo_recovery_codes(admins.regenerate_recovery_codes(home, name, actor()))


def echo_recovery_codes(codes: list[str]) -> None:
    typer.echo("Recovery codes (shown once; each logs in once in place of the app's code; keep them offline):")
    for code in codes:
        typer.echo(f"  {code}")


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
    table = Table("name", "created", "last login", "status", "2nd factor")
    for row in rows:
        table.add_row(row["name"], date_text(row["created"]), date_text(row["last_login"]),
                      "disabled" if row["disabled"] else "active", f"totp, {row['recovery_codes']} recovery codes" if row["totp"] else "-")
    table_console().print(table)
