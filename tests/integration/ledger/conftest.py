"""Fixtures for the chain tests: one real anvil per session, a fresh contract per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from ledger.anvil import LocalAnvil
from ledger.chain import ChainClient
from tests.integration.ledger.ledger_chainkit import CHAIN_ID, DEV_KEYS, Ledger


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def anvil() -> AsyncIterator[LocalAnvil]:
    """A real anvil on 127.0.0.1 with a port the OS chose, shared by the session."""
    async with LocalAnvil(chain_id=CHAIN_ID) as node:
        yield node


@pytest.fixture
def anvil_url(anvil: LocalAnvil) -> str:
    """The JSON-RPC URL of the session's anvil."""
    return anvil.url


@pytest_asyncio.fixture(loop_scope="session")
async def ledger(anvil: LocalAnvil) -> AsyncIterator[Ledger]:
    """A new contract deployed by the admin; the other roles hold no rights yet."""
    admin = await ChainClient.connect(anvil.url, CHAIN_ID, DEV_KEYS["admin"])
    clients = [admin]
    try:
        await admin.deploy()
        for role in ("issuer", "oem", "outsider", "other_oem"):
            clients.append(
                await ChainClient.connect(
                    anvil.url, CHAIN_ID, DEV_KEYS[role], contract_address=admin.contract_address
                )
            )
        yield Ledger(anvil.url, *clients)
    finally:
        for client in clients:
            await client.close()
