"""Start a service the way its systemd unit would, on a machine where systemd is not running.

From the unit file: ExecStart, User, Group, UMask, WorkingDirectory, Environment, and the
process-level hardening that can be applied without systemd: NoNewPrivileges (prctl),
MemoryDenyWriteExecute (prctl PR_SET_MDWE, the kernel's own W^X switch) and SystemCallFilter
(a seccomp filter from the same syscall groups, loaded with libseccomp). So a program that
needs a system call the unit forbids, or writable+executable memory, fails here as it would
under systemd. Mount namespaces (ProtectSystem, PrivateTmp, ...) and the cgroup IP filter
(IPAddressDeny) are not emulated.
"""

import ctypes
import errno
import grp
import os
import pwd
import shlex
import subprocess
from functools import lru_cache
from pathlib import Path

PR_SET_NO_NEW_PRIVS = 38
PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1
SCMP_ACT_ALLOW = 0x7FFF0000


def parse_unit(path: Path) -> dict[str, list[str]]:
    """Every Key=value of the unit, in order, keys repeated as systemd allows."""
    values: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        values.setdefault(key.strip(), []).append(value.strip())
    return values


def last(unit: dict[str, list[str]], key: str, default: str = "") -> str:
    return unit.get(key, [default])[-1]


@lru_cache(maxsize=None)
def syscall_group(name: str) -> frozenset[str]:
    """The system calls of a systemd group such as @system-service, nested groups expanded."""
    output = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True,
                            check=True).stdout
    calls: set[str] = set()
    for line in output.splitlines()[1:]:
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        if item.startswith("@"):
            calls |= syscall_group(item)
        else:
            calls.add(item)
    return frozenset(calls)


def allowed_syscalls(filters: list[str]) -> set[str]:
    """systemd's rule: the first allow-list sets the set; '~' lines remove from it."""
    allowed: set[str] | None = None
    for line in filters:
        deny = line.startswith("~")
        names = set()
        for item in line.lstrip("~").split():
            names |= syscall_group(item) if item.startswith("@") else {item}
        if deny:
            if allowed is None:
                raise NotImplementedError("a deny-list filter without an allow-list first")
            allowed -= names
        else:
            allowed = names if allowed is None else allowed | names
    return allowed or set()


def _hardening(unit: dict[str, list[str]]):
    """A preexec function (runs in the child, after the user switch, before exec)."""
    no_new_privs = last(unit, "NoNewPrivileges") == "yes"
    mdwe = last(unit, "MemoryDenyWriteExecute") == "yes"
    syscalls = sorted(allowed_syscalls(unit.get("SystemCallFilter", [])))
    error = getattr(errno, last(unit, "SystemCallErrorNumber", "EPERM"), errno.EPERM)

    def apply() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if no_new_privs or syscalls:
            if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if mdwe and libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_MDWE)")
        if syscalls:
            seccomp = ctypes.CDLL("libseccomp.so.2")
            seccomp.seccomp_init.restype = ctypes.c_void_p
            seccomp.seccomp_init.argtypes = [ctypes.c_uint32]
            seccomp.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
            seccomp.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
            seccomp.seccomp_load.argtypes = [ctypes.c_void_p]
            ctx = seccomp.seccomp_init(0x00050000 | error)  # SCMP_ACT_ERRNO(error)
            for name in syscalls:
                number = seccomp.seccomp_syscall_resolve_name(name.encode())
                if number != -1:  # __NR_SCMP_ERROR: not a call on this architecture
                    seccomp.seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 0)
            if seccomp.seccomp_load(ctx) != 0:
                raise OSError("seccomp_load failed")

    return apply


def start(unit_path: Path, extra_args: tuple[str, ...] = (), **popen) -> subprocess.Popen:
    """Start ExecStart of *unit_path* as its User, with its UMask, directory and hardening."""
    unit = parse_unit(unit_path)
    command = shlex.split(last(unit, "ExecStart").lstrip("-@+!"))
    user = last(unit, "User", "root")
    group = last(unit, "Group", grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": pwd.getpwnam(user).pw_dir,
           "USER": user, "LOGNAME": user}
    for assignment in unit.get("Environment", []):
        for item in shlex.split(assignment):
            key, _, value = item.partition("=")
            env[key] = value
    return subprocess.Popen(
        [*command, *extra_args],
        user=user,
        group=group,
        extra_groups=[],
        umask=int(last(unit, "UMask", "0022"), 8),
        cwd=last(unit, "WorkingDirectory", "/"),
        env=env,
        preexec_fn=_hardening(unit),
        **popen,
    )
