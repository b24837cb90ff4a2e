"""Job orders an MES stored survive a restart of the server, with their state."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncua import ua

from opcua_server.runtime.site import Site
from tests.integration.opcua.test_job_order_receiver import call, job_order, states
from tests.support import make_client_certificate, secure_client, site_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def start_site(data_dir: Path) -> Site:
    site = Site(site_settings(data_dir, machines=1))
    await site.start()
    return site


async def test_a_stored_job_order_is_still_held_after_a_restart(tmp_path: Path) -> None:
    cert = make_client_certificate(tmp_path / "client")
    first = await start_site(tmp_path / "var")
    try:
        assert first.server is not None
        (first.server.pki.trusted / "client.der").write_bytes(cert[0].read_bytes())
        async with await secure_client(first.server.endpoint, cert, "mes") as client:
            stored = await call(client, "Store", job_order("KEPT-1", design="any-design"))
            assert stored.OutputArguments == [1]
    finally:
        await first.stop()
    second = await start_site(tmp_path / "var")
    try:
        assert second.server is not None
        async with await secure_client(second.server.endpoint, cert, "mes") as client:
            assert (await states(client)) == {"KEPT-1": "NotAllowedToStart"}
            cleared = await call(client, "Abort", ua.Variant("KEPT-1", ua.VariantType.String))
            assert cleared.OutputArguments == [1]
    finally:
        await second.stop()
