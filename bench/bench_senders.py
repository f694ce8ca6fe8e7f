"""Sender page benchmark (issue 13): a sender's list of sent secure mail against the administrator's
message list, side by side, on a big database.

Run by hand:  python3 bench/bench_senders.py [--messages 200000] [--own 2000] [--runs 7]
The database is filled directly as bench/bench_admin.py does (wrapped keys are random bytes: no
page unwraps them); *own* of the messages are by one sender, spelt in three cases as MTAs hand
envelope senders over. Both pages are requested through the portal's WSGI app with a session
(first page, newest first): the sender's page shows 50 with the status of each and a count;
the console's shows up to 500 matching a part of the sender's address. The query plan of the
sender's query is printed: it must use the index on (LOWER(sender), created) of schema 11.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_admin import timed  # noqa: E402 - the same measure as the admin benchmark
from portal_client import Client  # noqa: E402
from webcrypt.base import config  # noqa: E402
from webcrypt.context.home import Home  # noqa: E402
from webcrypt.edges.portal import web  # noqa: E402
from webcrypt.edges.portal.app import create_app  # noqa: E402
from webcrypt.infra import store  # noqa: E402
from webcrypt.usecases import provision, senders, sessions  # noqa: E402

DAY = 86400
SENDER = "clerk@bank.example"
SPELLINGS = (SENDER, "Clerk@bank.example", "CLERK@BANK.EXAMPLE")


def fill(home: Home, count: int, own: int, recipients: int = 20000) -> None:
    now = home.now()
    with store.db.atomic():
        store.Recipient.insert_many(
            [dict(address=f"user{i}@example.org", password_hash="x" * 90, key_wrapped=os.urandom(60),
                  key_generation=1, created=now - DAY, valid_until=now + 300 * DAY) for i in range(recipients)]
        ).execute()
    every = count // own
    rows = [dict(id=os.urandom(16).hex(), recipient=f"user{i % recipients}@example.org",
                 sender=SPELLINGS[i % 3] if i % every == 0 else f"sender{i % 500}@bank.example",
                 created=now - (i % 400) * DAY // 4, expires=now + 90 * DAY - (i % 400) * DAY // 4, size=20000,
                 data_key_wrapped=os.urandom(60), first_opened=now - DAY if i % 2 else None)
            for i in range(count)]
    for start in range(0, count, 5000):
        with store.db.atomic():
            store.Message.insert_many(rows[start:start + 5000]).execute()


def signed_in(home: Home, app, kind: str, principal: str, cookie: str) -> Client:
    token, _ = sessions.start(home, kind, principal)
    return Client(app, cookies={web.cookie_name(home, cookie): token})


def page_of(client: Client, path: str, needle: str):
    def get():
        r = client.get(path)
        assert r.status == 200 and needle in r.text, (r.status, r.text[:300])
    return get


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200000)
    parser.add_argument("--own", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = provision.init_home(Path(folder) / "home", "https://portal.example.com")
        home = Home(config.load(path))
        home.config.values["mail"]["internal_domains"] = ["bank.example"]
        home.connect()
        fill(home, args.messages, args.own)
        store.db.execute_sql("ANALYZE")
        app = create_app(home)
        sender = signed_in(home, app, senders.KIND, SENDER, "webcrypt-sender")
        admin = signed_in(home, app, "admin", "bench", "webcrypt-admin")
        store.Admin.create(name="bench", password_hash="x", created=home.now())
        own = senders.listing(home, SENDER, senders.Search()).total
        sql, params = senders._sent_by(SENDER).order_by(store.Message.created.desc()).limit(50).sql()
        plan = store.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        results = {
            f"sender's list, page 1 of {own // senders.PAGE_SIZE} (50 rows, status, count)": timed(
                page_of(sender, "/sender/messages", "Page 1 of"), args.runs),
            "sender's list, page 20": timed(page_of(sender, "/sender/messages?page=20", "Page 20 of"), args.runs),
            "sender's list, search by recipient": timed(
                page_of(sender, "/sender/messages?recipient=user1", "Messages found"), args.runs),
            "admin's message list, sender=clerk@bank.example (up to 500 rows)": timed(
                page_of(admin, "/admin/messages?sender=clerk%40bank.example", "clerk"), args.runs),
            "admin's message list, no filter (500 newest)": timed(page_of(admin, "/admin/messages", "user"), args.runs),
        }
        print(f"{args.messages} messages, {own} by {SENDER} (in three cases); SQLite; median of {args.runs}")
        print("query plan of the sender's query:", "; ".join(str(row[-1]) for row in plan))
        print("| page | median |")
        print("|---|---|")
        for name, (_, median) in results.items():
            print(f"| {name} | {median * 1000:.0f} ms |")
        home.close()


if __name__ == "__main__":
    main()
