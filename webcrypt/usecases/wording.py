"""The languages of a mail webcrypt writes: its reader's, then the configured second one.

The reader's language is the one their account chose (profile or the portal's language
link), else ``[mail] language``; ``[mail] second_language`` ("" for none) follows it, so by
default every mail says everything in English and then in German, as it always did.
"""

from ..base import languages
from ..base.errors import BadAddress
from ..context.home import Home
from ..core import texts
from ..core.addresses import normalise
from . import accounts

DOMAIN = "mail"


def of(*codes: str) -> texts.Wording:
    """A Wording of *codes* (unknown ones and repeats left out; English if none is left)."""
    chosen = list(dict.fromkeys(code for code in codes if languages.valid(code))) or [languages.DEFAULT]
    return texts.Wording(tuple((code, languages.catalogue(code, DOMAIN)) for code in chosen))


def for_language(home: Home, language: str | None) -> texts.Wording:
    """For a reader whose own language is *language* (None: not known). A reader whose language
    is the second one gets the default language as second instead, so that a mail that was
    bilingual stays so (someone else may read it: a spouse, the helpdesk)."""
    first = languages.valid(language) or home.config["mail.language"]
    second = home.config["mail.second_language"]
    if second and second == first:
        second = home.config["mail.language"]
    return of(first, second)


def for_address(home: Home, address: str) -> texts.Wording:
    """For the reader at *address*: the language of its account, if it has one and chose one."""
    return for_language(home, _chosen_language(address))


def _chosen_language(address: str) -> str | None:
    try:
        account = accounts.find(normalise(address))
    except BadAddress:  # e.g. an unusual sender: no account, the default language
        return None
    return account.language if account else None
