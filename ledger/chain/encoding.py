"""ABI values of the ledger contract: argument checks, the error and event tables, plain values."""

from __future__ import annotations

from ledger.contract import ContractArtifact
from ledger.errors import ChainError
from ledger.recursion import kept_recursion_limit

with kept_recursion_limit():  # py_ecc (under eth_account) raises it at import
    from eth_typing import ChecksumAddress
    from web3 import AsyncWeb3
    from web3.providers.async_base import AsyncBaseProvider

ZERO_ADDRESS = "0x" + "00" * 20
"""What the contract answers for an address it has no record of."""


def error_table(
    w3: AsyncWeb3[AsyncBaseProvider], artifact: ContractArtifact
) -> dict[bytes, tuple[str, list[str]]]:
    """Custom error selector -> (name, argument types) (Solidity ABI spec, "Errors")."""
    table: dict[bytes, tuple[str, list[str]]] = {}
    for entry in artifact.entries("error"):
        types = [str(i["type"]) for i in entry.get("inputs", [])]
        selector = bytes(w3.keccak(text=f"{entry['name']}({','.join(types)})"))[:4]
        table[selector] = (str(entry["name"]), types)
    return table


def event_table(w3: AsyncWeb3[AsyncBaseProvider], artifact: ContractArtifact) -> dict[bytes, str]:
    """Event topic 0 -> event name (Solidity ABI spec, "Events")."""
    table: dict[bytes, str] = {}
    for entry in artifact.entries("event"):
        types = ",".join(str(i["type"]) for i in entry.get("inputs", []))
        table[bytes(w3.keccak(text=f"{entry['name']}({types})"))] = str(entry["name"])
    return table


def checksum(address: str) -> ChecksumAddress:
    """``address`` in its EIP-55 form; ChainError when it is not an Ethereum address."""
    if not AsyncWeb3.is_address(address):
        raise ChainError(f"{address!r} is not an Ethereum address")
    return AsyncWeb3.to_checksum_address(address)


def bytes32(value: bytes, what: str) -> bytes:
    """``value`` as a ``bytes32`` argument; ChainError naming ``what`` when it is not 32 bytes."""
    if not isinstance(value, bytes) or len(value) != 32:
        raise ChainError(f"{what} must be 32 bytes")
    return bytes(value)


def uint64(value: int, what: str) -> int:
    """``value`` as a ``uint64`` argument; ChainError naming ``what`` when it does not fit."""
    if not 0 <= value < 2**64:
        raise ChainError(f"{what} must fit in 64 unsigned bits, got {value}")
    return value


def uint32(value: int, what: str) -> int:
    """``value`` as a ``uint32`` argument; ChainError naming ``what`` when it does not fit."""
    if not 0 <= value < 2**32:
        raise ChainError(f"{what} must fit in 32 unsigned bits, got {value}")
    return value


def uint40(value: int, what: str) -> int:
    """``value`` as a ``uint40`` argument (a Unix time); ChainError when it does not fit."""
    if not 0 <= value < 2**40:
        raise ChainError(f"{what} must fit in 40 unsigned bits, got {value}")
    return value


def currency_code(code: str) -> bytes:
    """An ISO 4217 code (three capital letters) as ``bytes3``; empty: three zero bytes."""
    if code == "":
        return bytes(3)
    if len(code) != 3 or not code.isascii() or not code.isalpha() or not code.isupper():
        raise ChainError(f"currency must be an ISO 4217 code such as EUR, got {code!r}")
    return code.encode("ascii")


def plain(value: object) -> object:
    """bytes-like values as bytes; everything else (ints, address strings) unchanged."""
    return bytes(value) if isinstance(value, bytes | bytearray) else value
