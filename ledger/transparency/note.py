"""C2SP signed-note (v1.0.0): Ed25519 note signatures, cosignature/v1 lines, verifier keys."""

# A signed note is its text (ending in a newline), a blank line, then one line per signature:
# "— <key name> base64(key id || signature)". The key id is the first four bytes of
# SHA-256(key name || "\n" || signature type || public key). Type 0x01 signs the text itself
# (Ed25519, RFC 8032); type 0x04 is a timestamped cosignature (c2sp.org/tlog-cosignature), which
# signs "cosignature/v1\ntime <t>\n" || text and carries the 8-byte timestamp before the signature.

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.errors import LedgerError

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
SIGNATURE_TYPES = frozenset({ED25519, COSIGNATURE_V1})
DASH = "\u2014"
MAX_SIGNATURES = 64
"""Signature lines a note may carry (the spec asks verifiers to accept at least 16)."""
MAX_TIMESTAMP = 2**63 - 1


class NoteError(LedgerError):
    """A signed note, a signature line or a verifier key is malformed or does not verify."""


@lru_cache(maxsize=1024)
def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || type || public key)[:4] (signed-note, Signatures); the ids of
    the few keys a process meets are kept."""
    material = name.encode() + b"\n" + bytes([signature_type]) + public_key
    return hashlib.sha256(material).digest()[:4]


_SPACE_OR_PLUS = re.compile(r"[\s+]")
r"""What a key name must not hold (``\s`` of a str pattern is exactly ``str.isspace``)."""
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
"""The control characters a note must not hold (newline aside)."""


def check_key_name(name: str) -> str:
    """``name`` when it is a valid key name: non-empty, no spaces, no plus sign."""
    if not name or _SPACE_OR_PLUS.search(name):
        raise NoteError(f"key name {name!r} must be non-empty with no spaces and no '+'")
    return name


def cosigned_message(text: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs (tlog-cosignature, Ed25519 signed message)."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: key name, key id, and the signature bytes after the id."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        encoded = base64.b64encode(self.key_id + self.signature).decode()
        return f"{DASH} {self.name} {encoded}\n"

    @property
    def timestamp(self) -> int:
        """The cosignature/v1 timestamp (the first 8 bytes, big-endian)."""
        if len(self.signature) != 72:
            raise NoteError(f"a cosignature/v1 from {self.name} is 72 bytes after its key id")
        (value,) = struct.unpack(">Q", self.signature[:8])
        return int(value)

    @classmethod
    def parse(cls, line: str) -> NoteSignature:
        """A signature line without its newline."""
        prefix = f"{DASH} "
        if not line.startswith(prefix):
            raise NoteError(f"a signature line starts with an em dash and a space: {line!r}")
        name, _, encoded = line[len(prefix) :].rpartition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error as error:
            raise NoteError(f"signature of {name!r} is not base64") from error
        if len(blob) < 5:
            raise NoteError(f"signature of {name!r} is too short")
        return cls(check_key_name(name), blob[:4], blob[4:])


@dataclass(frozen=True, slots=True)
class Note:
    """A note's text and its signature lines, in order."""

    text: str
    signatures: tuple[NoteSignature, ...] = ()

    def render(self) -> str:
        """The signed note as text: the text, a blank line, the signature lines."""
        return self.text + "\n" + "".join(s.line() for s in self.signatures)

    def with_signatures(self, signatures: Sequence[NoteSignature]) -> Note:
        return Note(self.text, (*self.signatures, *signatures))

    @classmethod
    def parse(cls, message: str) -> Note:
        """Split a signed note at its last blank line (signed-note, Format).

        Notes are immutable: one parsed recently is given again (a batch's bundles all carry
        its checkpoint).
        """
        return _parsed_note(message)

    @classmethod
    def _parse(cls, message: str) -> Note:
        if _CONTROL.search(message):
            raise NoteError("a note must not contain control characters other than newline")
        if not message.endswith("\n"):
            raise NoteError("a signed note ends with a newline")
        split = message.rfind("\n\n")
        if split < 0:
            raise NoteError("a signed note has a blank line before its signatures")
        text, lines = message[: split + 1], message[split + 2 :].splitlines()
        if not lines:
            raise NoteError("a signed note has at least one signature line")
        if len(lines) > MAX_SIGNATURES:
            raise NoteError(f"a note may carry at most {MAX_SIGNATURES} signatures")
        return cls(text, tuple(NoteSignature.parse(line) for line in lines))


@dataclass(frozen=True, slots=True)
class Verifier:
    """A known key: name, signature type (0x01 note, 0x04 cosignature/v1), Ed25519 public key."""

    name: str
    signature_type: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.signature_type, self.public_key)

    def vkey(self) -> str:
        """``<name>+hex(key id)+base64(type || public key)`` (signed-note, Verifier keys)."""
        material = base64.b64encode(bytes([self.signature_type]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parse a verifier key; NoteError when its parts or its key id do not hold (a key
        parsed recently is given again: verifiers are immutable)."""
        return _parsed_vkey(vkey)

    @classmethod
    def _from_vkey(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError(f"a verifier key is name+keyid+key: {vkey!r}")
        name, hex_id, encoded = parts
        try:
            material = base64.b64decode(encoded, validate=True)
            wanted = bytes.fromhex(hex_id)
        except (binascii.Error, ValueError) as error:
            raise NoteError(f"verifier key {vkey!r} is not hex and base64") from error
        if len(material) != 33 or material[0] not in SIGNATURE_TYPES:
            raise NoteError(f"verifier key {vkey!r} is not an Ed25519 key of type 0x01 or 0x04")
        verifier = cls(check_key_name(name), material[0], material[1:])
        if len(hex_id) != 8 or verifier.key_id != wanted:
            raise NoteError(f"verifier key {vkey!r} has the wrong key id")
        return verifier

    def matches(self, signature: NoteSignature) -> bool:
        return signature.name == self.name and signature.key_id == self.key_id

    def verify(self, text: str, signature: NoteSignature) -> bool:
        """Whether ``signature`` (of this key) signs ``text``."""
        if self.signature_type == COSIGNATURE_V1:
            if len(signature.signature) != 72:
                return False
            message, raw = cosigned_message(text, signature.timestamp), signature.signature[8:]
        else:
            message, raw = text.encode(), signature.signature
        return _ed25519_verifies(self.public_key, raw, message)


@dataclass(frozen=True, slots=True)
class Signer:
    """A private Ed25519 key under a name, signing notes (0x01) or cosignatures (0x04)."""

    name: str
    signature_type: int
    private_key: Ed25519PrivateKey

    @classmethod
    def from_seed(cls, name: str, seed: bytes, signature_type: int = ED25519) -> Signer:
        if signature_type not in SIGNATURE_TYPES:
            raise NoteError(f"signature type {signature_type:#04x} is not 0x01 or 0x04")
        key = Ed25519PrivateKey.from_private_bytes(seed)
        return cls(check_key_name(name), signature_type, key)

    def verifier(self) -> Verifier:
        public = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return Verifier(self.name, self.signature_type, public)

    def sign(self, text: str, timestamp: int = 0) -> NoteSignature:
        """The signature line over ``text``; a cosignature needs 0 < ``timestamp`` < 2^63."""
        if self.signature_type == COSIGNATURE_V1:
            if not 0 < timestamp <= MAX_TIMESTAMP:
                raise NoteError("a cosignature/v1 needs a timestamp in 1..2^63-1")
            raw = struct.pack(">Q", timestamp) + self.private_key.sign(
                cosigned_message(text, timestamp)
            )
        else:
            raw = self.private_key.sign(text.encode())
        return NoteSignature(self.name, self.verifier().key_id, raw)


def verify_note(note: Note, verifiers: Sequence[Verifier]) -> tuple[NoteSignature, ...]:
    """The signatures of known keys, all verified (signed-note, Signatures).

    Signatures of unknown keys are ignored; a known key's signature that fails rejects the
    whole note; a note with no verified known signature is rejected.
    """
    verified: list[NoteSignature] = []
    for signature in note.signatures:
        for verifier in verifiers:
            if not verifier.matches(signature):
                continue
            if not verifier.verify(note.text, signature):
                raise NoteError(f"the signature of {signature.name} does not verify")
            verified.append(signature)
    if not verified:
        raise NoteError("no signature of a known key: the note cannot be trusted")
    return tuple(verified)


@lru_cache(maxsize=256)
def _parsed_note(message: str) -> Note:
    return Note._parse(message)


@lru_cache(maxsize=256)
def _parsed_vkey(vkey: str) -> Verifier:
    return Verifier._from_vkey(vkey)


@lru_cache(maxsize=4096)
def _ed25519_verifies(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` by ``public_key`` signs ``message`` (RFC 8032). The answer depends
    on these bytes alone, so a recent one is given again: every bundle of a batch carries the
    same checkpoint."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
