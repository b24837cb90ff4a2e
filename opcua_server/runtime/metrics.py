"""Server diagnostics nodes (OPC 10000-5 §6.3.3) and a Prometheus text metrics endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from asyncua import Server, ua
from asyncua.server.internal_session import InternalSession

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SessionCounters:
    """Counted by the user manager and certificate validator as sessions come and go."""

    accepted: int = 0
    rejected: int = 0
    security_rejected: int = 0


@dataclass(frozen=True, slots=True)
class Metric:
    """One Prometheus sample: name, help text, type, value and labels."""

    name: str
    help: str
    kind: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


def render_metrics(metrics: list[Metric]) -> str:
    """Prometheus text exposition format 0.0.4."""
    lines: list[str] = []
    described: set[str] = set()
    for metric in metrics:
        if metric.name not in described:
            described.add(metric.name)
            lines.append(f"# HELP {metric.name} {metric.help}")
            lines.append(f"# TYPE {metric.name} {metric.kind}")
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(metric.labels.items()))
        lines.append(
            f"{metric.name}{{{labels}}} {metric.value:g}"
            if labels
            else f"{metric.name} {metric.value:g}"
        )
    return "\n".join(lines) + "\n"


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


class MetricsEndpoint:
    """Serves ``GET /metrics`` on a local port for Prometheus; anything else is 404."""

    def __init__(self, host: str, port: int, collect: Callable[[], list[Metric]]) -> None:
        self._host = host
        self._port = port
        self._collect = collect
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)
        log.info("metrics on http://%s:%d/metrics", self._host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request.decode("latin-1").split()
            if len(parts) >= 2 and parts[0] == "GET" and parts[1].split("?")[0] == "/metrics":
                body, status = render_metrics(self._collect()).encode(), "200 OK"
            else:
                body, status = b"not found\n", "404 Not Found"
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
