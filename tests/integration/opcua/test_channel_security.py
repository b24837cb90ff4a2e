"""Secure channels as an attacker's client tries them: None, Sign only, foreign policies, floods."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.crypto.security_policies import (
    SecurityPolicyAes256Sha256RsaPss,
    SecurityPolicyBasic256Sha256,
)
from asyncua.ua.uaerrors import (
    BadSecurityModeRejected,
    BadSecurityPolicyRejected,
    BadTooManySessions,
)

from opcua_server.server import TrustfloorServer
from tests.support import PASSWORDS, secure_client, site_settings, trusted_client_certificate

pytestmark = pytest.mark.asyncio(loop_scope="session")

MAX_SESSIONS = 3
ASSET_ID = "Machines/mill-1/Identification/AssetId"
SITE = "urn:trustfloor:site"


async def started(settings_dir: Path, **server: object) -> TrustfloorServer:
    running = TrustfloorServer(site_settings(settings_dir, machines=1, **server))
    await running.start()
    return running


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def guarded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TrustfloorServer]:
    """The default: Basic256Sha256 SignAndEncrypt only, no None, a small session limit."""
    running = await started(
        tmp_path_factory.mktemp("guarded"),
        security_policies=["Basic256Sha256"],
        max_sessions=MAX_SESSIONS,
    )
    yield running
    await running.stop()


@pytest.fixture(scope="module")
def client_cert(
    guarded: TrustfloorServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    return trusted_client_certificate(
        guarded.pki.trusted, tmp_path_factory.mktemp("client"), "channel-test-client"
    )


def any_endpoint(
    endpoints: Iterable[ua.EndpointDescription], mode: ua.MessageSecurityMode, policy_uri: str
) -> ua.EndpointDescription:
    """What an attacker's client does: take the first endpoint, whatever it advertises."""
    return next(iter(endpoints))


@pytest.fixture
def forced_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """asyncua's client refuses a policy the server does not advertise; this one does not."""
    monkeypatch.setattr(Client, "find_endpoint", staticmethod(any_endpoint))


async def none_channel(server: TrustfloorServer) -> Client:
    """A client on an open SecurityPolicy None channel, without a session yet."""
    client = Client(server.endpoint, timeout=10)
    await client.connect_sessionless()
    return client


class Ignore:
    def datachange_notification(self, node: object, value: object, data: object) -> None:
        """Nothing: the subscription must not exist."""


async def test_a_password_login_over_a_none_channel_is_refused(
    guarded: TrustfloorServer, forced_none: None
) -> None:
    client = Client(guarded.endpoint, timeout=10)
    client.set_user("mes")
    client.set_password(PASSWORDS["mes"])
    with pytest.raises(BadSecurityPolicyRejected):
        await client.connect()


async def test_a_none_channel_serves_discovery_and_nothing_else(
    guarded: TrustfloorServer, forced_none: None
) -> None:
    rejected_before = guarded.counters.security_rejected
    client = await none_channel(guarded)
    try:
        endpoints = await client.get_endpoints()
        assert {e.SecurityMode for e in endpoints} == {ua.MessageSecurityMode.SignAndEncrypt}
        with pytest.raises(BadSecurityPolicyRejected):
            await client.create_session()
        with pytest.raises(BadSecurityPolicyRejected):
            await client.activate_session("mes", PASSWORDS["mes"])
        with pytest.raises(BadSecurityPolicyRejected):
            await client.nodes.server_state.read_value()
        with pytest.raises(BadSecurityPolicyRejected):
            await client.nodes.objects.get_children()
        with pytest.raises(BadSecurityPolicyRejected):
            await client.create_subscription(100, Ignore())
    finally:
        await client.disconnect()
    assert guarded.counters.security_rejected == rejected_before + 2, "session attempts counted"


async def test_a_session_cannot_be_taken_over_by_a_none_channel(
    guarded: TrustfloorServer, client_cert: tuple[Path, Path]
) -> None:
    """ActivateSession may move a live session to a new channel (OPC 10000-4 §5.7.3); never to
    one without security."""
    owner = await secure_client(guarded.endpoint, client_cert, "mes")
    async with owner:
        attacker = await none_channel(guarded)
        try:
            token = owner.uaclient.session.authentication_token
            attacker.uaclient.session.restore_authentication_token(token)
            with pytest.raises(BadSecurityPolicyRejected):
                await attacker.activate_session("mes", PASSWORDS["mes"])
            with pytest.raises(BadSecurityPolicyRejected):
                await attacker.nodes.server_state.read_value()
            with pytest.raises(BadSecurityPolicyRejected):
                await attacker.nodes.objects.get_children()
            with pytest.raises(BadSecurityPolicyRejected):
                await attacker.create_subscription(100, Ignore())
        finally:
            attacker.uaclient.session.reset_authentication_token()
            await attacker.disconnect()
        assert await owner.nodes.server_state.read_value() == ua.ServerState.Running


async def client_asking_for(
    guarded: TrustfloorServer,
    client_cert: tuple[Path, Path],
    policy: type[SecurityPolicyBasic256Sha256 | SecurityPolicyAes256Sha256RsaPss],
    mode: ua.MessageSecurityMode,
) -> Client:
    """A client whose channel asks for ``policy`` with ``mode``, whatever the server offers."""
    client = Client(guarded.endpoint, timeout=30)
    await client.set_security(
        policy,
        certificate=str(client_cert[0]),
        private_key=str(client_cert[1]),
        server_certificate=guarded.pki.own_certificate.read_bytes(),
        mode=mode,
    )
    return client


async def test_a_sign_only_channel_is_answered_with_security_mode_rejected(
    guarded: TrustfloorServer, client_cert: tuple[Path, Path]
) -> None:
    client = await client_asking_for(
        guarded, client_cert, SecurityPolicyBasic256Sha256, ua.MessageSecurityMode.Sign
    )
    with pytest.raises(BadSecurityModeRejected):
        await client.connect()


async def test_a_policy_the_server_does_not_offer_is_answered_with_policy_rejected(
    guarded: TrustfloorServer, client_cert: tuple[Path, Path]
) -> None:
    client = await client_asking_for(
        guarded,
        client_cert,
        SecurityPolicyAes256Sha256RsaPss,
        ua.MessageSecurityMode.SignAndEncrypt,
    )
    with pytest.raises(BadSecurityPolicyRejected):
        await client.connect()


async def test_sessions_beyond_the_limit_are_refused_until_one_closes(
    guarded: TrustfloorServer, client_cert: tuple[Path, Path]
) -> None:
    clients = [await secure_client(guarded.endpoint, client_cert) for _ in range(MAX_SESSIONS)]
    try:
        for client in clients:
            await client.connect()
        extra = await secure_client(guarded.endpoint, client_cert)
        with pytest.raises(BadTooManySessions):
            await extra.connect()
        await clients.pop().disconnect()
        again = await secure_client(guarded.endpoint, client_cert)
        async with again:
            assert await again.nodes.server_state.read_value() == ua.ServerState.Running
    finally:
        for client in clients:
            await client.disconnect()
    assert guarded.counters.rejected >= 1


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def insecure(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TrustfloorServer]:
    """A lab server that offers None because its config says so."""
    running = await started(
        tmp_path_factory.mktemp("insecure"),
        allow_insecure=True,
        security_policies=["None", "Basic256Sha256"],
    )
    yield running
    await running.stop()


async def test_an_offered_none_policy_still_serves_users_with_their_roles(
    insecure: TrustfloorServer,
) -> None:
    client = Client(insecure.endpoint, timeout=10)
    client.set_user("operator")
    client.set_password(PASSWORDS["operator"])
    async with client:
        site = await client.get_namespace_index(SITE)
        assert await client.nodes.server_state.read_value() == ua.ServerState.Running
        assert await client.nodes.objects.get_children()
        subscription = await client.create_subscription(100, Ignore())
        await subscription.subscribe_data_change(client.nodes.server_state)
        await subscription.delete()
        asset = client.get_node(ua.NodeId(ASSET_ID, site))
        await asset.write_value(ua.DataValue(ua.Variant("LAB-1", ua.VariantType.String)))
    entry = [e for e in insecure.audit.entries() if e.action == "write"][-1]
    assert (entry.user, entry.role, entry.result) == ("operator", "operator", "Good")
