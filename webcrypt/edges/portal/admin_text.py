"""Words of the web console: its catalogue (dates and values: core/display.py).

The German texts are in locale/de/LC_MESSAGES/admin.po, read with the portal's
gettext loader (i18n.parse_po); English is the source language.
"""

import functools

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
