"""Times, sizes and setting values as people read and type them (pure): the one module for
showing dates, for the commands, the console and the portal alike.

The commands and the console show UTC (``date_text``): an appliance's logs, the audit trail and
its administrators may sit in different time zones, and one zone keeps them comparable. A
recipient reads moments in their own zone and language (``Reader``, ``moment_text``): the words
(month names, the order of day, month and time) come from the caller's catalogue through
``Reader.translate``, so a language is still only its catalogues.
"""

import datetime
import email.utils
import json
import math
import re
from dataclasses import dataclass
from typing import Callable

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
# French writes octets: ko, Mo, Go (1 byte = 1 octet), as its operating systems show them.
UNIT_WORDS = {"fr": {"KB": "Ko", "MB": "Mo", "GB": "Go"}}


def size_text(size: int, language: str = "en") -> str:
    """A byte count as people read it: '512 bytes', '13.2 KB', '10 MB', '1,5 Mo' (1 KB = 1024 bytes)."""
    value, unit = float(size), SIZE_UNITS[0]
    for unit in SIZE_UNITS:
        if value < 1024 or unit == SIZE_UNITS[-1]:
            break
        value /= 1024
    if unit == "bytes":
        return f"{size} {BYTES_WORD.get(language, 'bytes')}"
    shown = f"{value:.0f}" if value >= 100 or value == int(value) else f"{value:.1f}"
    number = shown.replace(".", ",") if language in COMMA_DECIMALS else shown
    return number + " " + UNIT_WORDS.get(language, {}).get(unit, unit)


# Moments as a recipient reads them. The texts below are msgids of the caller's catalogue.
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
MOMENT = "{day} {month} {year}, {time}"  # de: "{day}. {month} {year}, {time}"; fr: "... à {time}"
DAY = "{day} {month} {year}"  # de: "{day}. {month} {year}"
TIME = "{hour}:{minute}"
WITH_ZONE = "{time} ({zone})"
IN_MINUTES = "in {minutes} minutes"
IN_ONE_MINUTE = "in 1 minute"
UTC = datetime.timezone.utc


@dataclass(frozen=True)
class Reader:
    """Who reads a moment: their language's words, their zone, and whether that zone is their own
    (told by their browser): a zone that is not gets its name beside each time."""

    translate: Callable[[str], str]
    zone: datetime.tzinfo = UTC
    own_zone: bool = False


def local(seconds: float, reader: Reader) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, UTC).astimezone(reader.zone)


def time_text(seconds: float, reader: Reader) -> str:
    """'10:15', with the zone's name ('10:15 (UTC)') unless the zone is the reader's own."""
    moment = local(seconds, reader)
    shown = reader.translate(TIME).format(hour=f"{moment.hour:02d}", minute=f"{moment.minute:02d}")
    return shown if reader.own_zone else reader.translate(WITH_ZONE).format(time=shown, zone=zone_name(moment))


def moment_text(seconds: float, reader: Reader) -> str:
    """'27 November 2026, 10:15' in the reader's zone and words ('27. November 2026, 10:15')."""
    moment = local(seconds, reader)
    return reader.translate(MOMENT).format(day=moment.day, month=reader.translate(MONTHS[moment.month - 1]),
                                           year=moment.year, time=time_text(seconds, reader))


def day_text(day: datetime.date, reader: Reader) -> str:
    """A calendar day in the reader's words: '1 December 2026' ('1. Dezember 2026')."""
    return reader.translate(DAY).format(day=day.day, month=reader.translate(MONTHS[day.month - 1]), year=day.year)


def soon_text(seconds: float, now: float, reader: Reader) -> str:
    """A moment near *now*: its time alone on the same day ('10:15'), else with its date."""
    same_day = local(seconds, reader).date() == local(now, reader).date()
    return time_text(seconds, reader) if same_day else moment_text(seconds, reader)


def minutes_from_now(seconds: float, now: float, reader: Reader) -> str:
    """'in 15 minutes' (rounded up: a lock is never said to end before it does)."""
    minutes = max(1, math.ceil((seconds - now) / 60))
    return reader.translate(IN_ONE_MINUTE) if minutes == 1 else reader.translate(IN_MINUTES).format(minutes=minutes)


def machine_time(seconds: float, zone: datetime.tzinfo = UTC) -> str:
    """ISO 8601 with the offset, for <time datetime>: '2026-11-27T10:15:00+01:00'."""
    return datetime.datetime.fromtimestamp(int(seconds), UTC).astimezone(zone).isoformat()


def zone_name(moment: datetime.datetime) -> str:
    """The zone's abbreviation ('CET', 'UTC'), else its offset ('UTC+05:30')."""
    name = moment.tzname() or ""
    return name if name.isalpha() else "UTC" + offset_text(moment)


def offset_text(moment: datetime.datetime) -> str:
    """'+01:00', '\u221205:00' (a true minus sign), '+00:00'."""
    offset = moment.utcoffset() or datetime.timedelta(0)
    sign, minutes = ("+" if offset >= datetime.timedelta(0) else "\u2212"), abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class MailDate:
    """A mail's Date header read: the moment, and the sender's own clock at it."""

    seconds: float
    sender_time: datetime.datetime  # in the offset the header gave


def mail_date(header: str | None) -> MailDate | None:
    """The mail's Date header as a moment; None when it has none or none that can be read."""
    if not header:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(header.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:  # "-0000": the sender's zone is unknown (RFC 5322 3.3); read as UTC
        moment = moment.replace(tzinfo=UTC)
    try:
        return MailDate(moment.timestamp(), moment)
    except (OverflowError, ValueError):
        return None


def sender_differs(date: MailDate, reader: Reader) -> bool:
    """Whether the sender's clock showed another time than the reader's (their zones differ then)."""
    return date.sender_time.utcoffset() != local(date.seconds, reader).utcoffset()


def sender_time_text(date: MailDate, reader: Reader) -> str:
    """The sender's own clock at the moment, '09:15 (UTC\u221205:00)'."""
    moment = date.sender_time
    shown = reader.translate(TIME).format(hour=f"{moment.hour:02d}", minute=f"{moment.minute:02d}")
    return reader.translate(WITH_ZONE).format(time=shown, zone="UTC" + offset_text(moment))


_TIMESTAMP = re.compile(r"\b(until|at) (1\d{9})\b")


def readable_detail(detail: str) -> str:
    """An audit detail with Unix seconds after 'until'/'at' shown as a date ('until 2026-11-27 10:00 UTC')."""
    return _TIMESTAMP.sub(lambda m: f"{m.group(1)} {date_text(int(m.group(2)))} UTC", detail or "")
