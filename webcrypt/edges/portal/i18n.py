"""The portal's words: its catalogue (``portal.po``) of the languages in base/languages.py."""

from ...base.languages import DEFAULT, LANGUAGES, negotiate, valid  # noqa: F401 - the portal's one door to them
from ...base import languages

DOMAIN = "portal"


def catalogue(language: str) -> dict[str, str]:
    return languages.catalogue(language, DOMAIN)


def translator(language: str):
    return languages.translator(language, DOMAIN)


def menu(current: str) -> list[tuple[str, str]]:
    """(code, name) of every language but *current*, for the language links of a page."""
    return [(code, name) for code, name in LANGUAGES.items() if code != current]
