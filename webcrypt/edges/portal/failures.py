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
