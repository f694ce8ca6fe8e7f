"""WebAuthn (passkeys) as bytes and values: the options a browser needs, and the checks of what
it sends back. The only module that uses the `fido2` library (Yubico's WebAuthn server).

No I/O: the ceremony's state (its challenge) is a dict the caller keeps in the database until
the answer comes, so that any portal node can finish a ceremony another node started.

The rules (issue 12; WebAuthn Level 2, sections 7.1 and 7.2): the origin must be exactly the
configured portal's; the relying-party id is its host; user verification is required; the
credential must be discoverable (no address to type); attestation is not asked for ("none"):
a passkey authenticates a person, it proves nothing about the device's maker.
"""

import json
import urllib.parse
from dataclasses import dataclass

from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestedCredentialData,
    AuthenticationResponse,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ..base.errors import PasskeyRejected

CEREMONY_SECONDS = 300  # the browser's timeout (the caller keeps the challenge as long)
MAX_RESPONSE = 64 * 1024  # a credential's JSON is a few KB; more is not a browser's answer


@dataclass(frozen=True)
class RelyingParty:
    id: str  # the portal's host name: what a passkey is bound to
    name: str  # shown by the browser ("webcrypt", the organisation's name)
    origin: str  # scheme://host[:port], exactly as the browser reports it

    def server(self) -> Fido2Server:
        return Fido2Server(PublicKeyCredentialRpEntity(name=self.name, id=self.id),
                           attestation="none", verify_origin=lambda origin: origin == self.origin)


def relying_party(portal_url: str, name: str) -> RelyingParty:
    """The relying party of the portal at *portal_url* (``portal.url``)."""
    parts = urllib.parse.urlsplit(portal_url)
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return RelyingParty(id=parts.hostname or "", name=name or "webcrypt", origin=f"{parts.scheme}://{parts.hostname}{port}")


@dataclass(frozen=True)
class NewPasskey:
    credential_id: bytes
    credential: bytes  # the attested credential data (id and public key), as stored
    sign_count: int


@dataclass(frozen=True)
class Presented:
    """What a sign-in answer claims before it is checked: whose passkey it would be."""

    credential_id: bytes
    user_handle: bytes | None


def registration(rp: RelyingParty, user_handle: bytes, name: str, display_name: str,
                 existing: list[bytes]) -> tuple[dict, dict]:
    """(the options for navigator.credentials.create as JSON, the state to keep)."""
    user = PublicKeyCredentialUserEntity(name=name, id=user_handle, display_name=display_name)
    options, state = rp.server().register_begin(
        user, credentials=[AttestedCredentialData(c) for c in existing],
        resident_key_requirement=ResidentKeyRequirement.REQUIRED,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    public_key = dict(options)["publicKey"]
    public_key["timeout"] = CEREMONY_SECONDS * 1000
    return public_key, dict(state)


def registered(rp: RelyingParty, state: dict, answer: str) -> NewPasskey:
    """The passkey a create() answer registers; PasskeyRejected when any check fails."""
    response = _parsed(answer, RegistrationResponse)
    try:
        auth_data = rp.server().register_complete(state, response)
    except (ValueError, KeyError, TypeError) as e:
        raise PasskeyRejected(f"registration refused: {e}") from None
    credential = auth_data.credential_data
    return NewPasskey(bytes(credential.credential_id), bytes(credential), auth_data.counter)


def authentication(rp: RelyingParty) -> tuple[dict, dict]:
    """(the options for navigator.credentials.get as JSON, the state to keep). No credentials
    are listed: the browser offers the passkeys it holds for this site, so that the page
    never tells whether an address has one."""
    options, state = rp.server().authenticate_begin(user_verification=UserVerificationRequirement.REQUIRED)
    public_key = dict(options)["publicKey"]
    public_key["timeout"] = CEREMONY_SECONDS * 1000
    return public_key, dict(state)


def presented(answer: str) -> Presented:
    """Whose passkey a get() answer names (unchecked: only to find the stored key)."""
    response = _parsed(answer, AuthenticationResponse)
    return Presented(bytes(response.raw_id), _user_handle(response))


def verified(rp: RelyingParty, state: dict, answer: str, credential: bytes, stored_count: int) -> int:
    """Check a get() answer against the stored *credential*; the authenticator's new signature
    counter. PasskeyRejected for a wrong origin, relying party, challenge, signature, missing user
    verification, or a counter that did not move forward where the authenticator keeps one
    (a cloned authenticator)."""
    response = _parsed(answer, AuthenticationResponse)
    try:
        rp.server().authenticate_complete(state, [AttestedCredentialData(credential)], response)
    except (ValueError, KeyError, TypeError) as e:
        raise PasskeyRejected(f"sign-in refused: {e}") from None
    counter = response.response.authenticator_data.counter
    if (counter or stored_count) and counter <= stored_count:
        raise PasskeyRejected(f"sign-in refused: the signature counter went back ({counter} after {stored_count})")
    return counter


def _parsed(answer: str, kind):
    if not answer or len(answer) > MAX_RESPONSE:
        raise PasskeyRejected("no passkey answer, or one far too large")
    try:
        return kind.from_dict(json.loads(answer))
    except Exception as e:  # any malformed JSON, base64 or CBOR: fido2 raises many kinds
        raise PasskeyRejected(f"malformed passkey answer ({type(e).__name__})") from None


def _user_handle(response: AuthenticationResponse) -> bytes | None:
    handle = response.response.user_handle
    return bytes(handle) if handle else None
