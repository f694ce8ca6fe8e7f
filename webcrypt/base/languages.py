"""The languages webcrypt speaks, and their gettext ``.po`` catalogues.

One list for every layer: the portal's and the console's menus, the language a
recipient may choose, the languages of mails and of secure.htm, the console's own
texts per language. Adding a language is one line in LANGUAGES and its catalogues,
``locale/<code>/LC_MESSAGES/{portal,admin,mail}.po`` (copy German's and translate).

English is the source language: every msgid is the English text, and a missing
translation shows it. The catalogues are read as they are, no compile step (so a
PyInstaller build or an editable install works alike). ``$WEBCRYPT_LOCALE_DIR`` names
a folder searched before the package's own (a site's catalogues, or a test's).
"""

import functools
import os
import re
from pathlib import Path

# code -> the language's name in itself, as the language menus show it; menus keep this order.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
}
DEFAULT = "en"
PACKAGE_LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
LOCALE_DIR_VARIABLE = "WEBCRYPT_LOCALE_DIR"


def valid(language: str | None) -> str | None:
    return language if language in LANGUAGES else None


def catalogue(language: str, domain: str) -> dict[str, str]:
    """msgid -> msgstr of *domain* ("portal", "admin", "mail") in *language*; {} for English."""
    if language == DEFAULT or language not in LANGUAGES:
        return {}
    return _read_catalogue(language, domain, locale_dirs())


def locale_dirs(environ=os.environ) -> tuple[Path, ...]:
    extra = environ.get(LOCALE_DIR_VARIABLE, "")
    return ((Path(extra),) if extra else ()) + (PACKAGE_LOCALE_DIR,)


@functools.lru_cache(maxsize=None)
def _read_catalogue(language: str, domain: str, folders: tuple[Path, ...]) -> dict[str, str]:
    for folder in folders:
        path = folder / language / "LC_MESSAGES" / f"{domain}.po"
        if path.exists():
            return parse_po(path.read_text("utf-8"))
    return {}


def translator(language: str, domain: str):
    table = catalogue(language, domain)
    return lambda text: table.get(text, text)


def negotiate(accept_language: str | None) -> str:
    """The best of LANGUAGES for an Accept-Language header (quality values honoured)."""
    best, best_q = DEFAULT, 0.0
    for item in (accept_language or "").split(",")[:20]:
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr for every translated entry (comments and fuzzy flags ignored)."""
    entries: dict[str, str] = {}
    current: dict[str, str] = {}
    key = None
    for line in text.splitlines() + [""]:
        line = line.strip()
        if line.startswith(("msgid ", "msgstr ")):
            key, _, literal = line.partition(" ")
            if key == "msgid" and "msgstr" in current:
                _add(entries, current)
                current = {}
            current[key] = _unquote(literal)
        elif line.startswith('"') and key:
            current[key] += _unquote(line)
        elif not line and "msgstr" in current:
            _add(entries, current)
            current, key = {}, None
    return entries


_ESCAPE = re.compile(r'\\(.)')
_ESCAPED = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(literal: str) -> str:
    """A C string literal of a .po file, as gettext writes them (no ast: the pipe starts lean)."""
    inner = literal.strip()
    if len(inner) < 2 or inner[0] != '"' or inner[-1] != '"':
        raise ValueError(f"not a quoted .po string: {literal[:40]!r}")
    return _ESCAPE.sub(lambda m: _ESCAPED.get(m.group(1), m.group(0)), inner[1:-1])


def _add(entries: dict[str, str], entry: dict[str, str]) -> None:
    if entry.get("msgid") and entry.get("msgstr"):
        entries[entry["msgid"]] = entry["msgstr"]
