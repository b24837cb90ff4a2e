"""Password logins over OPC UA: hashed off the event loop, throttled, locked out, audited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import ua
from asyncua.ua.uaerrors import BadUserAccessDenied

from opcua_server.security.audit import AuditEntry
from opcua_server.security.passwords import PasswordChecker
from opcua_server.security.users import ConfigUserManager
from opcua_server.server import TrustfloorServer
from tests.support import PASSWORDS, secure_client, site_settings, trusted_client_certificate

pytestmark = pytest.mark.asyncio(loop_scope="session")

Cert = tuple[Path, Path]
MAX_FAILURES = 5


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TrustfloorServer]:
    """A server whose backoff is short, so a test of five failures stays quick."""
    settings = site_settings(
        tmp_path_factory.mktemp("logins"),
        machines=1,
        login_backoff_s=0.02,
        login_max_failures=MAX_FAILURES,
        login_lockout_s=300,
    )
    running = TrustfloorServer(settings)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture(scope="module")
def cert(server: TrustfloorServer, tmp_path_factory: pytest.TempPathFactory) -> Cert:
    return trusted_client_certificate(
        server.pki.trusted, tmp_path_factory.mktemp("client"), "login-test-client"
    )


def user_manager(server: TrustfloorServer) -> ConfigUserManager:
    manager = server.ua_server.iserver.user_manager
    assert isinstance(manager, ConfigUserManager)
    return manager


def checker(server: TrustfloorServer) -> PasswordChecker:
    return user_manager(server).passwords


async def login_refused(server: TrustfloorServer, cert: Cert, user: str, password: str) -> bool:
    """Whether a session with ``user`` and ``password`` is refused with BadUserAccessDenied."""
    client = await secure_client(server.endpoint, cert, user, password)
    try:
        await client.connect()
    except BadUserAccessDenied:
        return True
    finally:
        await client.disconnect()
    return False


def logins_of(server: TrustfloorServer, user: str) -> list[AuditEntry]:
    return [e for e in server.audit.entries() if e.action == "login" and e.user == user]


async def test_a_wrong_password_is_refused_and_both_outcomes_are_audited(
    server: TrustfloorServer, cert: Cert
) -> None:
    assert await login_refused(server, cert, "planner", "not-the-password")
    assert not await login_refused(server, cert, "planner", PASSWORDS["planner"])
    refused, accepted = logins_of(server, "planner")[-2:]
    assert refused.result == "BadUserAccessDenied"
    assert "peer 127.0.0.1" in refused.detail
    assert "wrong password" in refused.detail
    assert accepted.result == "Good"
    assert accepted.role == "planner"
    assert "peer 127.0.0.1" in accepted.detail


async def test_after_five_failures_the_right_password_is_refused_too(
    server: TrustfloorServer, cert: Cert
) -> None:
    for attempt in range(MAX_FAILURES):
        assert await login_refused(server, cert, "operator", f"guess-{attempt}")
    assert await login_refused(server, cert, "operator", PASSWORDS["operator"])
    lockouts = [e for e in server.audit.entries() if e.action == "lockout"]
    assert [e.user for e in lockouts] == ["operator"], "the lockout is audited once"
    assert "locked out" in logins_of(server, "operator")[-1].detail
    assert not await login_refused(server, cert, "quality_engineer", PASSWORDS["quality_engineer"])


async def test_unknown_users_are_refused_through_the_same_hash_check(
    server: TrustfloorServer, cert: Cert
) -> None:
    before = checker(server).verifications
    assert await login_refused(server, cert, "auditor", "wrong")
    assert checker(server).verifications == before + 1
    assert await login_refused(server, cert, "nobody-by-this-name", "wrong")
    assert checker(server).verifications == before + 2
    assert "unknown user" in logins_of(server, "nobody-by-this-name")[-1].detail


async def test_another_session_is_served_during_a_burst_of_wrong_logins(
    server: TrustfloorServer, cert: Cert
) -> None:
    reader = await secure_client(server.endpoint, cert, "mes")
    async with reader:
        clock = reader.get_node(ua.NodeId(ua.ObjectIds.Server_ServerStatus_CurrentTime))
        burst = [
            asyncio.create_task(login_refused(server, cert, f"intruder-{n % 3}", "guess"))
            for n in range(12)
        ]
        reads = [await clock.read_value() for _ in range(5)]
        refusals = await asyncio.gather(*burst)
    assert len(reads) == 5
    assert all(refusals)
    assert checker(server).verifications_on_event_loop == 0, "no password was hashed on the loop"
