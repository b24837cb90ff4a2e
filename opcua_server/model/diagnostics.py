"""Server diagnostics nodes (OPC 10000-5 §6.3.3) kept current from the session counters."""

from __future__ import annotations

from dataclasses import dataclass

from asyncua import Server, ua
from asyncua.server.internal_session import InternalSession


@dataclass(slots=True)
class SessionCounters:
    """Counted by the user manager and certificate validator as sessions come and go."""

    accepted: int = 0
    rejected: int = 0
    security_rejected: int = 0


_SUMMARY = "Server_ServerDiagnostics_ServerDiagnosticsSummary_"


def summary_node(field_name: str) -> ua.NodeId:
    """NodeId of a ServerDiagnosticsSummary field (OPC 10000-5 §6.3.3)."""
    return ua.NodeId(getattr(ua.ObjectIds, _SUMMARY + field_name))


class Diagnostics:
    """Keeps Server/ServerDiagnostics current and counts what the metrics endpoint reports."""

    def __init__(self, server: Server, counters: SessionCounters) -> None:
        self._server = server
        self.counters = counters

    def current_sessions(self) -> int:
        """Activated sessions now (asyncua counts them on its session class)."""
        return int(InternalSession._current_connections)

    def current_subscriptions(self) -> int:
        return len(self._server.iserver.subscription_service.subscriptions)

    async def enable(self) -> None:
        await self._server.write_attribute_value(
            ua.NodeId(ua.ObjectIds.Server_ServerDiagnostics_EnabledFlag),
            ua.DataValue(ua.Variant(True)),
        )

    async def refresh(self) -> None:
        values = {
            "CurrentSessionCount": self.current_sessions(),
            "CumulatedSessionCount": self.counters.accepted,
            "RejectedSessionCount": self.counters.rejected + self.counters.security_rejected,
            "SecurityRejectedSessionCount": self.counters.security_rejected,
            "CurrentSubscriptionCount": self.current_subscriptions(),
        }
        for name, value in values.items():
            await self._server.write_attribute_value(
                summary_node(name),
                ua.DataValue(ua.Variant(value, ua.VariantType.UInt32)),
            )
