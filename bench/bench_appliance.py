"""Start-up cost of the built executables: one `webcrypt pipe` per message, side by side.

    python3 bench/bench_appliance.py [--runs 21] [--size 102400]

Runs the same `pipe` command (a 100 KB keyword message to a known recipient, reinjected by
SMTP to an in-process sink) from the Python package (`python -m webcrypt`), the one-folder
build and the one-file build, interleaved round by round so that machine load hits all
three alike. Prints best and median wall time per message and the ratio to the package.
The builds come from tests/appliance_support.py (built if missing or stale).
"""

import argparse
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from appliance_support import built  # noqa: E402
from conftest import write_settings  # noqa: E402
from gateway_support import Sink  # noqa: E402

PORT = 12870


def message(size: int) -> bytes:
    head = (b"From: Clerk <clerk@corp.example>\nTo: alice@example.org\nSubject: [secure] Statement\n"
            b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n")
    body = base64.encodebytes(os.urandom(size * 3 // 4))
    return head + body[: size - len(head)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--size", type=int, default=100 * 1024)
    args = parser.parse_args()
    builds = built()
    home = Path(tempfile.mkdtemp(prefix="webcrypt-bench-appliance-"))
    python = [sys.executable, "-m", "webcrypt"]
    subprocess.run([*python, "init", "--home", str(home), "--portal-url", "https://portal.example.com"],
                   check=True, capture_output=True)
    conf = home / "webcrypt.toml"
    write_settings(conf, {"mail": {"reinject": f'"smtp://127.0.0.1:{PORT}"'}, "accounts": {"scrypt_log_n": "12"}})
    subprocess.run([*python, "-c", str(conf), "useradd", "alice@example.org", "--password-stdin"],
                   input=b"a long enough password\n", check=True, capture_output=True)
    data = message(args.size)
    commands = {
        "python -m webcrypt (package)": python,
        "one-folder build": [str(builds["onedir"])],
        "one-file build": [str(builds["onefile"])],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(ROOT)}
    with Sink(PORT) as sink:
        for round_ in range(args.runs + 1):
            for name, command in commands.items():
                start = time.perf_counter()
                result = subprocess.run([*command, "-c", str(conf), "pipe", "-f", "clerk@corp.example", "--",
                                         "alice@example.org"], input=data, capture_output=True, env=env)
                elapsed = time.perf_counter() - start
                if result.returncode != 0:
                    raise SystemExit(f"{name}: exit {result.returncode}: {result.stderr.decode()[-500:]}")
                if round_:  # the first round warms the page cache (and the one-file unpack path)
                    times[name].append(elapsed)
        delivered = len(sink.messages)
    base = statistics.median(times["python -m webcrypt (package)"])
    print(f"pipe, one {len(data) // 1024} KB keyword message, {args.runs} runs each, interleaved; "
          f"{delivered} carriers delivered")
    print("| command | best | median | median / package |")
    print("|---|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {min(values) * 1000:.0f} ms | {median * 1000:.0f} ms | {median / base:.2f}x |")
    sizes = {"one-folder build": du(builds["onedir"].parent), "one-file build": builds["onefile"].stat().st_size}
    print("sizes: " + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in sizes.items()))


def du(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


if __name__ == "__main__":
    main()
