"""Where the relay's time goes per message (issue 15 item 4): CPU per message, then a profile.

Run by hand:  python3 bench/profile_relay.py [--messages 300] [--sessions 10] [--size 102400]

A `webcrypt relay` in this process (relay.Running, SQLite home as bench_pipe.py makes it,
4 workers) fed by smtp-source (a separate process, as Postfix's smtp client would be), its
next hop an aiosmtpd sink in another process. Two rounds, the same messages:
1. plain: wall time and this process's CPU (getrusage) per message, nothing else running here;
2. profiled: cProfile in the event-loop thread (aiosmtpd's reception) and in every worker
   thread (processing: parse, seal, the commit, SMTP to the next hop), summed per phase.
The sink and smtp-source run outside, so this process's CPU is the relay's alone.
"""

import argparse
import cProfile
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_pipe  # noqa: E402

from webcrypt.base import config  # noqa: E402
from webcrypt.context.home import Home  # noqa: E402
from webcrypt.edges import relay  # noqa: E402

RELAY_PORT = 13050
SINK_PORT = 13051  # not bench_pipe.PORT: that benchmark may run beside this one
# The next hop: accepts everything, reading DATA in blocks as the relay does (aiosmtpd's own
# line-by-line reading would cost the sink ~4 ms per 100 KB, on the cores the relay needs)
SINK = """
import sys
sys.path.insert(0, sys.argv[2])
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from webcrypt.edges.relay import _Server
class H:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
class Blocks(SMTP):
    smtp_DATA = _Server.smtp_DATA
class Sink(Controller):
    def factory(self):
        return Blocks(self.handler, **self.SMTP_kwargs)
c = Sink(H(), hostname="127.0.0.1", port=int(sys.argv[1]), data_size_limit=0)
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"""


def start_sink() -> subprocess.Popen:
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(SINK_PORT), str(ROOT)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout.readline().strip() == "ready"
    return sink


def smtp_source(messages: int, sessions: int, size: int) -> None:
    subprocess.run(["smtp-source", "-s", str(sessions), "-m", str(messages), "-l", str(size), "-S",
                    "[secure] benchmark", "-f", "clerk@corp.example", "-t", "alice@example.org",
                    "-M", "client.corp.example", f"127.0.0.1:{RELAY_PORT}"], check=True)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Profiles:
    """One cProfile per thread (cProfile sees only the thread that enabled it)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.loop, self.workers = None, []

    def start_worker(self):
        profile = cProfile.Profile()
        with self.lock:
            self.workers.append(profile)
        profile.enable()

    def start_loop(self):
        self.loop = cProfile.Profile()
        self.loop.enable()

    def stop_loop(self):
        self.loop.disable()


def start_relay(conf: Path, workers: int, profiles: Profiles | None) -> relay.Running:
    home = Home(config.load(conf))
    home.connect()
    settings = relay.settings(home, f"127.0.0.1:{RELAY_PORT}")
    settings = relay.Settings(**{**settings.__dict__, "workers": workers})
    running = relay.Running(home, settings, open(os.devnull, "w"))
    if profiles:
        running.handler.pool = ThreadPoolExecutor(max_workers=workers, initializer=profiles.start_worker)
    running.start()
    if profiles:
        running.loop.call_soon_threadsafe(profiles.start_loop)
    return running


def round_(conf: Path, args, profiles: Profiles | None) -> tuple[float, float]:
    running = start_relay(conf, args.workers, profiles)
    smtp_source(10, 2, args.size)  # warm-up: connections, first queries, imports
    cpu, started = cpu_seconds(), time.perf_counter()
    smtp_source(args.messages, args.sessions, args.size)
    wall, used = time.perf_counter() - started, cpu_seconds() - cpu
    if profiles:
        done = threading.Event()
        running.loop.call_soon_threadsafe(lambda: (profiles.stop_loop(), done.set()))
        done.wait(10)
    running.stop()
    return wall, used


def report(profiles: Profiles, messages: int, top: int) -> None:
    for label, items in (("event loop (aiosmtpd reception and replies)", [profiles.loop]),
                         ("workers (processing)", profiles.workers)):
        stats = pstats.Stats(items[0])
        for more in items[1:]:
            stats.add(more)
        print(f"\n== {label}: top {top} by cumulative time ==")
        stats.sort_stats("cumulative").print_stats(top)
        print(f"== {label}: top {top} by own time ==")
        stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--size", type=int, default=100 * 1024)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        conf = bench_pipe.make_home(Path(tmp) / "home")
        conf.write_text(conf.read_text().replace(f"127.0.0.1:{bench_pipe.PORT}", f"127.0.0.1:{SINK_PORT}"))
        sink = start_sink()
        try:
            wall, used = round_(conf, args, None)
            print(f"relay, {args.messages} messages of {args.size} bytes, {args.sessions} sessions, "
                  f"{args.workers} workers; load {os.getloadavg()[0]:.1f}")
            print(f"  {args.messages / wall:.1f} msg/s; CPU of the relay per message {used / args.messages * 1000:.2f} ms "
                  f"(wall per message {wall / args.messages * 1000:.2f} ms)")
            if not args.no_profile:
                profiles = Profiles()
                round_(conf, args, profiles)
                report(profiles, args.messages, args.top)
        finally:
            sink.stdin.close()
            sink.wait(10)


if __name__ == "__main__":
    main()
