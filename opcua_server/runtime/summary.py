"""What the console shows of a running site: the live status line and the story so far."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from connectors import SimulatedSite
from maintenance import AlertRow, AlertService
from models import Alert

if TYPE_CHECKING:
    from opcua_server.demo.actors import Repairs


@dataclass(frozen=True, slots=True)
class SiteStatus:
    """What the live status line shows."""

    devices: int
    devices_up: int
    readings: int
    pending: int
    stored: int


@dataclass(frozen=True, slots=True)
class SiteSummary:
    """The story so far, for the demo's console: machines, alerts, orders, parts, proofs."""

    simulated_h: float
    """Simulated hours since start (0 for a real site)."""
    machines: int
    stopped: tuple[str, ...]
    health: Mapping[str, int]
    """Machines per health state of their newest score ("unscored" before the first)."""
    alerts: Sequence[AlertRow]
    orders: Mapping[str, int]
    parts_passed: int
    parts_failed: int
    batches_anchored: int
    batches_pending: int
    certificates_unanchored: int
    """Certificates not on chain yet: waiting for a batch, or in a batch not yet anchored."""
    licences: Mapping[str, tuple[int, int]]
    """Design id → (pieces counted on chain, licensed quota)."""
    repairs: Repairs | None
    alerts_without_failure: int | None = None
    """Alerts raised on machines that did not fail within the alert's horizon (simulated site
    only: the simulator knows); 0 is the goal."""
    last_retrain: str | None = None
    """What the last scheduled retrain did (None: none ran, or none is scheduled)."""


class Clocked(Protocol):
    """The simulator's time base: simulated seconds since its epoch and back."""

    def simulated(self, at: datetime) -> float: ...

    def real(self, simulated_s: float) -> datetime: ...


class WearEventView(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def component(self) -> str: ...

    @property
    def at(self) -> datetime: ...


class WearView(Protocol):
    """What the summary asks of a simulated machine's wear (its ground truth)."""

    @property
    def events(self) -> Sequence[WearEventView]: ...

    def failure_time(self, component: str, now: datetime) -> datetime | None: ...


FAILURE = "failure"
"""The kind of a failure event in the simulator's ground truth."""


def horizon_end(alert: Alert, timebase: Clocked) -> datetime:
    """When the alert's horizon ends: 2 × (lead time + margin) simulated hours after it."""
    hours = 2.0 * ((alert.lead_time_h or 0.0) + alert.margin_h)
    simulated = timebase.simulated(alert.raised_at) + hours * 3600.0
    return timebase.real(simulated)


def failed_within_horizon(alert: Alert, wear: WearView, timebase: Clocked, now: datetime) -> bool:
    """Whether the machine failed (or will, as the simulator knows) within the alert's horizon.

    A part replaced within the horizon counts as a failure averted: it was fitted because it was
    due (its order came from the RUL band).
    """
    end = horizon_end(alert, timebase)
    for event in wear.events:
        if not alert.raised_at <= event.at <= end:
            continue
        if event.kind == FAILURE or event.component == alert.component:
            return True
    failure = wear.failure_time(alert.component, now)
    return failure is not None and alert.raised_at <= failure <= end


async def alerts_without_failure(
    alerts: AlertService | None, simulation: SimulatedSite | None, now: datetime
) -> int | None:
    """Alerts so far on simulated machines that did not fail within their horizon (None: a real
    site, where nobody knows)."""
    if alerts is None or simulation is None:
        return None
    raised = await alerts.recent(limit=100_000)
    return sum(
        1
        for alert in raised
        if alert.machine in simulation.wear
        and not failed_within_horizon(
            alert, simulation.wear[alert.machine], simulation.timebase, now
        )
    )
