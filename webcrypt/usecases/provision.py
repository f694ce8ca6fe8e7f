"""Creating a home: the commented configuration, the master key and the database."""

from pathlib import Path

from ..base import config
from ..base.errors import ConfigError
from ..context.home import Home
from ..infra import keys, store

CONFIG_TEMPLATE = """\
# webcrypt configuration. Every key is optional; the values shown are the defaults
# unless noted. Relative paths are relative to this file's folder.
# The mail settings and corporate identity changed in the web console /admin are
# stored in the database and take precedence over this file (docs/admin.md).

[portal]
# Public URL of the portal, written into every secure.htm (from 'init --portal-url';
# without this line: http://127.0.0.1:8080).
url = "{portal_url}"
# Earlier portal URLs that old secure.htm files still post to.
legacy_urls = []
# Address and port 'webcrypt serve' listens on (put a TLS proxy in front).
listen = "127.0.0.1:8080"
# Proxies (addresses or networks) whose X-Forwarded-For/-Proto headers are trusted: the
# client is the last X-Forwarded-For hop that is not one of them.
trusted_proxies = []
# Further portal settings (defaults shown; uncomment to change):
# threads = 8                  # waitress worker threads
# upload_minutes = 15          # minutes a posted secure.htm (ciphertext only) is kept for login
# session_idle_minutes = 15    # log out after this much inactivity
# session_max_hours = 8        # log out this long after login, active or not
# password_questions = true    # allow recipients a confidential question for forgotten passwords
# reply_max_size = 10485760    # bytes of text and attachments in one secure reply
# replies_per_hour = 20        # secure replies per recipient and hour
# secure_cookies = true        # false only for plain http on loopback (tests, demo)
# view_cache_seconds = 30      # seconds a parsed message stays in memory (never on disk); 0: off

[mail]
# How mail leaves webcrypt: "sendmail:/usr/sbin/sendmail" or "smtp://127.0.0.1:10026".
reinject = "sendmail:/usr/sbin/sendmail"
# Sender of login-data mails and portal notices (the portal's host name here; without
# this line: webcrypt@localhost).
from = "webcrypt@{mail_domain}"
# Recipients in these domains get the original message, never a carrier.
internal_domains = []
# Languages of the mails webcrypt writes and of secure.htm: the reader's (chosen in the
# portal), else this one, then second_language too ("" for none). Codes: base/languages.py.
# language = "en"
# second_language = "de"

[policy]
# Subject keyword that marks a message for encryption (removed from the subject).
keyword = "[secure]"
# Largest message that is encrypted, in bytes; larger ones are refused (5.3.4).
max_message_size = 52428800
# Days after which a message can no longer be opened.
expire_days = 90
# Domains whose recipients always get encrypted mail, and never do.
always_encrypt_domains = []
never_encrypt_domains = []

[accounts]
# Who receives the login data of a new recipient (and a reset's, with 'reset --mail'
# or from the web console): "sender", "recipient", "admin:ADDRESS", or "print" (the
# command or console page shows them; pipe and relay cannot, so they mail the sender).
credentials_to = "sender"
# Where they go when "sender" is meant but the message has none (null sender <>:
# bounces, vacation replies, other automatic mail): a mailbox someone responsible reads.
# The message itself is still encrypted and delivered. Empty: postmaster@ the domain of
# [mail] from (RFC 5321 requires that mailbox of every mail domain).
credentials_fallback = "postmaster@{mail_domain}"
# Make recipients choose their own password at the first login.
force_password_change = true
# Days an account stays valid (0: for ever).
validity_days = 365
# Password hashing cost, scrypt with 2^n (12 to 22): each step up doubles the time and
# memory of a login (17: about 128 MB). Raised later, a password is re-hashed at its
# next login. 17 is the floor for production.
# scrypt_log_n = 17
# Recipient domains whose recipients may sign in with a one-time code mailed to their own
# address instead of the password ("*": every domain). Off by default: the mailbox alone
# then opens the messages (docs/admin.md, "Sign-in codes by mail").
# mail_code_domains = ["partner.example"]

[senders]
# The sender side of the portal (https://<portal>/sender): senders in [mail] internal_domains
# sign in with a link mailed to their own address and see, recall and extend their own secure
# mail, help their recipients with new login data, and get read receipts.
enabled = true
# Limit it to some internal domains ([] = every internal domain).
domains = []
# Keep each message's subject to recognise it by (sealed under the message's own key: gone
# with the message when it is recalled, expires or is deleted).
keep_subject = false
# Senders see when their recipient opened a message (the portal's privacy note says so).
show_opening_times = true
# A read receipt is asked for with the header "X-WebCrypt-Receipt: yes" or this subject keyword
# (removed from the mail the recipient gets).
receipt_keyword = "[receipt]"
# Senders may send new login data to the recipients of their own messages.
new_login_data = true
# The longest a sender may extend a message, in days from today (0: only administrators extend).
max_expiry_days = 90

[database]
# Empty: SQLite at webcrypt.db beside this file. For several portal nodes:
# "postgresql://user:password@host/webcrypt".
url = ""

[keys]
# The master key file (mode 0600). Never lose it: without it nothing can be read.
master_key = "master.key"

[monitor]
# Thresholds of 'webcrypt monitor --check' (Nagios/Icinga exit 0 OK, 1 WARNING,
# 2 CRITICAL, 3 UNKNOWN): a figure at or above *_warning warns, at or above
# *_critical is critical; 0 switches that check off. Per-hour figures count the
# current hour.
deferred_warning = 10
deferred_critical = 50
errors_warning = 1
errors_critical = 10
login_failed_warning = 50
login_failed_critical = 200
locked_accounts_warning = 20
locked_accounts_critical = 100
pending_uploads_warning = 500
pending_uploads_critical = 2000
database_mb_warning = 2000
database_mb_critical = 10000
# Who may read /metrics (Prometheus): clients in these networks, or any client
# that sends "Authorization: Bearer <metrics_token>" (empty: no token accepted).
metrics_networks = ["127.0.0.1/32", "::1/128"]
metrics_token = ""

[admin]
# Client networks allowed to reach the web console /admin (empty: any client; the
# default admits loopback and the private ranges, never the internet).
# Behind a proxy, the client address comes from [portal] trusted_proxies.
networks = ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
# true: an administrator without a one-time-code app (enrolled with
# 'webcrypt admin totp NAME' over SSH) cannot log in to the console.
require_totp = false
# true: administrators sign in with a passkey only; one without a passkey may log in with the
# password only to add one (Passkeys page of the console).
require_passkey = false

[relay]
# 'webcrypt relay' (SMTP smarthost for Exchange/Domino or Postfix's advanced
# content filter) listens here; it forwards through [mail] reinject.
listen = "127.0.0.1:10025"
# Clients allowed to connect; everyone else is refused (never an open relay).
client_networks = ["127.0.0.0/8", "::1/128"]
# Largest message accepted (advertised as SIZE), in bytes.
max_size = 52428800
# Certificate and key (PEM) for STARTTLS; empty: no STARTTLS offered.
tls_cert = ""
tls_key = ""
# Refuse mail from clients that did not use STARTTLS.
require_tls = false
# Messages processed at once, per process.
workers = 4
# Processes sharing the listening socket (encryption is CPU work: about one per core).
processes = 2

[pipe]
# Forwarding mode for 'webcrypt pipe': "HOST:PORT" of a running 'webcrypt relay'
# (e.g. "127.0.0.1:10025", plain SMTP, so not with relay.require_tls). Each pipe then
# only hands the message to the relay, which encrypts and reinjects it, instead of
# loading the encryption libraries per message: for volume (docs/performance.md).
# When the relay cannot take a message (down, restarting), the pipe processes it
# itself. Empty: pipe processes every message itself. (appliance/install.sh sets it
# to its relay service for the content-filter and transport patterns.)
relay = ""

[throttle]
# Failed logins (recipients and console administrators) per address and per client
# address; reaching the limit within the block time blocks that key for the block time.
# A low per-address limit also lets a stranger lock an account for that time.
login_failures_per_account = 5
login_failures_per_client = 30
login_block_minutes = 15
# Wrong answers to the confidential question (forgotten password), likewise.
answer_failures_per_account = 3
answer_failures_per_client = 10
answer_block_minutes = 60

[branding]
# Overridden by the web console's corporate identity page (stored in the database).
name = "webcrypt"
organisation = ""
# Logo on the portal pages: an https:// URL (empty: none).
logo_url = ""
color = "#1f4e79"
"""


def init_home(folder: Path, portal_url: str) -> Path:
    if not portal_url.startswith(("http://", "https://")):
        raise ConfigError(f"portal URL must start with http:// or https://, not {portal_url!r}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "webcrypt.toml"
    if not path.exists():
        host = portal_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
        text = CONFIG_TEMPLATE.format(portal_url=portal_url, mail_domain=host)
        path.write_text(text)
        path.chmod(0o640)
    home = Home(config.load(path))
    key_path = home.config.file("keys.master_key")
    if not key_path.exists():
        keys.create(key_path)
    else:
        home.keyring  # an existing key must at least be readable
    _private_sqlite_file(home.config.database_url)
    home.connect(check_schema=False)
    try:
        store.migrate()
    finally:
        home.close()
    return path.resolve()


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file readable by its owner only (SQLite gives its -wal and -shm
    files the same mode): password hashes and wrapped keys are nobody else's business."""
    database = config.sqlite_path(url)
    if database is not None:
        if not database.exists():
            database.touch(mode=0o600)


