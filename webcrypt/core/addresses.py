"""Mail addresses: one canonical form so that one person has one account."""

import re

from ..base.errors import BadAddress

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


def mailbox(address: str) -> str:
    """Where mail for *address* goes: its canonical form (``normalise``), or, for a
    non-ASCII local part (RFC 6531), that local part as given, since only the
    receiving domain may compare such local parts; the domain in IDNA form either way."""
    text = address.strip().strip("<>").strip()
    local, at, domain = text.rpartition("@")
    if not (at and local and not local.isascii()):
        return normalise(address)
    check_envelope(text)
    if len(local.encode("utf-8")) > 64 or any(c.isspace() or c in '"(),:;<>@[\\]' for c in local):
        raise BadAddress(f"unsupported mail address (local part): {_shown(address)}")
    return f"{local}@{_domain(domain, address)}"


def check_envelope(address: str) -> str:
    """*address*, if an SMTP command (or a sendmail argument) can carry it; BadAddress if none can.

    Refused: control characters (a CR or LF would end or split the command line) and
    bytes that were not UTF-8 (Python hands them over as lone surrogates; RFC 6531
    allows UTF-8 only, so no next hop could take them, now or on any retry).
    """
    if any(ord(c) < 32 or ord(c) == 127 for c in address):
        raise BadAddress("an envelope address holds control characters")
    if any("\ud800" <= c <= "\udfff" for c in address):
        raise BadAddress(f"an envelope address is not valid UTF-8: {_shown(address)}")
    return address


def needs_smtputf8(addresses) -> bool:
    """Does an envelope of these addresses need the SMTPUTF8 extension (RFC 6531)?"""
    return not all(a.isascii() for a in addresses)


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
