"""Recall campaigns as OPC UA events: a BaseEventType event from the Server object per notice."""

# Events reach only monitored items on the exact emitting node, so recall notices are emitted
# from the Server object (i=2253), where an MES subscribed to the server's events sees them,
# with SourceName "Recalls" so it can filter them.

from __future__ import annotations

from dataclasses import dataclass

from asyncua import Server, ua
from asyncua.server.event_generator import EventGenerator

SOURCE_NAME = "Recalls"


@dataclass(frozen=True, slots=True)
class RecallNotice:
    """One thing a quality engineer did with a campaign, as the MES hears it."""

    campaign: str
    event: str
    """``opened`` or ``closed``."""
    message: str
    severity: int
    """OPC 10000-5 §6.4.2 Severity, 1..1000."""


class RecallEvents:
    """Emits recall notices as events of the Server object (its generator made on first use)."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._generator: EventGenerator | None = None

    async def emit(self, notice: RecallNotice) -> None:
        generator = self._generator
        if generator is None:
            generator = await self._server.get_event_generator(
                ua.ObjectIds.BaseEventType, ua.ObjectIds.Server
            )
            self._generator = generator
        event = generator.event
        event.SourceName = SOURCE_NAME
        event.SourceNode = ua.NodeId(ua.ObjectIds.Server)
        event.Severity = notice.severity
        await generator.trigger(message=notice.message)
