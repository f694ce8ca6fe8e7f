"""Encrypt benchmark (issue 2): time, peak memory and carrier size for 100 KB and 25 MB.

Run by hand:  python3 bench/bench_encrypt.py [--runs 5]
Each measurement runs in a fresh subprocess so peak RSS (ru_maxrss) is that of one encrypt.
Messages: text with an incompressible base64 attachment (the usual shape of a big mail).
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from pathlib import Path
from webcrypt.base import config
from webcrypt.usecases import gateway
from webcrypt.context.home import Home
home = Home(config.load(Path(sys.argv[1])))
home.connect()
raw = Path(sys.argv[2]).read_bytes()
def hwm_kb():  # VmHWM: peak RSS of this process image (ru_maxrss would include the parent's before exec)
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
rss_before = hwm_kb()
start = time.perf_counter()
(sealed,) = gateway.encrypt(home, raw, "bench@bank.example", ["reader@example.org"], print_login_data=lambda n: None)
with open("/dev/null", "wb") as out:
    for chunk in sealed.chunks:
        out.write(chunk)
elapsed = time.perf_counter() - start
size = sum(len(c) for c in sealed.chunks)
print(json.dumps({"seconds": elapsed, "peak_rss_mb": hwm_kb() / 1024,
                  "rss_before_mb": rss_before / 1024, "ratio": size / len(raw)}))
"""


def message(size: int) -> bytes:
    head = (b"From: Bank <service@bank.example>\nTo: reader@example.org\nSubject: Statement\n"
            b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\n"
            b"Content-Type: text/plain\n\nYour statement is attached.\n--b\n"
            b"Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n")
    body = base64.encodebytes(os.urandom(max(0, (size - len(head) - 8) * 3 // 4)))
    return head + body + b"\n--b--\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "webcrypt", "init", "--home", tmp], check=True, capture_output=True)
        conf = Path(tmp) / "webcrypt.toml"
        conf.write_text(conf.read_text().replace('credentials_to = "sender"', 'credentials_to = "print"'))
        env = {**os.environ, "WEBCRYPT_CONFIG": str(conf)}
        # The account exists beforehand: its one-time scrypt hash is not part of an encrypt.
        subprocess.run([sys.executable, "-m", "webcrypt", "useradd", "reader@example.org"], check=True,
                       capture_output=True, env=env)
        for label, size in (("100 KB", 100 * 1024), ("25 MB", 25 * 1024 * 1024)):
            path = Path(tmp) / "m.eml"
            path.write_bytes(message(size))
            runs = [json.loads(subprocess.run([sys.executable, "-c", CHILD, str(conf), str(path)], check=True,
                                              capture_output=True, text=True, cwd=ROOT).stdout)
                    for _ in range(args.runs)]
            best = min(r["seconds"] for r in runs)
            median = sorted(r["seconds"] for r in runs)[len(runs) // 2]
            print(f"{label}: encrypt best {best * 1000:.0f} ms, median {median * 1000:.0f} ms; "
                  f"peak RSS {max(r['peak_rss_mb'] for r in runs):.0f} MB "
                  f"(before encrypt, message read {runs[0]['rss_before_mb']:.0f} MB); carrier/original {runs[0]['ratio']:.3f}")


if __name__ == "__main__":
    main()
