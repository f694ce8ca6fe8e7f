"""A minimal Debian 12 or 13 booted under systemd-nspawn, for tests/test_booted.py.

A root (debootstrap --variant=minbase bookworm or trixie, with systemd, systemd-sysv, dbus and
the packages docs/admin.md and README.md tell an administrator to install) is built once and
cached in build/booted/<suite>/root, keyed by its package list below; each test run boots a
fresh copy of it. Debian 12 carries the whole appliance flow; Debian 13 only README.md's
set-up and build, so its root has no Apache and no sudo, and its container no network but
loopback (wired=False). A wired container gets its own network namespace joined to this machine by a veth pair
(``--network-veth``): this side holds a private address and two from the internet (in the
benchmarking range 198.18.0.0/15, routed as single addresses so that no real route of this
machine changes), the container 10.231.0.2 and 198.18.0.2, so that the test reaches the
appliance as clients from elsewhere would.
Commands run in it with ``nsenter -t <its systemd> -a``; those that need the internet (pip,
which Debian's python3 makes a user call for its packages) keep this machine's network
namespace and enter the rest.
"""

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from appliance_support import ROOT

CACHE = ROOT / "build" / "booted"
MIRROR = "http://deb.debian.org/debian"


@dataclass(frozen=True)
class Release:
    suite: str
    packages: tuple[str, ...]

    @property
    def folder(self) -> Path:
        return CACHE / self.suite


# systemd as PID 1 and its bus; what README.md's apt lines install (python3-venv, binutils and
# libpython3-dev for the build, nginx and Postfix: the same names on Debian 12 and 13); curl for
# the documented health check, iproute2 for the container's network.
BASE = ("systemd", "systemd-sysv", "dbus", "postfix", "nginx", "openssl", "ca-certificates", "curl", "iproute2",
        "procps", "python3-venv", "binutils", "libpython3-dev")
# Debian 12 also for docs/admin.md: Apache, and sudo for the monitoring agent's check.
BOOKWORM = Release("bookworm", BASE + ("apache2", "sudo"))
TRIXIE = Release("trixie", BASE)
HOST_SIDE, CONTAINER = "10.231.0.1", "10.231.0.2"
# Neither loopback nor a private range, so the console's and /metrics' default networks refuse
# them. Not TEST-NET-2/3: this machine's resolver maps real names into those.
OUTSIDE = ["198.18.0.10", "198.18.0.11", "198.18.0.12"]
CONTAINER_OUTSIDE = "198.18.0.2"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


# debootstraps under way, so that a test run that ends early stops them (prepare_in_background).
BUILDING: set[subprocess.Popen] = set()


def prepare_in_background() -> threading.Thread:
    """Build both roots in a thread while other tests run: from nothing, each is minutes of
    download and unpacking that need little of the CPU. image() waits for it (its lock); a
    failure here is left for image() to meet again and report in the test that needs it."""
    def build_both() -> None:
        for release in (BOOKWORM, TRIXIE):
            try:
                image(release)
            except Exception:  # noqa: BLE001 - reported by the fixture's own image() call
                return
    thread = threading.Thread(target=build_both, name="booted roots", daemon=True)
    thread.start()
    return thread


def stop_preparing() -> None:
    for process in list(BUILDING):
        try:
            os.killpg(process.pid, signal.SIGKILL)  # debootstrap and the wget, dpkg and chroot it runs
        except ProcessLookupError:
            pass


def image(release: Release = BOOKWORM) -> Path:
    """The cached root of *release*, built now if missing or made from another package list."""
    release.folder.mkdir(parents=True, exist_ok=True)
    root, fingerprint = release.folder / "root", release.folder / "root.fingerprint"
    wanted = hashlib.sha256(repr((release, _customise.__doc__)).encode()).hexdigest()
    with open(release.folder / "root.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (fingerprint.exists() and fingerprint.read_text() == wanted and (root / "sbin/init").exists()):
            fingerprint.unlink(missing_ok=True)
            _build(release, root)
            fingerprint.write_text(wanted)
    return root


def _build(release: Release, root: Path) -> None:
    partial = root.with_name("root.new")
    _remove(partial)
    # Postfix asks how it is used; an administrator of a mail gateway answers "Internet Site".
    process = subprocess.Popen(["debootstrap", "--variant=minbase", f"--include={','.join(release.packages)}",
                                release.suite, str(partial), MIRROR], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={"PATH": PATH, "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"},
                               start_new_session=True)  # its own process group: stop_preparing ends its children too
    BUILDING.add(process)
    try:
        stdout, stderr = process.communicate(timeout=1800)
    finally:
        BUILDING.discard(process)
    if process.returncode != 0:
        raise RuntimeError(f"debootstrap failed:\n{stdout[-3000:]}{stderr[-3000:]}")
    _customise(partial, release)
    _remove(root)
    partial.rename(root)


def _remove(root: Path) -> None:
    """A root folder, after what an interrupted debootstrap left mounted in it (/proc, /sys):
    removing files there would be removing the machine's."""
    mounts = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True).stdout.split()
    for mount in sorted((m for m in mounts if m.startswith(f"{root}/")), reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def _customise(root: Path, release: Release) -> None:
    """v2: apt's downloaded packages dropped; apache2, where installed, disabled (nginx is the
    default front end and both want port 80); a name resolver; the host name the appliance is
    installed under."""
    if "apache2" in release.packages:
        subprocess.run(["chroot", str(root), "systemctl", "disable", "apache2"], check=True, capture_output=True)
    (root / "etc/hostname").write_text("secure\n")
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    subprocess.run(["chroot", str(root), "apt-get", "clean"], check=True, capture_output=True)


class Container:
    """One booted copy of *release*'s image; reboot() and stop() as an administrator would.
    wired=False: loopback only, no veth (two wired containers would claim the same addresses
    on this side)."""

    def __init__(self, name: str, release: Release = BOOKWORM, wired: bool = True):
        self.name = name
        self.release = release
        self.wired = wired
        self.root = CACHE / f"run-{name}"
        self.veth = f"ve-{name}"[:15]
        self.process: subprocess.Popen | None = None
        self.pid = 0
        self.log = release.folder / "console.log"  # the last run's boots (and reboots), for a failure's story
        self._mounted_run = False

    def __enter__(self) -> "Container":
        _remove(self.root)
        self.log.unlink(missing_ok=True)
        subprocess.run(["cp", "-a", "--reflink=auto", str(image(self.release)), str(self.root)], check=True)
        self._trust_local_authorities()
        # as Debian's installer writes it: the machine's own name resolves (sudo asks)
        with open(self.root / "etc/hosts", "a") as hosts:
            hosts.write("127.0.1.1 secure\n")
        self._runtime_folder()
        try:
            self.boot()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        _remove(self.root)
        if self._mounted_run:
            subprocess.run(["umount", "/run/systemd/nspawn"], capture_output=True)

    def _trust_local_authorities(self) -> None:
        """This machine's own certificate authorities (a TLS-inspecting egress, say), so that pip
        in the container reaches PyPI as it does here. A real server has none: nothing to copy."""
        local = Path("/usr/local/share/ca-certificates")
        if not any(local.glob("*.crt")):
            return
        target = self.root / local.relative_to("/")
        target.mkdir(parents=True, exist_ok=True)
        for certificate in local.glob("*.crt"):
            shutil.copy(certificate, target)
        subprocess.run(["chroot", str(self.root), "update-ca-certificates"], check=True, capture_output=True)

    def _runtime_folder(self) -> None:
        # nspawn keeps its runtime state there; where /run is no tmpfs it refuses to start.
        folder = Path("/run/systemd/nspawn")
        folder.mkdir(parents=True, exist_ok=True)
        run_is_tmpfs = subprocess.run(["findmnt", "-n", "-t", "tmpfs", "/run"], capture_output=True).returncode == 0
        if not run_is_tmpfs and subprocess.run(["mountpoint", "-q", str(folder)]).returncode != 0:
            subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(folder)], check=True)
            self._mounted_run = True

    def boot(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                ["systemd-nspawn", "-b", "-D", str(self.root), "-M", self.name, "--register=no", "--keep-unit",
                 "--network-veth" if self.wired else "--private-network", "--console=read-only"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self._find_init()
        self._wait_for_boot()
        if self.wired:
            self._wire_network()

    def _find_init(self) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"systemd-nspawn ended ({self.process.returncode}): {self.log.read_text()[-3000:]}")
            for pid in _descendants(self.process.pid):
                if _comm(pid) == "systemd":
                    return pid
            time.sleep(0.2)
        raise RuntimeError(f"no systemd in the container: {self.log.read_text()[-3000:]}")

    def _wait_for_boot(self) -> None:
        deadline = time.monotonic() + 120
        state = ""
        while time.monotonic() < deadline:
            state = self.run("systemctl is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.5)
        failed = self.run("systemctl --failed --no-legend", check=False).stdout
        raise RuntimeError(f"the container did not finish booting ({state}); failed units: {failed}")

    def _wire_network(self) -> None:
        """Both ends of the veth: this side is the private network and the internet clients."""
        for address in (f"{HOST_SIDE}/24", *(f"{a}/32" for a in OUTSIDE)):
            _ip("addr", "replace", address, "dev", self.veth)
        _ip("link", "set", self.veth, "up")
        _ip("route", "replace", f"{CONTAINER_OUTSIDE}/32", "dev", self.veth, "src", OUTSIDE[0])
        routes = " && ".join(f"ip route replace {a}/32 dev host0" for a in OUTSIDE)
        self.run(f"ip addr replace {CONTAINER}/24 dev host0 && ip addr replace {CONTAINER_OUTSIDE}/32 dev host0"
                 f" && ip link set host0 up && {routes}")

    def run(self, command: str, check: bool = True, network: str = "container", user: str = "root",
            input: bytes | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        """*command* by sh in the container, as *user*, with a clean environment. network="host":
        in this machine's network namespace (for pip, which needs the internet)."""
        namespaces = ["-a"] if network == "container" else ["-m", "-u", "-i", "-p", "-C"]
        argv = ["nsenter", "-t", str(self.pid), *namespaces, "--", "env", "-i", f"PATH={PATH}", "LANG=C.UTF-8",
                "HOME=/root" if user == "root" else "HOME=/", "TERM=dumb"]
        if user != "root":
            argv += ["runuser", "-u", user, "--"]
        argv += ["sh", "-c", command]
        result = subprocess.run(argv, input=input, capture_output=True, timeout=timeout, cwd="/")
        result.stdout, result.stderr = (result.stdout.decode("utf-8", "replace"),
                                        result.stderr.decode("utf-8", "replace"))
        if check and result.returncode != 0:
            raise AssertionError(f"in the container, '{command}' exited {result.returncode}:\n"
                                 f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        return result

    def reboot(self) -> None:
        """systemctl reboot inside; nspawn then ends with 133 and is started again (as
        systemd-nspawn@.service does), on the same root."""
        self.run("systemctl reboot", check=False)
        try:
            status = self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the container did not reboot: {self.log.read_text()[-3000:]}") from None
        assert status == 133, f"systemd-nspawn ended with {status}, not 133 (reboot)"
        self.boot()

    def stop(self) -> None:
        if not self.process or self.process.poll() is not None:
            return
        self.run("systemctl poweroff", check=False, timeout=60)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""
