"""The master key file: one 32-byte secret per generation, newest last.

Format (text, mode 0600)::

    webcrypt-master-key 1
    1 <64 hex digits>
    2 <64 hex digits>

Old generations stay in the file so that a rotation that stopped half-way
never strands a recipient key; rows name the generation that wrapped them.
"""

import functools
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import KeyFileError
from ..core import crypto

_MAGIC = "webcrypt-master-key 1"


@dataclass(frozen=True)
class Keyring:
    secrets: dict[int, bytes]

    @property
    def current(self) -> int:
        return max(self.secrets)

    def wrapping_key(self, generation: int) -> bytes:
        """The key that wraps recipient keys, for one generation."""
        try:
            secret = self.secrets[generation]
        except KeyError:
            raise KeyFileError(f"master key generation {generation} is not in the key file") from None
        return _derived(secret, "recipient-key-wrap")

    def account_key(self, generation: int, wrapped: bytes, address: str) -> bytes:
        """A recipient's own key, unwrapped (it wraps the data keys of their messages)."""
        return crypto.unseal(self.wrapping_key(generation), wrapped, address.encode())

    def mac_key(self, generation: int | None = None) -> bytes:
        """A key for markers such as the loop header (newest generation unless named)."""
        return _derived(self.secrets[self.current if generation is None else generation], "mail-marker")


@functools.lru_cache(maxsize=64)
def _derived(secret: bytes, label: str) -> bytes:
    """HKDF is ~0.1 ms and every encrypted mail needs these two keys several times; the
    master secret they come from is in this process's memory anyway."""
    return crypto.derive(secret, label)


def load(path: Path) -> Keyring:
    try:
        mode = path.stat().st_mode
        text = path.read_text("ascii")
    except FileNotFoundError:
        raise KeyFileError(f"master key file {path} is missing") from None
    except (OSError, UnicodeError) as e:
        raise KeyFileError(f"cannot read master key file {path}: {getattr(e, 'strerror', e)}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"master key file {path} is readable by others (chmod 600 it)")
    return Keyring(_parse(text, path))


def create(path: Path) -> Keyring:
    """Write a new key file with one generation; never replaces an existing file."""
    secret = secrets.token_bytes(crypto.KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} exists already; webcrypt never overwrites a master key") from None
    with os.fdopen(fd, "w") as f:
        f.write(_format({1: secret}))
        f.flush()
        os.fsync(f.fileno())
    return Keyring({1: secret})


def add_generation(path: Path, ring: Keyring) -> Keyring:
    """Append a new generation, replacing the file atomically."""
    new = Keyring({**ring.secrets, ring.current + 1: secrets.token_bytes(crypto.KEY_BYTES)})
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(_format(new.secrets))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return new


def _format(generations: dict[int, bytes]) -> str:
    lines = [_MAGIC] + [f"{gen} {secret.hex()}" for gen, secret in sorted(generations.items())]
    return "\n".join(lines) + "\n"


def _parse(text: str, path: Path) -> dict[int, bytes]:
    lines = text.splitlines()
    if not lines or lines[0] != _MAGIC:
        raise KeyFileError(f"{path} is not a webcrypt master key file")
    try:
        pairs = [line.split() for line in lines[1:] if line.strip()]
        result = {int(gen): bytes.fromhex(hexed) for gen, hexed in pairs}
    except ValueError:
        raise KeyFileError(f"master key file {path} is damaged") from None
    if not result or any(len(s) != crypto.KEY_BYTES for s in result.values()):
        raise KeyFileError(f"master key file {path} is damaged")
    return result
