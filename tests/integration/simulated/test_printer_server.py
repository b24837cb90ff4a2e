"""The simulated printer's OPC UA server: companion-spec layout, secured with one user only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua

from config import COMPANION_NAMESPACES
from connectors.simulated import ManualClock, SimulatedPrinter
from tests.integration.printers.printer_link_kit import ENVIRON, T0, secured_printer
from tests.support import make_client_certificate

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def printer(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SimulatedPrinter]:
    folder = tmp_path_factory.mktemp("printer-server")
    simulator = SimulatedPrinter(
        secured_printer(), ManualClock(T0), pki_dir=folder, environ=ENVIRON
    )
    await simulator.start()
    yield simulator
    await simulator.stop()


async def secure(url: str, folder: Path, password: str) -> Client:
    cert, key = make_client_certificate(folder)
    client = Client(url)
    client.set_user("trustfloor")
    client.set_password(password)
    await client.set_security_string(f"Basic256Sha256,SignAndEncrypt,{cert},{key}")
    return client


async def test_it_offers_only_basic256sha256_sign_and_encrypt_with_a_user(
    printer: SimulatedPrinter,
) -> None:
    endpoints = await Client(printer.url).connect_and_get_server_endpoints()
    assert {(e.SecurityPolicyUri.rsplit("#", 1)[1], e.SecurityMode.name) for e in endpoints} == {
        ("Basic256Sha256", "SignAndEncrypt")
    }
    tokens = {t.TokenType.name for e in endpoints for t in e.UserIdentityTokens}
    assert tokens == {"UserName"}


async def test_a_wrong_password_is_refused(printer: SimulatedPrinter, tmp_path: Path) -> None:
    client = await secure(printer.url, tmp_path, "guess")
    with pytest.raises(ua.UaStatusCodeError, match=r"BadUserAccessDenied|BadIdentityTokenRejected"):
        await client.connect()
    await client.disconnect()


async def test_the_layout_follows_the_companion_specs(
    printer: SimulatedPrinter, tmp_path: Path
) -> None:
    client = await secure(printer.url, tmp_path, ENVIRON["PRINTER_TEST_PASSWORD"])
    async with client:
        am = await client.get_namespace_index(COMPANION_NAMESPACES["am"])
        di = await client.get_namespace_index(COMPANION_NAMESPACES["di"])
        machinery = await client.get_namespace_index(COMPANION_NAMESPACES["machinery"])
        sim = await client.get_namespace_index("urn:trustfloor:sim:printer")
        machine = await client.nodes.objects.get_child([f"{machinery}:Machines", f"{sim}:am-1"])
        serial = await machine.get_child([f"{di}:Identification", f"{di}:SerialNumber"])
        assert await serial.read_value() == "LPBF250-0007"
        technology = await machine.get_child([f"{di}:Identification", f"{am}:AMTechnology"])
        assert "PBF-LB/M" in await technology.read_value()
        laser = await machine.get_child(
            [f"{am}:Monitoring", f"{am}:ProcessValues", f"{am}:LaserPower"]
        )
        info = await (await laser.get_child("0:EngineeringUnits")).read_value()
        assert (info.DisplayName.Text, info.UnitId) == ("W", int.from_bytes(b"WTT", "big"))
        lot = await machine.get_child([f"{am}:Equipment", f"{am}:Feedstock", f"{am}:LotIdentifier"])
        assert await lot.read_value() == "P316L-LPBF250-0007-A"
