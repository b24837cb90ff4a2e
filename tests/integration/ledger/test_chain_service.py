"""The consortium's chain node as a process of its own; the site connects by URL, starts none."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from config.settings import ChainSettings, Settings
from ledger import Admission, ChainServiceInfo, SiteKey, allow_parties
from ledger.errors import ChainNodeUnreachableError
from ledger.sitechain import open_site_chain, record_consortium, recorded_admin
from opcua_server.demo.consortium import chain_service
from tests.support import free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHAIN_ID = 4346


@dataclass(frozen=True)
class Consortium:
    folder: Path
    site: SiteKey
    oem: SiteKey
    info: ChainServiceInfo


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def consortium(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Consortium]:
    folder = tmp_path_factory.mktemp("consortium")
    site, oem = SiteKey.generate(), SiteKey.generate()
    admit = Admission(issuers=(site.address,), oems=(oem.address,))
    async with chain_service(folder, CHAIN_ID, admit) as info:
        yield Consortium(folder, site, oem, info)


def connected_site(data_dir: Path, info: ChainServiceInfo) -> Settings:
    chain = ChainSettings(url=info.url, chain_id=info.chain_id, contract_address=info.contract)
    return Settings(data_dir=data_dir, chain=chain)


async def test_the_service_serves_a_ledger_its_admin_deployed_on_a_loopback_url(
    consortium: Consortium,
) -> None:
    info = consortium.info
    assert info.url.startswith("http://127.0.0.1:")
    assert info.chain_id == CHAIN_ID
    folder_mode = stat.S_IMODE(consortium.folder.stat().st_mode)
    key_mode = stat.S_IMODE((consortium.folder / "admin.key").stat().st_mode)
    assert (folder_mode, key_mode) == (0o700, 0o600)
    assert SiteKey.from_hex((consortium.folder / "admin.key").read_text()).address == info.admin


async def test_a_site_connects_by_url_allow_listed_and_funded_and_runs_no_node(
    consortium: Consortium, tmp_path: Path
) -> None:
    settings = connected_site(tmp_path, consortium.info)
    environ = {settings.chain.key_env: consortium.site.secret_hex()}
    async with open_site_chain(settings, environ) as site:
        client = site.client
        assert not site.local
        assert client.contract_address == consortium.info.contract
        assert await client.admin() == consortium.info.admin
        assert await client.is_issuer(consortium.site.address)
        assert await client.is_oem(consortium.oem.address)
        assert await client.balance(consortium.site.address) > 0
        assert await client.balance(consortium.oem.address) > 0
        head, _ = await client.head()
        assert await client.qbft_header(head) is None, "anvil's blocks carry no QBFT seals"
    assert not (tmp_path / "chain").exists(), "the site kept no chain of its own"


async def test_a_data_directory_that_records_the_consortium_node_uses_it_for_every_command(
    consortium: Consortium, tmp_path: Path
) -> None:
    info = consortium.info
    settings = Settings(data_dir=tmp_path, chain=ChainSettings(chain_id=CHAIN_ID))
    record_consortium(settings, info.url, info.contract, consortium.folder / "admin.key")
    assert recorded_admin(settings) == info.admin
    newcomer = SiteKey.generate()
    assert await allow_parties(settings, {}, sites=[newcomer.address]) == [
        f"site {newcomer.address} allow-listed and funded for gas"
    ]
    async with open_site_chain(settings, {}) as site:
        assert (site.client.contract_address, site.local) == (info.contract, False)
        assert await site.client.is_issuer(newcomer.address)
    assert not (tmp_path / "chain" / "anvil-state.json").exists(), "no node of its own"


async def test_a_site_whose_chain_url_does_not_answer_refuses_to_start_a_node(
    tmp_path: Path,
) -> None:
    chain = ChainSettings(
        url=f"http://127.0.0.1:{free_port()}",
        chain_id=CHAIN_ID,
        contract_address="0x" + "11" * 20,
        timeout_s=2,
    )
    settings = Settings(data_dir=tmp_path, chain=chain)
    environ = {settings.chain.key_env: SiteKey.generate().secret_hex()}
    with pytest.raises(ChainNodeUnreachableError) as refused:
        async with open_site_chain(settings, environ):
            pass
    assert "starts no chain node of its own" in str(refused.value)
    assert "trustfloor chain serve" in refused.value.advice
    assert not (tmp_path / "chain").exists(), "no local node was started in its place"


async def test_a_restarted_service_keeps_its_ledger(tmp_path: Path) -> None:
    async with chain_service(tmp_path, CHAIN_ID, Admission()) as first:
        pass
    async with chain_service(tmp_path, CHAIN_ID, Admission()) as again:
        assert (again.contract, again.admin) == (first.contract, first.admin)
