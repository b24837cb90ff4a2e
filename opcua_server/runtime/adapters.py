"""Adapters the composition root puts between a service and what it feeds."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from asyncua import ua

from connectors import SpoolFullError
from maintenance import alarm_message
from models import AggregateHistorian, Alert, Reading
from opcua_server.alarms import AlarmManager, AlertInfo
from opcua_server.runtime.maintenance_alarms import MaintenancePlans

if TYPE_CHECKING:
    from connectors import InfluxSink


def aggregates_of(historian: object) -> AggregateHistorian | None:
    """The historian as an aggregate source, when it computes aggregates."""
    return historian if isinstance(historian, AggregateHistorian) else None


def ua_machine_node(namespace: int, machine: str) -> ua.NodeId:
    """The NodeId of a machine's object in the Machines folder."""
    return ua.NodeId(f"Machines/{machine}", namespace)


class AlarmManagerSink:
    """Puts the alert service's alerts on the server's Alarms & Conditions."""

    def __init__(
        self,
        alarms: AlarmManager,
        machines: Mapping[str, ua.NodeId],
        plans: MaintenancePlans | None = None,
    ) -> None:
        self._alarms = alarms
        self._machines = machines
        self._plans = plans or MaintenancePlans()

    async def raise_alert(self, alert: Alert) -> None:
        await self._alarms.raise_alert(
            AlertInfo(
                machine=alert.machine,
                component=alert.component,
                severity=alert.severity,
                message=alarm_message(alert),
                source_node=self._machines[alert.machine],
                source_name=alert.machine,
                time=alert.updated_at,
                maintenance=self._plans.for_alert(alert),
            )
        )

    async def clear(self, alert: Alert) -> None:
        await self._alarms.clear(alert.machine, alert.component, alarm_message(alert))


class SpoolRefusalCounted:
    """The Influx sink, except that a full spool does not hold back the other sinks.

    The sink has already counted and logged the refused readings (and SQLite keeps them), so
    retrying would only stop ingest for every sink.
    """

    def __init__(self, sink: InfluxSink) -> None:
        self._sink = sink

    async def put(self, readings: Sequence[Reading]) -> None:
        with contextlib.suppress(SpoolFullError):
            await self._sink.put(readings)
