"""How a failure is reported to an MTA: permanent or temporary, a DSN code, one line.

Used by ``pipe`` (sysexits 69/75) and ``relay`` (SMTP 5xx/4xx). Only deliberate
refusals are permanent; everything else, bugs included, is temporary, so the
MTA keeps the message and retries. The text never quotes message content.
"""

import os
from collections import namedtuple

from ..base import errors

# Deliberate refusals: the message cannot be sent as policy demands, retrying will not help.
REFUSALS = {
    errors.MessageTooLarge: "5.3.4",
    errors.BadAddress: "5.1.3",
    errors.AccountDisabled: "5.7.1",
}


# permanent: bool, dsn: str, text: str. A named tuple, not a dataclass: every `pipe` imports
# this module for its log line, and dataclasses costs ~7 ms to import.
Failure = namedtuple("Failure", ["permanent", "dsn", "text"])


def classify(error: BaseException) -> Failure:
    if isinstance(error, errors.NextHopRefused):  # the relay's own refusal, passed on as it gave it
        return Failure(True, error.dsn, clean(str(error)))
    for kind, dsn in REFUSALS.items():
        if isinstance(error, kind):
            return Failure(True, dsn, clean(str(error)))
    if isinstance(error, errors.WebcryptError):
        return Failure(False, "4.3.0", clean(str(error)))
    if any(c.__name__ in ("DatabaseError", "InterfaceError") for c in type(error).__mro__):
        return Failure(False, "4.3.0", f"database unavailable ({clean(str(error))})")
    if isinstance(error, KeyboardInterrupt):
        return Failure(False, "4.3.0", "interrupted")
    if isinstance(error, OSError):
        return Failure(False, "4.3.0", f"system error: {clean(error.strerror or type(error).__name__)}")
    # A bug: name the place, not the message (its text might quote mail content).
    return Failure(False, "4.3.0", f"unexpected {type(error).__name__} at {where(error)}")


def where(error: BaseException) -> str:
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "?"
    return f"{os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"


def log_line(program: str, queue: str, sender: str, recipients: int, action: str, size: int, ms: int) -> str:
    """The start of the one line pipe and relay log for every message (never its content)."""
    return (f"webcrypt {program}: queue={clean(queue) or '-'} from=<{clean(sender)}> rcpts={recipients} "
            f"action={action} size={size} ms={ms}")


def clean(text: str) -> str:
    """One line, printable, bounded."""
    lines = str(text).splitlines()
    return "".join(c if c.isprintable() else " " for c in (lines[0] if lines else ""))[:300]
