"""Configuration: one TOML file, checked against a schema of known keys.

Found by ``--config PATH``, else ``$WEBCRYPT_CONFIG``, else
``/etc/webcrypt/webcrypt.toml``. Relative paths inside it are relative to the
folder that holds it (the *home*).
"""

import os
import re
import tomllib
from pathlib import Path

from .errors import ConfigError
from .languages import LANGUAGES

DEFAULT_PATH = Path("/etc/webcrypt/webcrypt.toml")
MB = 1024 * 1024

# section -> key -> default; the default's type is the key's type.
SCHEMA: dict[str, dict[str, object]] = {
    "portal": {
        "url": "http://127.0.0.1:8080",
        "legacy_urls": [],
        "listen": "127.0.0.1:8080",
        "threads": 8,
        "trusted_proxies": [],
        "upload_minutes": 15,
        "session_idle_minutes": 15,
        "session_max_hours": 8,
        "password_questions": True,  # nosec B105 - a switch, not a password
        "reply_max_size": 10 * MB,
        "replies_per_hour": 20,
        "secure_cookies": True,
        "view_cache_seconds": 30,
        # the time zone of dates on portal pages when the browser tells none, e.g. "Europe/Berlin"; "": UTC
        "time_zone": "",
    },
    "mail": {
        "reinject": "sendmail:/usr/sbin/sendmail",
        "from": "webcrypt@localhost",
        "internal_domains": [],
        "language": "en",  # of mails to someone whose account chose none (base/languages.py)
        "second_language": "de",  # said after the reader's own in every mail; "": none
    },
    "policy": {
        "keyword": "[secure]",
        "max_message_size": 50 * MB,
        "expire_days": 90,
        "always_encrypt_domains": [],
        "never_encrypt_domains": [],
    },
    "accounts": {
        "credentials_to": "sender",
        # login data for mail without a sender (<>); "": postmaster@ the domain of mail.from
        "credentials_fallback": "",
        "force_password_change": True,  # nosec B105 - a switch, not a password
        "validity_days": 365,
        "scrypt_log_n": 17,  # scrypt cost 2^n; 17 is the floor for production
        # recipient domains whose accounts may sign in with a one-time code mailed to their address
        # (the mailbox alone then opens the messages: docs/admin.md); [] = off, ["*"] = every domain
        "mail_code_domains": [],
    },
    "senders": {
        # the sender side of the portal (/sender): internal senders see, recall and extend their
        # own secure mail; off: no sender page, no receipts, no "ask the sender"
        "enabled": True,
        # internal domains whose senders may use it; [] = every domain of [mail] internal_domains
        "domains": [],
        # keep each message's subject (sealed under the message's own data key) to recognise it by
        "keep_subject": False,
        # senders see when their recipient opened a message (data protection: the portal says so)
        "show_opening_times": True,
        # read receipts: asked for by the header X-WebCrypt-Receipt: yes or this subject keyword
        "receipt_keyword": "[receipt]",
        # senders may send new login data to a recipient of their own messages
        "new_login_data": True,
        # the longest a sender may extend a message, in days from today (0: senders cannot extend)
        "max_expiry_days": 90,
    },
    "database": {
        "url": "",
    },
    "keys": {
        "master_key": "master.key",
    },
    "monitor": {
        # thresholds for 'webcrypt monitor --check': warning and critical, 0 = not checked
        "deferred_warning": 10,  # per hour
        "deferred_critical": 50,
        "errors_warning": 1,  # per hour
        "errors_critical": 10,
        "login_failed_warning": 50,  # per hour
        "login_failed_critical": 200,
        "locked_accounts_warning": 20,
        "locked_accounts_critical": 100,
        "pending_uploads_warning": 500,
        "pending_uploads_critical": 2000,
        "database_mb_warning": 2000,
        "database_mb_critical": 10000,
        # who may read /metrics: client networks (CIDR) and/or a bearer token
        "metrics_networks": ["127.0.0.1/32", "::1/128"],
        "metrics_token": "",  # nosec B105 - empty: no token is accepted (netaccess.bearer_matches)
    },
    "admin": {
        # client networks (CIDR) allowed to reach /admin; empty: any. The default keeps
        # the console off the internet: loopback and the private ranges only.
        "networks": ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
        # true: an administrator without a second factor ('webcrypt admin totp NAME') cannot log in
        "require_totp": False,
        # true: an administrator who has a passkey signs in with it only (no password); one who has
        # none yet may log in with password (and code) only to add one
        "require_passkey": False,
    },
    "relay": {
        "listen": "127.0.0.1:10025",
        "client_networks": ["127.0.0.0/8", "::1/128"],
        "max_size": 50 * MB,
        "tls_cert": "",
        "tls_key": "",
        "require_tls": False,
        "workers": 4,
        "processes": 2,
    },
    "pipe": {
        "relay": "",  # "HOST:PORT" of a running 'webcrypt relay': pipe forwards to it instead of processing
    },
    "throttle": {
        "login_failures_per_account": 5,
        "login_failures_per_client": 30,
        "login_block_minutes": 15,
        "answer_failures_per_account": 3,
        "answer_failures_per_client": 10,
        "answer_block_minutes": 60,
    },
    "branding": {
        "name": "webcrypt",
        "organisation": "",
        "logo_url": "",
        "color": "#1f4e79",
    },
}


class Config:
    """The checked settings of one file (read-only). A plain class, not a dataclass: the
    dataclasses module (with inspect and ast, ~7 ms) would be paid by every forwarding `pipe`."""

    __slots__ = ("path", "values")

    def __init__(self, path: Path, values: dict[str, dict[str, object]]):
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "values", values)

    def __setattr__(self, name, value):
        raise AttributeError(f"Config is read-only ({name})")

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.path, self.values) == (other.path, other.values)

    __hash__ = None  # like the frozen dataclass it was: its values are dicts

    def __repr__(self) -> str:
        return f"Config(path={self.path!r})"

    @property
    def home(self) -> Path:
        return self.path.parent

    def __getitem__(self, dotted: str):
        section, key = dotted.split(".", 1)
        return self.values[section][key]

    def file(self, dotted: str) -> Path:
        """A path setting, resolved against the home folder."""
        return self.home / Path(str(self[dotted])).expanduser()

    @property
    def database_url(self) -> str:
        url = str(self["database.url"])
        return url or f"sqlite:///{self.home / 'webcrypt.db'}"


def locate(explicit: str | os.PathLike | None = None, environ=os.environ) -> Path:
    if explicit:
        return Path(explicit)
    if environ.get("WEBCRYPT_CONFIG"):
        return Path(environ["WEBCRYPT_CONFIG"])
    return DEFAULT_PATH


def load(path: Path) -> Config:
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(
            f"no configuration at {path} (run 'webcrypt init --home DIR' and set WEBCRYPT_CONFIG)"
        ) from None
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    return Config(path=path.resolve(), values=_checked(raw, path))


def _checked(raw: dict, path: Path) -> dict[str, dict[str, object]]:
    values = {section: dict(keys) for section, keys in SCHEMA.items()}
    for section, keys in raw.items():
        if section not in SCHEMA or not isinstance(keys, dict):
            raise ConfigError(f"{path}: unknown section [{section}]")
        for key, value in keys.items():
            if key not in SCHEMA[section]:
                raise ConfigError(f"{path}: unknown key '{section}.{key}'")
            values[section][key] = _typed(section, key, value, path)
    return values


def _typed(section: str, key: str, value, path: Path):
    default = SCHEMA[section][key]
    expected = type(default)
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if expected is list:
        ok = ok and all(isinstance(item, str) for item in value)
    if ok and key in NETWORK_LISTS.get(section, ()):
        _check_networks(section, key, value, path)
    if not ok:
        raise ConfigError(
            f"{path}: '{section}.{key}' must be {_type_name(default)}, not {value!r}"
        )
    if expected is int and value < 0:
        raise ConfigError(f"{path}: '{section}.{key}' must not be negative")
    if expected is int and value < 1 and key in AT_LEAST_ONE.get(section, ()):
        raise ConfigError(f"{path}: '{section}.{key}' must be at least 1, not {value}")
    if key in DOMAIN_LISTS.get(section, ()):
        _check_domains(section, key, value, path)
    if (section, key) == ("database", "url"):
        _check_database_url(value, path)
    check = CHECKS.get(f"{section}.{key}")
    if check and not check[0](value):
        raise ConfigError(f"{path}: '{section}.{key}' {check[1]}, not {value!r}")
    return value


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

# Values whose form matters, checked at load so a typo never surfaces mid-message.
CHECKS = {
    "mail.reinject": (
        lambda v: (v.startswith("sendmail:/") or v.startswith("smtp://")),
        "must be 'sendmail:/path' or 'smtp://host:port'",
    ),
    "accounts.credentials_to": (
        lambda v: v in ("sender", "recipient", "print") or (v.startswith("admin:") and "@" in v),
        "must be 'sender', 'recipient', 'admin:ADDRESS' or 'print'",
    ),
    "accounts.credentials_fallback": (
        lambda v: v == "" or ("@" in v and v.isprintable() and not any(c.isspace() or c in "<>" for c in v)),
        "must be empty or one mail address",
    ),
    "accounts.scrypt_log_n": (lambda v: 12 <= v <= 22, "must be between 12 and 22"),
    "portal.url": (lambda v: v.startswith(("http://", "https://")), "must start with http:// or https://"),
    "policy.keyword": (lambda v: v.strip() != "", "must not be empty"),
    # the display name and subject of every mail webcrypt writes: plain text
    "branding.name": (lambda v: not _CONTROL.search(v), "must not contain control characters or line breaks"),
    "branding.organisation": (lambda v: not _CONTROL.search(v), "must not contain control characters or line breaks"),
    "pipe.relay": (
        lambda v: v == "" or _is_host_port(v),
        "must be empty or HOST:PORT of a running 'webcrypt relay'",
    ),
    "portal.listen": (lambda v: _is_host_port(v), "must be HOST:PORT, e.g. \"127.0.0.1:8080\""),
    "relay.listen": (lambda v: _is_host_port(v), "must be HOST:PORT, e.g. \"127.0.0.1:10025\""),
    "portal.legacy_urls": (
        lambda v: all(item.startswith(("http://", "https://")) for item in v),
        "must list URLs that start with http:// or https://",
    ),
    "mail.from": (
        lambda v: "@" in v and v.isprintable() and not any(c.isspace() or c in "<>" for c in v),
        "must be one mail address, e.g. \"webcrypt@example.com\"",
    ),
    "senders.domains": (
        lambda v: all(_DOMAIN.fullmatch(item.strip()) for item in v),
        "must list mail domains such as \"bank.example\"",
    ),
    "senders.receipt_keyword": (lambda v: v.strip() != "" and v.isprintable(), "must not be empty"),
    "accounts.mail_code_domains": (
        lambda v: all(item.strip() == "*" or _DOMAIN.fullmatch(item.strip()) for item in v),
        "must list mail domains such as \"example.com\", or \"*\" for every domain",
    ),
    "mail.language": (lambda v: v in LANGUAGES, f"must be one of {', '.join(LANGUAGES)}"),
    "mail.second_language": (lambda v: v == "" or v in LANGUAGES, f"must be empty or one of {', '.join(LANGUAGES)}"),
    "keys.master_key": (lambda v: v.strip() != "", "must name the master key file, e.g. \"master.key\""),
    "branding.logo_url": (lambda v: v == "" or v.startswith("https://"), "must be empty or an https:// URL"),
    "branding.color": (lambda v: re.fullmatch("#[0-9a-fA-F]{6}", v) is not None, "must look like \"#1f4e79\""),
    "portal.time_zone": (
        lambda v: v == "" or time_zone(v) is not None or (not zone_data_present() and _ZONE_NAME.fullmatch(v)),
        "must be empty (UTC) or a time zone name such as \"Europe/Berlin\"",
    ),
}

# Whole numbers where 0 would stop the service rather than switch something off
# (no threads, no time to log in, every login refused): at least 1.
AT_LEAST_ONE = {
    "portal": ("threads", "upload_minutes", "session_idle_minutes", "session_max_hours", "reply_max_size"),
    "policy": ("max_message_size", "expire_days"),
    "relay": ("max_size", "workers", "processes"),
    "throttle": ("login_failures_per_account", "login_failures_per_client", "login_block_minutes",
                 "answer_failures_per_account", "answer_failures_per_client", "answer_block_minutes"),
}

# Lists of mail domains: an address or a URL there would match nothing, silently.
DOMAIN_LISTS = {"mail": ("internal_domains",), "policy": ("always_encrypt_domains", "never_encrypt_domains")}
_DOMAIN = re.compile(r"\*?\.?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?\.?", re.IGNORECASE)


def host_port(text: str, default_host: str = "") -> tuple[str, int]:
    """'HOST:PORT' (an IPv6 host in brackets) as (host, port); ConfigError otherwise. The one
    reader of such values: listen addresses, [pipe] relay."""
    host, sep, port = text.rpartition(":")
    host = host.strip().strip("[]") or default_host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"must be HOST:PORT, not {text!r}")
    return host, int(port)


def _is_host_port(text: str) -> bool:
    try:
        host_port(text)
    except ConfigError:
        return False
    return True


_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}")


def time_zone(name: str):
    """The zone named *name* ("Europe/Berlin"), None when the name is malformed or this system has
    no data for it: the one reader of zone names (the configuration, a browser's cookie). A minimal
    system may have no zone data at all; whoever asks then falls back (to UTC), never fails."""
    import zoneinfo

    if not isinstance(name, str) or len(name) > 64 or not _ZONE_NAME.fullmatch(name):
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def zone_data_present() -> bool:
    """Whether this system knows any time zone (a minimal one may have no tzdata): without it a
    configured zone cannot be checked, is accepted by its form and read as UTC."""
    return time_zone("Europe/Berlin") is not None or time_zone("America/New_York") is not None


def sqlite_path(url: str) -> Path | None:
    """The file of a sqlite:/// URL, None for another database: the one reader of such URLs."""
    return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None


# Lists of IP addresses or CIDR networks: a typo would silently trust or refuse the wrong clients.
NETWORK_LISTS = {"portal": ("trusted_proxies",), "monitor": ("metrics_networks",), "admin": ("networks",),
                 "relay": ("client_networks",)}


def _check_networks(section: str, key: str, value: list[str], path) -> None:
    import ipaddress

    for item in value:
        try:
            ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            raise ConfigError(f"{path}: '{section}.{key}' must list IP addresses or networks (CIDR), not {item!r}") from None


def _check_domains(section: str, key: str, value: list[str], path) -> None:
    for item in value:
        if not _DOMAIN.fullmatch(item.strip()):
            raise ConfigError(f"{path}: '{section}.{key}' must list mail domains such as \"example.com\", not {item!r}")


# URL scheme -> (the Python module the driver is, how to install it)
DATABASE_DRIVERS = {
    "postgresql": ("psycopg2", "pip install 'webcrypt[postgres]' (or: apt install python3-psycopg2)"),
    "postgres": ("psycopg2", "pip install 'webcrypt[postgres]' (or: apt install python3-psycopg2)"),
    "mysql": ("pymysql", "pip install pymysql (or: apt install python3-pymysql)"),
}


def check_database_url(url: str, where) -> None:
    """*url* as a database URL webcrypt can use (*where* names it in the error: a file, an option)."""
    _check_database_url(url, where, name="")


def _check_database_url(url: str, path, name: str = " 'database.url'") -> None:
    """The database URL's form and its driver, so that a typo or a missing package is one line at
    start, not a traceback at the first query."""
    import importlib.util

    if url == "":
        return
    scheme, sep, rest = url.partition("://")
    key = f"{path}:{name}"
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise ConfigError(f"{key} for SQLite must be sqlite:///PATH (an absolute path has four slashes: "
                              f"sqlite:////var/lib/webcrypt/webcrypt.db), not {url!r}")
        return
    if not sep or scheme not in DATABASE_DRIVERS:
        raise ConfigError(f"{key} must start with sqlite:///, postgresql:// or mysql://, "
                          f"not {shown_url(url)!r}")
    if not rest.partition("/")[2].partition("?")[0]:
        raise ConfigError(f"{key} must name the database: {scheme}://USER:PASSWORD@HOST:PORT/DATABASE")
    module, install = DATABASE_DRIVERS[scheme]
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ConfigError(f"{key} needs the database driver {module}, which is not installed: {install}")


def shown_url(url: str) -> str:
    """*url* fit for a message or a log: a password in it replaced by ***."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def _type_name(default) -> str:
    return {bool: "true or false", int: "a whole number", str: "a string", list: "a list of strings"}[
        type(default)
    ]


def with_overrides(base: Config, overrides: dict[str, object], source: str = "settings") -> Config:
    """*base* with some "section.key" values replaced, each checked like a file value."""
    values = {section: dict(keys) for section, keys in base.values.items()}
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        if key not in SCHEMA.get(section, {}):
            raise ConfigError(f"{source}: unknown key '{dotted}'")
        values[section][key] = _typed(section, key, value, source)
    return Config(path=base.path, values=values)
