"""Relay processes on one PostgreSQL: do they scale with cores? (issue 15 item 4). Needs root.

Run by hand:  python3 bench/bench_relay_cores.py [--processes 1,2] [--messages 400] [--rounds 2]

A private PostgreSQL 15 (tests/postgres.py; fsync off, as the tests run it: this measures
CPU, not the disk), one webcrypt home on it, and `webcrypt relay` with relay.processes =
1, then 2 (4 workers each), alternating for --rounds rounds. smtp-source (10 sessions,
100 KB, keyword subject, one known recipient) feeds the relay; its next hop is an aiosmtpd
sink in another process (bench/profile_relay.py's). Per run: messages per second, and the
CPU per message of the relay's processes and of PostgreSQL's (utime + stime from /proc,
summed over each process tree, before and after the measured messages). The CPU figures are
what a projection to more cores needs: a core gives 1000 ms / (CPU per message) messages per
second to whatever runs on it.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import memory_support  # noqa: E402
from cpu_support import tree_cpu  # noqa: E402
import postgres  # noqa: E402
import profile_relay  # noqa: E402
from conftest import write_settings  # noqa: E402

from webcrypt.base import config  # noqa: E402
from webcrypt.context.home import Home  # noqa: E402
from webcrypt.infra import store  # noqa: E402
from webcrypt.usecases import accounts, provision  # noqa: E402

PG_PORT = 13060
RELAY_PORT = profile_relay.RELAY_PORT


def make_home(folder: Path, url: str) -> Path:
    path = provision.init_home(folder, "https://portal.example.com")
    write_settings(path, {"database": {"url": f'"{url}"'},
                          "mail": {"reinject": f'"smtp://127.0.0.1:{profile_relay.SINK_PORT}"'},
                          "relay": {"workers": "4"}})
    home = Home(config.load(path))
    home.connect(check_schema=False)
    store.migrate()
    accounts.create(home, "alice@example.org")
    home.close()
    return path


def postmaster(server: postgres.Server) -> int:
    return int((server.data / "postmaster.pid").read_text().split()[0])


def one_run(conf: Path, server: postgres.Server, processes: int, args) -> dict:
    write_settings(conf, {"relay": {"processes": str(processes)}})
    relay = subprocess.Popen([sys.executable, "-m", "webcrypt", "-c", str(conf), "relay", "--listen",
                              f"127.0.0.1:{RELAY_PORT}"], stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        memory_support.wait_for_port(RELAY_PORT)
        profile_relay.smtp_source(10 * processes, 2, args.size)  # warm-up: every worker connected
        relay_cpu, pg_cpu, started = tree_cpu(relay.pid), tree_cpu(postmaster(server)), time.perf_counter()
        profile_relay.smtp_source(args.messages, args.sessions, args.size)
        wall = time.perf_counter() - started
        relay_used, pg_used = tree_cpu(relay.pid) - relay_cpu, tree_cpu(postmaster(server)) - pg_cpu
    finally:
        relay.terminate()
        relay.wait(30)
    return {"rate": args.messages / wall, "relay_ms": relay_used / args.messages * 1000,
            "pg_ms": pg_used / args.messages * 1000, "load": os.getloadavg()[0]}


def measure(messages: int = 400, rounds: int = 2, processes=(1, 2), sessions: int = 10,
            size: int = 100 * 1024) -> dict:
    """{processes: [run, ...]} with runs alternating between the process counts."""
    args = argparse.Namespace(messages=messages, sessions=sessions, size=size)
    server = postgres.Server(PG_PORT).start()
    sink = profile_relay.start_sink()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            conf = make_home(Path(tmp) / "home", server.create_database("wc_cores"))
            results = {n: [] for n in processes}
            for _ in range(rounds):
                for n in processes:
                    results[n].append(one_run(conf, server, n, args))
            return results
    finally:
        sink.stdin.close()
        sink.wait(10)
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sessions", type=int, default=10)
    args = parser.parse_args()
    if not postgres.available():
        raise SystemExit("needs Debian's postgresql-15 and runuser (tests/postgres.py)")
    results = measure(args.messages, args.rounds, tuple(int(n) for n in args.processes.split(",")), args.sessions)
    print(f"{args.messages} messages of 100 KB, {args.sessions} sessions, {os.cpu_count()} cores, PostgreSQL 15")
    print("| relay processes | msg/s (runs) | median | relay CPU per message | PostgreSQL CPU per message |")
    print("|---|---|---|---|---|")
    for n, runs in results.items():
        rates = ", ".join(f"{r['rate']:.1f}" for r in runs)
        print(f"| {n} | {rates} | {statistics.median(r['rate'] for r in runs):.1f} | "
              f"{statistics.median(r['relay_ms'] for r in runs):.2f} ms | "
              f"{statistics.median(r['pg_ms'] for r in runs):.2f} ms |")
    print("load average during the runs: " + ", ".join(f"{r['load']:.1f}" for runs in results.values() for r in runs))


if __name__ == "__main__":
    main()
