"""LocalAnvil: a real anvil started on a free port, stopped cleanly, its state kept in a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.anvil import ANVIL_ENV, LocalAnvil, find_anvil
from ledger.chain import ChainClient
from ledger.errors import LocalChainError
from ledger.merkle import hash_leaf
from ledger.signing import SiteKey
from tests.integration.ledger.chain_node_kit import ipc_rpc
from tests.integration.ledger.ledger_chainkit import DEV_KEYS, raw_rpc

DEV_ADDRESS = SiteKey.from_hex(DEV_KEYS["admin"]).address
"""anvil's first well-known development account (mnemonic "test test ... junk")."""


async def test_start_reads_the_port_and_stop_ends_the_process() -> None:
    node = LocalAnvil(chain_id=777)
    await node.start()
    try:
        assert node.port > 0
        assert node.url == f"http://127.0.0.1:{node.port}"
        assert await raw_rpc(node.url, "eth_chainId") == hex(777)
        assert "Listening on 127.0.0.1:" in node.recent_output()
    finally:
        status = await node.stop()
    assert status is not None
    assert await node.stop() is None
    with pytest.raises(LocalChainError, match="not running"):
        _ = node.port


async def test_state_file_keeps_anchors_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "chain-state.json"
    root = hash_leaf(b"survives a restart")
    async with (
        LocalAnvil(chain_id=778, state=state) as node,
        await ChainClient.connect(node.url, 778, DEV_KEYS["admin"]) as admin,
    ):
        await admin.deploy()
        await admin.add_issuer(admin.address)
        await admin.anchor(root, 1)
        address = admin.contract_address
    assert state.stat().st_size > 0
    async with (
        LocalAnvil(chain_id=778, state=state) as node,
        await ChainClient.connect(
            node.url, 778, DEV_KEYS["outsider"], contract_address=address
        ) as reader,
    ):
        record = await reader.anchored_at(root)
    assert record is not None
    assert record.size == 1


async def test_a_binary_that_exits_at_once_is_reported() -> None:
    node = LocalAnvil(binary=Path("/bin/false"))
    with pytest.raises(LocalChainError, match="exited with status 1"):
        await node.start()
    with pytest.raises(LocalChainError, match="not running"):
        _ = node.url


async def test_a_missing_binary_is_reported(tmp_path: Path) -> None:
    with pytest.raises(LocalChainError, match="cannot execute"):
        await LocalAnvil(binary=tmp_path / "no-such-anvil").start()


async def test_starting_twice_is_refused() -> None:
    async with LocalAnvil(chain_id=779) as node:
        with pytest.raises(LocalChainError, match="already running"):
            await node.start()


def test_command_binds_loopback_with_an_os_chosen_port(tmp_path: Path) -> None:
    node = LocalAnvil(chain_id=5, state=tmp_path / "s.json", state_interval=5)
    assert node.command(Path("anvil")) == [
        "anvil",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--chain-id",
        "5",
        "--state",
        str(tmp_path / "s.json"),
        "--state-interval",
        "5",
    ]


def test_find_anvil_uses_node_modules_or_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ANVIL_ENV, raising=False)
    found = find_anvil()
    assert found.name == "anvil"
    assert found.is_file()
    monkeypatch.setenv(ANVIL_ENV, str(tmp_path / "my-anvil"))
    assert find_anvil() == tmp_path / "my-anvil"


def test_a_private_node_adds_its_socket_and_a_random_account(tmp_path: Path) -> None:
    node = LocalAnvil(chain_id=5, ipc=tmp_path / "anvil.ipc")
    assert node.command(Path("anvil"))[-5:] == [
        "--ipc",
        str(tmp_path / "anvil.ipc"),
        "--mnemonic-random",
        "--accounts",
        "1",
    ]


async def test_a_private_node_answers_on_its_socket_and_keeps_its_key_out_of_logs(
    tmp_path: Path,
) -> None:
    async with LocalAnvil(chain_id=780, ipc=tmp_path / "anvil.ipc") as node:
        assert node.endpoint == str(tmp_path / "anvil.ipc")
        assert await ipc_rpc(node.endpoint, "eth_chainId") == hex(780)
        funded = SiteKey.from_hex(node.dev_key).address
        accounts = await ipc_rpc(node.endpoint, "eth_accounts")
        assert [account.lower() for account in accounts] == [funded.lower()]
        assert funded.lower() != DEV_ADDRESS.lower(), "not anvil's well-known account"
        output = node.recent_output()
        assert node.dev_key[2:] not in output
        assert "Mnemonic:          <hidden>" in output
        if node.network_isolated:
            with pytest.raises(LocalChainError, match="network of its own"):
                _ = node.url


async def test_a_socket_path_too_long_for_unix_is_refused(tmp_path: Path) -> None:
    node = LocalAnvil(ipc=tmp_path / ("x" * 120) / "anvil.ipc")
    with pytest.raises(LocalChainError, match="longer than the 107 bytes"):
        await node.start()
