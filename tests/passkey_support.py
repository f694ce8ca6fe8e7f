"""A software authenticator for the WSGI-level passkey tests: it answers navigator.credentials
create() and get() options as a platform authenticator would (P-256, resident keys, user
verified), and can be made to misbehave (another origin, relying party, counter, flags).
The browser tests use Chromium's own virtual authenticator instead."""

import base64
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor
from fido2.cose import ES256
from fido2.webauthn import AttestedCredentialData

UP, UV, AT = 0x01, 0x04, 0x40


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Key:
    def __init__(self, rp_id: str, user_handle: bytes):
        self.id = os.urandom(16)
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.rp_id, self.user_handle, self.counter = rp_id, user_handle, 0


class Authenticator:
    def __init__(self, origin: str, keeps_counter: bool = True):
        self.origin, self.keeps_counter = origin, keeps_counter
        self.keys: list[Key] = []

    def create(self, options: dict, origin: str | None = None, rp_id: str | None = None, flags: int = UP | UV | AT,
               challenge: str | None = None, credential_id: bytes | None = None) -> str:
        key = Key(rp_id or options["rp"]["id"], unb64(options["user"]["id"]))
        key.id = credential_id or key.id
        self.keys.append(key)
        client_data = self._client_data("webauthn.create", challenge or options["challenge"], origin)
        public = ES256.from_cryptography_key(key.private.public_key())
        attested = AttestedCredentialData.create(b"\0" * 16, key.id, public)
        auth_data = self._auth_data(key, flags) + bytes(attested)
        attestation = cbor.encode({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps({"id": b64(key.id), "rawId": b64(key.id), "type": "public-key",
                           "response": {"clientDataJSON": b64(client_data), "attestationObject": b64(attestation)},
                           "clientExtensionResults": {}})

    def get(self, options: dict, key: Key | None = None, origin: str | None = None, flags: int = UP | UV,
            counter: int | None = None, user_handle: bytes | None = None, challenge: str | None = None) -> str:
        key = key or self.keys[-1]
        if counter is not None:
            key.counter = counter
        elif self.keeps_counter:
            key.counter += 1
        client_data = self._client_data("webauthn.get", challenge or options["challenge"], origin)
        auth_data = self._auth_data(key, flags)
        signature = key.private.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        handle = key.user_handle if user_handle is None else user_handle
        return json.dumps({"id": b64(key.id), "rawId": b64(key.id), "type": "public-key",
                           "response": {"clientDataJSON": b64(client_data), "authenticatorData": b64(auth_data),
                                        "signature": b64(signature), "userHandle": b64(handle)},
                           "clientExtensionResults": {}})

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def _auth_data(self, key: Key, flags: int) -> bytes:
        return hashlib.sha256(key.rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", key.counter)
