"""`webcrypt pipe` per message (issue 3), against the cost of merely importing its libraries.

Run by hand:  python3 bench/bench_pipe.py [--runs 30] [--size 102400]

Measured side by side in one run, alternating, wall time of whole processes:
- baseline: python -c "import email.parser, Crypto.Cipher.AES, peewee"
- pipe, encrypt: a 100 KB message with the keyword, to a known recipient (no scrypt)
- pipe, pass: the same message without keyword
The next hop is an SMTP sink in this process (aiosmtpd), accepting everything.
Also prints the pipe's heaviest imports (python -X importtime).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from gateway_support import Sink  # noqa: E402

from webcrypt import accounts, config, provision  # noqa: E402
from webcrypt.home import Home  # noqa: E402

PORT = 12580
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
    started = time.perf_counter()
    result = subprocess.run(command, input=data, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{command[:4]} failed ({result.returncode}): {result.stderr.decode()[-300:]}")
    return elapsed


def import_costs(conf: Path, data: bytes, top: int = 12) -> list[tuple[int, str]]:
    command = [sys.executable, "-X", "importtime", "-m", "webcrypt", "-c", str(conf), "pipe", "-f", "clerk@corp.example",
               "--", "alice@example.org"]
    stderr = subprocess.run(command, input=data, capture_output=True, env=ENV).stderr.decode()
    rows = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            try:
                rows.append((int(cumulative), name.rstrip()))
            except ValueError:
                continue
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--size", type=int, default=100 * 1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Sink(PORT) as sink:
        conf = make_home(Path(tmp) / "home")
        pipe = [sys.executable, "-m", "webcrypt", "-c", str(conf), "pipe", "-f", "clerk@corp.example", "--",
                "alice@example.org"]
        secret, plain = message(args.size, "[secure] benchmark"), message(args.size, "benchmark")
        times = {"baseline": [], "encrypt": [], "pass": []}
        for _ in range(3):  # warm the page cache
            run(BASELINE, b""), run(pipe, secret), run(pipe, plain)
        for _ in range(args.runs):
            times["baseline"].append(run(BASELINE, b""))
            times["encrypt"].append(run(pipe, secret))
            times["pass"].append(run(pipe, plain))
        base = statistics.median(times["baseline"])
        print(f"message {len(secret)} bytes, {args.runs} runs each, alternating; medians:")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"  {name:9s} {median * 1000:7.1f} ms  ({median / base:.2f}x baseline)")
        print(f"sink received {len(sink.messages)} messages")
        print("heaviest imports of one pipe run (cumulative microseconds):")
        for micros, name in import_costs(conf, secret):
            print(f"  {micros:8d}  {name}")


if __name__ == "__main__":
    main()
