"""Billing statements as documents: the canonical form, its digest, signatures, the hash chain."""

# =================================================================================================
# FROZEN FORMAT: a statement's digest is SHA-256(STATEMENT_TAG_V1 || RFC 8785 JSON of the
# statement document). The site signs the digest, the OEM countersigns the same digest, and the
# next statement names it as ``previous``. Changing the document's layout breaks every signed
# statement and the chain they form: publish trustfloor.statement/2 instead.
# =================================================================================================

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from ledger.canonical import JsonObject, canonical_json
from ledger.errors import StatementError
from ledger.signing import SiteKey, recover_address
from models import JsonLimits, JsonTextError, parse_json_text

STATEMENT_SCHEMA = "trustfloor.statement/1"
STATEMENT_TAG_V1 = b"trustfloor-statement-v1\x00"
"""Domain tag of a statement's digest, so it can never be taken for another signed record."""
STATEMENT_LIMITS = JsonLimits(max_length=64 * 1024 * 1024)
"""A statement lists every piece of a month with its proof: tens of thousands of lines."""


@dataclass(frozen=True, slots=True)
class SignedStatement:
    """A statement document with the site's signature and, once accepted, the OEM's."""

    document: JsonObject
    signature: bytes
    countersignature: bytes | None = None

    @property
    def digest(self) -> bytes:
        """What both parties sign and the next statement names as ``previous``."""
        return statement_digest(self.document)

    def signer(self) -> str:
        """The address that signed the statement (should be its site)."""
        return recover_address(self.digest, self.signature)

    def countersigner(self) -> str | None:
        """The address that countersigned it (should be its OEM), None when not yet."""
        if self.countersignature is None:
            return None
        return recover_address(self.digest, self.countersignature)

    def countersigned(self, key: SiteKey) -> SignedStatement:
        """The statement accepted by ``key`` (the OEM's)."""
        return SignedStatement(self.document, self.signature, key.sign(self.digest))

    def to_json(self) -> str:
        """The statement file: the document, the site's signature, the OEM's countersignature."""
        counter = None if self.countersignature is None else "0x" + self.countersignature.hex()
        body = {
            "statement": self.document,
            "digest": "0x" + self.digest.hex(),
            "signature": "0x" + self.signature.hex(),
            "countersignature": counter,
        }
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def statement_digest(document: JsonObject) -> bytes:
    """SHA-256(STATEMENT_TAG_V1 || RFC 8785 JSON of ``document``)."""
    return hashlib.sha256(STATEMENT_TAG_V1 + canonical_json(document)).digest()


def sign_statement(document: JsonObject, key: SiteKey) -> SignedStatement:
    """The site's signed statement."""
    return SignedStatement(document, key.sign(statement_digest(document)))


def read_statement(text: str) -> SignedStatement:
    """Parse a statement file; StatementError naming what is malformed."""
    try:
        raw = parse_json_text(text, what="statement", limits=STATEMENT_LIMITS)
    except JsonTextError as exc:
        raise StatementError(f"the statement file is not JSON: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("statement"), dict):
        raise StatementError("the statement file holds no statement object")
    document = raw["statement"]
    if document.get("schema") != STATEMENT_SCHEMA:
        raise StatementError(f"the statement's schema is not {STATEMENT_SCHEMA}")
    return SignedStatement(document, _signature(raw.get("signature"), "signature"), _optional(raw))


def _optional(raw: dict[str, object]) -> bytes | None:
    value = raw.get("countersignature")
    return None if value is None else _signature(value, "countersignature")


def _signature(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise StatementError(f"the statement's {what} is missing")
    try:
        signature = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise StatementError(f"the statement's {what} is not hexadecimal") from None
    if len(signature) != 65:
        raise StatementError(f"the statement's {what} is not 65 bytes")
    return signature


@dataclass(frozen=True, slots=True)
class Period:
    """A billing month, [start, end) in UTC."""

    name: str
    start: datetime
    end: datetime

    @classmethod
    def parse(cls, text: str) -> Period:
        """``YYYY-MM``; StatementError when it is not a month."""
        try:
            start = datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC)
        except ValueError:
            raise StatementError(f"period {text!r} is not a month written YYYY-MM") from None
        end = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else (start.replace(month=start.month + 1))
        )
        return cls(text, start, end)
