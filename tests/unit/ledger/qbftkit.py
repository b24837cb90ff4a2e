"""QBFT headers synthesised for tests: four validator keys (Besu's test keys), sealed headers."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from coincurve import PrivateKey

from ledger.qbft import BlockHeader, QbftExtraData, address_of, commit_seal_hash

VECTORS = json.loads(
    (Path(__file__).parents[2] / "testdata" / "qbft" / "besu_vectors.json").read_text()
)
KEYS = [PrivateKey.from_int(n) for n in VECTORS["header"]["validator_private_keys"]]
VALIDATORS = [address_of(key.public_key) for key in KEYS]
OUTSIDER = PrivateKey.from_int(5)


def unhex(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def rpc_block(extra: QbftExtraData, **changes: str) -> dict[str, str]:
    """An ``eth_getBlockByNumber`` answer of Besu's vector header carrying ``extra``."""
    notes = ("from", "validator_private_keys")
    fields = {k: v for k, v in VECTORS["header"].items() if k not in notes}
    return {
        **fields,
        "logsBloom": "0x" + "00" * 256,
        "extraData": "0x" + extra.encode().hex(),
        **changes,
    }


def sealed(signers: list[PrivateKey], round_number: int = 3, **changes: str) -> BlockHeader:
    """A QBFT header for the four validators, commit-sealed by ``signers``."""
    unsealed = QbftExtraData(bytes(32), tuple(VALIDATORS), None, round_number, ())
    header = BlockHeader.from_rpc(rpc_block(unsealed, **changes))
    digest = commit_seal_hash(header)
    seals = tuple(key.sign_recoverable(digest, hasher=None) for key in signers)
    return header.with_extra(replace(unsealed, seals=seals))
