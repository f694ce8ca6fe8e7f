"""Words of the web console: its catalogue, ``admin.po`` (dates and values: core/display.py).

English is the source language; the languages are those of base/languages.py.
"""

from ...base import languages

LANGUAGES = languages.LANGUAGES
DOMAIN = "admin"


def catalogue(language: str) -> dict[str, str]:
    return languages.catalogue(language, DOMAIN)


def translate(text: str, language: str) -> str:
    return catalogue(language).get(text, text)


# What the console calls a setting or a text; the key itself is shown beside it as a small hint
# (it is what webcrypt.toml and the commands use). A catalogue may translate the key itself.
LABELS = {
    "policy.keyword": "Keyword in the subject",
    "policy.max_message_size": "Largest message (bytes)",
    "policy.expire_days": "Messages expire after (days)",
    "portal.reply_max_size": "Largest reply (bytes)",
    "accounts.credentials_to": "Login data go to (sender, recipient, admin:ADDRESS)",
    "accounts.validity_days": "Validity of new accounts (days)",
    "mail.internal_domains": "Internal domains (comma-separated)",
    "accounts.mail_code_domains": "Domains with sign-in codes by mail (comma-separated; * for all)",
    "portal_welcome": "Welcome on the portal",
    "carrier_notice": "Notice in the carrier mail",
    "secure_htm_intro": "Introduction in secure.htm",
    "login_data_intro": "Introduction of the login-data mail",
    "contact": "Contact for recipients (at the foot of every portal page, error pages included)",
}
SIZES = ("policy.max_message_size", "portal.reply_max_size")  # shown in KB/MB beside the byte count


def label(key: str, language: str) -> str:
    """The human name of a setting or text key in *language* (the key when none is known)."""
    return catalogue(language).get(key) or LABELS.get(key, key)
