"""Role checks: who may call which method and write which node, enforced per request."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any

from asyncua import ua
from asyncua.common.utils import Buffer
from asyncua.crypto.permission_rules import USER_TYPES, PermissionRuleset, UserRole
from asyncua.ua.ua_binary import struct_from_binary

from config import Role
from opcua_server.security.audit import AuditLog
from opcua_server.security.users import SiteUser

CURRENT_USER: ContextVar[SiteUser | None] = ContextVar("trustfloor_current_user", default=None)
"""The session user of the request being served (set before every service call)."""

EVERYONE = frozenset(Role)
METHOD_ROLES: dict[str, frozenset[Role]] = {
    "CreatePrintOrder": frozenset({Role.MES, Role.PLANNER, Role.ADMIN}),
    "CancelPrintOrder": frozenset({Role.MES, Role.PLANNER, Role.ADMIN}),
    **dict.fromkeys(
        (
            *("Store", "StoreAndStart", "Start", "Abort", "Clear", "Update", "Cancel"),
            *("RevokeStart", "Stop", "Pause", "Resume"),
        ),
        frozenset({Role.MES, Role.PLANNER, Role.ADMIN}),
    ),
    "GetCertificate": EVERYONE,
    "GetProofBundle": EVERYONE,
    "VerifyCertificate": EVERYONE,
    "RecordInspection": frozenset({Role.QUALITY_ENGINEER}),
    "RevokeCertificate": frozenset({Role.QUALITY_ENGINEER}),
    "Trace": frozenset({Role.QUALITY_ENGINEER, Role.MES, Role.PLANNER, Role.ADMIN}),
    "Acknowledge": frozenset({Role.MES, Role.PLANNER, Role.OPERATOR, Role.ADMIN}),
    "CloseWorkRequest": frozenset({Role.MES, Role.PLANNER, Role.ADMIN}),
    "Confirm": frozenset({Role.PLANNER, Role.OPERATOR, Role.ADMIN}),
}
"""Roles allowed to call each method; anything not listed is refused."""

WRITE_ROLES: dict[str, frozenset[Role]] = {
    "AssetId": frozenset({Role.OPERATOR, Role.ADMIN}),
}
"""Roles allowed to write each writable node kind (by BrowseName)."""

_READ_ONLY_SERVICES = {
    ua.NodeId(i)
    for i in (
        ua.ObjectIds.ReadRequest_Encoding_DefaultBinary,
        ua.ObjectIds.BrowseRequest_Encoding_DefaultBinary,
        ua.ObjectIds.BrowseNextRequest_Encoding_DefaultBinary,
        ua.ObjectIds.TranslateBrowsePathsToNodeIdsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CreateSubscriptionRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CreateMonitoredItemsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.DeleteMonitoredItemsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.DeleteSubscriptionsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.PublishRequest_Encoding_DefaultBinary,
        ua.ObjectIds.HistoryReadRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CloseSessionRequest_Encoding_DefaultBinary,
    )
}


class RefusedError(Exception):
    """Raised inside a handler to answer with ``status`` (e.g. BadUserAccessDenied)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def describe(user: SiteUser | None) -> tuple[str, str]:
    """(name, role) for the audit log."""
    if user is None:
        return "anonymous", "none"
    return str(user.name), user.site_role.value


def authorize(action: str, allowed: frozenset[Role]) -> SiteUser:
    """The current session user if their role is in ``allowed``; RefusedError otherwise."""
    user = CURRENT_USER.get()
    if user is None or not isinstance(user, SiteUser) or user.site_role not in allowed:
        reason = f"{describe(user)[1]} may not {action}"
        raise RefusedError(ua.StatusCodes.BadUserAccessDenied, reason)
    return user


_CLIENT_SERVICES = frozenset(ua.NodeId(i) for i in USER_TYPES)
"""Services a signed-in client may ask for (asyncua's User set); each is then checked per node
and per method by the handlers."""


@dataclasses.dataclass(frozen=True, slots=True)
class NodeManagement:
    """One node management service (OPC 10000-4 §5.7): refused to every client, audited."""

    name: str
    parameters: type
    targets: Callable[[Any], list[ua.NodeId]]


_NODE_MANAGEMENT: dict[ua.NodeId, NodeManagement] = {
    ua.NodeId(ua.ObjectIds.AddNodesRequest_Encoding_DefaultBinary): NodeManagement(
        "AddNodes",
        ua.AddNodesParameters,
        lambda p: [item.ParentNodeId for item in p.NodesToAdd],
    ),
    ua.NodeId(ua.ObjectIds.DeleteNodesRequest_Encoding_DefaultBinary): NodeManagement(
        "DeleteNodes", ua.DeleteNodesParameters, lambda p: [i.NodeId for i in p.NodesToDelete]
    ),
    ua.NodeId(ua.ObjectIds.AddReferencesRequest_Encoding_DefaultBinary): NodeManagement(
        "AddReferences",
        ua.AddReferencesParameters,
        lambda p: [item.SourceNodeId for item in p.ReferencesToAdd],
    ),
    ua.NodeId(ua.ObjectIds.DeleteReferencesRequest_Encoding_DefaultBinary): NodeManagement(
        "DeleteReferences",
        ua.DeleteReferencesParameters,
        lambda p: [item.SourceNodeId for item in p.ReferencesToDelete],
    ),
}
"""The address space is built by the server alone: clients, admin included, never change it."""

MAX_AUDITED_TARGETS = 20


def requested_targets(service: NodeManagement, body: Buffer) -> str:
    """The nodes a node management request names, for the audit (never raises)."""
    try:
        parameters = struct_from_binary(service.parameters, body.copy())
    except Exception:  # a request that does not decode is refused all the same
        return "(undecodable request)"
    targets = service.targets(parameters)
    shown = ", ".join(node.to_string() for node in targets[:MAX_AUDITED_TARGETS])
    hidden = len(targets) - MAX_AUDITED_TARGETS
    return f"{shown} (+{hidden} more)" if hidden > 0 else shown


class SessionUserRuleset(PermissionRuleset):  # type: ignore[misc]  # asyncua is untyped to mypy here
    """Remembers each request's user for the handlers; anonymous sessions may only read; no
    client, admin included, may add or delete nodes or references (each refusal is audited)."""

    def __init__(self, audit: AuditLog | None = None) -> None:
        self._audit = audit

    def check_validity(self, user: Any, action_type_id: ua.NodeId, body: Any) -> bool:
        site_user = user if isinstance(user, SiteUser) else None
        CURRENT_USER.set(site_user)
        node_management = _NODE_MANAGEMENT.get(action_type_id)
        if node_management is not None:
            self._record_refusal(site_user, node_management, body)
            return False
        if user is None or user.role == UserRole.Anonymous:
            return action_type_id in _READ_ONLY_SERVICES
        return action_type_id in _CLIENT_SERVICES

    def _record_refusal(self, user: SiteUser | None, service: NodeManagement, body: Buffer) -> None:
        if self._audit is None:
            return
        name, role = describe(user)
        self._audit.record(
            user=name,
            role=role,
            action="node_management",
            target=service.name,
            detail=requested_targets(service, body),
            result=ua.StatusCode(ua.StatusCodes.BadUserAccessDenied).name,
        )


WriteFn = Callable[..., Awaitable[list[ua.StatusCode]]]


def _is_internal(user: Any) -> bool:
    """The server's own writes (ServerStatus and the like) come with asyncua's default admin."""
    return user is None or (not isinstance(user, SiteUser) and user.role == UserRole.Admin)


def _without_admin_bypass(user: Any) -> Any:
    """``user`` as asyncua checks a non-admin (asyncua skips access levels for its Admin role)."""
    if isinstance(user, SiteUser) and user.role == UserRole.Admin:
        checked = copy.copy(user)
        checked.role = UserRole.User
        return checked
    return user


class WriteGuard:
    """Wraps the attribute service's write: per-node role check, audit of every write.

    A client, admin included, may write only the Value of the nodes in ``writable`` its role
    is allowed (WRITE_ROLES); everything else is refused with BadUserAccessDenied before asyncua
    sees it, and what is let through is checked by asyncua as for any non-admin user.
    """

    def __init__(
        self,
        original: WriteFn,
        writable: dict[ua.NodeId, str],
        audit: AuditLog,
        on_written: Callable[[ua.NodeId, object], None] | None = None,
    ) -> None:
        self._original = original
        self._writable = writable
        self._audit = audit
        self._on_written = on_written

    async def __call__(self, params: ua.WriteParameters, user: Any = None) -> list[ua.StatusCode]:
        if _is_internal(user):
            return await self._original(params, user=user)
        results: list[ua.StatusCode | None] = []
        allowed: list[ua.WriteValue] = []
        for item in params.NodesToWrite:
            refusal = self._refusal(item, user)
            results.append(refusal)
            if refusal is None:
                allowed.append(item)
        forwarded = ua.WriteParameters()
        forwarded.NodesToWrite = allowed
        checked_as = _without_admin_bypass(user)
        outcomes = iter(await self._original(forwarded, user=checked_as) if allowed else [])
        final = [r if r is not None else next(outcomes) for r in results]
        self._record(params.NodesToWrite, final, user)
        self._remember(params.NodesToWrite, final)
        return final

    def _remember(self, items: Sequence[ua.WriteValue], results: Sequence[ua.StatusCode]) -> None:
        if self._on_written is None:
            return
        for item, result in zip(items, results, strict=True):
            if result.is_good() and item.NodeId in self._writable:
                self._on_written(item.NodeId, item.Value.Value.Value if item.Value.Value else None)

    def _refusal(self, item: ua.WriteValue, user: Any) -> ua.StatusCode | None:
        kind = self._writable.get(item.NodeId)
        role = user.site_role if isinstance(user, SiteUser) else None
        if (
            kind is not None
            and item.AttributeId == ua.AttributeIds.Value
            and role in WRITE_ROLES.get(kind, frozenset())
        ):
            return None
        return ua.StatusCode(ua.StatusCodes.BadUserAccessDenied)

    def _record(
        self, items: Sequence[ua.WriteValue], results: Sequence[ua.StatusCode], user: Any
    ) -> None:
        name, role = describe(user if isinstance(user, SiteUser) else None)
        for item, result in zip(items, results, strict=True):
            value = item.Value.Value.Value if item.Value and item.Value.Value else None
            self._audit.record(
                user=name,
                role=role,
                action="write",
                target=item.NodeId.to_string(),
                detail=repr(value),
                result=result.name,
            )
