"""Users who log in with an X.509 user certificate get their configured role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.ua.uaerrors import BadUserAccessDenied

from opcua_server.runtime.site import Site
from opcua_server.security.passwords import hash_password
from tests.fakes import KNOWN_SERIAL, FakeCertificateDesk, FakeOrderBook
from tests.support import CLIENT_URI, call_method, make_client_certificate, site_settings, text

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def x509_site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Site, Path]]:
    folder = tmp_path_factory.mktemp("x509")
    user_cert, _ = make_client_certificate(folder / "anna", uri="urn:trustfloor:tests:user-anna")
    users = [
        {"name": "mes", "role": "mes", "password_hash": hash_password("mes-secret-1")},
        {"name": "qe-anna", "role": "quality_engineer", "certificate_file": str(user_cert)},
    ]
    settings = site_settings(folder / "var", machines=1, users=users)
    site = Site(settings, orders=FakeOrderBook(), certificates=FakeCertificateDesk())
    await site.start()
    await site.wait_connected()
    assert site.server is not None
    app_cert, _ = make_client_certificate(folder / "app")
    (site.server.pki.trusted / "app.der").write_bytes(app_cert.read_bytes())
    yield site, folder
    await site.stop()


async def certificate_client(site: Site, folder: Path, user: str) -> Client:
    assert site.server is not None
    client = Client(site.server.endpoint, timeout=10)
    client.application_uri = CLIENT_URI
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        certificate=str(folder / "app" / "client.der"),
        private_key=str(folder / "app" / "client_key.pem"),
        mode=ua.MessageSecurityMode.SignAndEncrypt,
    )
    await client.load_client_certificate(str(folder / user / "client.der"))
    await client.load_private_key(folder / user / "client_key.pem")
    return client


async def record_inspection(client: Client) -> None:
    await call_method(client, "Parts", "RecordInspection", text(KNOWN_SERIAL), text('{"ct": "ok"}'))


async def test_user_certificate_logs_in_with_its_role(x509_site: tuple[Site, Path]) -> None:
    site, folder = x509_site
    client = await certificate_client(site, folder, "anna")
    async with client:
        await record_inspection(client)
    assert site.server is not None
    entry = [e for e in site.server.audit.entries() if e.target == "RecordInspection"][-1]
    assert (entry.user, entry.role, entry.result) == ("qe-anna", "quality_engineer", "Good")


async def test_unknown_user_certificate_is_refused(x509_site: tuple[Site, Path]) -> None:
    site, folder = x509_site
    make_client_certificate(folder / "mallory", uri="urn:trustfloor:tests:user-mallory")
    client = await certificate_client(site, folder, "mallory")
    with pytest.raises(BadUserAccessDenied):
        await client.connect()
    await client.disconnect()
