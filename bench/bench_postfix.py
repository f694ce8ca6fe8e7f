"""Postfix throughput through webcrypt (issue 3), counted at the Maildir. Needs root and postfix.

Run by hand:  python3 bench/bench_postfix.py [--messages 200] [--sessions 10] [--size 102400]

Four runs, one after another on this machine, each in a fresh private Postfix
(tests/postfix_fixture.py, the appliance/postfix/ snippets):
- pipe:  pattern A, content_filter -> `webcrypt pipe` (one process per message);
- pipe-forward: pattern A with `[pipe] relay` set: each `webcrypt pipe` process only
         hands the message over SMTP to a running `webcrypt relay` (as in the relay
         run), which encrypts and reinjects on the reinjection port;
- relay: pattern C, content_filter -> `webcrypt relay` (one process, 4 workers);
- null:  pattern C with a do-nothing filter in place of the relay: an aiosmtpd
         server that forwards each message unchanged to the reinjection port
         (4 worker threads, like the relay), the baseline for the relay.
With --executable (the one-folder build, e.g. build/dist/webcrypt-onedir), two more modes run
the program as appliance/install.sh installs it, pipe and relay alike:
- exe-forward: pattern A, `[pipe] relay` set, both the built executable: install.sh's default;
- exe-pipe:    pattern A, the built executable's pipe processing every message itself
               (install.sh --pipe-in-process).
After 10 warm-up messages to another recipient (not counted), smtp-source sends MESSAGES messages of SIZE bytes with the keyword in the
subject, SESSIONS at once, to one known recipient (the account exists: this
measures messages, not first use). Time runs from the first connection to the
last message in the Maildir; lost and duplicated messages are counted there
(a carrier's X-WebCrypt-Message-Id, or the submission queue id for null).
"""

import argparse
import asyncio
import compileall
import os
import re
import shutil
import smtplib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from aiosmtpd.controller import Controller  # noqa: E402
from postfix_fixture import PIPE_USER, Ports, Postfix, postfix_available, python_for_pipe_user  # noqa: E402

from webcrypt.base import config
from webcrypt.usecases import accounts  # noqa: E402
from webcrypt.context.home import Home  # noqa: E402

RECIPIENT = "alice@example.org"
WARMUP = "warmup@example.org"  # first messages of a fresh instance and relay, not counted
SENDER = "clerk@corp.example"


class NullFilter:
    """Forwards every message unchanged to the next hop; 250 after the next hop said 250."""

    def __init__(self, next_port: int):
        self.next_port = next_port
        self.pool = ThreadPoolExecutor(max_workers=4)

    async def handle_DATA(self, server, session, envelope):
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.pool, self.forward, envelope)
        except Exception as e:  # noqa: BLE001
            return f"451 4.3.0 {e}"
        return "250 OK"

    def forward(self, envelope):
        with smtplib.SMTP("127.0.0.1", self.next_port, timeout=120) as client:
            client.sendmail(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)


def prepare(pf: Postfix, scrypt_log_n: int) -> None:
    from conftest import write_settings

    write_settings(pf.conf, {"accounts": {"scrypt_log_n": str(scrypt_log_n)}})
    home = Home(config.load(pf.conf))
    home.connect()
    accounts.create(home, RECIPIENT)
    accounts.create(home, WARMUP)
    home.close()
    pf.chown_home()


def send(pf: Postfix, count: int, sessions: int, size: int, recipient: str = RECIPIENT) -> None:
    subprocess.run(
        ["smtp-source", "-s", str(sessions), "-m", str(count), "-l", str(size), "-S", "[secure] benchmark",
         "-f", SENDER, "-t", recipient, "-M", "client.corp.example", f"127.0.0.1:{pf.ports.submit}"],
        check=True,
    )


def count_at_maildir(pf: Postfix, count: int, timeout: float) -> tuple[float, list[bytes]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pf.delivered(RECIPIENT)
        if len(found) >= count:
            return time.monotonic(), found
        time.sleep(0.05)
    return time.monotonic(), pf.delivered(RECIPIENT)


def identity(message: bytes) -> bytes:
    head = message.split(b"\n\n", 1)[0]
    carrier = re.search(rb"X-WebCrypt-Message-Id: (\w+)", head)
    if carrier:
        return carrier.group(1)
    ids = re.findall(rb"with E?SMTP id (\w+)", head)
    return ids[-1] if ids else b"?"  # the submission queue id: the first Received line added


class ExecutablePostfix(Postfix):
    """Postfix whose pipe(8) runs the built executable, as install.sh wires it."""

    executable = ""

    def pipe_command(self) -> str:
        return f"{self.executable} -c {self.conf}"


def reachable_copy(build: Path) -> Path:
    """The one-folder build where the pipe user can run it (this checkout may be private)."""
    target = Path("/tmp/webcrypt-bench-onedir")
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(build, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
    return target / "webcrypt"


def run(mode: str, args) -> dict:
    executable = mode.startswith("exe-")
    pattern = "content_filter" if mode in ("pipe", "pipe-forward") or executable else "relay"
    base = {"pipe": 12570, "relay": 12574, "null": 12578, "pipe-forward": 13020, "exe-forward": 13024,
            "exe-pipe": 13028}[mode] + args.port_offset
    ports = Ports(submit=base, reinject=base + 1, relay=base + 2)
    if executable:
        ExecutablePostfix.executable = str(args.exe)
        pf = ExecutablePostfix(pattern, ports)
    else:
        pf = Postfix(pattern, ports)
    extra = None
    try:
        prepare(pf, args.scrypt_log_n)
        if mode in ("pipe-forward", "exe-forward"):
            from conftest import write_settings

            write_settings(pf.conf, {"pipe": {"relay": f'"127.0.0.1:{pf.ports.relay}"'}})
            pf.chown_home()
        if args.pipe_processes:
            pf.postconf("-F", f"webcrypt/unix/process_limit={args.pipe_processes}")
        pf.start()
        if mode in ("relay", "pipe-forward", "exe-forward"):
            program = [str(args.exe)] if executable else [*python_for_pipe_user(), "-m", "webcrypt"]
            extra = subprocess.Popen(
                [*program, "-c", str(pf.conf), "relay", "--listen", f"127.0.0.1:{pf.ports.relay}"],
                user=PIPE_USER, cwd="/", stderr=subprocess.DEVNULL)
            Postfix.wait_listening(pf.ports.relay)
        elif mode == "null":
            extra = Controller(NullFilter(pf.ports.reinject), hostname="127.0.0.1", port=pf.ports.relay,
                               data_size_limit=0)
            extra.start()
        send(pf, 10, args.sessions, args.size, WARMUP)
        pf.wait_for(WARMUP, 10, timeout=120)
        pf.wait_queue_empty(timeout=60)
        started = time.monotonic()
        send(pf, args.messages, args.sessions, args.size)
        finished, found = count_at_maildir(pf, args.messages, timeout=600)
        pf.wait_queue_empty(timeout=60)
        time.sleep(1)  # a late duplicate would show up now
        found = pf.delivered(RECIPIENT)
        distinct = len({identity(m) for m in found})
        elapsed = finished - started
        return {"mode": mode, "seconds": elapsed, "rate": len(found) / elapsed, "delivered": len(found),
                "lost": args.messages - distinct, "duplicated": len(found) - distinct}
    finally:
        if isinstance(extra, subprocess.Popen):
            extra.terminate()
            extra.wait(timeout=30)
        elif extra is not None:
            extra.stop()
        pf.cleanup()


def measure(modes: list[str], args) -> list[dict]:
    """One run per mode, in order (a mode may repeat: alternate them for pairs). *args* as main's."""
    if args.executable:
        args.exe = reachable_copy(Path(args.executable))
    # as installed: bytecode compiled (the pipe user cannot write __pycache__ in this checkout)
    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "webcrypt"), quiet=1)
    return [run(mode, args) for mode in modes]


def options(**given) -> argparse.Namespace:
    """main's defaults, with *given* instead (for bench/summary.py)."""
    defaults = {"messages": 200, "sessions": 10, "size": 100 * 1024, "scrypt_log_n": 17, "pipe_processes": 0,
                "executable": "", "port_offset": 0}
    return argparse.Namespace(**{**defaults, **given})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--size", type=int, default=100 * 1024)
    parser.add_argument("--scrypt-log-n", type=int, default=17, help="production cost (no hashing per message here)")
    parser.add_argument("--modes", default="pipe,pipe-forward,relay,null")
    parser.add_argument("--pipe-processes", type=int, default=0, help="maxproc of the webcrypt pipe service")
    parser.add_argument("--executable", default="", help="the one-folder build, for the exe-* modes")
    parser.add_argument("--port-offset", type=int, default=0,
                        help="added to every port (another benchmark, e.g. bench_pipe.py's sink on 12580, may be running)")
    args = parser.parse_args()
    if postfix_available():
        raise SystemExit(postfix_available())
    results = measure(args.modes.split(","), args)
    print(f"{args.messages} messages of {args.size} bytes, {args.sessions} smtp-source sessions, keyword subject")
    for r in results:
        print(f"  {r['mode']:12s} {r['rate']:6.1f} msg/s  ({r['seconds']:.1f} s)  delivered {r['delivered']}, "
              f"lost {r['lost']}, duplicated {r['duplicated']}")
    rates = {r["mode"]: r["rate"] for r in results}
    if "relay" in rates and "null" in rates:
        print(f"  relay / null filter: {rates['relay'] / rates['null']:.2f}x")
    if "pipe" in rates and "pipe-forward" in rates:
        print(f"  pipe-forward / pipe: {rates['pipe-forward'] / rates['pipe']:.2f}x")
    for mode in ("pipe", "pipe-forward", "exe-forward", "exe-pipe"):
        if mode in rates and "null" in rates:
            print(f"  {mode} / null filter: {rates[mode] / rates['null']:.2f}x")


if __name__ == "__main__":
    main()
