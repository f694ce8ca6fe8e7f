"""The portal's words: its catalogue (``portal.po``) in the languages of base/languages.py."""

from ...base import languages
from ...base.languages import LANGUAGES, negotiate, valid  # noqa: F401 - the portal's one door to them

DOMAIN = "portal"


def catalogue(language: str) -> dict[str, str]:
    return languages.catalogue(language, DOMAIN)


def translator(language: str):
    return languages.translator(language, DOMAIN)
