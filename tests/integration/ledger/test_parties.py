"""The OEM and the consortium admin as parties of their own, through the CLI, on a local chain."""

from __future__ import annotations

import asyncio
import json
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from config import load_demo_settings
from ledger.canonical import design_key
from ledger.errors import ContractError
from ledger.sitechain import open_site_chain
from opcua_server.cli.main import main
from tests.unit.ledger.ledgerkit import write_design

pytestmark = pytest.mark.asyncio(loop_scope="session")

NO_ENV: dict[str, str] = {}


def midnight(day: date) -> int:
    """The Unix time a UTC day starts."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


async def trustfloor(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run one CLI command (in a thread: it runs its own event loop); exit code and output."""
    code = await asyncio.to_thread(main, list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_the_oem_registers_and_licenses_with_its_own_key_once_allow_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("TRUSTFLOOR_OEM_KEY", "TRUSTFLOOR_CONSORTIUM_KEY", "TRUSTFLOOR_CHAIN_KEY"):
        monkeypatch.delenv(variable, raising=False)
    data = tmp_path / "var"
    site_options = ("--data-dir", str(data))
    settings = load_demo_settings(data, check_secrets=False)
    released = write_design(tmp_path / "released")
    key = design_key("pump-impeller", "C")
    first = datetime.now(UTC).date() - timedelta(days=1)  # a licence valid today, whenever run
    last = first + timedelta(days=30)
    end = last + timedelta(days=1)  # --until names the last day: the licence ends at its end
    async with open_site_chain(settings, NO_ENV) as site:  # the site runs the local chain
        assert site.key is not None
        code, out, _ = await trustfloor(capsys, "oem", "init", *site_options)
        assert code == 0
        oem = out.split()[1]
        assert stat.S_IMODE((data / "oem" / "oem.key").stat().st_mode) == 0o600
        assert f"trustfloor consortium allow --oem {oem}" in out

        code, _, err = await trustfloor(
            capsys, "oem", "design", "register", str(released), *site_options
        )
        assert code == 1
        assert f"the OEM {oem} is not on the consortium's OEM allow-list" in err

        code, out, _ = await trustfloor(capsys, "consortium", "allow", "--oem", oem, *site_options)
        assert (code, out) == (0, f"OEM {oem} allow-listed and funded for gas\n")
        code, out, _ = await trustfloor(
            capsys, "oem", "design", "register", str(released), *site_options
        )
        assert code == 0
        assert "design pump-impeller@C" in out
        assert await site.client.design_oem(key) == oem

        code, out, _ = await trustfloor(
            capsys,
            "oem", "licence", "grant", "pump-impeller", site.key.address,
            "--pieces", "10", "--overdraft", "2", "--from", first.isoformat(),
            "--until", last.isoformat(), "--price", "12.50", "EUR", *site_options,
        )  # fmt: skip
        assert code == 0
        licence = await site.client.licence(key, site.key.address)
        assert (licence.quota, licence.overdraft) == (10, 2)
        assert (licence.valid_from, licence.valid_until) == (midnight(first), midnight(end))

        with pytest.raises(ContractError) as refused:  # the site cannot raise its own quota
            await site.client.set_licence(key, site.key.address, 1000)
        assert refused.value.name == "NotDesignOem"

        code, out, _ = await trustfloor(capsys, "oem", "usage", "--json", *site_options)
        assert code == 0
        [row] = json.loads(out)
        assert row == {
            "design": "pump-impeller@C",
            "design_key": "0x" + key.hex(),
            "site": site.key.address,
            "quota": 10,
            "overdraft": 2,
            "valid_from": f"{first.isoformat()}T00:00:00Z",
            "valid_until": f"{end.isoformat()}T00:00:00Z",
            "revoked": False,
            "price": "12.5 EUR",
            "counted": 0,
            "remaining": 10,
            "overage": 0,
            "reported": None,
        }
        code, public_key, _ = await trustfloor(capsys, "dossier", "public-key", *site_options)
        code, out, _ = await trustfloor(
            capsys, "oem", "design", "seal", str(released), "--site-key", public_key.strip(),
            *site_options,
        )  # fmt: skip
        assert code == 0
        package = Path(out.split()[-1])
        assert package.name == out.split()[2] + ".sealed.json"
        code, out, _ = await trustfloor(capsys, "dossier", "check", str(package), *site_options)
        assert code == 0
        assert f"sealed dossier pump-impeller@C for {site.key.address}: opens" in out

        code, out, _ = await trustfloor(
            capsys, "oem", "licence", "revoke", "pump-impeller@C", site.key.address, *site_options
        )
        assert code == 0
        assert "revoked by 0x" in out
        assert (await site.client.licence(key, site.key.address)).revoked
        code, out, _ = await trustfloor(capsys, "oem", "usage", *site_options)
        assert "REVOKED" in out.splitlines()[1]
        code, _, err = await trustfloor(capsys, "dossier", "check", str(package), *site_options)
        assert code == 1
        assert "pump-impeller revision C: the licence is revoked" in err


async def test_only_the_consortium_admin_allow_lists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "var"
    settings = load_demo_settings(data, check_secrets=False)
    async with open_site_chain(settings, NO_ENV) as site:
        assert site.key is not None
        monkeypatch.setenv("TRUSTFLOOR_CONSORTIUM_KEY", site.key.secret_hex())
        code, _, err = await trustfloor(
            capsys, "consortium", "allow", "--site", "0x" + "11" * 20, "--data-dir", str(data)
        )
        assert code == 1
        assert f"{site.key.address} is not the consortium admin" in err
