"""The site key: recoverable signatures, EIP-55 addresses, and refusals of bad signatures."""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import SigningError
from ledger.signing import SiteKey, checksum_address, recover_address, same_address
from tests.unit.ledger.ledgerkit import DEV_ADDRESS_0, DEV_KEY_0

DIGEST = hashlib.sha256(b"a leaf").digest()
ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def test_the_address_is_the_ethereum_account_of_the_key() -> None:
    assert SiteKey.from_hex(DEV_KEY_0).address == DEV_ADDRESS_0
    assert SiteKey.from_hex(DEV_KEY_0[2:]).address == DEV_ADDRESS_0


@pytest.mark.parametrize(
    "address",
    [  # EIP-55 test vectors
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ],
)
def test_checksum_addresses_follow_eip55(address: str) -> None:
    assert checksum_address(bytes.fromhex(address[2:])) == address
    assert same_address(address.lower(), address)


def test_signatures_match_an_independent_implementation() -> None:
    key = SiteKey.from_hex(DEV_KEY_0)
    signature = key.sign(DIGEST)
    theirs = Account.unsafe_sign_hash(DIGEST, DEV_KEY_0)
    assert signature[:32] == theirs.r.to_bytes(32, "big")
    assert signature[32:64] == theirs.s.to_bytes(32, "big")
    assert signature[64] == theirs.v - 27
    assert recover_address(DIGEST, signature) == DEV_ADDRESS_0


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
def test_every_signature_recovers_its_signer_and_no_other_digest(
    secret: bytes, digest: bytes
) -> None:
    if not 0 < int.from_bytes(secret, "big") < ORDER:
        return
    key = SiteKey(secret)
    signature = key.sign(digest)
    assert recover_address(digest, signature) == key.address
    other = bytes([digest[0] ^ 1]) + digest[1:]
    with contextlib.suppress(SigningError):  # recovering no key at all is a refusal too
        assert recover_address(other, signature) != key.address


def test_high_s_and_malformed_signatures_are_refused() -> None:
    signature = SiteKey.from_hex(DEV_KEY_0).sign(DIGEST)
    s = int.from_bytes(signature[32:64], "big")
    flipped = signature[:32] + (ORDER - s).to_bytes(32, "big") + bytes([signature[64] ^ 1])
    with pytest.raises(SigningError, match="EIP-2"):
        recover_address(DIGEST, flipped)
    with pytest.raises(SigningError, match="65 bytes"):
        recover_address(DIGEST, signature[:64])
    with pytest.raises(SigningError, match="recovery id"):
        recover_address(DIGEST, signature[:64] + b"\x02")
    with pytest.raises(SigningError, match="recovers no public key"):
        recover_address(DIGEST, bytes(64) + b"\x00")


def test_keys_are_checked_and_never_shown() -> None:
    for bad in ("0x" + "00" * 32, "zz" * 32, "0x1234", f"{ORDER:064x}"):
        with pytest.raises(SigningError) as caught:
            SiteKey.from_hex(bad)
        assert bad.removeprefix("0x") not in caught.value.diagnostics()
    key = SiteKey.from_hex(DEV_KEY_0)
    assert DEV_KEY_0[2:] not in repr(key)
    assert SiteKey.from_hex(key.secret_hex()).address == key.address
    assert SiteKey.generate().address != SiteKey.generate().address
    with pytest.raises(SigningError, match="32-byte digest"):
        key.sign(b"short")
