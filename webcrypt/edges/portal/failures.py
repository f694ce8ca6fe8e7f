"""Which error becomes which HTTP status, for the portal and the console alike, and what a
recipient is told about it.

Only messages written for recipients (SHOWN) are displayed, translated; every
other error gets a generic sentence, so no internal detail reaches a page.
"""

from ...base import errors

STATUS = [
    (errors.LoginFailed, 401),
    (errors.SessionExpired, 401),
    (errors.PasswordRejected, 400),
    (errors.BadRequest, 400),
    (errors.EnvelopeError, 400),
    (errors.BadAddress, 400),
    (errors.WrongRecipient, 403),
    (errors.AccountDisabled, 403),
    (errors.NotFound, 404),
    (errors.UnknownAccount, 404),
    (errors.UnknownMessage, 404),
    (errors.ConfigError, 400),  # checked at load: at run time only a value someone typed (console, form)
    (errors.MessageExpired, 410),
    (errors.MessageRevoked, 410),
    (errors.MessageTooLarge, 413),
    (errors.Throttled, 429),
    (errors.DeliveryError, 503),
    (errors.StoreUnavailable, 503),
    (errors.KeyFileError, 503),
]

# Errors whose message is written for the user (and translated in the catalogue).
SHOWN = (
    errors.LoginFailed, errors.PasswordRejected, errors.BadRequest, errors.NotFound,
    errors.MessageExpired, errors.MessageRevoked, errors.Throttled, errors.SessionExpired, errors.EnvelopeError,
)

TITLES = {
    400: "The request could not be handled",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    410: "This message can no longer be opened",
    413: "Too large",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}

GENERIC = {
    401: "Your session has ended: please log in again.",
    403: "You may not open this message or page.",
    404: "This page does not exist.",
    405: "This page does not exist.",
    410: "This message can no longer be opened.",
    429: "Too many attempts: please wait a while and try again.",
    400: "The data sent does not look like a webcrypt message or form.",
    413: "The data sent is larger than this portal accepts.",
    500: "An unexpected error occurred. Nothing was sent. Please try again later.",
    503: "The service is temporarily unavailable. Nothing was sent. Please try again later.",
}

# The next step after each error, in people's words: what happened to their message, whether
# anything was lost, what to do. 429 (a lock) says its own next step on the login page.
NEXT = {
    400: "Nothing was saved or sent. If you opened secure.htm, open it again from your mail; "
         "if you filled in a form, go back and try again.",
    401: "Nothing was lost: your messages are still there. Log in again to continue where you were.",
    403: "If you think you should be able to open this, please ask the sender of the message.",
    404: "Nothing was lost. Check the address, or go to the start page.",
    405: "Nothing was lost. Check the address, or go to the start page.",
    413: "Nothing was sent. Please attach fewer or smaller files and try again.",
    500: "Nothing was lost. Please try again in a few minutes.",
    503: "Nothing was lost: your messages are safe. Please try again in a few minutes.",
}
# A message page whose upload has closed (404 there): the message is not gone.
MESSAGE_CLOSED = ("The message has not been deleted: it was closed after a while to protect it. "
                  "Open the file secure.htm in your mail again to read it.")
RECALLED = "It cannot be brought back here. If you still need it, please ask the sender to send it again."
EXPIRED = ("Messages can be read for a limited time only. "
           "If you still need this one, please ask the sender to send it again.")
# Where the organisation's contact is the next step (nothing the reader can do alone), the page
# names it there, not only in the footer.
CONTACT_IS_NEXT = (403, 410, 413, 500, 503)
CONTACT_LEAD = "If you need help, please contact:"


def status_of(error: errors.WebcryptError) -> int:
    for cls, code in STATUS:
        if isinstance(error, cls):
            return code
    return 503 if error.temporary else 500


def explain(error: errors.WebcryptError | None, status: int, translate) -> str:
    if isinstance(error, errors.PasswordRejected) and error.values:  # translated first, then its numbers
        return translate(error.template).format(**error.values)
    if isinstance(error, SHOWN):
        return translate(str(error))
    return translate(GENERIC.get(status, GENERIC[500]))


def next_step(error: errors.WebcryptError | None, status: int, on_message: bool) -> str:
    """What the reader does next after *error* (English msgid), "" where the page says it itself."""
    if isinstance(error, errors.MessageExpired):
        return EXPIRED
    if status == 410:
        return RECALLED
    if status == 404 and on_message:
        return MESSAGE_CLOSED
    return NEXT.get(status, "")


def texts() -> set[str]:
    """Every text of the error pages (the catalogues' completeness tests read it)."""
    return ({*TITLES.values(), *GENERIC.values(), *NEXT.values(), MESSAGE_CLOSED, RECALLED, EXPIRED,
             CONTACT_LEAD})
