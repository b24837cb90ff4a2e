"""Patch login_off_the_loop: an ActivateSession's password is checked in a worker thread."""

# Replaces UaProcessor._process_message (asyncua 2.1.0).
#
# Why: asyncua asks its user manager about a username and password synchronously, from
# InternalSession.activate_session inside UaProcessor._process_message, so a scrypt
# verification (~50 ms) stopped every session of the server, and a burst of wrong logins
# stalled the others. `_dispatch_with_login_check` replaces UaProcessor._process_message: for
# an ActivateSession whose session asyncua would activate (live session, accepted token type,
# valid client signature -- the checks asyncua makes before asking), it decrypts the
# UserNameIdentityToken in a worker thread and hands username and password to the user
# manager's `activation` context, which decides the login off the event loop; asyncua then
# runs unchanged inside that context and its synchronous get_user returns the decision.
# Requests of any other kind, and user managers without `activation`, go straight to asyncua's
# function. When this patch does not fit, get_user decides as before, on the event loop. Only
# user managers with `activation`.
#
# Checked: the source digests of _process_message and of the three asyncua functions whose
# checks `_password_credentials` repeats or calls (InternalSession.activate_session,
# InternalServer.decrypt_user_token, InternalServer.lookup_external_session).

from __future__ import annotations

import asyncio
import functools
from typing import Any

from asyncua import ua
from asyncua.common.utils import Buffer
from asyncua.server.internal_server import InternalServer
from asyncua.server.internal_session import InternalSession, SessionState
from asyncua.server.uaprocessor import UaProcessor
from asyncua.ua import ua_binary

from opcua_server.fastpath.patching import Patch, Target

_ACTIVATE_SESSION = ua.NodeId(ua.ObjectIds.ActivateSessionRequest_Encoding_DefaultBinary)
_asyncua_dispatch = UaProcessor._process_message


async def _dispatch_with_login_check(
    self: UaProcessor, typeid: ua.NodeId, requesthdr: ua.RequestHeader, seqhdr: Any, body: Buffer
) -> Any:
    """UaProcessor._process_message (asyncua 2.1.0); an ActivateSession's password login is
    decided by the user manager's ``activation`` first, off the event loop."""
    activation = getattr(self.iserver.user_manager, "activation", None)
    if activation is None or typeid != _ACTIVATE_SESSION:
        return await _asyncua_dispatch(self, typeid, requesthdr, seqhdr, body)
    credentials = await _password_credentials(self, requesthdr, body.copy())
    async with activation(_peer_host(self), credentials):
        return await _asyncua_dispatch(self, typeid, requesthdr, seqhdr, body)


# The wrapper names asyncua's function as __wrapped__, so `source_digest` (inspect follows it)
# still finds the asyncua source that read_request_cache relies on.
functools.update_wrapper(_dispatch_with_login_check, _asyncua_dispatch, assigned=(), updated=())


async def _password_credentials(
    processor: UaProcessor, requesthdr: ua.RequestHeader, body: Buffer
) -> tuple[str, str] | None:
    """Username and password of an ActivateSession that asyncua will ask its user manager
    about, or None (another token type, or a request asyncua refuses before asking)."""
    try:
        params = ua_binary.struct_from_binary(ua.ActivateSessionParameters, body)
        session = processor.session or processor.iserver.lookup_external_session(
            requesthdr.AuthenticationToken
        )
        token = params.UserIdentityToken
        if not _asks_about_password(processor, session, token):
            return None
        _verify_client_signature(processor, session, params)
        decrypt = processor.iserver.decrypt_user_token
        username, password = await asyncio.to_thread(decrypt, session, token)
    except Exception:  # asyncua refuses a malformed request itself, with its own status
        return None
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    return username, password


def _asks_about_password(
    processor: UaProcessor, session: InternalSession | None, token: Any
) -> bool:
    """Whether asyncua's activate_session would decrypt ``token`` and call get_user with it."""
    return (
        session is not None
        and session.state != SessionState.Closed
        and isinstance(token, ua.UserNameIdentityToken)
        and isinstance(token, processor.iserver.supported_tokens)
    )


def _verify_client_signature(
    processor: UaProcessor, session: InternalSession, params: ua.ActivateSessionParameters
) -> None:
    """The client signature check asyncua makes before activating; raises when it fails."""
    policy = processor._connection.security_policy
    signed = (
        session.nonce
        if policy.host_certificate is None
        else policy.host_certificate + session.nonce
    )
    policy.asymmetric_cryptography.verify(signed, params.ClientSignature.Signature)


def _peer_host(processor: UaProcessor) -> str:
    """The client's address, without its port (each connection has another)."""
    peer = processor.name
    return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"


PATCH = Patch(
    "login_off_the_loop",
    (
        Target(
            UaProcessor,
            "_process_message",
            "029ff357dd3bdd16a53eec2a830fdc0660d2c1736123715255f7e3dead8ae11b",
            _dispatch_with_login_check,
        ),
        Target(
            InternalSession,
            "activate_session",
            "cfe664a2bb572c9ffecfc1339759eadadec32eb82fc69df940a043019d9948fd",
        ),
        Target(
            InternalServer,
            "decrypt_user_token",
            "3f4ac207891e1cfd45cdaa03f9039613ff1809097214aec5a3ee5cc10728b29e",
        ),
        Target(
            InternalServer,
            "lookup_external_session",
            "93f4ee60c93a33b1562b395cec15056375860c6267e55ba827ce144ccd9220b1",
        ),
    ),
)
