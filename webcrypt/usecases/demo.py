"""The demo: a local home, a sample message encrypted, login data to try the portal with."""

import email.message
import email.utils
import re
from dataclasses import dataclass
from pathlib import Path

from ..base import config
from ..base.errors import UnknownAccount
from ..context.home import Home
from ..core import crypto, mime
from . import accounts, admins, gateway, provision

SENDER = "service@bank.example"
READER = "reader@example.org"
ADMIN = "admin"


@dataclass(frozen=True)
class Demo:
    home: Home
    carrier: Path
    secure_htm: Path
    address: str
    password: str
    admin_password: str  # for the console at /admin/, user ADMIN


def sample_message() -> bytes:
    msg = email.message.EmailMessage()
    msg["From"] = f"Example Bank <{SENDER}>"
    msg["To"] = READER
    msg["Subject"] = "Your statement / Ihr Kontoauszug"
    msg["Date"] = email.utils.formatdate()
    msg["Message-ID"] = email.utils.make_msgid(domain="bank.example")
    msg.set_content("Dear customer,\n\nplease find your statement attached.\n\nKind regards\nExample Bank\n")
    msg.add_alternative(
        "<p>Dear customer,</p><p>please find your <b>statement</b> attached.</p>"
        "<p>Kind regards<br>Example Bank</p>",
        subtype="html",
    )
    msg.add_attachment(b"Date;Text;Amount\n2026-11-01;Salary;2500.00\n2026-11-03;Rent;-950.00\n",
                       maintype="text", subtype="csv", filename="statement.csv")
    return msg.as_bytes()


def prepare(folder: Path, portal_url: str = "http://127.0.0.1:8080") -> Demo:
    path = folder / "webcrypt.toml"
    if not path.exists():
        provision.init_home(folder, portal_url)
        # Nothing leaves this machine in the demo: login data are printed, not mailed,
        # and the portal runs on plain http on loopback.
        text = path.read_text().replace('credentials_to = "sender"', 'credentials_to = "print"')
        path.write_text(text.replace("[portal]\n", "[portal]\nsecure_cookies = false\n", 1))
    _set_portal_url(path, portal_url)  # a later run may listen elsewhere
    home = Home(config.load(path))
    home.connect()
    password = _fresh_password(home)
    admin_password = _fresh_admin_password(home)
    (sealed,) = gateway.encrypt(home, sample_message(), SENDER, [READER], print_login_data=lambda new: None)
    out = folder / "out"
    out.mkdir(exist_ok=True)
    carrier = out / "carrier.eml"
    carrier.write_bytes(sealed.data)
    secure_htm = out / "secure.htm"
    secure_htm.write_bytes(b"".join(mime.secure_htm_chunks(sealed.carrier, sealed.envelope)))
    return Demo(home, carrier, secure_htm, READER, password, admin_password)


def _fresh_password(home: Home) -> str:
    """The reader's password for this run: a new account, or a reset one."""
    try:
        accounts.get(READER)
    except UnknownAccount:
        return accounts.create(home, READER).password
    return accounts.reset(home, READER).password


def _fresh_admin_password(home: Home) -> str:
    """The console administrator's password for this run."""
    password = crypto.generate_password()
    try:
        admins.get(ADMIN)
    except UnknownAccount:
        admins.add(home, ADMIN, password, actor="demo")
    else:
        admins.set_password(home, ADMIN, password, actor="demo")
    return password


def _set_portal_url(path: Path, portal_url: str) -> None:
    text = path.read_text()
    path.write_text(re.sub(r'(?m)^url = "https?://[^"]*"$', f'url = "{portal_url}"', text, count=1))
