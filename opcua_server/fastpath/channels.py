"""Patches channel_refusals and channel_rules: what a secure channel may carry, refused at once."""

# Security, not speed: installed by `guard_channels`; a server that asked for them refuses to
# start when they do not fit (asyncua's own code would serve what they refuse).
#
# channel_refusals replaces SecureConnection.select_policy and UaProcessor.process
#   (asyncua 2.1.0). asyncua's select_policy raised a bare UaError for a policy or mode the
#   server does not offer, and process let it escape: the client got no answer and waited for
#   its timeout (a Sign-only channel, a policy not configured). `_select_policy` is the same
#   choice failing with Bad_SecurityPolicyRejected (policy not offered) or
#   Bad_SecurityModeRejected (policy offered, not with that mode), both UaErrors as before;
#   `_answer_refused_channels` answers any OpenSecureChannel that fails with an Error message
#   carrying its status and closes the connection (OPC 10000-6 §7.1.5). The process-wide part
#   is only the exception type; the Error message is sent by servers with `ChannelRules`.
#
# channel_rules replaces UaProcessor.process_message (asyncua 2.1.0). asyncua keeps a
#   SecurityPolicy None channel for discovery even when no None endpoint is offered, and served
#   CreateSession, ActivateSession (also the take-over of a live session) and then every
#   service on it, without the permission ruleset and with passwords in clear.
#   `_refuse_by_channel_rules` refuses, before asyncua decodes the request, every service but
#   GetEndpoints, FindServers and CloseSecureChannel on such a channel with
#   Bad_SecurityPolicyRejected (as open62541 does with securityPolicyNoneDiscoveryOnly), and a
#   CreateSession beyond the server's session limit with Bad_TooManySessions (OPC 10000-4
#   §5.7.2.3). asyncua counts its open sessions in InternalServer._external_sessions (kept by
#   register/unregister_external_session). Only servers passed to `guard_channels`.
#
# Checked: the source digests of the three replaced functions and of the two that keep the
# session count; a mismatch raises ServerError from `guard_channels`.

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asyncua import Server, ua
from asyncua.common.connection import SecureConnection
from asyncua.common.utils import Buffer
from asyncua.server.internal_server import InternalServer
from asyncua.server.uaprocessor import UaProcessor
from asyncua.ua import ua_binary

from opcua_server.errors import ServerError
from opcua_server.fastpath.patching import ASYNCUA_VERSION, Patch, Target, apply_once

log = logging.getLogger(__name__)

_DISCOVERY_SERVICES = frozenset(
    ua.NodeId(i)
    for i in (
        ua.ObjectIds.GetEndpointsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.FindServersRequest_Encoding_DefaultBinary,
        ua.ObjectIds.FindServersOnNetworkRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CloseSecureChannelRequest_Encoding_DefaultBinary,
    )
)
"""What a SecurityPolicy None channel may carry when no None endpoint is offered."""

_CREATE_SESSION = ua.NodeId(ua.ObjectIds.CreateSessionRequest_Encoding_DefaultBinary)
_SESSION_REQUESTS = frozenset(
    {_CREATE_SESSION, ua.NodeId(ua.ObjectIds.ActivateSessionRequest_Encoding_DefaultBinary)}
)


@dataclass(frozen=True, slots=True)
class ChannelRules:
    """What one server's secure channels may carry beyond asyncua's own checks."""

    sessions_without_security: bool
    """Whether a SecurityPolicy None channel may carry sessions (a None endpoint is offered)."""
    max_sessions: int
    """Open sessions at most; one more CreateSession gets Bad_TooManySessions."""
    on_refused: Callable[[int], None] | None = None
    """Told the status of every channel, CreateSession and ActivateSession refused here (the
    session diagnostics count them; other refused requests are answered, not counted)."""

    def refusal(self, service: ua.NodeId, *, unsecured: bool, sessions: int) -> int | None:
        """The status a request for ``service`` is refused with, or None to serve it."""
        if unsecured and not self.sessions_without_security and service not in _DISCOVERY_SERVICES:
            return int(ua.StatusCodes.BadSecurityPolicyRejected)
        if service == _CREATE_SESSION and sessions >= self.max_sessions:
            return int(ua.StatusCodes.BadTooManySessions)
        return None

    def tell(self, status: int) -> None:
        if self.on_refused is not None:
            self.on_refused(status)


_CHANNEL_RULES: weakref.WeakKeyDictionary[InternalServer, ChannelRules] = (
    weakref.WeakKeyDictionary()
)
_original_process = UaProcessor.process
_original_process_message = UaProcessor.process_message


def _select_policy(
    self: SecureConnection,
    uri: str,
    peer_certificate: bytes | None,
    mode: ua.MessageSecurityMode | None = None,
) -> None:
    """SecureConnection.select_policy (asyncua 2.1.0), failing with the status that says why:
    Bad_SecurityPolicyRejected or Bad_SecurityModeRejected (OPC 10000-4 §5.6.2)."""
    for policy in self._policies:
        if policy.matches(uri, mode):
            self.security_policy = policy.create(peer_certificate)
            return
    current = self.security_policy
    if uri == current.URI and (mode is None or current.Mode == mode):
        return
    offered = uri == current.URI or any(policy.matches(uri) for policy in self._policies)
    if offered:
        raise ua.UaStatusCodeError(ua.StatusCodes.BadSecurityModeRejected)
    raise ua.UaStatusCodeError(ua.StatusCodes.BadSecurityPolicyRejected)


async def _answer_refused_channels(self: UaProcessor, header: ua.Header, body: Buffer) -> bool:
    """UaProcessor.process (asyncua 2.1.0); on a guarded server an OpenSecureChannel that fails
    is answered with an Error message and the connection closed (OPC 10000-6 §7.1.5)."""
    rules = _CHANNEL_RULES.get(self.iserver)
    if rules is None or header.MessageType != ua.MessageType.SecureOpen:
        result: bool = await _original_process(self, header, body)
        return result
    try:
        opened: bool = await _original_process(self, header, body)
    except ua.UaStatusCodeError as error:
        status = error.code
    except Exception:  # any failure to open the channel is fatal to it, answered all the same
        log.warning("refused to open a secure channel for %s", self.name, exc_info=True)
        status = ua.StatusCodes.BadSecurityChecksFailed
    else:
        return opened
    error_message = ua.ErrorMessage(ua.StatusCode(status), ua.StatusCode(status).name)
    self._transport.write(ua_binary.uatcp_to_binary(ua.MessageType.Error, error_message))
    rules.tell(status)
    return False  # asyncua closes the connection


def _is_unsecured(processor: UaProcessor) -> bool:
    return bool(processor._connection.security_policy.Mode == ua.MessageSecurityMode.None_)


async def _refuse_by_channel_rules(self: UaProcessor, seqhdr: Any, body: Buffer) -> bool | None:
    """UaProcessor.process_message (asyncua 2.1.0), refusing first what the server's
    ChannelRules refuse, with a ServiceFault carrying the status."""
    rules = _CHANNEL_RULES.get(self.iserver)
    if rules is not None:
        peek = body.copy()  # the request stays unread for asyncua
        service = ua_binary.nodeid_from_binary(peek)
        sessions = len(self.iserver._external_sessions)
        status = rules.refusal(service, unsecured=_is_unsecured(self), sessions=sessions)
        if status is not None:
            request_header = ua_binary.struct_from_binary(ua.RequestHeader, peek)
            fault = ua.ServiceFault()
            fault.ResponseHeader.ServiceResult = ua.StatusCode(status)
            self.send_response(request_header.RequestHandle, seqhdr, fault)
            if service in _SESSION_REQUESTS:
                rules.tell(status)
            return True
    result: bool | None = await _original_process_message(self, seqhdr, body)
    return result


CHANNEL_PATCHES: dict[str, Patch] = {
    "channel_refusals": Patch(
        "channel_refusals",
        (
            Target(
                SecureConnection,
                "select_policy",
                "516345b8a03ec75b416dbd8784ccdd2f1a0bc1088430c40a4f2a516232a200fb",
                _select_policy,
            ),
            Target(
                UaProcessor,
                "process",
                "70af297c7ab8b02f022b07a67f1b1d5c7e29a978f454ad925b77a85424520f21",
                _answer_refused_channels,
            ),
        ),
    ),
    "channel_rules": Patch(
        "channel_rules",
        (
            Target(
                UaProcessor,
                "process_message",
                "303c6a0c8e315eddc6b268ea3b86311c5b79a0a29390ce2459e35ed6d3427b9e",
                _refuse_by_channel_rules,
            ),
            Target(
                InternalServer,
                "register_external_session",
                "c78e1de5967c64b9289d470e2028b2f1b475e1928a78a0b0c8947029d57ae5ce",
            ),
            Target(
                InternalServer,
                "unregister_external_session",
                "b57afce91b201df64262bd605aa61cb59bb18d892b4683cbedc986386bdcf71e",
            ),
        ),
    ),
}
"""The security patches, installed by `guard_channels` (never skipped)."""


def guard_channels(server: Server, rules: ChannelRules) -> None:
    """Apply ``rules`` to every channel of ``server``.

    Raises ServerError when the installed asyncua is not the one the patches were written for:
    serving on asyncua's own code would serve what the rules refuse.
    """
    for patch in CHANNEL_PATCHES.values():
        problem = apply_once(patch)
        if problem is not None:
            raise ServerError(
                f"cannot apply the OPC UA channel rules ({patch.name}): {problem}",
                advice=f"install asyncua {ASYNCUA_VERSION}, the version trustfloor pins",
            )
    _CHANNEL_RULES[server.iserver] = rules
