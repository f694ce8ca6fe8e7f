"""A browser's User-Agent header as a person reads it: "Chrome on Android" (pure).

The session list shows which device a session belongs to, so that a recipient recognises
the phone they lost. A short label is all it needs: the raw header (long, client-chosen,
a fingerprint) is never stored. A handful of rules in order, the first that matches wins;
no third-party parser: the major browsers and systems name themselves plainly, and what
is not recognised is an "Unknown browser", not a guess.
"""

from dataclasses import dataclass

LONGEST = 512  # a header longer than any real browser's is read only this far

# (token in the header, browser). Order matters: Edge, Opera and Samsung Internet also say
# "Chrome/", Chrome also says "Safari/", and Chrome and Firefox on iOS say neither.
BROWSERS = (
    ("Edg/", "Edge"), ("EdgA/", "Edge"), ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"), ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"), ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"), ("Chromium/", "Chromium"), ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
)

# (token, system). iPhone and iPad say "like Mac OS X", Android and ChromeOS say "Linux".
SYSTEMS = (
    ("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("CrOS", "ChromeOS"),
    ("Windows", "Windows"), ("Macintosh", "macOS"), ("Linux", "Linux"),
)

UNKNOWN = "Unknown browser"
ON = "{browser} on {system}"


@dataclass(frozen=True)
class Device:
    browser: str = ""  # "" when not recognised
    system: str = ""

    def label(self, on: str = ON, unknown: str = UNKNOWN) -> str:
        """The device in words; *on* and *unknown* are the (translated) phrases to use."""
        browser = self.browser or unknown
        return on.format(browser=browser, system=self.system) if self.system else browser


def parse(header: str | None) -> Device:
    text = (header or "")[:LONGEST]
    return Device(_first(BROWSERS, text), _first(SYSTEMS, text))


def describe(header: str | None) -> str:
    """The English label of *header*, e.g. "Safari on iPhone"."""
    return parse(header).label()


def _first(rules: tuple[tuple[str, str], ...], text: str) -> str:
    return next((name for token, name in rules if token in text), "")
