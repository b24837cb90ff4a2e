"""Shared pieces of the ledger chain tests: dev keys, the per-test Ledger, raw JSON-RPC."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from ledger.chain import ChainClient

CHAIN_ID = 4242

# anvil's well-known development accounts (mnemonic "test test ... junk"). TESTS ONLY: these
# keys are public and must never hold anything of value.
DEV_KEYS = {
    "admin": "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "issuer": "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "oem": "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "outsider": "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "other_oem": "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
}


@dataclass
class Ledger:
    """A freshly deployed ledger and a client per role, all on the session's anvil."""

    url: str
    admin: ChainClient
    issuer: ChainClient
    oem: ChainClient
    outsider: ChainClient
    other_oem: ChainClient

    async def rpc(self, method: str, *params: Any) -> Any:
        """A raw JSON-RPC call (anvil's test methods such as evm_mine)."""
        return await raw_rpc(self.url, method, *params)


async def raw_rpc(url: str, method: str, *params: Any) -> Any:
    """POST one JSON-RPC request and return its result (test helper, no web3)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        reply = json.loads(await response.text())
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]
