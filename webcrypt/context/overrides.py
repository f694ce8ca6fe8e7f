"""The settings the web console stores in the database, laid over the file (the read side).

Every process (pipe, relay, serve, commands) sees the same effective configuration:
``Home.refresh_settings`` applies ``effective`` to the file's values. Writing them, with
their checks and audit, is the use case ``usecases.settings``.
"""

import json

from ..base import config
from ..base.errors import ConfigError
from ..infra import store

CONFIG_KEY = "config"
BRANDING_KEY = "branding"
OVERRIDABLE = (
    "policy.keyword",
    "policy.max_message_size",
    "policy.expire_days",
    "portal.reply_max_size",
    "accounts.credentials_to",
    "accounts.validity_days",
    "mail.internal_domains",
    "accounts.mail_code_domains",
)
BRANDING_FIELDS = ("name", "organisation", "logo_url", "color")


def read(key: str) -> dict:
    row = store.Setting.get_or_none(store.Setting.key == key)
    if row is None:
        return {}
    try:
        value = json.loads(row.value)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def effective(file_config: config.Config) -> config.Config:
    """The file's configuration with the stored overrides applied.

    A stored value that no longer passes the checks (a newer schema) is skipped,
    not fatal: mail must keep flowing with the file's value.
    """
    branding = read(BRANDING_KEY)
    result = file_config
    for dotted, value in _overrides(read(CONFIG_KEY), branding).items():
        try:
            result = config.with_overrides(result, {dotted: value})
        except ConfigError:
            continue
    own_texts = branding.get("texts")
    if isinstance(own_texts, dict) and own_texts:
        # not a file key: the mails (mime.own_text) and the portal read them from here
        values = {section: dict(keys) for section, keys in result.values.items()}
        values["branding"]["texts"] = own_texts
        result = config.Config(path=result.path, values=values)
    return result


def _overrides(stored: dict, branding: dict) -> dict:
    merged = {k: v for k, v in stored.items() if k in OVERRIDABLE}
    merged.update({f"branding.{k}": branding[k] for k in BRANDING_FIELDS if k in branding})
    return merged
