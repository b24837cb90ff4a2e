"""The site's own chain and the CLI commands' functions, on a local anvil in the data dir."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from config.settings import ChainSettings, Settings
from ledger.commands import (
    certificate_export,
    certificate_show,
    design_register,
    designs_dir,
    verify_bundle_file,
)
from ledger.errors import BundleError, ChainError, LedgerStateError
from ledger.sitechain import open_site_chain, site_key
from models import ExitCode
from tests.integration.ledger.ledger_chainkit import NO_ENV, local_settings, print_part
from tests.unit.ledger.ledgerkit import write_design

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_site_runs_its_own_chain_and_keeps_it(tmp_path: Path) -> None:
    settings = local_settings(tmp_path)
    async with open_site_chain(settings, NO_ENV) as first:
        assert first.key is not None
        address = first.client.contract_address
        key_file = tmp_path / "chain" / "site.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert await first.client.is_issuer(first.key.address)
        assert await first.client.is_oem(first.key.address)
        async with open_site_chain(settings, NO_ENV) as second:  # shares the running node
            assert second.client.contract_address == address
            assert second.key is not None
            assert second.key.address == first.key.address
    record = json.loads((tmp_path / "chain" / "deployment.json").read_text())
    assert record["contract"] == address
    admin_key = tmp_path / "chain" / "consortium.key"
    assert stat.S_IMODE(admin_key.stat().st_mode) == 0o600
    async with open_site_chain(settings, NO_ENV) as restarted:  # from the dumped state
        assert restarted.client.contract_address == address
        assert await restarted.client.admin() == record["admin"]
        assert record["admin"] != first.key.address  # the consortium admin is its own party
        assert await restarted.client.is_issuer(first.key.address)


async def test_a_key_from_the_environment_wins_and_a_remote_chain_needs_one(
    tmp_path: Path,
) -> None:
    env = {"TRUSTFLOOR_CHAIN_KEY": "0x" + "11" * 32}
    settings = local_settings(tmp_path)
    async with open_site_chain(settings, env) as site:
        assert site.key is not None
        assert site.client.address == site.key.address
    assert not (tmp_path / "chain" / "site.key").exists()
    remote = Settings(
        data_dir=tmp_path,
        chain=ChainSettings(url="http://127.0.0.1:9", contract_address="0x" + "22" * 20),
    )
    with pytest.raises(ChainError, match="TRUSTFLOOR_CHAIN_KEY holds no site key"):
        async with open_site_chain(remote, NO_ENV):
            pass


async def test_a_relative_data_directory_reaches_its_local_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # `--data-dir var`, as the demo's commands default to
    async with open_site_chain(local_settings(Path("var")), NO_ENV) as site:
        assert site.key is not None
        assert await site.client.is_issuer(site.key.address)


async def test_read_only_verification_needs_a_deployed_ledger(tmp_path: Path) -> None:
    with pytest.raises(ChainError, match="no ledger is deployed"):
        async with open_site_chain(local_settings(tmp_path), NO_ENV, read_only=True):
            pass


async def test_register_print_show_export_and_verify(tmp_path: Path) -> None:
    settings = local_settings(tmp_path / "var")
    released = write_design(tmp_path / "released")
    registered = await design_register(settings, released, quota=3, environ=NO_ENV)
    assert registered.exit_code == ExitCode.OK
    assert "registered by 0x" in registered.output
    assert "licence    3 pieces for 0x" in registered.output
    again = await design_register(settings, released, environ=NO_ENV)
    assert "already registered with this dossier" in again.output
    shutil.copytree(released, designs_dir(settings) / "pump-impeller" / "C")
    await print_part(settings, "P-1")

    shown = certificate_show(settings, "P-1")
    assert shown.output.startswith("part P-1: verdict PASS\n")
    assert "  status       anchored: leaf 0 of 1" in shown.output
    with pytest.raises(LedgerStateError, match="no certificate for part P-404"):
        certificate_show(settings, "P-404")

    bundle = tmp_path / "bundle.json"
    bundle.write_text(certificate_export(settings, "P-1").output)
    unpinned = await verify_bundle_file(bundle, settings, offline=True)
    assert unpinned.exit_code == ExitCode.ISSUER_UNTRUSTED, unpinned.output
    issuers = tmp_path / "issuers.txt"
    issuers.write_text(site_key(settings, NO_ENV).address + "\n")
    offline = await verify_bundle_file(bundle, settings, offline=True, issuers=issuers)
    assert offline.exit_code == ExitCode.OK, offline.output
    assert offline.output.startswith("VALID: part P-1 is certified, verdict PASS (offline")
    online = await verify_bundle_file(bundle, settings, offline=False, environ=NO_ENV)
    assert online.exit_code == ExitCode.OK, online.output
    assert "✓ certificate transaction" in online.output

    raw = json.loads(bundle.read_text())
    raw["certificate"]["document"]["material_lot"] = "Ti64-L0000"
    bundle.write_text(json.dumps(raw))
    tampered = await verify_bundle_file(bundle, settings, offline=False, environ=NO_ENV)
    assert tampered.exit_code == ExitCode.INVALID
    assert tampered.output.startswith(
        "INVALID: part P-1 failed online verification: certificate content"
    )

    bundle.write_text("{not json")
    broken = await verify_bundle_file(bundle, settings, offline=True)
    assert (broken.exit_code, broken.output.splitlines()[1][:10]) == (
        ExitCode.INVALID,
        "  ✗ bundle",
    )
    with pytest.raises(BundleError, match="cannot read"):
        await verify_bundle_file(tmp_path / "missing.json", settings, offline=True)

    await print_part(settings, "P-2", layers_done=100)
    bundle.write_text(certificate_export(settings, "P-2").output)
    rejected = await verify_bundle_file(bundle, settings, offline=False, environ=NO_ENV)
    assert rejected.exit_code == ExitCode.PART_REJECTED
    assert "verdict FAIL" in rejected.output.splitlines()[0]
