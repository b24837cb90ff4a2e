"""The site's local chain node: dies with trustfloor, one per state file, reachable only by IPC."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from config.settings import ChainSettings, Settings
from ledger.anvil import LocalAnvil
from ledger.sitechain import open_site_chain
from tests.integration.ledger.chain_node_kit import (
    anvil_children,
    command_line,
    ipc_rpc,
    listening_socket_inodes,
    node_endpoint,
    socket_inodes,
    wait_until_ended,
)
from tests.integration.ledger.ledger_chainkit import raw_rpc
from tests.support import REPO

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHAIN_ID = 4344
NO_ENV: dict[str, str] = {}

SITE_PROCESS = """
import asyncio, sys
from pathlib import Path
from config.settings import ChainSettings, Settings
from ledger.sitechain import open_site_chain

async def main() -> None:
    settings = Settings(data_dir=Path(sys.argv[1]), chain=ChainSettings(chain_id=int(sys.argv[2])))
    async with open_site_chain(settings, {}):
        print("ready", flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""
"""A trustfloor process that runs the site's local chain node and waits to be killed."""


def site_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, chain=ChainSettings(chain_id=CHAIN_ID))


@asynccontextmanager
async def site_process(data_dir: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """A running site process that started its chain node; killed on exit if still alive."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SITE_PROCESS,
        str(data_dir),
        str(CHAIN_ID),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(60):
            assert await process.stdout.readline() == b"ready\n"
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def kill_leftovers(pids: list[int]) -> None:
    """Clean up after a failed run: the nodes the test found must not outlive it."""
    for pid in pids:
        if command_line(pid):
            os.kill(pid, signal.SIGKILL)


async def test_the_chain_node_dies_when_trustfloor_is_killed(tmp_path: Path) -> None:
    nodes: list[int] = []
    try:
        async with site_process(tmp_path) as site:
            nodes = anvil_children(site.pid, tmp_path / "chain")
            assert len(nodes) == 1
            os.kill(site.pid, signal.SIGKILL)  # trustfloor only, not its process group
            await site.wait()
            assert await wait_until_ended(nodes[0]), "the chain node outlived trustfloor"
    finally:
        kill_leftovers(nodes)
    state = json.loads((tmp_path / "chain" / "anvil-state.json").read_text("utf-8"))
    assert int(state["best_block_number"]) > 0, "the node saved its chain as it stopped"


async def test_a_restart_stops_the_node_a_killed_run_left_on_the_same_state(
    tmp_path: Path,
) -> None:
    settings = site_settings(tmp_path)
    chain = tmp_path / "chain"
    async with open_site_chain(settings, NO_ENV) as first:
        ledger = first.client.contract_address
    leftover = LocalAnvil(chain_id=CHAIN_ID, state=chain / "anvil-state.json", state_interval=5)
    await leftover.start()
    try:
        (orphan,) = anvil_children(os.getpid(), chain)
        (chain / "anvil.pid").write_text(f"{orphan}\n")  # as the killed run recorded it
        for _ in range(3):
            await raw_rpc(leftover.url, "evm_mine")
        leftover_head = int(await raw_rpc(leftover.url, "eth_blockNumber"), 16)
        async with open_site_chain(settings, NO_ENV) as restarted:
            assert not command_line(orphan), "the leftover node still runs beside the new one"
            assert restarted.client.contract_address == ledger
            endpoint = node_endpoint(chain)
            for _ in range(2):
                await ipc_rpc(endpoint, "evm_mine")
            head = int(await ipc_rpc(endpoint, "eth_blockNumber"), 16)
        assert head == leftover_head + 2, "the blocks the leftover saved as it stopped are kept"
    finally:
        await leftover.stop()
    state = json.loads((chain / "anvil-state.json").read_text("utf-8"))
    assert int(state["best_block_number"]) == head, "the state file holds the newest chain"


async def test_the_site_reaches_its_node_only_through_a_private_socket(tmp_path: Path) -> None:
    chain = tmp_path / "chain"
    async with open_site_chain(site_settings(tmp_path), NO_ENV):
        endpoint = node_endpoint(chain)
        record = json.loads((chain / "node.json").read_text("utf-8"))
        assert endpoint == str(chain / "anvil.ipc")
        assert stat.S_ISSOCK((chain / "anvil.ipc").stat().st_mode)
        assert stat.S_IMODE(chain.stat().st_mode) == 0o700
        assert await ipc_rpc(endpoint, "eth_chainId") == hex(CHAIN_ID)
        (node,) = anvil_children(os.getpid(), chain)
        if not record["network_isolated"]:
            pytest.skip("no unprivileged user namespaces here: the node's port is on 127.0.0.1")
        assert not socket_inodes(node) & listening_socket_inodes(), "a TCP port reaches the node"


async def test_the_site_account_is_funded_by_a_transfer_on_chain(tmp_path: Path) -> None:
    chain = tmp_path / "chain"
    async with open_site_chain(site_settings(tmp_path), NO_ENV) as site:
        endpoint = node_endpoint(chain)
        head = int(await ipc_rpc(endpoint, "eth_blockNumber"), 16)
        blocks = [
            await ipc_rpc(endpoint, "eth_getBlockByNumber", hex(number), True)
            for number in range(1, head + 1)
        ]
        balance = int(await ipc_rpc(endpoint, "eth_getBalance", site.client.address, "latest"), 16)
    payments = [
        tx
        for block in blocks
        for tx in block["transactions"]
        if (tx["to"] or "").lower() == site.client.address.lower() and int(tx["value"], 16) > 0
    ]
    assert len(payments) == 1
    assert balance > 0
