"""Administration benchmark (issue 5): monitor, message list, maintain and backup on a big database.

Run by hand:  python3 bench/bench_admin.py [--recipients 20000] [--messages 200000] [--runs 5]
The database is filled directly (wrapped keys are random bytes of the real size: the admin
queries never unwrap them). Baselines, measured in the same run: a plain COUNT(*) over the
message table (for monitor), a file copy of the database (for backup, which is not consistent
while anyone writes; the online backup is).
"""

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from webcrypt.base import config
from webcrypt.infra import store
from webcrypt.usecases import housekeeping, messages, monitor, provision
from webcrypt.context.home import Home

DAY = 86400


def fill(home: Home, recipients: int, count: int) -> None:
    now = home.now()
    with store.db.atomic():
        store.Recipient.insert_many(
            [dict(address=f"user{i}@example.org", password_hash="x" * 90, key_wrapped=os.urandom(60),
                  key_generation=1, created=now - DAY, valid_until=now + 300 * DAY) for i in range(recipients)]
        ).execute()
    rows = [dict(id=os.urandom(16).hex(), recipient=f"user{i % recipients}@example.org",
                 sender=f"sender{i % 50}@bank.example", created=now - (i % 400) * DAY // 4,
                 expires=now + 90 * DAY - (i % 400) * DAY // 4, size=20000, data_key_wrapped=os.urandom(60))
            for i in range(count)]
    for start in range(0, count, 5000):
        with store.db.atomic():
            store.Message.insert_many(rows[start:start + 5000]).execute()


def timed(func, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=20000)
    parser.add_argument("--messages", type=int, default=200000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = provision.init_home(Path(folder) / "home", "https://portal.example.com")
        home = Home(config.load(path))
        home.connect()
        fill(home, args.recipients, args.messages)
        db_file = Path(folder) / "home" / "webcrypt.db"
        store.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        size_mb = db_file.stat().st_size / 1e6
        target = Path(folder) / "backup.db"
        results = {
            "COUNT(*) over messages (baseline)": timed(lambda: store.Message.select().count(), args.runs),
            "monitor.snapshot": timed(lambda: monitor.snapshot(home), args.runs),
            "message list by sender (500 newest)": timed(lambda: messages.listing(sender="sender7"), args.runs),
            "file copy of the database (baseline, not consistent)": timed(
                lambda: shutil.copyfile(db_file, target), args.runs),
            "webcrypt backup (online backup API)": timed(lambda: housekeeping.backup(home, target), args.runs),
        }
        home.clock = lambda: time.time() + 60 * DAY  # a quarter of the messages have expired by then
        results["maintain (first run destroys expired keys)"] = timed(lambda: housekeeping.maintain(home), 1)
        results["maintain (nothing to do)"] = timed(lambda: housekeeping.maintain(home), args.runs)
        print(f"{args.recipients} recipients, {args.messages} messages, database {size_mb:.0f} MB")
        print("| operation | best | median |")
        print("|---|---|---|")
        for name, (best, median) in results.items():
            print(f"| {name} | {best * 1000:.0f} ms | {median * 1000:.0f} ms |")
        home.close()


if __name__ == "__main__":
    main()
