"""What the console shows of a running site: the live status line and the story so far."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from maintenance import AlertRow
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
