"""Texts of the mails and of secure.htm: the English source texts, and the languages a mail speaks.

Each text is a gettext msgid: its translations are in ``locale/<code>/LC_MESSAGES/mail.po``
(base/languages.py reads them; the use cases hand them in as a Wording, so this stays pure).
Plain format strings: branding fills in ``{name}``, ``{organisation}``; the callers fill in
the rest. A mail says everything once per language of its Wording, the reader's first: the
bodies one after another below a ``--`` line, the subjects joined by " / ".

The texts of secure.htm are HTML (the page is ASCII: a translation's other characters
become character references there).
"""

from typing import Callable, Mapping


class Wording:
    """The languages of one mail, in order, each with its catalogue (msgid -> translation).

    A plain class, not a dataclass: made when the pipe starts, where each millisecond counts.
    """

    __slots__ = ("languages",)

    def __init__(self, languages: tuple[tuple[str, Mapping[str, str]], ...] = (("en", {}),)):
        self.languages = languages

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.languages)

    def translators(self) -> list[Callable[[str], str]]:
        return [lambda text, table=table: table.get(text, text) for _, table in self.languages]

    def each(self, text: str) -> list[str]:
        """*text* in every language of the mail, in order."""
        return [translate(text) for translate in self.translators()]

    def bodies(self, text: str, **values) -> str:
        """A mail body: *text* filled in, once per language, each below a ``--`` line."""
        return SEPARATOR.join(t.format(**values) for t in self.each(text))

    def bodies_each(self, text: str, per_language: Callable[[str, Callable[[str], str]], dict], **values) -> str:
        """Like ``bodies``, with values that differ by language: *per_language(code, translate)*
        gives them (e.g. the organisation's contact, which it writes in each language)."""
        return SEPARATOR.join(translate(text).format(**values, **per_language(code, translate))
                              for code, translate in zip(self.codes, self.translators()))

    def subject(self, text: str, **values) -> str:
        """ "{name}: " and *text* in every language, joined by " / "."""
        return "{name}: ".format(**values) + " / ".join(t.format(**values) for t in self.each(text))


ENGLISH = Wording()  # the source texts: what a mail says where no language was handed in
SEPARATOR = "\n--\n"

CARRIER_PREAMBLE = "This is an encrypted message in MIME format."  # ASCII only: before the first MIME part

CARRIER_NOTICE = """\
{sender} has sent you a confidential message through {name}.

Open the attached file secure.htm in your web browser and log in with
your mail address and password. If this is your first message, you receive
the password separately, normally from the sender.

Portal: {portal_url}
"""

SECURE_HTM_TITLE = "secure message"
SECURE_HTM_EXPLANATION = """\
This file holds an encrypted message from <strong>{sender}</strong>.
Press <em>Open message</em> to read it in the secure portal; you will be asked
for your mail address and password."""
SECURE_HTM_BUTTON = "Open message"
# Above one button per language of the portal (base/languages.py): each opens the message with
# the portal in that language, chosen on the page itself, without script.
SECURE_HTM_LANGUAGES = "Or open it in your language:"

SECURE_HTM_HEAD = """\
<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="us-ascii">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1a1a1a}}
main{{max-width:40rem;margin:2rem auto;background:#fff;padding:1.5rem;border-top:6px solid {color};border-radius:4px}}
h1{{font-size:1.4rem;color:{color}}}
button{{font-size:1.1rem;padding:.8rem 1.6rem;background:{color};color:#fff;border:0;border-radius:4px;cursor:pointer}}
.languages button{{font-size:1rem;padding:.6rem 1.2rem;margin:0 .5rem .5rem 0;background:#fff;color:{color};border:2px solid {color}}}
button:focus{{outline:3px solid #1a1a1a;outline-offset:2px;box-shadow:0 0 0 2px #fff}}
textarea{{display:none}}
</style>
</head>
<body>
<main>
<h1>{name}</h1>
{own_intro}{explanations}
<form id="webcrypt-open" method="post" action="{action}" accept-charset="us-ascii">
<textarea name="envelope" readonly>
"""

SECURE_HTM_TAIL = """\
</textarea>
<p><button type="submit">{button}</button></p>
{language_choice}</form>
<p><small>{portal_url}</small></p>
</main>
<script>document.getElementById("webcrypt-open").submit();</script>
</body>
</html>
"""

# The reader (mime.extract_envelope) finds the envelope by structure: the textarea element
# named "envelope" of the attachment secure.htm, never by searching for a string.

LOGIN_DATA_SUBJECT = "login data for {address}"

LOGIN_DATA_BODY = """\
{intro}

  Portal:       {portal_url}
  Address:      {address}
  Password:     {password}

The recipient opens the attachment secure.htm of the encrypted message and
logs in with this address and password.{change}
"""

LOGIN_DATA_INTRO = {
    "relay": "An encrypted message from you went to {address}, who has no {name} account yet.\n"
             "Please pass these login data to the recipient by another channel (phone, SMS, letter):",
    "recipient": "You have received an encrypted message through {name}. Your login data:",
    "reset": "The password of the {name} account {address} was reset. The new login data:",
}

LOGIN_DATA_CHANGE = " A new password must be chosen at the first login."

LOGIN_DATA_SENDER_PAGE = """
Whether your message was opened, and to recall it or give it more time:
{sender_page}
"""

PASSWORD_NOTICE_SUBJECT = "your password was changed"  # nosec B105 - a text

PASSWORD_NOTICE_BODY = (  # nosec B105 - a text, not a password
    """\
The password of your {name} account {address} was changed on {when}.

If you did this yourself, there is nothing more to do. If you did not,
{tell_at_once}: someone else may know your password.
{contact}
Portal: {portal_url}
"""
)

# Whom a notice's reader tells when a change was not theirs ({tell_at_once}), and the organisation's
# contact for recipients (the console's text "contact" in the mail's language; {contact}, "" if none):
# a notice names the organisation, never the product, which nobody can call.
TELL_SENDER = "please tell the sender of your messages at once"
TELL_SENDER_OR_ORGANISATION = "please tell the sender of your messages or {organisation} at once"
NOTICE_CONTACT = "\nIf you need help, please contact:\n{contact}\n"

PASSKEY_ADDED_SUBJECT = "a passkey was added to your account"

PASSKEY_ADDED_BODY = """\
A passkey named "{passkey}" was added to your {name} account {address}
on {when}. It signs in to the portal without a password.

If you did this yourself, there is nothing more to do. If you did not,
{tell_at_once}.
{contact}
Portal: {portal_url}
"""

PASSKEY_REMOVED_SUBJECT = "a passkey was removed from your account"

PASSKEY_REMOVED_BODY = """\
The passkey named "{passkey}" was removed from your {name} account
{address} on {when}. It no longer signs in to the portal.

If you did this yourself, there is nothing more to do. If you did not,
{tell_at_once}.
{contact}
Portal: {portal_url}
"""

RECOVERY_LINK_SUBJECT = "your forgotten password"

RECOVERY_LINK_BODY = """\
Someone, probably you, asked for a new password for your {name} account
{address}. To get one, open this link within {minutes} minutes and answer
your confidential question:

{link}

The link works once. If you did not ask for it, you need not do anything:
without the answer to your question, nobody can change your password.
"""

MAIL_CODE_SUBJECT = "your sign-in code"

MAIL_CODE_BODY = """\
Someone, probably you, asked to sign in to {name} as {address}.
Your sign-in code:

    {code}

Enter it on the sign-in page within {minutes} minutes. It works once.

If you did not ask for it, you need not do anything, and please do not pass
the code on to anybody: whoever has it can read your messages until it expires.
"""

RECEIPT_SUBJECT = "read receipt: {recipient} opened your message"

RECEIPT_OPENED_AT = """\
{recipient} opened your secure message of {sent}
on {when}.
"""

RECEIPT_OPENED = """\
{recipient} has opened your secure message of {sent}.
"""

RECEIPT_ABOUT = """\
Subject: {subject}
"""

RECEIPT_LINK = """\
Message: {message_id}

Your secure messages, whether they were opened, and what you can do
with them (recall, give more time): {sender_page}
"""

NOT_DELIVERED_SUBJECT = "not delivered to every recipient"

NOT_DELIVERED_BODY = """\
Your message "{subject}" was delivered to its other recipients, but not to:

{addresses}

Their {name} accounts are disabled, so they take no new messages. Please ask
the administrator of {organisation} to enable them, or reach these people another way.
"""

SENDER_LINK_SUBJECT = "your sign-in link for the sender page"

SENDER_LINK_BODY = """\
Someone, probably you, asked to sign in to the sender page of {name} as
{address}. Open this link within {minutes} minutes, in the same browser
where you asked for it:

{link}

The link works once. If you did not ask for it, you need not do anything.
"""

LOGIN_DATA_ASKED_SUBJECT = "a recipient asks for new login data"

LOGIN_DATA_ASKED_BODY = """\
{recipient} cannot read your secure mail: they forgot their password or their
account is locked, and ask you for new login data. If you know this request is
genuine, open this page and choose "Send new login data":

{link}

Please check first, for instance by phone, that the request really comes from
{recipient}. If you do not know about it, you need not do anything.
"""

# Every text a mail.po translates (tests check that each language has them all).
MSGIDS = (
    CARRIER_PREAMBLE, CARRIER_NOTICE, SECURE_HTM_TITLE, SECURE_HTM_EXPLANATION, SECURE_HTM_BUTTON, SECURE_HTM_LANGUAGES,
    LOGIN_DATA_SUBJECT, LOGIN_DATA_BODY, *LOGIN_DATA_INTRO.values(), LOGIN_DATA_CHANGE,
    PASSWORD_NOTICE_SUBJECT, PASSWORD_NOTICE_BODY, RECOVERY_LINK_SUBJECT, RECOVERY_LINK_BODY,
    MAIL_CODE_SUBJECT, MAIL_CODE_BODY, NOT_DELIVERED_SUBJECT, NOT_DELIVERED_BODY,
    PASSKEY_ADDED_SUBJECT, PASSKEY_ADDED_BODY, PASSKEY_REMOVED_SUBJECT, PASSKEY_REMOVED_BODY,
    SENDER_LINK_SUBJECT, SENDER_LINK_BODY, LOGIN_DATA_ASKED_SUBJECT, LOGIN_DATA_ASKED_BODY,
    LOGIN_DATA_SENDER_PAGE, RECEIPT_SUBJECT, RECEIPT_OPENED_AT, RECEIPT_OPENED, RECEIPT_ABOUT, RECEIPT_LINK,
)
