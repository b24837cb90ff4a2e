"""Print the QBFT validator addresses a genesis file pins, for verifiers to keep (JSON list)."""

# Usage: python deploy/besu-qbft/pin_validators.py networkFiles/genesis.json > validators.json
# The genesis extraData is RLP([vanity, [validators], vote, round, seals]) (Besu's
# QbftExtraDataCodec); ledger.qbft decodes it exactly as it decodes every block's extraData.

from __future__ import annotations

import json
import sys
from pathlib import Path

from ledger.qbft import QbftExtraData, QbftHeaderError


def pinned_validators(genesis: dict[str, object]) -> list[str]:
    """The validators in a genesis file's extraData, as 0x-prefixed lowercase addresses."""
    extra = str(genesis.get("extraData", ""))
    if not extra.startswith("0x"):
        raise QbftHeaderError("the genesis has no 0x extraData")
    validators = QbftExtraData.decode(bytes.fromhex(extra[2:])).validators
    return [f"0x{address.hex()}" for address in validators]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: pin_validators.py GENESIS_JSON", file=sys.stderr)
        return 2
    genesis = json.loads(Path(argv[1]).read_text("utf-8"))
    try:
        print(json.dumps(pinned_validators(genesis), indent=2))
    except QbftHeaderError as error:
        print(f"cannot read the validators: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
