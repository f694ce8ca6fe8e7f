"""Every error webcrypt raises on purpose, with the exit status the CLI gives it.

Errors are raised deep down and translated only at the edges: the CLI turns
``exit_status`` into the process status, ``pipe`` into sysexits, the portal into
a status page.
"""

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    BAD_ENVELOPE = 3
    WRONG_PASSWORD = 4
    WRONG_RECIPIENT = 5
    EXPIRED = 6
    REVOKED = 7
    UNKNOWN_ACCOUNT = 8
    DISABLED = 9
    KEY_FILE = 10
    TOO_LARGE = 11
    BAD_ADDRESS = 12
    CONFIG = 13
    EXISTS = 14
    UNAVAILABLE = 15
    DELIVERY = 16
    UNKNOWN_MESSAGE = 17


class WebcryptError(Exception):
    """Base class: the message is one line meant for a person."""

    exit_status = ExitStatus.ERROR
    temporary = False  # True: retrying later may succeed (pipe exits 75)


class ConfigError(WebcryptError):
    exit_status = ExitStatus.CONFIG


class ColourTooLight(ConfigError):
    """A brand colour white text cannot be read on; *proposal* is a darker shade that passes."""

    def __init__(self, color: str, ratio: str, needed: str, proposal: str):
        super().__init__(f"white text on {color} has a contrast of {ratio}; at least {needed} is needed "
                         f"(a darker shade that passes: {proposal})")
        self.color, self.ratio, self.needed, self.proposal = color, ratio, needed, proposal


class KeyFileError(WebcryptError):
    exit_status = ExitStatus.KEY_FILE
    temporary = True  # a fixed permission lets the queued mail through


class EnvelopeError(WebcryptError):
    """Not an envelope, truncated, tampered or made with another key."""

    exit_status = ExitStatus.BAD_ENVELOPE


class WrongPassword(WebcryptError):
    exit_status = ExitStatus.WRONG_PASSWORD


class WrongRecipient(WebcryptError):
    exit_status = ExitStatus.WRONG_RECIPIENT


class MessageExpired(WebcryptError):
    exit_status = ExitStatus.EXPIRED


class MessageRevoked(WebcryptError):
    """Recalled, or its key is gone (deleted account, expiry housekeeping)."""

    exit_status = ExitStatus.REVOKED


class UnknownAccount(WebcryptError):
    exit_status = ExitStatus.UNKNOWN_ACCOUNT


class AccountDisabled(WebcryptError):
    exit_status = ExitStatus.DISABLED


class MessageTooLarge(WebcryptError):
    exit_status = ExitStatus.TOO_LARGE


class BadAddress(WebcryptError):
    exit_status = ExitStatus.BAD_ADDRESS


class AlreadyExists(WebcryptError):
    exit_status = ExitStatus.EXISTS


class StoreUnavailable(WebcryptError):
    """The database is locked, missing or unreachable."""

    exit_status = ExitStatus.UNAVAILABLE
    temporary = True


class DeliveryError(WebcryptError):
    """The next hop refused or could not be reached."""

    exit_status = ExitStatus.DELIVERY
    temporary = True


class NotTaken(DeliveryError):
    """The server cannot have taken the message: no connection, or a refusal before DATA. Whoever
    holds the message may hand it elsewhere (pipe processes it itself when the relay is down)."""


class NextHopRefused(WebcryptError):
    """The next hop refused the message for good (SMTP 5xx), with its enhanced status code."""

    exit_status = ExitStatus.DELIVERY

    def __init__(self, dsn: str, text: str):
        super().__init__(text)
        self.dsn = dsn


class UnknownMessage(WebcryptError):
    exit_status = ExitStatus.UNKNOWN_MESSAGE


# Portal errors: each becomes a status page in the user's language.


class LoginFailed(WebcryptError):
    """Wrong address or password; deliberately never says which. *attempts_left*: how many more
    failures the reader's own attempts leave before the lock; *locked_until*: this failure locked
    logging in until then (Unix seconds). Both alike for every address, known or not."""

    exit_status = ExitStatus.WRONG_PASSWORD

    def __init__(self, message: str = "", attempts_left: int | None = None, locked_until: int | None = None):
        super().__init__(message)
        self.attempts_left, self.locked_until = attempts_left, locked_until


class SecondFactorMissing(LoginFailed):
    """[admin] require_totp is on and this administrator (right password) has no TOTP enrolled."""


class PasskeyRejected(WebcryptError):
    """A passkey answer that fails a check (origin, relying party, challenge, signature, user
    verification, counter) or cannot be read; its text is for the audit trail, never a page."""

    exit_status = ExitStatus.WRONG_PASSWORD


class Throttled(WebcryptError):
    """Too many failures or requests: wait before trying again (*until*, Unix seconds, when known)."""

    exit_status = ExitStatus.UNAVAILABLE
    temporary = True

    def __init__(self, message: str = "", until: int | None = None):
        super().__init__(message)
        self.until = until


class SessionExpired(WebcryptError):
    """No session, or it timed out: log in again."""


class BadRequest(WebcryptError):
    """A form that is incomplete, forged (CSRF) or carries values nobody may send."""

    exit_status = ExitStatus.USAGE


class PasswordRejected(WebcryptError):
    """A new password that breaks the strength rules (or a current one that is wrong). *field*
    names what it is about ("current", "new", "repeat"), so that a form can say it beside that
    field; *values* fill the message's {placeholders} (translated first, then filled: the
    catalogue holds "{minimum}", not 12); *problems* are all that were found at once, this one first."""

    exit_status = ExitStatus.USAGE

    def __init__(self, message: str = "", field: str = "new", values: dict | None = None, problems: tuple = ()):
        self.template, self.field, self.values = message, field, dict(values or {})
        super().__init__(message.format(**self.values) if self.values else message)
        self.problems = tuple(problems) or (self,)


class NotFound(WebcryptError):
    """An upload, attachment or page that does not exist (any more)."""


class OtherBrowser(BadRequest):
    """A sender's sign-in link opened in another browser than the one that asked for it."""
