"""`webcrypt pipe` per message (issue 3), against the cost of merely importing its libraries.

Run by hand:  python3 bench/bench_pipe.py [--runs 30] [--size 102400]

Measured side by side in one run, alternating, wall time of whole processes:
- baseline: python -c "import email.parser, Crypto.Cipher.AES, peewee"
- pipe, encrypt: a 100 KB message with the keyword, to a known recipient (no scrypt)
- pipe, pass: the same message without keyword
- forward, encrypt / forward, pass: the same two messages through `webcrypt pipe` in
  forwarding mode ([pipe] relay): the pipe hands them to a `webcrypt relay` serving in
  this process (relay.Running), which encrypts and reinjects; the pipe's wall time
  includes the relay's work, its CPU (getrusage of the child) does not.
The next hop is an SMTP sink in this process (aiosmtpd), accepting everything.
Also prints the pipe's heaviest imports (python -X importtime), in both modes.
With --console-script, pipe runs as the installed `webcrypt` script beside the interpreter
instead of `python -m webcrypt`.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from gateway_support import Sink  # noqa: E402

from webcrypt.base import config
from webcrypt.edges import relay
from webcrypt.usecases import accounts, provision  # noqa: E402
from webcrypt.context.home import Home  # noqa: E402

PORT = 12580
RELAY_PORT = 13030
BASELINE = [sys.executable, "-c", "import email.parser, Crypto.Cipher.AES, peewee"]


def message(size: int, subject: str) -> bytes:
    head = f"From: clerk@corp.example\nTo: alice@example.org\nSubject: {subject}\nMessage-ID: <b@corp.example>\n\n"
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n"
    return head.encode() + line * (size // len(line))


def make_home(folder: Path) -> Path:
    conf = provision.init_home(folder, "https://portal.example.com")
    text = conf.read_text().replace('reinject = "sendmail:/usr/sbin/sendmail"', f'reinject = "smtp://127.0.0.1:{PORT}"')
    conf.write_text(text)
    home = Home(config.load(conf))
    home.connect()
    accounts.create(home, "alice@example.org")  # a known recipient: the per-message path, not first use
    home.close()
    return conf


# As installed: bytecode cached (this checkout's shell may set PYTHONDONTWRITEBYTECODE).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(command: list[str], data: bytes) -> float:
    return run_timed(command, data)[0]


def run_timed(command: list[str], data: bytes) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, input=data, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{command[:4]} failed ({result.returncode}): {result.stderr.decode()[-300:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def forwarding_config(conf: Path) -> Path:
    """A second configuration file in the same home (same database and key), forwarding to the relay."""
    path = conf.with_name("forward.toml")
    path.write_text(conf.read_text().replace('relay = ""', f'relay = "127.0.0.1:{RELAY_PORT}"'))
    return path


def start_relay(conf: Path) -> relay.Running:
    home = Home(config.load(conf))
    home.connect()
    return relay.Running(home, relay.settings(home, f"127.0.0.1:{RELAY_PORT}"), open(os.devnull, "w")).start()


def import_costs(conf: Path, data: bytes, top: int = 12) -> list[tuple[int, str]]:
    command = [sys.executable, "-X", "importtime", "-m", "webcrypt", "-c", str(conf), "pipe", "-f", "clerk@corp.example",
               "--", "alice@example.org"]
    stderr = subprocess.run(command, input=data, capture_output=True, env=ENV).stderr.decode()
    rows = [(total_import_micros(stderr), "(all imports, sum of top-level cumulative times)")]
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            try:
                rows.append((int(cumulative), name.rstrip()))
            except ValueError:
                continue
    return sorted(rows, reverse=True)[:top]


def total_import_micros(importtime_stderr: str) -> int:
    """Sum of the cumulative times of top-level imports (those not nested in another)."""
    total = 0
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit() and not name.startswith("  "):
                total += int(cumulative)
    return total


def measure(runs: int = 30, size: int = 100 * 1024, program: list[str] | None = None,
            baseline: list[str] | None = None) -> dict:
    """Wall and CPU seconds per run of each command, alternating: {name: {"wall": [...], "cpu": [...]}}.

    *program*: how pipe is started (default: this interpreter's -m webcrypt); *baseline*: the
    floor's command (default BASELINE). Another interpreter (a clean venv's) in both measures
    an installation without the test extras.
    """
    program = program or [sys.executable, "-m", "webcrypt"]
    with tempfile.TemporaryDirectory() as tmp, Sink(PORT):
        conf = make_home(Path(tmp) / "home")
        forward_conf = forwarding_config(conf)
        running = start_relay(conf)
        tail = ["pipe", "-f", "clerk@corp.example", "--", "alice@example.org"]
        pipe = [*program, "-c", str(conf), *tail]
        forward = [*program, "-c", str(forward_conf), *tail]
        secret, plain = message(size, "[secure] benchmark"), message(size, "benchmark")
        commands = {"baseline": (baseline or BASELINE, b""), "encrypt": (pipe, secret), "pass": (pipe, plain),
                    "fwd-encrypt": (forward, secret), "fwd-pass": (forward, plain)}
        results = {name: {"wall": [], "cpu": []} for name in commands}
        try:
            for _ in range(3):  # warm the page cache
                for command, data in commands.values():
                    run(command, data)
            for _ in range(runs):
                for name, (command, data) in commands.items():
                    wall, used = run_timed(command, data)
                    results[name]["wall"].append(wall)
                    results[name]["cpu"].append(used)
        finally:
            running.stop()
    results["size"] = len(secret)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--size", type=int, default=100 * 1024)
    parser.add_argument("--console-script", action="store_true",
                        help="run pipe as the `webcrypt` script beside the interpreter, not python -m webcrypt")
    args = parser.parse_args()
    if args.console_script:
        program = [str(Path(sys.executable).with_name("webcrypt"))]
    else:
        program = [sys.executable, "-m", "webcrypt"]
    results = measure(args.runs, args.size, program)
    base = statistics.median(results["baseline"]["wall"])
    base_cpu = statistics.median(results["baseline"]["cpu"])
    print(f"message {results['size']} bytes, {args.runs} runs each, alternating; {' '.join(program)}; medians:")
    print(f"  {'':11s} {'wall':>8s}  {'':17s} {'CPU of the process':>18s}")
    for name in ("baseline", "encrypt", "pass", "fwd-encrypt", "fwd-pass"):
        median, used = statistics.median(results[name]["wall"]), statistics.median(results[name]["cpu"])
        print(f"  {name:11s} {median * 1000:7.1f} ms ({median / base:.2f}x baseline)"
              f"  {used * 1000:7.1f} ms ({used / base_cpu:.2f}x baseline)")
    with tempfile.TemporaryDirectory() as tmp, Sink(PORT):
        conf = make_home(Path(tmp) / "home")
        secret = message(args.size, "[secure] benchmark")
        for label, path in (("in-process", conf), ("forwarding", forwarding_config(conf))):
            running = start_relay(conf) if label == "forwarding" else None
            print(f"heaviest imports of one pipe run, {label} (cumulative microseconds):")
            for micros, name in import_costs(path, secret):
                print(f"  {micros:8d}  {name}")
            if running:
                running.stop()


if __name__ == "__main__":
    main()
