"""English and German for the portal: gettext ``.po`` catalogues read by a small loader.

The catalogues are plain ``locale/<lang>/LC_MESSAGES/portal.po`` files in the
package; reading them needs no compile step (so a PyInstaller build or an
editable install works alike). English is the source language: a missing
translation shows the English text.
"""

import ast
import functools
from pathlib import Path

LANGUAGES = ("en", "de")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


@functools.lru_cache(maxsize=None)
def catalogue(language: str) -> dict[str, str]:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "portal.po"
    if language == DEFAULT or not path.exists():
        return {}
    return parse_po(path.read_text("utf-8"))


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
            current[key] = ast.literal_eval(literal)
        elif line.startswith('"') and key:
            current[key] += ast.literal_eval(line)
        elif not line and "msgstr" in current:
            _add(entries, current)
            current, key = {}, None
    return entries


def _add(entries: dict[str, str], entry: dict[str, str]) -> None:
    if entry.get("msgid") and entry.get("msgstr"):
        entries[entry["msgid"]] = entry["msgstr"]


def translator(language: str):
    table = catalogue(language if language in LANGUAGES else DEFAULT)
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


def valid(language: str | None) -> str | None:
    return language if language in LANGUAGES else None
