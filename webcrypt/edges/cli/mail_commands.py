"""Commands that move mail: encrypt, open, pipe, relay, and the portal (serve)."""

import sys
from pathlib import Path
from typing import List, Optional

import typer

from ...base.errors import WebcryptError
from ...core import mime
from ...usecases import accounts, gateway
from .base import app, handled, open_home, print_login_data, read_input, read_password, write_chunks


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


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def pipe(ctx: typer.Context):
    """Content filter for Postfix pipe(8): read one message on stdin, encrypt or pass, reinject.

    Usage: webcrypt [-c CONFIG] pipe [-f SENDER] [-q QUEUEID] -- RCPT...
    Exit 0 when every copy was accepted, 75 to defer (any temporary or unexpected
    failure), 69 with one '5.x.x' line for a deliberate refusal. See appliance/postfix/.

    Example: webcrypt pipe -f clerk@example.com -q 4XyZ -- alice@example.org < message.eml
    """
    from ..pipe import main as pipe_main  # normally reached directly from main.py, without typer

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
    from .. import relay as relay_mod  # aiosmtpd is imported by this command only

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
    from .. import portal  # bottle and waitress are imported by this command only

    portal.serve(open_home(ctx, connect=False), listen, threads)
