"""Words and small conversions of the web console: its catalogue, dates, form values.

The German texts are in locale/de/LC_MESSAGES/admin.po, read with the portal's
gettext loader (i18n.parse_po); English is the source language.
"""

import datetime
import functools
import json

from . import i18n

LANGUAGES = i18n.LANGUAGES


@functools.lru_cache(maxsize=None)
def catalogue(language: str) -> dict[str, str]:
    path = i18n.LOCALE_DIR / language / "LC_MESSAGES" / "admin.po"
    if language == i18n.DEFAULT or not path.exists():
        return {}
    return i18n.parse_po(path.read_text("utf-8"))


def translate(text: str, language: str) -> str:
    return catalogue(language).get(text, text)


def date(value) -> str:
    if not value:
        return "-"
    return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")


def parse_day(text: str) -> int | None:
    """'2026-11-27' (UTC midnight) as Unix seconds; anything else: no filter."""
    try:
        day = datetime.date.fromisoformat(text.strip())
    except ValueError:
        return None
    return int(datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc).timestamp())


def shown(value) -> str:
    return ", ".join(value) if isinstance(value, list) else json.dumps(value) if isinstance(value, bool) else str(value)

