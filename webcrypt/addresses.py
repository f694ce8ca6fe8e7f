"""Mail addresses: one canonical form so that one person has one account."""

import re

from .errors import BadAddress

_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalise(address: str) -> str:
    """Lower-cased ``local@domain`` with an IDNA domain; BadAddress otherwise."""
    text = address.strip().strip("<>").strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise BadAddress(f"not a mail address: {_shown(address)}")
    if not local.isascii() or not _LOCAL.match(local) or len(local) > 64:
        raise BadAddress(f"unsupported mail address (local part): {_shown(address)}")
    return f"{local.lower()}@{_domain(domain, address)}"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def _domain(domain: str, original: str) -> str:
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise BadAddress(f"not a valid mail domain: {_shown(original)}") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or len(ascii_domain) > 253 or not all(_LABEL.match(x) for x in labels):
        raise BadAddress(f"not a valid mail domain: {_shown(original)}")
    return ascii_domain


def _shown(address: str) -> str:
    """The address as it may appear in a one-line error (no control characters)."""
    return repr(address[:120])
