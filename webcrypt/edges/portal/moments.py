"""Moments and sizes on the recipient's pages, in the reader's time zone and language, through
core/display (the one module for showing dates); each moment also machine-readable in
<time datetime="..."> for screen readers and tools.

The zone: the browser's (static/timezone.js keeps Intl's zone name in a cookie), else
``[portal] time_zone``, else UTC. A name that is malformed or that this system has no data for
(a minimal system may have none) is passed over, never an error.
"""

import datetime
import html

import bottle

from ...base import config
from ...core import display
from ...usecases import signin
from . import i18n, web

ZONE_COOKIE = "webcrypt-tz"
NONE = "–"
QUOTE_DATED = "{sender} wrote on {date}:"
QUOTE_UNDATED = "{sender} wrote:"
SENDER_CLOCK = "{time} for the sender"
# What a failed login says of the lock (the portal's and the console's login alike).
LEFT_ONE = "You have one more attempt. If it is wrong too, logging in will be locked for {minutes} minutes."
LEFT_MANY = "You have {n} more attempts. If they are wrong too, logging in will be locked for {minutes} minutes."
LOCKED = "Too many attempts: logging in is locked until {time} ({in_minutes})."


def reader_zone(home):
    """(zone, whether it is the reader's own): the browser's, else the configured one, else UTC."""
    own = config.time_zone(bottle.request.get_cookie(web.cookie_name(home, ZONE_COOKIE)) or "")
    if own is not None:
        return own, True
    return config.time_zone(home.config["portal.time_zone"]) or display.UTC, False


class Moments:
    """What a page's template calls to show moments and sizes to this request's reader."""

    def __init__(self, home, lang: str, translate=None):
        """*translate*: the catalogue's words (the portal's unless given: the console has its own)."""
        zone, own = reader_zone(home)
        self.home, self.lang = home, lang
        self.reader = display.Reader(translate or i18n.translator(lang), zone, own)

    def text(self, seconds) -> str:
        """Plain text, for a sentence: '27 November 2026, 10:15'."""
        return display.moment_text(seconds, self.reader) if seconds else NONE

    def tag(self, seconds) -> str:
        """HTML: the moment in a <time> element."""
        if not seconds:
            return NONE
        return self._time_element(seconds, display.moment_text(seconds, self.reader))

    def with_day(self, text: str, iso_day: str) -> str:
        """HTML: the translated *text* with its {date} as a calendar day ('2026-12-01') in the
        reader's words, in a <time> element."""
        day = datetime.date.fromisoformat(iso_day)
        shown = f'<time datetime="{day.isoformat()}">{html.escape(display.day_text(day, self.reader))}</time>'
        return html.escape(text).replace("{date}", shown)

    def size(self, size: int) -> str:
        return display.size_text(size, self.lang)

    def mail_date(self, header: str | None, fallback) -> str:
        """HTML for a message's Date line: the mail's own date in the reader's zone, with the
        sender's clock beside it when theirs showed another time; the raw header if it cannot be
        read; the moment webcrypt received it if the mail has none."""
        date = display.mail_date(header)
        if date is None:
            return html.escape(header.strip()) if header and header.strip() else self.tag(fallback)
        shown = self._time_element(date.seconds, display.moment_text(date.seconds, self.reader), title=header)
        if not display.sender_differs(date, self.reader):
            return shown
        clock = self.reader.translate(SENDER_CLOCK).format(time=display.sender_time_text(date, self.reader))
        return f'{shown} <span class="hint">({html.escape(clock)})</span>'

    def quote_intro(self, date_header: str | None) -> str:
        """The line above a quoted original: with its date when the mail has one, else without."""
        date = display.mail_date(date_header)
        if date is None:
            return self.reader.translate(QUOTE_UNDATED)
        return self.reader.translate(QUOTE_DATED).replace("{date}", display.moment_text(date.seconds, self.reader))

    def lock_end(self, until: int) -> tuple[str, str]:
        """(HTML of when a lock ends, 'in N minutes')."""
        now = self.home.now()
        return (self._time_element(until, display.soon_text(until, now, self.reader)),
                display.minutes_from_now(until, now, self.reader))

    def lock_sentences(self, error, block_minutes: int) -> list[str]:
        """HTML sentences for a failed or refused login: when the lock ends, else, once few are
        left, how many attempts the reader's own failures leave (signin.what_is_left)."""
        t = self.reader.translate
        until = getattr(error, "locked_until", None) or getattr(error, "until", None)
        if until:
            when, soon = self.lock_end(until)
            return [html.escape(t(LOCKED)).replace("{time}", when).replace("{in_minutes}", html.escape(soon))]
        left = getattr(error, "attempts_left", None)
        if left is None or left > signin.FEW_LEFT:
            return []
        text = t(LEFT_ONE) if left == 1 else t(LEFT_MANY).replace("{n}", str(left))
        return [html.escape(text.replace("{minutes}", str(block_minutes)))]

    def _time_element(self, seconds, text: str, title: str | None = None) -> str:
        machine = display.machine_time(seconds, self.reader.zone)
        extra = f' title="{html.escape(title.strip())}"' if title else ""
        return f'<time datetime="{machine}"{extra}>{html.escape(text)}</time>'


def template_values(home, lang: str) -> dict:
    """What every page's template gets to show moments and sizes, and to learn the browser's zone."""
    moments = Moments(home, lang)
    return {"fmt_time": moments.text, "when": moments.tag, "fmt_size": moments.size, "mail_date": moments.mail_date,
            "moments": moments, "zone_cookie": web.cookie_name(home, ZONE_COOKIE),
            "secure_cookie": "1" if home.config["portal.secure_cookies"] else "0"}
