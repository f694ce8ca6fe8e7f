"""Monitoring figures: one snapshot shared by `webcrypt monitor`, /metrics and /admin.

Counters come from the hourly rows ``events.count`` writes; gauges are read
from the tables at the moment of the snapshot. ``check`` grades a snapshot
against the [monitor] thresholds with Nagios/Icinga exit codes.
"""

from dataclasses import asdict, dataclass

from ..context.home import Home
from ..infra import store
from . import events

HOURS = 24
COUNTERS = (
    events.ENCRYPTED,
    events.PASSED,
    events.DEFERRED,
    events.REFUSED,
    events.PORTAL_OPENS,
    events.REPLIES,
    events.OPENED,
    events.RECALLED,
    events.LOGIN_FAILED,
    events.LOGIN_THROTTLED,
    events.ERRORS,
)
# Audit actions shown as "last errors": what went wrong, newest first.
ERROR_ACTIONS = ("error", "deferred", "delivery_failed", "refused", "login_locked")
LAST_ERRORS = 5

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}

# figure name -> where --check reads it ("last_hour" counters or "gauges")
CHECKED = {
    "deferred": "last_hour",
    "errors": "last_hour",
    "login_failed": "last_hour",
    "locked_accounts": "gauges",
    "pending_uploads": "gauges",
    "database_mb": "gauges",
}


@dataclass(frozen=True)
class Figures:
    at: int
    hours: list[int]  # start of each hour, oldest first, the current hour last
    series: dict[str, list[int]]  # counter -> one value per hour
    totals: dict[str, int]  # counter -> sum over the last 24 hours
    last_hour: dict[str, int]  # counter -> the current hour
    all_time: dict[str, int]  # counter -> every hour ever counted (Prometheus counters)
    gauges: dict[str, int]
    last_errors: list[dict]
    database: str = ""  # which store: "SQLite /var/lib/webcrypt/webcrypt.db", "PostgreSQL webcrypt on db1:5432"

    def as_dict(self) -> dict:
        return asdict(self)


def snapshot(home: Home) -> Figures:
    now = home.now()
    hours = _hours(now)
    series = _series(hours)
    return Figures(
        at=now,
        hours=hours,
        series=series,
        totals={name: sum(values) for name, values in series.items()},
        last_hour={name: values[-1] for name, values in series.items()},
        all_time=_all_time(),
        gauges=gauges(home, now),
        last_errors=last_errors(),
        database=store.description(),
    )


def _hours(now: int) -> list[int]:
    current = now // events.HOUR * events.HOUR
    return [current - (HOURS - 1 - i) * events.HOUR for i in range(HOURS)]


def _series(hours: list[int]) -> dict[str, list[int]]:
    series = {name: [0] * len(hours) for name in COUNTERS}
    index = {hour: i for i, hour in enumerate(hours)}
    rows = store.Stat.select().where((store.Stat.hour >= hours[0]) & (store.Stat.name.in_(COUNTERS)))
    for row in rows:
        if row.hour in index:
            series[row.name][index[row.hour]] += row.count
    return series


def _all_time() -> dict[str, int]:
    totals = dict.fromkeys(COUNTERS, 0)
    query = (
        store.Stat.select(store.Stat.name, store.fn.SUM(store.Stat.count).alias("total"))
        .where(store.Stat.name.in_(COUNTERS))
        .group_by(store.Stat.name)
    )
    for row in query:
        totals[row.name] = int(row.total or 0)
    return totals


def gauges(home: Home, now: int) -> dict[str, int]:
    idle = home.config["portal.session_idle_minutes"] * 60
    recipients = store.Recipient.select()
    size = store.database_size()
    return {
        "accounts": recipients.count(),
        "locked_accounts": recipients.where(store.Recipient.locked_until > now).count(),
        "disabled_accounts": recipients.where(store.Recipient.disabled == True).count(),  # noqa: E712
        "active_sessions": store.Session.select().where(store.Session.last_seen > now - idle).count(),
        "pending_uploads": store.Upload.select().where(store.Upload.expires > now).count(),
        "readable_messages": store.Message.select()
        .where(store.Message.data_key_wrapped.is_null(False) & (store.Message.expires > now))
        .count(),
        "database_bytes": size,
        "database_mb": size // (1024 * 1024),
    }


def last_errors(limit: int = LAST_ERRORS) -> list[dict]:
    rows = (
        store.AuditEvent.select()
        .where(store.AuditEvent.action.in_(ERROR_ACTIONS))
        .order_by(store.AuditEvent.at.desc(), store.AuditEvent.id.desc())
        .limit(limit)
    )
    return [{"at": r.at, "action": r.action, "subject": r.subject, "detail": r.detail} for r in rows]


@dataclass(frozen=True)
class Verdict:
    state: int  # OK, WARNING, CRITICAL or UNKNOWN
    problems: list[str]

    def line(self, figures: Figures | None = None) -> str:
        """One Nagios plugin line: status text, then performance data after '|'."""
        text = "; ".join(self.problems) or "all figures within thresholds"
        perf = ""
        if figures is not None:
            values = {name: _figure(figures, name) for name in CHECKED}
            perf = " | " + " ".join(f"{name}={value}" for name, value in values.items())
        return f"WEBCRYPT {STATE_NAMES[self.state]} - {text}{perf}"


def check(home: Home, figures: Figures) -> Verdict:
    """Grade *figures* against the [monitor] thresholds (0 switches a check off)."""
    state, problems = OK, []
    for name in CHECKED:
        value = _figure(figures, name)
        warning = home.config[f"monitor.{name}_warning"]
        critical = home.config[f"monitor.{name}_critical"]
        if critical and value >= critical:
            state = CRITICAL
            problems.append(f"{name} {value} >= {critical} (critical)")
        elif warning and value >= warning:
            state = max(state, WARNING)
            problems.append(f"{name} {value} >= {warning} (warning)")
    return Verdict(state, problems)


def _figure(figures: Figures, name: str) -> int:
    return getattr(figures, CHECKED[name])[name]


def prometheus(figures: Figures) -> str:
    """The figures in the Prometheus text exposition format (version 0.0.4)."""
    lines = [
        "# HELP webcrypt_events_total Events counted since the database was created.",
        "# TYPE webcrypt_events_total counter",
    ]
    lines += [f'webcrypt_events_total{{event="{name}"}} {value}' for name, value in figures.all_time.items()]
    lines += [
        "# HELP webcrypt_events_last_24h Events counted in the last 24 hours.",
        "# TYPE webcrypt_events_last_24h gauge",
    ]
    lines += [f'webcrypt_events_last_24h{{event="{name}"}} {value}' for name, value in figures.totals.items()]
    for name, value in figures.gauges.items():
        lines += [f"# TYPE webcrypt_{name} gauge", f"webcrypt_{name} {value}"]
    return "\n".join(lines) + "\n"
