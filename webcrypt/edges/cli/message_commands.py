"""Commands on encrypted messages (metadata only) and the audit trail."""

import json
from typing import Optional

import typer
from rich.table import Table

from ...usecases import auditlog, messages
from .base import (
    actor,
    app,
    date_text,
    handled,
    is_file,
    message_app,
    open_home,
    parse_since,
    read_input,
    table_console,
)


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
    rows = messages.described(home, messages.listing(sender, recipient, parse_since(since, home.now()), limit=limit))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "created", "sender", "recipient", "expires", "size", "status", "first opened", "last opened",
                  "replied", "receipt", "subject")
    for row in rows:
        table.add_row(row["id"], date_text(row["created"]), row["sender"], row["recipient"],
                      date_text(row["expires"]), str(row["size"]), row["status"], date_text(row["first_opened"]),
                      date_text(row["last_opened"]), date_text(row["replied"]), receipt_text(row), row["subject"] or "")
    table_console().print(table)


def receipt_text(row: dict) -> str:
    """Whether a read receipt was asked for, and when it was sent."""
    if not row["receipt"]:
        return ""
    return f"sent {date_text(row['receipt_sent'])}" if row["receipt_sent"] else "asked"


DATES = ("created", "expires", "first_opened", "last_opened", "replied", "receipt_sent", "revoked")


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
    row = messages.described(home, [messages.get(messages.id_from_copy(read_input(source)))])[0]
    if as_json:
        typer.echo(json.dumps(row, indent=2))
        return
    for key, value in row.items():
        shown = date_text(value) if key in DATES else value
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
    typer.echo(f"Message {record.id} can be opened until {date_text(record.expires)}.")


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
    message_id = messages.id_from_copy(read_input(message)) if is_file(message) else message
    record = messages.recall(home, message_id, actor())
    typer.echo(f"Recalled message {record.id} to {record.recipient}; it can no longer be opened.")


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
        table.add_row(date_text(row["at"]), row["actor"], row["action"], row["subject"], row["detail"], row["client"])
    table_console().print(table)
