"""No party of the product relies on a chain node's developer methods (Besu has none)."""

from __future__ import annotations

import re

from tests.support import REPO

DEVELOPER_METHOD = re.compile(r"""["'](?:anvil|evm|hardhat)_[A-Za-z]+["']""")
"""A JSON-RPC method name of anvil's or hardhat's developer namespace, quoted in the code."""


def test_the_product_calls_no_developer_method_of_the_chain_node() -> None:
    calls = {
        path.relative_to(REPO).as_posix(): found
        for package in ("ledger", "opcua_server")
        for path in sorted((REPO / package).rglob("*.py"))
        if (found := DEVELOPER_METHOD.findall(path.read_text("utf-8")))
    }
    assert calls == {}
