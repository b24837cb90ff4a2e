"""Three parties on one chain: the consortium admin, one OEM and two printing sites, each with
its own key: licensed printing, refusals, and a month's statement that verifies and chains."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from config.settings import ChainSettings, Settings
from ledger.anvil import LocalAnvil
from ledger.billing import (
    accept_statement,
    issue_statements,
    read_statement,
    render_issued,
    verify_statement_file,
)
from ledger.billing.document import sign_statement
from ledger.chain import ChainClient
from ledger.commands import certificate_export, designs_dir, open_ledger, verify_bundle_file
from ledger.errors import LicenceNotValidError, QuotaExhaustedError
from ledger.parties import (
    LicenceTerms,
    allow_parties,
    grant_licence,
    licence_period,
    oem_usage,
    register_oem_design,
)
from ledger.signing import SiteKey
from models import ExitCode
from models.timebase import ManualClock
from tests.integration.ledger.ledger_chainkit import DEV_KEYS, raw_rpc
from tests.unit.ledger.ledgerkit import good_samples, write_design

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHAIN_ID = 4747
GENESIS = datetime(2026, 11, 10, tzinfo=UTC)
"""The chain starts in November 2026, so the month's statement is the same on every run."""


@dataclass
class Parties:
    """The chain and each party's settings and environment (its key and nothing else)."""

    url: str
    admin: tuple[Settings, dict[str, str]]
    oem: tuple[Settings, dict[str, str]]
    site_a: tuple[Settings, dict[str, str]]
    site_b: tuple[Settings, dict[str, str]]
    released: Path

    @property
    def a(self) -> str:
        return SiteKey.from_hex(DEV_KEYS["issuer"]).address

    async def advance_chain_to(self, moment: datetime) -> None:
        """Let the chain's time reach ``moment`` (a new block at that time)."""
        await raw_rpc(self.url, "evm_setNextBlockTimestamp", int(moment.timestamp()))
        await raw_rpc(self.url, "evm_mine")


def party(
    folder: Path, url: str, contract: str, variable: str, key: str
) -> tuple[Settings, dict[str, str]]:
    chain = ChainSettings(url=url, chain_id=CHAIN_ID, contract_address=contract)
    return Settings(data_dir=folder, chain=chain), {variable: key}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def parties(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Parties]:
    """The consortium deploys the ledger and admits the OEM and both sites; the OEM registers
    the design and licenses site A for 2 pieces in November 2026 at 12.50 EUR."""
    root = tmp_path_factory.mktemp("three-parties")
    extra = ("--timestamp", str(int(GENESIS.timestamp())))
    async with LocalAnvil(chain_id=CHAIN_ID, extra_args=extra) as node:
        async with await ChainClient.connect(node.url, CHAIN_ID, DEV_KEYS["admin"]) as admin:
            await admin.deploy()
            contract = admin.contract_address
        made = Parties(
            node.url,
            party(
                root / "admin", node.url, contract, "TRUSTFLOOR_CONSORTIUM_KEY", DEV_KEYS["admin"]
            ),
            party(root / "oem", node.url, contract, "TRUSTFLOOR_OEM_KEY", DEV_KEYS["oem"]),
            party(root / "site-a", node.url, contract, "TRUSTFLOOR_CHAIN_KEY", DEV_KEYS["issuer"]),
            party(
                root / "site-b", node.url, contract, "TRUSTFLOOR_CHAIN_KEY", DEV_KEYS["outsider"]
            ),
            write_design(root / "released"),
        )
        oem = SiteKey.from_hex(DEV_KEYS["oem"]).address
        site_b = SiteKey.from_hex(DEV_KEYS["outsider"]).address
        await allow_parties(*made.admin, oems=[oem], sites=[made.a, site_b])
        await register_oem_design(made.oem[0], made.released, made.oem[1])
        start, end = licence_period("2026-11-01", "2026-11-30")
        terms = LicenceTerms(2, start, end, price_micros=12_500_000, currency="EUR")
        await grant_licence(made.oem[0], "pump-impeller@C", made.a, terms, made.oem[1])
        for settings, _ in (made.site_a, made.site_b):
            shutil.copytree(made.released, designs_dir(settings) / "pump-impeller" / "C")
        yield made


async def print_part(site: tuple[Settings, dict[str, str]], serial: str, at: datetime) -> None:
    """One part printed, certified and anchored by the site, its clock at ``at``."""
    settings, environ = site
    clock = ManualClock(at)
    async with open_ledger(settings, environ, clock) as ledger:
        job = await ledger.start_job(
            serial=serial,
            design_id="pump-impeller",
            revision="C",
            printer="am-cell-2",
            order_id="PO-7",
            material_lot="Ti64-L2291",
            layers_planned=412,
        )
        await ledger.record_samples(job.job_id, good_samples(clock.now(), 20))
        clock.advance(20)
        await ledger.finish_job(job.job_id, 412)
        await ledger.issue_certificate(serial)
        clock.advance(61)
        assert (await ledger.tick()).failures == []


async def start_job(site: tuple[Settings, dict[str, str]], serial: str, at: datetime) -> None:
    settings, environ = site
    async with open_ledger(settings, environ, ManualClock(at)) as ledger:
        await ledger.start_job(
            serial=serial,
            design_id="pump-impeller",
            revision="C",
            printer="am-cell-2",
            order_id="PO-8",
            material_lot="Ti64-L2291",
            layers_planned=412,
        )


NOV_20 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


async def test_site_a_prints_within_its_licence_and_site_b_is_refused(parties: Parties) -> None:
    await parties.advance_chain_to(NOV_20)
    await print_part(parties.site_a, "SN-A-1", NOV_20)
    await print_part(parties.site_a, "SN-A-2", NOV_20)
    with pytest.raises(QuotaExhaustedError, match="allows 2 pieces: 2 anchored"):
        await start_job(parties.site_a, "SN-A-3", NOV_20)
    with pytest.raises(LicenceNotValidError, match="no licence was granted"):
        await start_job(parties.site_b, "SN-B-1", NOV_20)


async def test_a_month_statement_verifies_is_accepted_and_chains(
    parties: Parties, tmp_path: Path
) -> None:
    await parties.advance_chain_to(datetime(2026, 12, 2, tzinfo=UTC))
    with pytest.raises(LicenceNotValidError, match="expired at 2026-12-01T00:00:00Z"):
        await start_job(parties.site_a, "SN-A-4", datetime(2026, 12, 2, tzinfo=UTC))
    settings, environ = parties.site_a
    clock = ManualClock(datetime(2026, 12, 2, tzinfo=UTC))
    [november] = await issue_statements(settings, "2026-11", environ=environ, clock=clock)
    doc: Any = november.statement.document
    assert doc["counts"] == {
        "started": 2, "certified": 2, "billable": 2, "failed": 0, "revoked": 0,
        "credited": 0, "counted_on_chain": 2,
    }  # fmt: skip
    assert doc["balances"]["amount_micros"] == 25_000_000
    checked = await verify_statement_file(settings, november.path, environ=environ)
    assert checked.exit_code == ExitCode.OK, checked.output
    assert "checkpoint(s) of one append-only log" in checked.output  # the site log's anchors

    accepted = await accept_statement(parties.oem[0], november.path, parties.oem[1])
    assert accepted.exit_code == ExitCode.OK, accepted.output
    checked = await verify_statement_file(settings, november.path, environ=environ)
    assert "✓ OEM countersignature: accepted by the OEM" in checked.output

    await parties.advance_chain_to(datetime(2027, 1, 2, tzinfo=UTC))
    [december] = await issue_statements(settings, "2026-12", environ=environ, clock=clock)
    assert december.statement.document["previous"] == november.statement.digest.hex()
    chained = await verify_statement_file(
        settings, december.path, previous=november.path, environ=environ
    )
    assert chained.exit_code == ExitCode.OK, chained.output
    assert "✓ previous statement: follows the statement of 2026-11" in chained.output

    [row] = await oem_usage(*parties.oem, [settings.data_dir / "statements"])
    assert (row.site, row.licence.used, row.licence.remaining) == (parties.a, 2, 0)
    assert row.reported == {"started": 2, "certified": 2, "failed": 0, "revoked": 0, "credited": 0}

    lines = render_issued([november], "csv", None).output.splitlines()
    assert lines[0] == "serial,certificate,printer,issued_at,status,price,batch"
    assert [line.split(",")[4:6] for line in lines[1:]] == [["certified", "12.50 EUR"]] * 2
    pdf = tmp_path / "november.pdf"
    shown = render_issued([november], "pdf", pdf)
    assert "amount 25.00 EUR" in shown.output
    assert pdf.read_bytes().startswith(b"%PDF")


async def test_a_tampered_statement_fails_naming_the_mismatch(
    parties: Parties, tmp_path: Path
) -> None:
    settings, environ = parties.site_a
    november = read_statement(
        (settings.data_dir / "statements" / "pump-impeller@C" / "2026-11.json").read_text()
    )
    site_key = SiteKey.from_hex(DEV_KEYS["issuer"])

    async def verdict(document: Any, *, resign: bool = False) -> str:
        path = tmp_path / "tampered.json"
        signed = sign_statement(document, site_key) if resign else None
        body = json.loads(november.to_json())
        body["statement"] = document
        if signed is not None:
            body["signature"] = "0x" + signed.signature.hex()
        path.write_text(json.dumps(body))
        result = await verify_statement_file(settings, path, environ=environ)
        assert result.exit_code == ExitCode.INVALID
        return result.output

    changed = json.loads(json.dumps(november.document))
    changed["counts"]["certified"] = 1
    assert "site signature: signed by 0x" in await verdict(changed)

    # a dishonest site signs its changes itself: each is named
    one_missing = json.loads(json.dumps(november.document))
    one_missing["pieces"].pop()
    out = await verdict(one_missing, resign=True)
    assert "✗ merkle root: the pieces' certificates hash to root" in out
    assert "✗ anchors: anchor" in out

    twice = json.loads(json.dumps(november.document))
    twice["pieces"].append(twice["pieces"][0])
    assert "✗ pieces billed once: billed twice: serial SN-A-1" in await verdict(twice, resign=True)

    fewer = json.loads(json.dumps(november.document))
    fewer["proof"]["chain"]["counted_at_end"] = 1
    fewer["proof"]["chain"]["counted_at_start"] = -1
    out = await verdict(fewer, resign=True)
    assert "✗ licence on chain: counted_at_start is -1, the chain holds 0" in out

    cheaper = json.loads(json.dumps(november.document))
    cheaper["licence"]["price_micros"] = 1_000_000
    out = await verdict(cheaper, resign=True)
    assert "✗ amount: piece SN-A-1 is priced 12500000" in out


JAN_5 = datetime(2027, 1, 5, 8, 0, tzinfo=UTC)


async def test_both_sites_anchor_on_the_one_chain_and_verify_each_others_parts(
    parties: Parties, tmp_path: Path
) -> None:
    """Several sites on one chain: each anchors its own parts, and each verifies the other's
    proof bundle online against the same contract."""
    await parties.advance_chain_to(JAN_5)
    start, end = licence_period("2027-01-01", "2027-01-31")
    terms = LicenceTerms(3, start, end, price_micros=12_500_000, currency="EUR")  # A used 2
    site_b = SiteKey.from_hex(DEV_KEYS["outsider"]).address
    for licensee in (parties.a, site_b):
        await grant_licence(parties.oem[0], "pump-impeller@C", licensee, terms, parties.oem[1])
    parts = {"SN-A-J1": parties.site_a, "SN-B-J1": parties.site_b}
    for serial, site in parts.items():
        await print_part(site, serial, JAN_5)
    verifiers = {"SN-A-J1": parties.site_b, "SN-B-J1": parties.site_a}
    for serial, (settings, _) in parts.items():
        bundle = tmp_path / f"{serial}.json"
        bundle.write_text(certificate_export(settings, serial).output)
        verifier, environ = verifiers[serial]
        checked = await verify_bundle_file(bundle, verifier, offline=False, environ=environ)
        assert checked.exit_code == ExitCode.OK, checked.output
