"""Settings the web console changes, kept in the database so every node sees them.

Two rows of store.Setting, JSON values:

- ``"config"``: overrides of mail settings, {"policy.keyword": "WebCrypt", ...}.
  Precedence: a value here wins over webcrypt.toml, which wins over the
  built-in default. Only the keys in OVERRIDABLE can be set; removing an
  override (console: empty field) brings back the file's value.
- ``"branding"``: the corporate identity, {"name", "organisation", "logo_url",
  "color", "texts": {LANGUAGE: {TEXT_KEY: text}, ...}}. name, organisation,
  logo_url and color override [branding] in the file. The texts are the
  organisation's own words, shown before the built-in ones: in the carrier
  mail, secure.htm and the login-data mail (mime.own_text, from
  config.values["branding"]["texts"]) and on the portal's login page
  (``text(language, "portal_welcome")``, None when there is none).
"""

import json
import re

from ..base import config
from ..base.languages import LANGUAGES  # noqa: F401 - the console reads the languages of texts here
from ..base.errors import ColourTooLight, ConfigError
from ..context.home import Home
from ..context.overrides import (  # noqa: F401 - the console reads and writes settings through this one module
    BRANDING_FIELDS,
    BRANDING_KEY,
    CONFIG_KEY,
    OVERRIDABLE,
    read,
)
from ..core import contrast, mime
from ..infra import store
from . import events

# Texts an administrator may replace, per language (portal, carrier mail, secure.htm, login-data mail);
# "contact": whom recipients ask, at the foot of every portal page (error and login pages included).
TEXT_KEYS = ("portal_welcome", "carrier_notice", "secure_htm_intro", "login_data_intro", "contact")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_TEXT = 4000


def _write(home: Home, key: str, value: dict, actor: str, client: str) -> None:
    with store.db.atomic():
        text = json.dumps(value, sort_keys=True)
        store.Setting.insert(key=key, value=text).on_conflict(
            conflict_target=[store.Setting.key], update={store.Setting.value: text}
        ).execute()
        events.audit(home, actor, f"settings_{key}", key, ",".join(sorted(value)), client)


def save_overrides(home: Home, changes: dict[str, object], actor: str, client: str = "") -> dict:
    """Set (value) or remove (None) overrides; every value checked before anything is stored."""
    current = read(CONFIG_KEY)
    for dotted, value in changes.items():
        if dotted not in OVERRIDABLE:
            raise ConfigError(f"'{dotted}' cannot be changed in the console")
        if value is None:
            current.pop(dotted, None)
        else:
            config.with_overrides(home.file_config or home.config, {dotted: value}, source="console")
            current[dotted] = value
    _write(home, CONFIG_KEY, current, actor, client)
    home.refresh_settings()
    return current


def save_branding(home: Home, branding: dict, actor: str, client: str = "") -> dict:
    checked = {}
    for name in BRANDING_FIELDS:
        value = str(branding.get(name) or "").strip()
        if value:
            checked[name] = _checked_branding(name, value)
    checked["texts"] = _checked_texts(branding.get("texts") or {})
    _write(home, BRANDING_KEY, checked, actor, client)
    home.refresh_settings()
    return checked


def _checked_branding(name: str, value: str) -> str:
    if name == "color" and not COLOR.match(value):
        raise ConfigError(f"colour must look like #1f4e79, not {value!r}")
    if name == "color" and not contrast.passes_with_white(value):
        # refused, not adjusted: the administrator sees the proposal and its preview before it is used
        raise ColourTooLight(value, contrast.ratio_text(contrast.ratio(value, contrast.WHITE)),
                             f"{contrast.TEXT_NEEDED}:1", contrast.darkened_for_white(value))
    # https only: the portal's pages (and their CSP) show nothing else, so a data: URL
    # would be accepted here and silently dropped there.
    if name == "logo_url" and value and not value.startswith("https://"):
        raise ConfigError("the logo must be an https:// URL")
    if len(value) > (2000 if name == "logo_url" else 200):
        raise ConfigError(f"{name} is too long")
    if mime.unsafe_header_text(value):  # the name is the display name of every mail webcrypt writes
        raise ConfigError(f"{name} must not contain control characters or line breaks")
    return value


def _checked_texts(texts: dict) -> dict:
    checked = {}
    for language, entries in texts.items():
        if language not in LANGUAGES or not isinstance(entries, dict):
            raise ConfigError(f"texts for unknown language {language!r}")
        for key, text in entries.items():
            if key not in TEXT_KEYS:
                raise ConfigError(f"unknown text {key!r}")
            text = str(text or "").replace("\r\n", "\n").strip()
            if len(text) > MAX_TEXT:
                raise ConfigError(f"text {key} ({language}) is longer than {MAX_TEXT} characters")
            if text:
                checked.setdefault(language, {})[key] = text
    return checked


def text(language: str, key: str) -> str | None:
    """The administrator's text for *key* in *language*, or None for the built-in one."""
    return read(BRANDING_KEY).get("texts", {}).get(language, {}).get(key)


def parse_value(dotted: str, text: str):
    """Text typed by an administrator (form field, command line) as the type of *dotted*.

    Lists are comma-separated; the value is checked again when it is saved.
    """
    section, _, key = dotted.partition(".")
    default = config.SCHEMA.get(section, {}).get(key)
    text = text.strip()
    if isinstance(default, bool):
        return text.lower() in ("1", "true", "yes", "on", "ja")
    if isinstance(default, int):
        if not text.lstrip("-").isdigit():
            raise ConfigError(f"'{dotted}' must be a whole number, not {text!r}")
        return int(text)
    if isinstance(default, list):
        if text == "-":  # an empty list, where the file's is not (an empty field brings the file's back)
            return []
        return [item.strip() for item in text.replace("\n", ",").split(",") if item.strip()]
    return text


def describe(home: Home) -> list[dict]:
    """Every overridable key: the file's value, the console's (None: none) and the one in effect."""
    stored = read(CONFIG_KEY)
    file_config = home.file_config or home.config
    return [
        {"key": key, "file": file_config[key], "console": stored.get(key), "effective": home.config[key]}
        for key in OVERRIDABLE
    ]
