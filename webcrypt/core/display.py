"""Times and setting values as people read and type them, for the commands and the console (pure).

All times are UTC: an appliance's logs, the audit trail and its administrators may sit in
different time zones, and one zone keeps them comparable.
"""

import datetime
import json
import re

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


SIZE_UNITS = ("bytes", "KB", "MB", "GB")
COMMA_DECIMALS = ("de", "fr")  # languages that write 10,5 rather than 10.5
BYTES_WORD = {"de": "Bytes", "fr": "octets"}


def size_text(size: int, language: str = "en") -> str:
    """A byte count as people read it: '512 bytes', '13.2 KB', '10 MB' (1 KB = 1024 bytes)."""
    value, unit = float(size), SIZE_UNITS[0]
    for unit in SIZE_UNITS:
        if value < 1024 or unit == SIZE_UNITS[-1]:
            break
        value /= 1024
    if unit == "bytes":
        return f"{size} {BYTES_WORD.get(language, 'bytes')}"
    shown = f"{value:.0f}" if value >= 100 or value == int(value) else f"{value:.1f}"
    return (shown.replace(".", ",") if language in COMMA_DECIMALS else shown) + " " + unit


_TIMESTAMP = re.compile(r"\b(until|at) (1\d{9})\b")


def readable_detail(detail: str) -> str:
    """An audit detail with Unix seconds after 'until'/'at' shown as a date ('until 2026-11-27 10:00 UTC')."""
    return _TIMESTAMP.sub(lambda m: f"{m.group(1)} {date_text(int(m.group(2)))} UTC", detail or "")
