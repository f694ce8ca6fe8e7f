"""Peak memory of large mail (issue 9 item 10): `pipe`, `relay`, `open` and the portal's read.

Run by hand:  python3 bench/bench_memory.py [--sizes 10,25,42] [--only pipe,open,...]

Every figure is the peak RSS (ru_maxrss from wait4, under a small launcher: see
tests/memory_support.py) of one fresh process handling one message:
- pipe encrypt / pipe pass: `webcrypt pipe` with and without the keyword, reinjecting over SMTP
  to a real sink (aiosmtpd, in this process);
- pipe forward: `webcrypt pipe` in forwarding mode ([pipe] relay), the pipe process alone;
- relay: a `webcrypt relay` process (1 process) serving that one forwarded message, encrypting
  and reinjecting to the sink;
- open: `webcrypt open carrier.eml --as ... --password-stdin > /dev/null`;
- portal: a `webcrypt serve` process (2 threads) serving, over HTTP, the upload of secure.htm
  (POST /open as the browser sends it), the login, the read page, the body frame, the download
  of the attachment and of the .eml.
Baselines: the interpreter with the modules of each command imported (no message), and the
same command on a 2 KB message. The bound asked for: peak <= 4 x message size + baseline.

Messages: a text part (so zlib's sample says "compress", the costlier path) and a
base64 attachment of random bytes (7 MB in the 10 MB message, 17 MB in the 25 MB one, 30 MB in
the 42 MB one).
scrypt runs at ln=12 here (the default ln=17 takes 128 MiB for a moment at login,
freed before the message is decrypted, so it would hide what a message costs).
"""

import argparse
import base64
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import memory_support  # noqa: E402
from gateway_support import Sink  # noqa: E402

from webcrypt.base import config
from webcrypt.core import mime
from webcrypt.usecases import accounts, provision  # noqa: E402
from webcrypt.context.home import Home  # noqa: E402

SINK_PORT = 12591
RELAY_PORT = 13041
PORTAL_PORT = 12671
PASSWORD = "bench memory tulip meadow"
MB = 1024 * 1024
WEBCRYPT = [sys.executable, "-m", "webcrypt"]
BASELINES = {
    "pipe": "import webcrypt.edges.pipe, webcrypt.base.config, webcrypt.usecases.processing, webcrypt.context.home, smtplib",
    "open": "import webcrypt.edges.cli",
    "relay": "import webcrypt.edges.cli, webcrypt.edges.relay",
    "portal": "import webcrypt.edges.cli, webcrypt.edges.portal.app, waitress",
}


def message(size: int, attachment: int, subject: str = "[secure] Statement") -> bytes:
    """About *size* bytes: a text part, then *attachment* random bytes as base64."""
    encoded = base64.encodebytes(os.urandom(attachment))
    head = (f"From: Bank <clerk@bank.example>\nTo: alice@example.org\nSubject: {subject}\n"
            "Message-ID: <memory@bank.example>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
            "--B\nContent-Type: text/plain; charset=utf-8\n\n").encode()
    line = b"Dear customer, this is a line of your statement with figures 12345.67 EUR.\n"
    text = line * max(1, (size - len(head) - len(encoded) - 200) // len(line))
    middle = (b"--B\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=statement.pdf\n"
              b"Content-Transfer-Encoding: base64\n\n")
    return head + text + middle + encoded + b"--B--\n"


def make_home(folder: Path) -> Path:
    path = provision.init_home(folder, f"http://127.0.0.1:{PORTAL_PORT}")
    text = path.read_text().replace('reinject = "sendmail:/usr/sbin/sendmail"', f'reinject = "smtp://127.0.0.1:{SINK_PORT}"')
    path.write_text(text)
    settings = {"accounts": {"credentials_to": '"print"', "force_password_change": "false", "scrypt_log_n": "12"},
                "portal": {"secure_cookies": "false"}, "relay": {"processes": "1", "workers": "1"}}
    from conftest import write_settings

    write_settings(path, settings)
    home = Home(config.load(path))
    home.connect()
    accounts.create(home, "alice@example.org", PASSWORD)
    home.close()
    forward = path.with_name("forward.toml")
    forward.write_text(path.read_text())
    write_settings(forward, {"pipe": {"relay": f'"127.0.0.1:{RELAY_PORT}"'}})
    return path


def env_for(conf: Path) -> dict:
    return memory_support.clean_env(WEBCRYPT_CONFIG=str(conf), PYTHONPATH=str(ROOT))


def measure_pipe(conf: Path, path: Path) -> float:
    with open(path, "rb") as stdin:
        done = memory_support.run([*WEBCRYPT, "pipe", "-f", "clerk@bank.example", "--", "alice@example.org"],
                                  stdin=stdin, env=env_for(conf), cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"pipe failed ({done.returncode}): {done.stderr.decode()[-300:]}")
    return done.peak_mb


def measure_relay(conf: Path, path: Path) -> tuple[float, float]:
    """(peak of the relay serving one message, peak of the forwarding pipe)."""
    server = memory_support.Server([*WEBCRYPT, "relay", "--listen", f"127.0.0.1:{RELAY_PORT}"], env=env_for(conf),
                                   cwd=ROOT)
    try:
        wait_for_port(RELAY_PORT)
        pipe_peak = measure_pipe(conf.with_name("forward.toml"), path)
    finally:
        relay_peak = server.stop()
    return relay_peak, pipe_peak


def measure_open(conf: Path, carrier: Path) -> float:
    done = memory_support.run([*WEBCRYPT, "open", str(carrier), "--as", "alice@example.org", "--password-stdin"],
                              input=PASSWORD.encode() + b"\n", env=env_for(conf), cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"open failed ({done.returncode}): {done.stderr.decode()[-300:]}")
    return done.peak_mb


def wait_for_port(port: int) -> None:
    memory_support.wait_for_port(port)


def portal_read(carrier: bytes) -> None:
    """What a browser does: post secure.htm's form, log in, read, download attachment and .eml."""
    downloads = memory_support.portal_read(PORTAL_PORT, mime.secure_htm_of(carrier), "alice@example.org", PASSWORD)
    assert b"statement.pdf" in downloads["read"]


def measure_portal(conf: Path, carrier: bytes) -> float:
    server = memory_support.Server([*WEBCRYPT, "serve", "--listen", f"127.0.0.1:{PORTAL_PORT}", "--threads", "2"],
                                   env=env_for(conf), cwd=ROOT)
    try:
        wait_for_port(PORTAL_PORT)
        portal_read(carrier)
    finally:
        peak = server.stop()
    return peak


def baseline(code: str, conf: Path) -> float:
    return memory_support.run([sys.executable, "-c", code], env=env_for(conf), cwd=ROOT).peak_mb


def measure_size(conf: Path, folder: Path, sink: Sink, label: str, raw: bytes, only: set) -> dict:
    path = folder / f"{label}.eml"
    path.write_bytes(raw)
    plain = folder / f"{label}-plain.eml"
    plain.write_bytes(raw.replace(b"Subject: [secure] ", b"Subject: ", 1))
    results = {}
    sink.handler.messages.clear()
    results["pipe encrypt"] = measure_pipe(conf, path)
    carrier = sink.carriers("alice@example.org")[-1].data
    sink.handler.messages.clear()
    carrier_path = folder / f"{label}-carrier.eml"
    carrier_path.write_bytes(carrier)
    if "pipe" in only:
        results["pipe pass"] = measure_pipe(conf, plain)
    if "relay" in only:
        results["relay"], results["pipe forward"] = measure_relay(conf, path)
    sink.handler.messages.clear()
    if "open" in only:
        results["open"] = measure_open(conf, carrier_path)
    if "portal" in only:
        results["portal"] = measure_portal(conf, carrier)
    return results


SHAPES = {"10": (10 * MB, 7 * MB), "25": (25 * MB, 17 * MB), "42": (int(42.5 * MB), 30 * MB)}


def measure(sizes=("10", "42"), only=("pipe", "relay", "open", "portal")) -> tuple[dict, list]:
    """(interpreter + imports per command, [(label, size, {process: peak MB}), ...]), the 2 KB row first."""
    only = set(only)
    with tempfile.TemporaryDirectory() as tmp, Sink(SINK_PORT) as sink:
        folder = Path(tmp)
        conf = make_home(folder / "home")
        bases = {name: baseline(code, conf) for name, code in BASELINES.items()}
        rows = [("2 KB", 2048, measure_size(conf, folder, sink, "tiny", message(2048, 256), only))]
        for key in sizes:
            size, attachment = SHAPES[key]
            raw = message(size, attachment)
            rows.append((f"{len(raw) / MB:.1f} MB", len(raw), measure_size(conf, folder, sink, key, raw, only)))
            del raw
    return bases, rows


def over_tiny(rows: list, name: str, label: str) -> float:
    """Peak over the 2 KB message's, per byte of the message: the "x" of the table."""
    tiny = rows[0][2][name]
    size, results = next((size, results) for row_label, size, results in rows if row_label == label)
    return (results[name] - tiny) / (size / MB)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,42")
    parser.add_argument("--only", default="pipe,relay,open,portal")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]} at {sys.executable}; {os.cpu_count()} cores")
    bases, rows = measure(args.sizes.split(","), args.only.split(","))
    print("interpreter + imports: " + ", ".join(f"{k} {v:.0f} MB" for k, v in bases.items()))
    print("\n| process | " + " | ".join(label for label, _, _ in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for name in rows[0][2]:
        cells = []
        for label, size, results in rows:
            peak = results[name]
            if size == 2048:
                cells.append(f"{peak:.0f} MB")
            else:
                cells.append(f"{peak:.0f} MB ({over_tiny(rows, name, label):.1f}x over 2 KB)")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
