"""`webcrypt pipe` per message (issue 3), against the cost of merely importing its libraries.

Run by hand:  python3 bench/bench_pipe.py [--runs 30] [--size 102400] [--python PY] [--before REV]

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

The message is the issue 15 shape: 30 KB of text and a 50 KB PDF (base64), padded to --size
(--text-only: the earlier figures' plain text message).

Paired A/B (issue 15): --before REV unpacks revision REV of this repository and runs its pipe
beside this checkout's, alternating (baseline, encrypt before, encrypt after, pass before, pass
after), each tree on PYTHONPATH (the baseline gets this checkout's, so that every process looks
in one more folder alike). --python names the interpreter of every measured process, e.g. a
clean venv's (`python3 -m venv V && V/bin/pip install .`: runtime dependencies only).
"""

import argparse
import base64
import io
import os
import resource
import statistics
import subprocess
import sys
import tarfile
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


def message(size: int, subject: str, text_only: bool = False) -> bytes:
    if not text_only:
        return message_with_pdf(size, subject)
    head = f"From: clerk@corp.example\nTo: alice@example.org\nSubject: {subject}\nMessage-ID: <b@corp.example>\n\n"
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n"
    return head.encode() + line * (size // len(line))


def message_with_pdf(size: int, subject: str) -> bytes:
    """Issue 15's message: 30 KB of text and a 50 KB PDF attachment (base64), padded to *size*."""
    body = "\n".join(f"Dear customer, this is line {i} of your statement with some figures 12345.67 EUR."
                     for i in range(360))
    attachment = base64.encodebytes(bytes(range(256)) * 195 + os.urandom(80)).decode()  # ~50 KB, incompressible enough
    raw = (f"From: Bank <clerk@corp.example>\nTo: alice@example.org\nSubject: {subject}\n"
           "Message-ID: <b@corp.example>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
           f"--B\nContent-Type: text/plain; charset=utf-8\n\n{body}\n--B\nContent-Type: application/pdf\n"
           "Content-Disposition: attachment; filename=statement.pdf\nContent-Transfer-Encoding: base64\n\n"
           f"{attachment}--B--\n").encode()
    return raw + b" " * max(0, size - len(raw))


def unpack(revision: str, folder: Path) -> Path:
    """Revision *revision* of this repository as a plain tree (its pipe runs from there)."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", revision], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


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


def run_timed(command: list[str], data: bytes, env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, input=data, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env or ENV)
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


def import_costs(python: str, conf: Path, data: bytes, top: int = 12) -> list[tuple[int, str]]:
    command = [python, "-X", "importtime", "-m", "webcrypt", "-c", str(conf), "pipe", "-f", "clerk@corp.example",
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--size", type=int, default=100 * 1024)
    parser.add_argument("--text-only", action="store_true", help="a plain text message, as before issue 15")
    parser.add_argument("--console-script", action="store_true",
                        help="run pipe as the `webcrypt` script beside the interpreter, not python -m webcrypt")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the measured processes")
    parser.add_argument("--before", help="a git revision whose pipe runs paired with this checkout's")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Sink(PORT) as sink:
        conf = make_home(Path(tmp) / "home")
        secret = message(args.size, "[secure] benchmark", args.text_only)
        plain = message(args.size, "benchmark", args.text_only)
        if args.before:
            commands = paired_commands(args, conf, unpack(args.before, Path(tmp) / "before"), secret, plain)
            running = None
        else:
            commands, running = single_commands(args, conf, secret, plain)
        times, cpu = alternate(commands, args.runs)
        if running:
            running.stop()
        report(args, commands, times, cpu, len(secret), len(sink.messages))
        if not args.before:
            print_import_costs(args, conf)


def single_commands(args, conf: Path, secret: bytes, plain: bytes):
    if args.console_script:
        program = [str(Path(args.python).with_name("webcrypt"))]
    else:
        program = [args.python, "-m", "webcrypt"]
    return pipe_commands(program, [args.python, *BASELINE[1:]], conf, secret, plain)


def pipe_commands(program: list[str], baseline: list[str], conf: Path, secret: bytes, plain: bytes):
    """The floor, pipe in-process and pipe forwarding to a relay started here (returned to stop)."""
    forward_conf = forwarding_config(conf)
    running = start_relay(conf)
    tail = ["pipe", "-f", "clerk@corp.example", "--", "alice@example.org"]
    pipe = [*program, "-c", str(conf), *tail]
    forward = [*program, "-c", str(forward_conf), *tail]
    commands = {"baseline": (baseline, b"", None), "encrypt": (pipe, secret, None), "pass": (pipe, plain, None),
                "fwd-encrypt": (forward, secret, None), "fwd-pass": (forward, plain, None)}
    return commands, running


def measure(runs: int = 30, size: int = 100 * 1024, program: list[str] | None = None,
            baseline: list[str] | None = None) -> dict:
    """For bench/summary.py: {name: {"wall": [...], "cpu": [...]}, "size": bytes}, alternating.
    *program*: how pipe is started (default: this interpreter's -m webcrypt); *baseline*: the
    floor's command. Another interpreter (a clean venv's) in both measures an installation
    without the test extras."""
    program = program or [sys.executable, "-m", "webcrypt"]
    with tempfile.TemporaryDirectory() as tmp, Sink(PORT):
        conf = make_home(Path(tmp) / "home")
        secret, plain = message(size, "[secure] benchmark"), message(size, "benchmark")
        commands, running = pipe_commands(program, baseline or BASELINE, conf, secret, plain)
        try:
            times, cpu = alternate(commands, runs)
        finally:
            running.stop()
    results = {name: {"wall": times[name], "cpu": cpu[name]} for name in commands}
    results["size"] = len(secret)
    return results


def paired_commands(args, conf: Path, before_tree: Path, secret: bytes, plain: bytes) -> dict:
    after_tree = Path(__file__).resolve().parents[1]
    env_of = {tree: {**ENV, "PYTHONPATH": str(tree)} for tree in (before_tree, after_tree)}
    pipe = [args.python, "-m", "webcrypt", "-c", str(conf), "pipe", "-f", "clerk@corp.example", "--", "alice@example.org"]
    baseline = [args.python, *BASELINE[1:]]
    return {"baseline": (baseline, b"", env_of[after_tree]),
            "encrypt-before": (pipe, secret, env_of[before_tree]), "encrypt-after": (pipe, secret, env_of[after_tree]),
            "pass-before": (pipe, plain, env_of[before_tree]), "pass-after": (pipe, plain, env_of[after_tree])}


def alternate(commands: dict, runs: int) -> tuple[dict, dict]:
    times = {name: [] for name in commands}
    cpu = {name: [] for name in commands}
    for _ in range(3):  # warm the page cache (and write each tree's bytecode)
        for command, data, env in commands.values():
            run_timed(command, data, env)
    for _ in range(runs):
        for name, (command, data, env) in commands.items():
            wall, used = run_timed(command, data, env)
            times[name].append(wall)
            cpu[name].append(used)
    return times, cpu


def report(args, commands: dict, times: dict, cpu: dict, size: int, received: int) -> None:
    base, base_cpu = statistics.median(times["baseline"]), statistics.median(cpu["baseline"])
    print(f"message {size} bytes, {args.runs} runs each, alternating; {args.python}"
          f"{f'; before = {args.before}, after = this checkout' if args.before else ''};"
          f" load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; medians [quartiles]:")
    print(f"  {'':14s} {'wall':>8s}  {'':30s} {'CPU of the process':>18s}")
    for name in commands:
        median, used = statistics.median(times[name]), statistics.median(cpu[name])
        low, _, high = statistics.quantiles(times[name], n=4)
        print(f"  {name:14s} {median * 1000:7.1f} ms [{low * 1000:5.1f}-{high * 1000:5.1f}] ({median / base:.2f}x baseline)"
              f"  {used * 1000:7.1f} ms ({used / base_cpu:.2f}x baseline)")
    print(f"sink received {received} messages")


def print_import_costs(args, conf: Path) -> None:
    secret = message(args.size, "[secure] benchmark", args.text_only)
    forward_conf = forwarding_config(conf)
    for label, path in (("in-process", conf), ("forwarding", forward_conf)):
        running = start_relay(conf) if label == "forwarding" else None
        print(f"heaviest imports of one pipe run, {label} (cumulative microseconds):")
        for micros, name in import_costs(args.python, path, secret):
            print(f"  {micros:8d}  {name}")
        if running:
            running.stop()


if __name__ == "__main__":
    main()
