"""The envelope: an authenticated, versioned header and the sealed message.

Layout (all lengths big-endian)::

    b"WCE" version(1) | header length(2) | header (UTF-8 JSON) | nonce(12) | ciphertext | tag(16)

The whole prefix up to and including the header is the GCM associated data,
so no field of the header can be changed without the tag failing. Nothing of
the body is parsed before the tag has verified.
"""

import json
import zlib
from dataclasses import asdict, dataclass
from typing import Iterator

from ..base.errors import EnvelopeError
from . import crypto

MAGIC = b"WCE"
VERSION = 1
_PREFIX = len(MAGIC) + 1 + 2
_MAX_HEADER = 4096
LARGEST_OVERHEAD = _PREFIX + _MAX_HEADER + crypto.NONCE_BYTES + crypto.TAG_BYTES + 64  # + zlib's own framing
# Bodies that a zlib sample cannot shrink below this ratio are stored as they
# are: compressing base64 attachments costs far more time than the 25% it saves.
_WORTH_COMPRESSING = 0.70
_SAMPLE = 256 * 1024


@dataclass(frozen=True)
class Header:
    message_id: str  # 32 hex digits, 128 random bits
    recipient: str
    sender: str
    created: int  # Unix seconds
    expires: int
    key_id: int  # master key generation that wrapped the recipient key
    compression: str  # "zlib" or "none"
    version: int = VERSION


def compress(body) -> tuple[bytes | bytearray, str]:
    """Compress *body* when a sample says it is worth it; return (data, method).

    In pieces into one growing buffer: zlib.compress would hold its output twice
    (its blocks, then their join) beside the whole body.
    """
    sample = body[:_SAMPLE]
    if not sample or len(zlib.compress(sample, 1)) / len(sample) >= _WORTH_COMPRESSING:
        return body, "none"
    view = memoryview(body).cast("B")
    compressor = zlib.compressobj(6)
    out = bytearray()
    for start in range(0, len(view), crypto.PIECE):
        out += compressor.compress(view[start:start + crypto.PIECE])
    out += compressor.flush()
    return out, "zlib"


@dataclass(frozen=True)
class Sealing:
    """An envelope made as it is read (``pieces``): the payload is kept once, never sealed whole,
    so a message costs no more memory for each recipient it is sealed for."""

    prefix: bytes  # magic, version, header: the associated data
    data_key: bytes
    nonce: bytes
    payload: bytes | bytearray  # compressed per the header

    def pieces(self) -> Iterator[bytes]:
        yield self.prefix
        yield from crypto.seal_pieces(self.data_key, self.nonce, self.payload, self.prefix)

    def __len__(self) -> int:
        return len(self.prefix) + crypto.sealed_size(len(self.payload))


def sealing(header: Header, data_key: bytes, payload) -> Sealing:
    """The envelope of *payload* (already compressed per header.compression), with a fresh nonce."""
    return Sealing(_prefix(header), data_key, crypto.new_nonce(), payload)


def seal(header: Header, data_key: bytes, payload) -> bytes:
    """The envelope in one buffer."""
    return b"".join(sealing(header, data_key, payload).pieces())


def read_header(envelope) -> Header:
    """Parse the header without verifying it (to find the key). Raises EnvelopeError."""
    envelope = memoryview(envelope).cast("B")
    if len(envelope) < _PREFIX or bytes(envelope[:3]) != MAGIC:
        raise EnvelopeError("not a webcrypt envelope")
    if envelope[3] != VERSION:
        raise EnvelopeError(f"envelope version {envelope[3]} is not supported")
    size = int.from_bytes(envelope[4:6], "big")
    if size > _MAX_HEADER or len(envelope) < _PREFIX + size + crypto.NONCE_BYTES + crypto.TAG_BYTES:
        raise EnvelopeError("the envelope is truncated")
    try:
        fields = json.loads(bytes(envelope[_PREFIX:_PREFIX + size]))
        header = Header(**fields)
    except (ValueError, TypeError):
        raise EnvelopeError("the envelope header is damaged") from None
    if header.version != VERSION or header.compression not in ("zlib", "none"):
        raise EnvelopeError("the envelope header is damaged")
    return header


def open_(envelope, data_key: bytes) -> tuple[Header, bytearray]:
    """Verify and decrypt; return the header and the original message bytes.

    Decrypted into one buffer and, only after its tag verified, decompressed in pieces
    into another: never a copy of the whole beside them.
    """
    header = read_header(envelope)
    envelope = memoryview(envelope).cast("B")
    end = _PREFIX + int.from_bytes(envelope[4:6], "big")
    payload = crypto.unseal_buffer(data_key, envelope[end:], bytes(envelope[:end]))
    if header.compression == "zlib":
        try:
            payload = _decompress(payload)
        except zlib.error:
            raise EnvelopeError("the envelope body is damaged") from None
    return header, payload


def _decompress(data: bytearray) -> bytearray:
    """zlib.decompress into one growing buffer (zlib.decompress would hold its output twice)."""
    decompressor = zlib.decompressobj()
    out = bytearray()
    view = memoryview(data)
    for start in range(0, len(view), crypto.PIECE):
        out += decompressor.decompress(view[start:start + crypto.PIECE])
    out += decompressor.flush()
    if not decompressor.eof:
        raise zlib.error("incomplete or truncated stream")
    return out


def _prefix(header: Header) -> bytes:
    text = json.dumps(asdict(header), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    data = text.encode("utf-8")
    if len(data) > _MAX_HEADER:
        raise EnvelopeError("envelope header too long")
    return MAGIC + bytes([VERSION]) + len(data).to_bytes(2, "big") + data
