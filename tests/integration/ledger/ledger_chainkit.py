"""Shared pieces of the ledger chain tests: dev keys, Ledger, raw JSON-RPC, a printing Site."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

from config.settings import ChainSettings, Settings
from ledger.anchoring import AnchoringReport
from ledger.batcher import BatchPolicy
from ledger.chain import ChainClient
from ledger.commands import design_register, designs_dir, open_ledger
from ledger.designs import design_folder
from ledger.issuing import SignedRecord
from ledger.service import LedgerService
from ledger.signing import SiteKey
from ledger.store import LedgerStore
from ledger.witnessing import SiteLog
from models.parts import InspectionResult, MachineHealth, Sample
from models.timebase import ManualClock
from tests.unit.ledger.ledgerkit import T0, good_samples, write_design

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


def site_key(role: str) -> SiteKey:
    """The SiteKey of one of the development accounts."""
    return SiteKey.from_hex(DEV_KEYS[role])


@dataclass
class Site:
    """A printing site's ledger service on a store in a temporary folder, its clock at hand."""

    service: LedgerService
    clock: ManualClock
    designs: Path

    @property
    def store(self) -> LedgerStore:
        return self.service.store

    def install(self, source: Path, design_id: str = "pump-impeller", revision: str = "C") -> Path:
        """Copy a released design folder to where the printer agent reads it."""
        target = design_folder(self.designs, design_id, revision)
        shutil.copytree(source, target)
        return target

    async def print_part(
        self,
        serial: str,
        *,
        samples: list[Sample] | None = None,
        layers_done: int = 412,
        inspections: tuple[InspectionResult, ...] = (),
    ) -> SignedRecord:
        """Run one job from start to certificate: what the site does for every part."""
        job = await self.service.start_job(
            serial=serial,
            design_id="pump-impeller",
            revision="C",
            printer="am-cell-2",
            order_id="PO-88123",
            material_lot="Ti64-L2291",
            layers_planned=412,
        )
        await self.service.record_samples(
            job.job_id, samples if samples is not None else good_samples(self.clock.now(), 30)
        )
        self.clock.advance(30)
        await self.service.finish_job(job.job_id, layers_done)
        for inspection in inspections:
            await self.service.add_inspection(serial, inspection)
        return await self.service.issue_certificate(
            serial, MachineHealth(model_version="rul-hgb-3", score=0.08)
        )

    async def anchor_now(self) -> AnchoringReport:
        """Let the batch age out and run one tick: seal and anchor."""
        self.clock.advance(61)
        return await self.service.tick()


def make_site(
    folder: Path, chain: ChainClient | None, role: str = "issuer", log: SiteLog | None = None
) -> Site:
    clock = ManualClock(T0)
    designs = folder / "designs"
    service = LedgerService(
        LedgerStore(folder / "ledger.sqlite"),
        site_key(role),
        clock=clock,
        policy=BatchPolicy(10, timedelta(seconds=60)),
        designs_dir=designs,
        chain=chain,
        log=log,
    )
    return Site(service, clock, designs)


LOCAL_CHAIN_ID = 4343
NO_ENV: dict[str, str] = {}
"""No environment: the local chain's generated key, never the developer's variables."""


def local_settings(folder: Path) -> Settings:
    """A site in ``folder`` on its own local chain (anvil started in the data directory)."""
    return Settings(data_dir=folder, chain=ChainSettings(chain_id=LOCAL_CHAIN_ID))


async def print_part(
    settings: Settings,
    serial: str,
    layers_done: int = 412,
    *,
    samples: list[Sample] | None = None,
    seconds: int = 20,
) -> None:
    """Print, certify, seal and anchor one part through the CLI's ledger (``open_ledger``): a
    job of ``seconds`` with ``samples`` (good ones when none are given)."""
    clock = ManualClock(T0)
    async with open_ledger(settings, NO_ENV, clock) as ledger:
        job = await ledger.start_job(
            serial=serial,
            design_id="pump-impeller",
            revision="C",
            printer="am-cell-2",
            order_id="PO-7",
            material_lot="Ti64-L2291",
            layers_planned=412,
        )
        await ledger.record_samples(job.job_id, samples or good_samples(clock.now(), seconds))
        clock.advance(seconds)
        await ledger.finish_job(job.job_id, layers_done)
        await ledger.issue_certificate(serial)
        clock.advance(61)
        report = await ledger.tick()
        assert report.failures == []


async def licensed_site(folder: Path, quota: int = 3) -> Settings:
    """A site in ``folder / "var"`` on its local chain, the released design registered with a
    licence of ``quota`` pieces and installed beside its printer."""
    settings = local_settings(folder / "var")
    released = write_design(folder / "released")
    await design_register(settings, released, quota=quota, environ=NO_ENV)
    shutil.copytree(released, designs_dir(settings) / "pump-impeller" / "C")
    return settings
