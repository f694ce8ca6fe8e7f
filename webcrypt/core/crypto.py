"""Cryptographic primitives; the only module that imports pycryptodome.

AES-256-GCM for everything sealed, HKDF-SHA256 for sub-keys, scrypt for
passwords (PHC-style strings so the cost can rise later).
"""

import base64
import hashlib
import hmac
import os
import secrets
import struct
from typing import Iterator

# nosec B413 below: bandit takes the Crypto package for the unmaintained PyCrypto; it is pycryptodome, maintained.
from Crypto.Util import _raw_api  # nosec B413 - pycryptodome

from ..base.errors import EnvelopeError


def _skip_platform_probe() -> None:
    """pycryptodome bound through ctypes (no cffi, or cffi blocked by `pipe`) asks
    platform.architecture() once per process before loading its C code, which runs the
    `file` program on the interpreter: a fork and exec in every `pipe` process, only to tell
    Windows' linkage from others. Its cache is filled with what that check needs instead."""
    cache = getattr(_raw_api, "cached_architecture", None)
    if isinstance(cache, list) and not cache and os.name != "nt":
        cache[:] = [f"{struct.calcsize('P') * 8}bit", "ELF"]


_skip_platform_probe()  # before AES loads the C code

from Crypto.Cipher import AES  # noqa: E402  # nosec B413 - pycryptodome

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16

# scrypt N=2^17, r=8, p=1 needs 128 MiB; hashlib refuses above maxmem.
SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P = 17, 8, 1
_SCRYPT_MAXMEM = 256 * 1024 * 1024

# No 0/O, 1/l/I: passwords are read aloud on the phone and typed from paper.
PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # nosec B105 - the symbols, not a password
PASSWORD_GROUPS, PASSWORD_GROUP_LEN = 4, 5  # 20 of 32 symbols: 100 bits


def random_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def random_id() -> bytes:
    return secrets.token_bytes(16)


def derive(secret: bytes, label: str) -> bytes:
    """A sub-key of *secret* for one purpose, named by *label*."""
    return hkdf_sha256(secret, KEY_BYTES, b"webcrypt", label.encode())


def hkdf_sha256(secret: bytes, length: int, salt: bytes, info: bytes) -> bytes:
    """HKDF (RFC 5869) with HMAC-SHA256 from the standard library: the same bytes as
    pycryptodome's HKDF, whose module would pull in CMAC, SHA-1 and more into every
    `pipe` process for this one function."""
    pseudo_random_key = hmac.new(salt, secret, hashlib.sha256).digest()
    output, block = b"", b""
    for counter in range(1, -(-length // hashlib.sha256().digest_size) + 1):
        block = hmac.new(pseudo_random_key, block + info + bytes([counter]), hashlib.sha256).digest()
        output += block
    return output[:length]


def seal(key: bytes, plaintext, aad: bytes) -> bytes:
    """nonce || ciphertext || tag."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(aad)
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    return nonce + ciphertext + tag


def sealed_size(plaintext_size: int) -> int:
    return NONCE_BYTES + plaintext_size + TAG_BYTES


PIECE = 1 << 20  # big bodies are sealed and opened in pieces of this size, never copied whole


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_BYTES)


def seal_pieces(key: bytes, nonce: bytes, plaintext, aad: bytes) -> Iterator[bytes]:
    """nonce || ciphertext || tag, in pieces, made as they are read: a big body is never held sealed.

    The same key, nonce and plaintext give the same bytes each time (a carrier is read
    twice: once for its loop marker, once to send it); the nonce is never used for
    other plaintext.
    """
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(aad)
    yield nonce
    view = memoryview(plaintext).cast("B")
    for start in range(0, len(view), PIECE):
        yield cipher.encrypt(view[start:start + PIECE])
    yield cipher.digest()


def unseal(key: bytes, sealed, aad: bytes) -> bytes:
    """The plaintext of a small sealed value (keys, secrets)."""
    return bytes(unseal_buffer(key, sealed, aad))


def unseal_buffer(key: bytes, sealed, aad: bytes) -> bytearray:
    """The plaintext, decrypted piece by piece into one buffer; nothing of it leaves unless the tag verified."""
    sealed = memoryview(sealed).cast("B")
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise EnvelopeError("sealed data is truncated")
    nonce, body, tag = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:-TAG_BYTES], sealed[-TAG_BYTES:]
    cipher = AES.new(key, AES.MODE_GCM, nonce=bytes(nonce))
    cipher.update(aad)
    plaintext = bytearray(len(body))
    out = memoryview(plaintext)
    for start in range(0, len(body), PIECE):
        cipher.decrypt(body[start:start + PIECE], output=out[start:start + PIECE])
    out.release()
    try:
        cipher.verify(tag)
    except ValueError:
        raise EnvelopeError("authentication failed: the data was altered or belongs to another key") from None
    return plaintext


def mac(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def same(a: str | bytes, b: str | bytes) -> bool:
    return hmac.compare_digest(a, b)


# RFC 6238 as authenticator apps implement it: HMAC-SHA-1, 6 digits, 30-second steps.
TOTP_PERIOD, TOTP_DIGITS, TOTP_SECRET_BYTES = 30, 6, 20


def totp_secret() -> bytes:
    return secrets.token_bytes(TOTP_SECRET_BYTES)


def totp(secret: bytes, step: int) -> str:
    """The one-time code of time step *step* (RFC 4226 dynamic truncation)."""
    digest = hmac.new(secret, step.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset:offset + 4], "big") & 0x7FFFFFFF
    return str(number % 10**TOTP_DIGITS).zfill(TOTP_DIGITS)


def totp_match(secret: bytes, code: str, step: int, window: int = 1) -> int | None:
    """The step within *step* +- *window* whose code is *code*, or None; every candidate is compared
    in constant time, so the time taken says nothing about which one matched."""
    code = code.strip().replace(" ", "")
    matched = None
    for candidate in range(step - window, step + window + 1):
        if hmac.compare_digest(totp(secret, candidate).encode(), code.encode()) and matched is None:
            matched = candidate
    return matched


def base32(data: bytes) -> str:
    """Unpadded upper-case base32, the form authenticator apps take."""
    return base64.b32encode(data).decode().rstrip("=")


def unbase32(text: str) -> bytes:
    text = text.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def fingerprint(data: bytes) -> str:
    """A one-way digest for values that are looked up but never shown (session ids)."""
    return hashlib.sha256(data).hexdigest()


def generate_password(groups: int = PASSWORD_GROUPS, group_len: int = PASSWORD_GROUP_LEN) -> str:
    """Random symbols of PASSWORD_ALPHABET (5 bits each) in groups joined by hyphens."""
    return "-".join("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(group_len)) for _ in range(groups))


def hash_password(password: str, log_n: int = SCRYPT_LOG_N) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, log_n, SCRYPT_R, SCRYPT_P)
    return f"$scrypt$ln={log_n},r={SCRYPT_R},p={SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, phc: str) -> bool:
    try:
        _, scheme, params, salt, digest = phc.split("$")
        p = dict(item.split("=") for item in params.split(","))
        log_n, r, par = int(p["ln"]), int(p["r"]), int(p["p"])
    except (ValueError, KeyError):
        return False
    if scheme != "scrypt":
        return False
    return hmac.compare_digest(_scrypt(password, _unb64(salt), log_n, r, par), _unb64(digest))


def scrypt_cost(phc: str) -> int:
    """log2(N) of a stored scrypt hash (0 when unreadable, so that it is replaced)."""
    head = (phc or "").split("$")
    try:
        return int(dict(item.split("=") for item in head[2].split(","))["ln"]) if head[1] == "scrypt" else 0
    except (IndexError, ValueError, KeyError):
        return 0


def _scrypt(password: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=1 << log_n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=32
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))
