"""Times and setting values as people read and type them, for the commands and the console (pure).

All times are UTC: an appliance's logs, the audit trail and its administrators may sit in
different time zones, and one zone keeps them comparable.
"""

import datetime
import json

from ..base.errors import WebcryptError

UNITS = {"m": 60, "h": 3600, "d": 86400}


def date_text(value) -> str:
    """Unix seconds as '2026-11-27 10:00' (UTC); '-' for none."""
    if not value:
        return "-"
    return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")


def parse_since(text: str | None, now: int) -> int | None:
    """'24h', '7d', '30m', '2026-11-27' or '2026-11-27T10:00' (UTC) as Unix seconds; None for none."""
    if not text:
        return None
    if text[:-1].isdigit() and text[-1:] in UNITS:
        return now - int(text[:-1]) * UNITS[text[-1]]
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise WebcryptError(f"--since must look like 24h, 7d or 2026-11-27, not {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp())


def parse_day(text: str) -> int | None:
    """'2026-11-27' (UTC midnight) as Unix seconds; anything else: None (no filter)."""
    try:
        day = datetime.date.fromisoformat(text.strip())
    except ValueError:
        return None
    return int(datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc).timestamp())


def shown_value(value) -> str:
    """A setting's value as typed back: lists comma-separated, booleans as true/false."""
    if isinstance(value, list):
        return ", ".join(value)
    return json.dumps(value) if isinstance(value, bool) else str(value)
