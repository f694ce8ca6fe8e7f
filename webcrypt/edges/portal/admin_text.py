"""Words of the web console: its catalogue, ``admin.po`` (dates and values: core/display.py).

English is the source language; the languages are those of base/languages.py.
"""

from ...base import languages

LANGUAGES = languages.LANGUAGES
DOMAIN = "admin"


def catalogue(language: str) -> dict[str, str]:
    return languages.catalogue(language, DOMAIN)


def translate(text: str, language: str) -> str:
    return catalogue(language).get(text, text)
