"""Portal benchmark: logged-in reads of a 100 KB message, and login time.

Run by hand (not part of the tests):

    python3 bench/bench_portal.py [--seconds 10] [--connections 16] [--threads 8] [--rounds 3]

Starts `webcrypt serve` on 127.0.0.1:12660 in a temporary home (full-strength
scrypt, ln=17), encrypts a 100 KB message, logs in over HTTP and drives
GET /message/<upload> with wrk (Debian package `wrk`) on loopback, side by side
with the same read with the in-memory view cache switched off and with
/healthz (the framework floor). Prints a Markdown table for docs/performance.md.
"""

import argparse
import base64
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_support import tree_cpu  # noqa: E402

from webcrypt.base import config
from webcrypt.core import mime
from webcrypt.usecases import gateway, provision  # noqa: E402
from webcrypt.context.home import Home  # noqa: E402

PORT = 12660
PASSWORD = "benchmark tulip meadow"


def settings(path: Path, cache_seconds: int, scrypt: int) -> None:
    wanted = {"portal": {"secure_cookies": "false", "view_cache_seconds": str(cache_seconds)},
              "accounts": {"credentials_to": '"print"', "force_password_change": "false",
                           "scrypt_log_n": str(scrypt)}}
    lines, section = [], ""
    for line in path.read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
            lines.append(line)
            lines += [f"{k} = {v}" for k, v in wanted.get(section, {}).items()]
            continue
        if line.split(" =", 1)[0] in wanted.get(section, {}):
            continue
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")


def message_100k() -> bytes:
    text = ("Dear customer, this is line {} of your statement with some figures 12345.67 EUR.\n" * 1).strip()
    body = "\n".join(text.format(i) for i in range(360))  # about 30 KB of text
    attachment = base64.encodebytes(os.urandom(50_000)).decode()
    raw = ("From: Bank <clerk@bank.example>\nTo: alice@example.org\nSubject: Statement\n"
           "Message-ID: <bench@bank.example>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
           f"--B\nContent-Type: text/plain; charset=utf-8\n\n{body}\n--B\nContent-Type: application/pdf\n"
           f"Content-Disposition: attachment; filename=statement.pdf\nContent-Transfer-Encoding: base64\n\n"
           f"{attachment}--B--\n").encode()
    return raw + b" " * max(0, 100 * 1024 - len(raw))


def start(path: Path, threads: int) -> subprocess.Popen:
    env = {**os.environ, "WEBCRYPT_CONFIG": str(path)}
    proc = subprocess.Popen([sys.executable, "-m", "webcrypt", "serve", "--listen", f"127.0.0.1:{PORT}",
                             "--threads", str(threads)], env=env, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            request("GET", "/healthz")
            return proc
        except OSError:
            time.sleep(0.05)
    raise SystemExit("webcrypt serve did not start")


def request(method, path, body=None, cookie=""):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=urllib.parse.urlencode(body).encode() if body is not None else None,
                 headers=headers)
    response = conn.getresponse()
    data = response.read()
    cookies = [v.split(";", 1)[0] for k, v in response.getheaders() if k.lower() == "set-cookie"]
    conn.close()
    return response.status, response.getheader("Location", ""), data.decode("utf-8", "replace"), cookies


def login(envelope: bytes) -> tuple[str, str, float]:
    status, location, _, cookies = request("POST", "/open", {"envelope": base64.encodebytes(envelope).decode()})
    upload = location.split("upload=")[1]
    _, _, page, pre = request("GET", location)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    cookie = "; ".join(pre)
    started = time.perf_counter()
    status, location, _, cookies = request("POST", "/login", {"csrf": csrf, "upload": upload,
                                                                "address": "alice@example.org",
                                                                "password": PASSWORD}, cookie)
    elapsed = time.perf_counter() - started
    assert status == 303 and location == f"/message/{upload}", (status, location)
    return upload, "; ".join(cookies), elapsed


def wrk(path: str, cookie: str, seconds: int, connections: int, server: int | None = None) -> dict:
    """wrk's figures; with *server* (a pid), also the CPU that process tree spent per request."""
    cpu = tree_cpu(server) if server else 0.0
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-H", f"Cookie: {cookie}",
                          "--latency", f"http://127.0.0.1:{PORT}{path}"], capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rate": rate, "errors": int(errors.group(1)) if errors else 0,
            "socket": socket_errors.group(1) if socket_errors else "none", "p99": p99.group(1) if p99 else "?",
            "cpu_ms": (tree_cpu(server) - cpu) / requests * 1000 if server else 0.0}


def median_run(runs: list[dict]) -> dict:
    """The run with the median rate (the lower middle one of an even number)."""
    return sorted(runs, key=lambda run: run["rate"])[(len(runs) - 1) // 2]


def run_case(folder: Path, cache_seconds: int, scrypt: int, args) -> dict:
    home_dir = folder / f"home-{cache_seconds}-{scrypt}"
    path = provision.init_home(home_dir, f"http://127.0.0.1:{PORT}")
    settings(path, cache_seconds, scrypt)
    home = Home(config.load(path))
    home.connect()
    home_password = {}
    (sealed,) = gateway.encrypt(home, message_100k(), "clerk@bank.example", ["alice@example.org"],
                                print_login_data=lambda new: home_password.update(p=new.password))
    from webcrypt.usecases import accounts

    accounts.set_password(home, accounts.get("alice@example.org"), PASSWORD)
    home.close()
    envelope = mime.extract_envelope(sealed.data)
    proc = start(path, args.threads)
    try:
        logins = [login(envelope) for _ in range(5)]
        upload, cookie, _ = logins[-1]
        _, _, page, _ = request("GET", f"/message/{upload}", cookie=cookie)
        assert "Statement" in page, page[:300]
        result = {"login": statistics.median(t for _, _, t in logins), "page": len(page), "pairs": []}
        for _ in range(args.rounds):  # alternating: the machine's load hits both alike
            result["pairs"].append((wrk(f"/message/{upload}", cookie, args.seconds, args.connections, proc.pid),
                                    wrk("/healthz", "", args.seconds, args.connections, proc.pid)))
        result["read"] = median_run([read for read, _ in result["pairs"]])
        result["health"] = median_run([health for _, health in result["pairs"]])
        result["ratio"] = statistics.median(read["rate"] / health["rate"] for read, health in result["pairs"])
        result["cpu_ratio"] = statistics.median(health["cpu_ms"] / read["cpu_ms"] for read, health in result["pairs"])
    finally:
        proc.terminate()
        proc.wait()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="read and /healthz alternating, this many times each")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cached = run_case(Path(tmp), 30, 17, args)
        uncached = run_case(Path(tmp), 0, 17, args)
    floor = cached["health"]["rate"]
    print(f"100 KB message, read page {cached['page']} bytes; wrk -t2 -c{args.connections} -d{args.seconds}s; "
          f"waitress --threads {args.threads}; {args.rounds} alternating rounds, median runs; "
          f"load {os.getloadavg()[0]:.1f}")
    pairs = ", ".join(f"{read['rate'] / health['rate']:.2f}" for read, health in cached["pairs"])
    print(f"read (view cache on) / /healthz per round: {pairs}; median {cached['ratio']:.2f}")
    cpu = ", ".join(f"{read['cpu_ms']:.2f}/{health['cpu_ms']:.2f}" for read, health in cached["pairs"])
    print(f"CPU of the serve process per request, read/healthz per round (ms): {cpu}; "
          f"healthz/read (the ratio a CPU-bound server reaches): {cached['cpu_ratio']:.2f}")
    print("| case | requests/s | non-2xx | socket errors | p99 | ratio to /healthz |")
    print("|---|---|---|---|---|---|")
    for name, row in (("GET /healthz (floor)", cached["health"]), ("read, view cache on (default)", cached["read"]),
                      ("read, view cache off", uncached["read"])):
        print(f"| {name} | {row['rate']:.0f} | {row['errors']} | {row['socket']} | {row['p99']} | "
              f"{row['rate'] / floor:.2f} |")
    print(f"\nLogin (POST /login, scrypt ln=17 r=8 p=1), median of 5: {cached['login'] * 1000:.0f} ms "
          f"(cache off run: {uncached['login'] * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
