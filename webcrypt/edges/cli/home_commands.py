"""Commands that set up and keep a home: init, migrate, keys, settings, maintain, backup, demo."""

import json
from pathlib import Path

import typer
from rich.table import Table

from ...infra import keys, store
from ...usecases import accounts, events, housekeeping, settings
from .base import actor, app, handled, keys_app, open_home, settings_app, shown_value, table_console


@app.command()
@handled
def init(
    home_dir: Path = typer.Option(..., "--home", help="Folder for configuration, key and database."),
    portal_url: str = typer.Option("http://127.0.0.1:8080", "--portal-url", help="Public URL of the portal."),
):
    """Create a home: commented webcrypt.toml, master.key (0600) and the database.

    Example: webcrypt init --home /etc/webcrypt --portal-url https://secure.example.com
    """
    from ...usecases import provision

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

    Example: webcrypt backup /var/backups/webcrypt/webcrypt-$(date +%F).db
    """
    home = open_home(ctx)
    path = housekeeping.backup(home, target, actor())
    typer.echo(f"Backup written to {path}. Restore: see docs/admin.md (needs the same master.key).")


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
        console = "-" if row["console"] is None else shown_value(row["console"])
        table.add_row(row["key"], shown_value(row["file"]), console, shown_value(row["effective"]))
    table_console().print(table)


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
    typer.echo(f"{key} = {shown_value(home.config[key])} (from the database, for every node).")


@settings_app.command("unset")
@handled
def settings_unset(ctx: typer.Context, key: str = typer.Argument(..., help="The key to hand back to webcrypt.toml.")):
    """Remove a stored setting: the value in webcrypt.toml applies again.

    Example: webcrypt settings unset policy.keyword
    """
    home = open_home(ctx)
    settings.save_overrides(home, {key: None}, actor())
    typer.echo(f"{key} = {shown_value(home.config[key])} (from webcrypt.toml).")


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
    from ...usecases import demo as demo_mod

    prepared = demo_mod.prepare(folder, f"http://{listen}")
    typer.echo(f"Sample carrier mail: {prepared.carrier.resolve()}")
    typer.echo(f"Sample secure.htm:   {prepared.secure_htm.resolve()}  (open it in a browser)")
    typer.echo(f"Log in as:           {prepared.address}")
    typer.echo(f"Password:            {prepared.password}")
    typer.echo(f"Portal:              {prepared.home.config['portal.url']}")
    typer.echo(f"Console:             {prepared.home.config['portal.url']}/admin/  "
               f"(administrator {demo_mod.ADMIN}, password {prepared.admin_password})")
    prepared.home.close()
    if serve_portal:
        from .. import portal

        typer.echo("Stop the portal with Ctrl-C.")
        portal.serve(prepared.home, listen, None)
