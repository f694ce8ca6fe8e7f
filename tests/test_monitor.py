"""Monitoring: figures per hour, gauges, Nagios checks, Prometheus text, the CLI."""

import json
import re

from typer.testing import CliRunner

from conftest import write_settings
from webcrypt.edges import cli
from webcrypt.infra import store
from webcrypt.usecases import accounts, events, monitor

HOUR = 3600


def run(*args):
    return CliRunner().invoke(cli.app, list(args), catch_exceptions=False)


def test_counters_fall_into_their_hours(home, clock):
    events.count(home, events.ENCRYPTED)
    clock.advance(HOUR)
    events.count(home, events.ENCRYPTED, 3)
    events.count(home, events.DEFERRED)
    clock.advance(30 * HOUR)  # none of the above is in the last day any more ...
    events.count(home, events.PASSED, 2)
    clock.advance(-30 * HOUR)  # ... but from here they are the last two hours of the day
    figures = monitor.snapshot(home)
    assert len(figures.hours) == 24 and figures.hours[-1] <= clock.now < figures.hours[-1] + HOUR
    assert figures.series["encrypted"][-2:] == [1, 3]
    assert figures.last_hour["encrypted"] == 3 and figures.totals["encrypted"] == 4
    assert figures.totals["passed"] == 0  # counted in the future, not in the last day
    assert figures.all_time["passed"] == 2 and figures.all_time["encrypted"] == 4
    assert set(figures.series) == set(monitor.COUNTERS)


def test_gauges_read_the_tables(home, clock):
    now = clock.now
    for name in ("a@example.org", "b@example.org", "c@example.org"):
        accounts.create(home, name, "a password")
    store.Recipient.update(locked_until=now + 600).where(store.Recipient.address == "a@example.org").execute()
    store.Recipient.update(locked_until=now - 600).where(store.Recipient.address == "b@example.org").execute()
    store.Recipient.update(disabled=True).where(store.Recipient.address == "c@example.org").execute()
    session = dict(kind="recipient", principal="a@example.org", created=now)
    store.Session.create(id_hash="fresh", last_seen=now - 60, **session)
    store.Session.create(id_hash="idle", last_seen=now - 3 * HOUR, **session)
    store.Upload.create(id="u1", envelope=b"x", created=now, expires=now + 300)
    store.Upload.create(id="u2", envelope=b"x", created=now - 900, expires=now - 1)
    events.audit(home, "pipe", "deferred", "bank@example.com", "next hop refused: 451")
    events.audit(home, "cli:root", "reset", "a@example.org")

    figures = monitor.snapshot(home)
    g = figures.gauges
    assert (g["accounts"], g["locked_accounts"], g["disabled_accounts"]) == (3, 1, 1)
    assert (g["active_sessions"], g["pending_uploads"]) == (1, 1)
    assert g["database_bytes"] > 0
    assert [e["action"] for e in figures.last_errors] == ["deferred"]


def test_check_grades_against_thresholds(home, home_dir, clock):
    figures = monitor.snapshot(home)
    assert monitor.check(home, figures).state == monitor.OK
    events.count(home, events.DEFERRED, 10)
    verdict = monitor.check(home, monitor.snapshot(home))
    assert verdict.state == monitor.WARNING and "deferred 10 >= 10" in verdict.line()
    events.count(home, events.ERRORS, 10)
    verdict = monitor.check(home, monitor.snapshot(home))
    assert verdict.state == monitor.CRITICAL
    line = verdict.line(monitor.snapshot(home))
    assert line.startswith("WEBCRYPT CRITICAL - ") and "| deferred=10 errors=10" in line
    clock.advance(HOUR)  # a new hour: last-hour figures start again
    assert monitor.check(home, monitor.snapshot(home)).state == monitor.OK


def test_prometheus_text_format(home):
    events.count(home, events.PORTAL_OPENS, 5)
    text = monitor.prometheus(monitor.snapshot(home))
    assert 'webcrypt_events_total{event="portal_opens"} 5' in text
    assert "# TYPE webcrypt_events_total counter" in text
    sample = re.compile(r'^webcrypt_[a-z_0-9]+(\{event="[a-z_]+"\})? \d+$')
    for line in text.splitlines():
        assert line.startswith("# ") or sample.match(line), line


def test_cli_once_json_and_check_exit_codes(config_env, home, home_dir):
    events.count(home, events.ENCRYPTED, 2)
    once = run("monitor", "--once")
    assert once.exit_code == 0 and "encrypted" in once.stdout and "pending uploads" in once.stdout
    figures = json.loads(run("monitor", "--json").stdout)
    assert sum(figures["series"]["encrypted"]) >= 0 and "gauges" in figures

    check = run("monitor", "--check")
    assert check.exit_code == 0 and check.stdout.startswith("WEBCRYPT OK")
    write_settings(config_env, {"monitor": {"pending_uploads_warning": "1", "pending_uploads_critical": "0"}})
    store.Upload.create(id="u", envelope=b"x", created=2**40, expires=2**41)  # pending for the real clock too
    check = run("monitor", "--check")
    assert check.exit_code == 1 and "pending_uploads 1 >= 1 (warning)" in check.stdout
    write_settings(config_env, {"monitor": {"pending_uploads_critical": "1"}})
    assert run("monitor", "--check").exit_code == 2


def test_check_is_unknown_when_figures_cannot_be_read(config_env, home_dir):
    write_settings(config_env, {"database": {"url": f'"sqlite:///{home_dir / "missing" / "no.db"}"'}})
    check = run("monitor", "--check")
    assert check.exit_code == 3 and check.stdout.startswith("WEBCRYPT UNKNOWN - ")
    write_settings(config_env, {"database": {"url": f'"sqlite:///{home_dir / "empty.db"}"'}})
    check = run("monitor", "--check")
    assert check.exit_code == 3 and "webcrypt migrate" in check.stdout


def test_live_dashboard_refreshes_until_interrupted(config_env, home):
    import os
    import signal
    import subprocess
    import sys
    import time

    events.count(home, events.REPLIES, 3)
    process = subprocess.Popen([sys.executable, "-m", "webcrypt", "monitor", "--interval", "0.5"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "COLUMNS": "120"})
    time.sleep(2.5)  # a few refreshes
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert b"replies" in out and b"webcrypt monitor" in out
