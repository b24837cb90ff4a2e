"""The channel patches: they fit the pinned asyncua, refuse with the right status, never skip."""

from __future__ import annotations

import pytest
from asyncua import Server, ua
from asyncua.common.connection import SecureConnection, TransportLimits
from asyncua.crypto.security_policies import (
    SecurityPolicyAes256Sha256RsaPss,
    SecurityPolicyBasic256Sha256,
    SecurityPolicyFactory,
    SecurityPolicyNone,
)

from opcua_server.errors import ServerError
from opcua_server.fastpath import (
    CHANNEL_PATCHES,
    ChannelRules,
    Patch,
    Target,
    channels,
    guard_channels,
    patching,
)

SIGN_AND_ENCRYPT = ua.MessageSecurityMode.SignAndEncrypt
NONE_URI = SecurityPolicyNone.URI


def service(object_id: int) -> ua.NodeId:
    return ua.NodeId(object_id)


CREATE_SESSION = service(ua.ObjectIds.CreateSessionRequest_Encoding_DefaultBinary)
ACTIVATE_SESSION = service(ua.ObjectIds.ActivateSessionRequest_Encoding_DefaultBinary)
READ = service(ua.ObjectIds.ReadRequest_Encoding_DefaultBinary)
GET_ENDPOINTS = service(ua.ObjectIds.GetEndpointsRequest_Encoding_DefaultBinary)
FIND_SERVERS = service(ua.ObjectIds.FindServersRequest_Encoding_DefaultBinary)


@pytest.mark.parametrize("name", list(CHANNEL_PATCHES))
def test_every_channel_patch_fits_the_pinned_asyncua(name: str) -> None:
    """Fails when asyncua changes a function a channel patch replaces or relies on: re-read it,
    re-check the patch against it, then re-pin the digest."""
    assert CHANNEL_PATCHES[name].problem() is None


def secure_only() -> SecureConnection:
    """A server-side connection offering Basic256Sha256 SignAndEncrypt only, not yet open."""
    connection = SecureConnection(SecurityPolicyNone(), TransportLimits())
    connection.set_policy_factories(
        [SecurityPolicyFactory(SecurityPolicyBasic256Sha256, SIGN_AND_ENCRYPT)]
    )
    return connection


def test_a_mode_not_offered_with_an_offered_policy_is_security_mode_rejected() -> None:
    with pytest.raises(ua.uaerrors.BadSecurityModeRejected):
        channels._select_policy(
            secure_only(), SecurityPolicyBasic256Sha256.URI, None, ua.MessageSecurityMode.Sign
        )


def test_a_policy_not_offered_is_security_policy_rejected() -> None:
    with pytest.raises(ua.uaerrors.BadSecurityPolicyRejected):
        channels._select_policy(secure_only(), SecurityPolicyAes256Sha256RsaPss.URI, None)


def test_the_refusals_are_still_the_ua_errors_asyncua_raised() -> None:
    with pytest.raises(ua.UaError):
        channels._select_policy(secure_only(), SecurityPolicyAes256Sha256RsaPss.URI, None)


def test_a_none_channel_for_discovery_keeps_its_none_policy() -> None:
    connection = secure_only()
    before = connection.security_policy
    channels._select_policy(connection, NONE_URI, None, ua.MessageSecurityMode.None_)
    assert connection.security_policy is before


def test_an_offered_policy_and_mode_is_chosen() -> None:
    connection = SecureConnection(SecurityPolicyNone(), TransportLimits())
    offered = SecurityPolicyFactory(SecurityPolicyNone, ua.MessageSecurityMode.None_)
    connection.set_policy_factories([offered])
    before = connection.security_policy
    channels._select_policy(connection, NONE_URI, None, ua.MessageSecurityMode.None_)
    assert connection.security_policy is not before
    assert connection.security_policy.Mode == ua.MessageSecurityMode.None_


SECURE_ONLY = ChannelRules(sessions_without_security=False, max_sessions=2)


@pytest.mark.parametrize("request_type", [CREATE_SESSION, ACTIVATE_SESSION, READ])
def test_a_none_channel_carries_no_session_service(request_type: ua.NodeId) -> None:
    refusal = SECURE_ONLY.refusal(request_type, unsecured=True, sessions=0)
    assert refusal == ua.StatusCodes.BadSecurityPolicyRejected


@pytest.mark.parametrize("request_type", [GET_ENDPOINTS, FIND_SERVERS])
def test_a_none_channel_carries_discovery(request_type: ua.NodeId) -> None:
    assert SECURE_ONLY.refusal(request_type, unsecured=True, sessions=0) is None


def test_an_offered_none_policy_carries_sessions() -> None:
    rules = ChannelRules(sessions_without_security=True, max_sessions=2)
    assert rules.refusal(CREATE_SESSION, unsecured=True, sessions=0) is None
    assert rules.refusal(READ, unsecured=True, sessions=1) is None


def test_sessions_beyond_the_limit_are_refused() -> None:
    assert SECURE_ONLY.refusal(CREATE_SESSION, unsecured=False, sessions=1) is None
    refusal = SECURE_ONLY.refusal(CREATE_SESSION, unsecured=False, sessions=2)
    assert refusal == ua.StatusCodes.BadTooManySessions
    assert SECURE_ONLY.refusal(READ, unsecured=False, sessions=2) is None


class Victim:
    """Stands in for an asyncua class whose code changed."""

    def process(self) -> int:
        return 41


def better_process(self: Victim) -> int:
    return 42


@pytest.fixture
def changed_asyncua(monkeypatch: pytest.MonkeyPatch) -> None:
    victim = Patch("victim", (Target(Victim, "process", "0" * 64, better_process),))
    monkeypatch.setattr(channels, "CHANNEL_PATCHES", {"victim": victim})
    monkeypatch.setattr(patching, "_installed", set())


@pytest.mark.usefixtures("changed_asyncua")
def test_a_channel_patch_that_does_not_fit_stops_the_server() -> None:
    with pytest.raises(ServerError, match="victim"):
        guard_channels(Server(), SECURE_ONLY)
    assert Victim().process() == 41
