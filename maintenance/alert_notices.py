"""What planners are told about alerts: the events, and the outbox handed to the notifier."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from maintenance.notify import Notification


class AlertEvent(StrEnum):
    """What happened to an alert, as the webhook's receivers see it."""

    RAISED = "alert.raised"
    ESCALATED = "alert.escalated"
    ORDERED = "alert.ordered"
    ORDER_FAILED = "alert.order_failed"
    ACKNOWLEDGED = "alert.acknowledged"
    CLEARED = "alert.cleared"


class Notifier(Protocol):
    """Where planner notifications go (``maintenance.notify.WebhookNotifier``)."""

    async def enqueue(self, notification: Notification) -> bool: ...


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A notification written with an alert change, not yet handed to the notifier."""

    seq: int
    notification: Notification


class Outbox(Protocol):
    """Notifications stored with the alert changes they announce (``AlertStore``)."""

    def outbox(self) -> list[OutboxEntry]: ...

    def handed_over(self, seq: int) -> None: ...


async def hand_over(outbox: Outbox, notifier: Notifier | None) -> None:
    """Give the outbox to the notifier (or drop it when there is none), oldest first.

    An entry is marked only once the notifier has it, so a crash in between hands it over again
    (the notifier ignores keys it already has): notifications are at least once.
    """
    for entry in await asyncio.to_thread(outbox.outbox):
        if notifier is not None:
            await notifier.enqueue(entry.notification)
        await asyncio.to_thread(outbox.handed_over, entry.seq)
