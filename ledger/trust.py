"""The verifier's trust anchor: the issuers it pins, their list format, or any issuer by choice."""

# A signature proves only that the key of the address a certificate names signed it: anyone
# can make a key, name its address as the issuer and build a Merkle tree of their own. What
# makes a bundle trusted is the issuer: online, the ledger contract's allow-list says who may
# anchor; offline, only the verifier's own list of trusted issuers can.
#
# A trusted issuer list (``trustfloor verify --issuers FILE``) is UTF-8 text in one of two forms:
#   text  one address per line; blank lines are skipped and ``#`` starts a comment;
#   JSON  when the first non-blank character is ``[`` or ``{``: an array of address strings, or
#         an object whose only member ``issuers`` is such an array.
# An address is 0x and 40 hex digits. Written in mixed case it must carry its EIP-55 checksum,
# so that a mistyped character is refused rather than pinning an account nobody holds.

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from ledger.errors import TrustedIssuersError
from ledger.signing import address_bytes, checksum_address

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


@dataclass(frozen=True, slots=True)
class IssuerTrust:
    """Whom a verifier trusts to issue certificates.

    ``pinned`` holds the trusted issuers' 20-byte addresses; when any are pinned, only they are
    trusted. With none pinned, ``any_issuer`` accepts every issuer (each report then carries a
    warning); without it, the issuer is not checked and no bundle is trusted offline.
    """

    pinned: frozenset[bytes] = frozenset()
    any_issuer: bool = False

    @classmethod
    def pinning(
        cls, addresses: Iterable[str], *, any_issuer: bool = False, source: str = "trusted issuers"
    ) -> IssuerTrust:
        """Trust exactly ``addresses``; TrustedIssuersError names the first malformed one."""
        checked = (
            checksummed(address, f"{source} item {number}")
            for number, address in enumerate(addresses, 1)
        )
        return cls(frozenset(bytes.fromhex(address[2:]) for address in checked), any_issuer)

    def trusts(self, address: str) -> bool:
        """Whether ``address`` (any letter case) is one of the pinned issuers."""
        return address_bytes(address) in self.pinned


NO_ISSUER_PINNED = IssuerTrust()
"""No trust anchor: offline, every bundle's issuer stays unchecked and the bundle untrusted."""


def checksummed(address: str, where: str) -> str:
    """``address`` in its EIP-55 form; TrustedIssuersError saying ``where`` it is wrong."""
    raw = address_bytes(address) if _ADDRESS.fullmatch(address) else None
    if raw is None:
        raise TrustedIssuersError(f"{where}: {address} is not an address (0x and 40 hex digits)")
    expected = checksum_address(raw)
    digits = address[2:]
    if digits not in (digits.lower(), digits.upper()) and address != expected:
        raise TrustedIssuersError(
            f"{where}: {address} fails its EIP-55 checksum: a character is mistyped"
        )
    return expected


class _IssuerFile(BaseModel):
    """The JSON object form of a trusted issuer list."""

    model_config = ConfigDict(extra="forbid", strict=True)

    issuers: list[str]


_JSON_LIST: TypeAdapter[list[str] | _IssuerFile] = TypeAdapter(list[str] | _IssuerFile)


def parse_issuers(text: str, source: str) -> tuple[str, ...]:
    """The EIP-55 addresses a trusted issuer list names, in its order.

    ``source`` names the list in errors: TrustedIssuersError gives the line (text) or item
    (JSON) of the first problem, or says that the list names no address.
    """
    if text.lstrip()[:1] in ("[", "{"):
        entries = _json_entries(text, source)
    else:
        entries = _text_entries(text, source)
    if not entries:
        raise TrustedIssuersError(f"{source} names no issuer address")
    return tuple(checksummed(address, where) for where, address in entries)


def _text_entries(text: str, source: str) -> list[tuple[str, str]]:
    """(where, address) of each line that holds more than a comment."""
    lines = (line.partition("#")[0].strip() for line in text.splitlines())
    return [(f"{source} line {n}", line) for n, line in enumerate(lines, 1) if line]


def _json_entries(text: str, source: str) -> list[tuple[str, str]]:
    """(where, address) of each item of the JSON form (parsed with a bounded nesting depth)."""
    try:
        parsed = _JSON_LIST.validate_json(text)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]["msg"]
        raise TrustedIssuersError(f"{source}: not a trusted issuer list: {problem}") from None
    addresses = parsed.issuers if isinstance(parsed, _IssuerFile) else parsed
    return [(f"{source} item {n}", address) for n, address in enumerate(addresses, 1)]
