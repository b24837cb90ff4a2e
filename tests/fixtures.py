"""Shared async fixtures: a running site (two simulated machines, fake ports), a trusted cert."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from opcua_server.runtime.site import Site
from tests.fakes import FakeCertificateDesk, FakeOrderBook
from tests.support import make_client_certificate, site_settings


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    data_dir = tmp_path_factory.mktemp("site")
    running = Site(
        site_settings(data_dir, machines=2),
        orders=FakeOrderBook(),
        certificates=FakeCertificateDesk(),
    )
    await running.start()
    await running.wait_connected()
    yield running
    await running.stop()


@pytest.fixture(scope="module")
def trusted_cert(site: Site, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A client certificate placed in the server's trust list."""
    assert site.server is not None
    cert, key = make_client_certificate(tmp_path_factory.mktemp("client"))
    (site.server.pki.trusted / "asyncua-test-client.der").write_bytes(cert.read_bytes())
    return cert, key
