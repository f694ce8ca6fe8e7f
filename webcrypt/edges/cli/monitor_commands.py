"""The monitoring command: live dashboard, one-shot figures, Nagios/Icinga check."""

import json

import typer
from rich.console import Console
from rich.table import Table

from ...base.errors import WebcryptError
from ...context.home import Home
from ...infra import store
from ...usecases import monitor as monitor_mod
from .base import app, date_text, handled, open_home

SPARK = " ▁▂▃▄▅▆▇█"


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
        errors.add_row(date_text(row["at"]), row["action"], row["subject"], row["detail"])
    verdict = monitor_mod.check(home, figures)
    title = f"webcrypt monitor, {date_text(figures.at)} UTC: {monitor_mod.STATE_NAMES[verdict.state]}"
    return Panel(Group(counters, state, errors, f"database: {figures.database}", verdict.line()), title=title)
