"""The built executable for the appliance tests: built once with build.spec, cached in build/.

The build is reused while build.spec, webcrypt.py and every file under webcrypt/ are unchanged
(a fingerprint of their contents sits beside the build); otherwise it is rebuilt (both
variants, ~30 s on 2 cores). A file lock keeps two test processes from building at once.
"""

import fcntl
import functools
import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "build" / "dist"
WORK = ROOT / "build" / "pyinstaller"
ONEDIR = DIST / "webcrypt-onedir" / "webcrypt"
ONEFILE = DIST / "webcrypt"
FINGERPRINT = DIST / "fingerprint"


def source_fingerprint() -> str:
    digest = hashlib.sha256()
    paths = [ROOT / "build.spec", ROOT / "webcrypt.py"]
    paths += sorted(p for p in (ROOT / "webcrypt").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def built() -> dict[str, Path]:
    """Both builds, made now if missing or older than the sources (checked once per test run)."""
    DIST.mkdir(parents=True, exist_ok=True)
    with open(DIST.parent / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wanted = source_fingerprint()
        current = FINGERPRINT.read_text() if FINGERPRINT.exists() else ""
        if current != wanted or not ONEDIR.exists() or not ONEFILE.exists():
            build()
            FINGERPRINT.write_text(wanted)
    return {"onedir": ONEDIR, "onefile": ONEFILE}


def build() -> None:
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
               "--distpath", str(DIST), "--workpath", str(WORK), str(ROOT / "build.spec")]
    env = {k: v for k, v in os.environ.items() if k != "WEBCRYPT_BUILD"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pyinstaller build.spec failed:\n{result.stderr[-3000:]}")


def has_command(executable: Path, name: str) -> bool:
    """Whether the built program offers a subcommand (others' issues land over time)."""
    result = subprocess.run([str(executable), "--help"], capture_output=True, text=True, timeout=60)
    return any(line.split()[:1] == [name] for line in result.stdout.splitlines() if line.startswith("  "))
