"""Commands on the database as a whole: moving a site to another database."""

import typer

from ...base import config
from ...usecases import copying, events
from .base import actor, app, handled, open_home, print_table

db_app = typer.Typer(help="The database as a whole: move a site to another database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("copy")
@handled
def db_copy(
    ctx: typer.Context,
    to: str = typer.Option(..., "--to", help="URL of the empty target database, e.g. postgresql://webcrypt@db/webcrypt."),
):
    """Copy every table into an empty database, verified row by row (SQLite to PostgreSQL).

    Stop the portal, relay, timer and mail filter first (docs/admin.md, "Moving from SQLite");
    then set [database] url to the target on every node. Nothing is deleted from the source.

    Example: webcrypt db copy --to postgresql://webcrypt@127.0.0.1/webcrypt   (password in ~/.pgpass)
    """
    home = open_home(ctx)
    counts = copying.copy_to(home, to)
    events.audit(home, actor(), "db_copy", config.shown_url(to)[:320], f"rows={sum(counts.values())}")
    print_table(["table", "rows"], [[name, str(count)] for name, count in counts.items()])
    typer.echo(f"Copied and verified {sum(counts.values())} rows into {config.shown_url(to)}. "
               f"Next: set [database] url to it on every node, then start the services.")
