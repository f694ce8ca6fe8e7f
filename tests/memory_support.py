"""Peak memory (RSS) of one whole child process, for bench/bench_memory.py and tests/test_review_memory.py.

A process's ru_maxrss also counts the memory image it was forked from (until exec the
child shares or copies its parent's pages), so a child started straight from a big test
or bench process would report that process's size. The command therefore runs under a
small launcher (python -S, a few MB): the launcher forks and execs the command, reaps it
with wait4 and writes the command's ru_maxrss (KiB) to a file. SIGTERM to the launcher is
passed on to the command (for servers).
"""

import os
import signal
import subprocess
import sys
import tempfile
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
