"""Vertical slice: simulated Modbus machines → connectors → historian → secure OPC UA server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asyncua import Client, ua
from asyncua.ua.uaerrors import BadUserAccessDenied, UaError

from models import Quality
from opcua_server.runtime.site import Site
from tests.support import CLIENT_URI, make_client_certificate, secure_client, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")


def endpoint(site: Site) -> str:
    assert site.server is not None
    return site.server.endpoint


async def node_id(client: Client, machine: str, tag: str) -> ua.NodeId:
    ns = await client.get_namespace_index("urn:trustfloor:site")
    return ua.NodeId(f"Machines/{machine}/{tag}", ns)


async def wait_for_value(
    client: Client, nid: ua.NodeId, good: bool = True, timeout_s: float = 20
) -> ua.DataValue:
    value: ua.DataValue = await wait_for(
        lambda: client.get_node(nid).read_data_value(raise_on_bad_status=False),
        lambda value: bool(value.StatusCode.is_good() == good),
        timeout_s=timeout_s,
        poll_s=0.2,
    )
    return value


async def test_secure_client_reads_live_machine_values(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    client = await secure_client(endpoint(site), trusted_cert)
    async with client:
        nid = await node_id(client, "mill-1", "spindle_temp")
        first = await wait_for_value(client, nid)
        assert 15.0 <= first.Value.Value <= 120.0
        assert first.SourceTimestamp is not None
        await wait_for(
            lambda: wait_for_value(client, nid),
            lambda value: value.SourceTimestamp != first.SourceTimestamp,
            timeout_s=10,
            poll_s=0.2,
        )
        machinery = await client.get_namespace_index("http://opcfoundation.org/UA/Machinery/")
        di = await client.get_namespace_index("http://opcfoundation.org/UA/DI/")
        machines = await client.nodes.objects.get_child([f"{machinery}:Machines"])
        names = sorted([(await n.read_browse_name()).Name for n in await machines.get_children()])
        assert names == ["am-1", "mill-1", "pump-1"]  # the printer is a machine too (OPC 40540)
        serial = await machines.get_child(
            [f"{nid.NamespaceIndex}:mill-1", f"{di}:Identification", f"{di}:SerialNumber"]
        )
        assert await serial.read_value() == "VMC850-0001"


async def test_readings_reach_the_historian(site: Site) -> None:
    historian = site.historian
    assert historian is not None
    end = datetime.now(UTC) + timedelta(seconds=1)
    rows = await wait_for(
        lambda: historian.query("pump-1", "shaft_speed", end - timedelta(minutes=5), end),
        lambda rows: len(rows) >= 2,
        timeout_s=20,
        poll_s=0.2,
    )
    assert all(r.quality is Quality.GOOD for r in rows)
    assert [r.source_ts for r in rows] == sorted(r.source_ts for r in rows)
    assert all(0.0 <= float(r.value or 0) <= 3600.0 for r in rows)


async def test_every_offered_policy_is_sign_and_encrypt(site: Site) -> None:
    client = Client(endpoint(site), timeout=10)
    endpoints = await client.connect_and_get_server_endpoints()
    assert endpoints
    assert {e.SecurityMode for e in endpoints} == {ua.MessageSecurityMode.SignAndEncrypt}
    assert {e.SecurityPolicyUri.rsplit("#", 1)[1] for e in endpoints} == {
        "Basic256Sha256",
        "Aes128_Sha256_RsaOaep",
        "Aes256_Sha256_RsaPss",
    }
    tokens = {t.TokenType for e in endpoints for t in e.UserIdentityTokens}
    assert tokens == {ua.UserTokenType.UserName}


async def test_connection_without_security_is_refused(site: Site) -> None:
    client = Client(endpoint(site), timeout=5)
    with pytest.raises((UaError, OSError, TimeoutError)):
        async with client:
            await client.nodes.server.read_browse_name()


async def test_wrong_password_is_refused(site: Site, trusted_cert: tuple[Path, Path]) -> None:
    client = await secure_client(endpoint(site), trusted_cert, password="not-the-password")
    with pytest.raises(BadUserAccessDenied):
        await client.connect()
    await client.disconnect()


async def test_unknown_user_is_refused(site: Site, trusted_cert: tuple[Path, Path]) -> None:
    client = await secure_client(endpoint(site), trusted_cert, user="intruder", password="x")
    with pytest.raises(BadUserAccessDenied):
        await client.connect()
    await client.disconnect()


async def test_untrusted_client_certificate_is_refused_and_kept_for_review(
    site: Site, tmp_path: Path
) -> None:
    assert site.server is not None
    stranger = make_client_certificate(tmp_path / "stranger")
    client = await secure_client(endpoint(site), stranger)
    with pytest.raises(UaError):
        await client.connect()
    await client.disconnect()
    rejected = list(site.server.pki.rejected.glob("*.der"))
    assert any(p.read_bytes() == stranger[0].read_bytes() for p in rejected)


async def test_server_certificate_carries_the_application_uri(site: Site) -> None:
    from cryptography import x509

    assert site.server is not None
    cert = x509.load_der_x509_certificate(site.server.pki.own_certificate.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:trustfloor:demo-site"]
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert CLIENT_URI not in san.get_values_for_type(x509.UniformResourceIdentifier)


async def test_killed_device_reads_bad_communication_error_then_recovers(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    simulator = site.simulators["pump-1"]
    client = await secure_client(endpoint(site), trusted_cert)
    async with client:
        nid = await node_id(client, "pump-1", "bearing_temp")
        await wait_for_value(client, nid, good=True)
        await simulator.stop()
        try:
            lost = await wait_for_value(client, nid, good=False, timeout_s=30)
            assert lost.StatusCode.value == ua.StatusCodes.BadCommunicationError
        finally:
            await simulator.start()
        recovered = await wait_for_value(client, nid, good=True, timeout_s=60)
        assert 10.0 <= recovered.Value.Value <= 110.0
    assert site.historian is not None
    end = datetime.now(UTC) + timedelta(seconds=1)
    rows = await site.historian.query("pump-1", "bearing_temp", end - timedelta(minutes=5), end)
    bad = [r for r in rows if r.quality is Quality.BAD]
    assert bad, "the outage must be recorded in the historian, not left as a silent gap"
    assert "connect" in bad[-1].reason or "communication" in bad[-1].reason
