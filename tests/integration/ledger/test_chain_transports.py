"""ChainClient over each transport a node offers: HTTP, WebSocket and a local IPC socket."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from config.settings import ChainSettings
from ledger.anvil import LocalAnvil
from ledger.chain import ChainClient
from ledger.errors import ChainError
from ledger.signing import SiteKey
from tests.integration.ledger.ledger_chainkit import CHAIN_ID, DEV_KEYS

ETHER = 10**18


async def test_a_websocket_url_reaches_the_node(anvil: LocalAnvil) -> None:
    url = f"ws://127.0.0.1:{anvil.port}"
    async with await ChainClient.connect(url, CHAIN_ID, DEV_KEYS["admin"]) as admin:
        await admin.deploy()
        await admin.add_issuer(admin.address)
        assert await admin.is_issuer(admin.address)


async def test_a_transfer_over_the_ipc_socket_funds_a_new_account(tmp_path: Path) -> None:
    newcomer = SiteKey.generate().address
    async with (
        LocalAnvil(chain_id=781, ipc=tmp_path / "anvil.ipc") as node,
        await ChainClient.connect(node.endpoint, 781, node.dev_key) as funder,
    ):
        outcome = await funder.transfer(newcomer, 3 * ETHER)
        assert outcome.block_number >= 1
        assert await funder.balance(newcomer) == 3 * ETHER
        with pytest.raises(ChainError, match="positive amount"):
            await funder.transfer(newcomer, 0)


async def test_an_endpoint_that_is_no_url_nor_socket_path_is_refused() -> None:
    with pytest.raises(ChainError, match="neither an http"):
        await ChainClient.connect("anvil.ipc", CHAIN_ID, DEV_KEYS["admin"])


async def test_a_missing_socket_is_reported_as_a_chain_error(tmp_path: Path) -> None:
    with pytest.raises(ChainError, match="cannot reach the chain"):
        await ChainClient.connect(str(tmp_path / "no.ipc"), CHAIN_ID, DEV_KEYS["admin"])


def test_chain_url_takes_http_and_websocket_urls() -> None:
    contract = "0x" + "ab" * 20
    for url in ("https://node.example:8545", "wss://node.example:8546"):
        assert ChainSettings(url=url, contract_address=contract).url == url
    with pytest.raises(ValidationError):
        ChainSettings(url="ftp://node.example", contract_address=contract)
