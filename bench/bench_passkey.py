"""Passkey sign-in against password sign-in (issue 12), through the portal's WSGI app.

Run by hand:  python3 bench/bench_passkey.py [--runs 20]
One recipient with a password (scrypt at the configured production strength, `init`'s default)
and a passkey (P-256, tests/passkey_support.py standing in for the browser's authenticator).
The two logins alternate, so that both see the same machine; each is timed on the server side
only: a password login is one POST /login; a passkey login is the POST that begins the ceremony
plus the POST that answers it (the authenticator's signature, made on the user's device, is not
counted). Medians of --runs each.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from passkey_support import Authenticator  # noqa: E402
from portal_client import Client  # noqa: E402
from webcrypt.base import config  # noqa: E402
from webcrypt.context.home import Home  # noqa: E402
from webcrypt.edges.portal import create_app  # noqa: E402
from webcrypt.infra import store  # noqa: E402
from webcrypt.usecases import accounts, provision  # noqa: E402

PORTAL = "https://portal.example.com"
ADDRESS = "bench@example.org"
PASSWORD = "violet tractor harbour"


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def password_login(app) -> float:
    client = Client(app)
    csrf = client.get("/login").field("csrf")
    form = {"csrf": csrf, "address": ADDRESS, "password": PASSWORD}
    answers = []
    seconds = timed(lambda: answers.append(client.post("/login", form)))
    assert answers[0].status == 303, answers[0].text[:200]
    return seconds


def passkey_login(app, authenticator: Authenticator) -> float:
    client = Client(app)
    csrf = client.get("/login").field("csrf")
    begun = []
    seconds = timed(lambda: begun.append(json.loads(client.post("/passkey/sign-in/options", {"csrf": csrf}).text)))
    credential = authenticator.get(begun[0]["publicKey"])  # on the user's device: not counted
    answers = []
    seconds += timed(lambda: answers.append(client.post(
        "/passkey/sign-in", {"csrf": csrf, "ceremony": begun[0]["ceremony"], "credential": credential})))
    assert answers[0].status == 303, answers[0].text[:200]
    return seconds


def enrol(app) -> Authenticator:
    client = Client(app)
    csrf = client.get("/login").field("csrf")
    assert client.post("/login", {"csrf": csrf, "address": ADDRESS, "password": PASSWORD}).status == 303
    csrf = client.get("/profile").field("csrf")
    begun = json.loads(client.post("/passkey/add/options", {"csrf": csrf}).text)
    authenticator = Authenticator(PORTAL)
    added = client.post("/passkey/add", {"csrf": csrf, "ceremony": begun["ceremony"],
                                         "credential": authenticator.create(begun["publicKey"])})
    assert added.status == 200, added.text[:200]
    return authenticator


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = provision.init_home(Path(folder) / "home", PORTAL)
        home = Home(config.load(path))
        home.connect()
        accounts.create(home, ADDRESS, PASSWORD)
        store.Recipient.update(must_change_password=False).execute()
        app = create_app(home)
        authenticator = enrol(app)
        password, passkey = [], []
        for _ in range(args.runs):
            password.append(password_login(app))
            passkey.append(passkey_login(app, authenticator))
        home.close()
    log_n = home.config["accounts.scrypt_log_n"]
    p, k = statistics.median(password) * 1000, statistics.median(passkey) * 1000
    print(f"password login (scrypt ln={log_n}), median of {args.runs}: {p:.1f} ms")
    print(f"passkey login (begin + answer, P-256), median of {args.runs}: {k:.1f} ms")
    print(f"passkey / password: {k / p:.3f}")


if __name__ == "__main__":
    main()
