"""Peak memory (RSS) of one whole child process, for bench/bench_memory.py and tests/test_review_memory.py,
and what a browser does with a large message on the portal (``portal_read``).

A process's ru_maxrss also counts the memory image it was forked from (until exec the
child shares or copies its parent's pages), so a child started straight from a big test
or bench process would report that process's size. The command therefore runs under a
small launcher (python -S, a few MB): the launcher forks and execs the command, reaps it
with wait4 and writes the command's ru_maxrss (KiB) to a file. SIGTERM to the launcher is
passed on to the command (for servers).
"""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

LAUNCHER = r"""
import os, signal, sys
report, command = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(command[0], command)
    finally:
        os._exit(127)
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as f:
    f.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""


@dataclass
class Measured:
    returncode: int
    peak_mb: float
    stdout: bytes
    stderr: bytes


def _launcher(report: Path, command: list[str]) -> list[str]:
    return [sys.executable, "-S", "-c", LAUNCHER, str(report), *command]


def _peak_mb(report: Path) -> float:
    return int(report.read_text()) / 1024


def run(command: list[str], stdin=subprocess.DEVNULL, env=None, cwd=None, input=None) -> Measured:
    """Run *command* to its end; its exit status, peak RSS in MiB, and output."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "peak"
        kwargs = {"input": input} if input is not None else {"stdin": stdin}
        done = subprocess.run(_launcher(report, command), capture_output=True, env=env, cwd=cwd, **kwargs)
        return Measured(done.returncode, _peak_mb(report), done.stdout, done.stderr)


class Server:
    """A long-running command (relay, portal) whose peak RSS is read when it is stopped."""

    def __init__(self, command: list[str], env=None, cwd=None):
        self.tmp = tempfile.TemporaryDirectory()
        self.report = Path(self.tmp.name) / "peak"
        self.proc = subprocess.Popen(_launcher(self.report, command), env=env, cwd=cwd,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> float:
        """SIGTERM, wait, and return the peak RSS in MiB."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()
        try:
            return _peak_mb(self.report)
        finally:
            self.tmp.cleanup()


def clean_env(**extra) -> dict:
    """The environment for a measured child: bytecode cached as when installed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


def wait_for_port(port: int) -> None:
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def request(port: int, method: str, path: str, body: bytes | None = None, cookie: str = "", content_type: str = ""):
    """(status, Location, body, cookies set) of one request on a new connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Cookie": cookie} if cookie else {}
    if content_type:
        headers["Content-Type"] = content_type
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    cookies = [v.split(";", 1)[0] for k, v in response.getheaders() if k.lower() == "set-cookie"]
    conn.close()
    return response.status, response.getheader("Location", ""), data, cookies


FORM = "application/x-www-form-urlencoded"


def portal_read(port: int, secure_htm: bytes, address: str, password: str) -> dict[str, bytes]:
    """What a browser does with secure.htm: post its form (the envelope's lines url-encoded,
    CRLF as browsers send a textarea), log in, read, then fetch the body frame, every
    attachment and the .eml. Returns the downloads by path."""
    textarea = secure_htm.split(b'<textarea name="envelope" readonly>', 1)[1].split(b"</textarea>", 1)[0]
    body = b"envelope=" + urllib.parse.quote_from_bytes(textarea.replace(b"\n", b"\r\n"), safe="").encode()
    del textarea
    status, location, _, _ = request(port, "POST", "/open", body, content_type=FORM)
    assert status == 303, status
    del body
    upload = location.split("upload=")[1]
    _, _, login_page, pre = request(port, "GET", location)
    csrf = re.search(rb'name="csrf" value="([^"]+)"', login_page).group(1).decode()
    fields = urllib.parse.urlencode({"csrf": csrf, "upload": upload, "address": address, "password": password})
    status, location, _, cookies = request(port, "POST", "/login", fields.encode(), "; ".join(pre), FORM)
    assert status == 303 and location == f"/message/{upload}", (status, location)
    cookie = "; ".join(cookies)
    status, _, page, _ = request(port, "GET", f"/message/{upload}", cookie=cookie)
    assert status == 200, status
    downloads = {"read": page}
    for step in ("/body", *(f"/part/{int(p)}" for p in sorted(set(re.findall(rb"/part/(\d+)", page)))), "/eml"):
        status, _, data, _ = request(port, "GET", f"/message/{upload}{step}", cookie=cookie)
        assert status == 200, (step, status)
        downloads[step] = data
    return downloads
