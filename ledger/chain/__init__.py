"""The ledger contract over Ethereum JSON-RPC: the only package that imports web3."""

from __future__ import annotations

from ledger.chain.client import ChainClient

__all__ = ["ChainClient"]
