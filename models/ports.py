"""Protocols (ports) through which connectors, maintenance, ledger and the server meet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from models.production import PrintOrder
from models.readings import Reading


class Clock(Protocol):
    """Where time comes from, so tests control it instead of sleeping."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ReadingSink(Protocol):
    """Takes batches of readings; awaiting ``put`` is the back-pressure point."""

    async def put(self, readings: Sequence[Reading]) -> None: ...


@runtime_checkable
class Connector(Protocol):
    """A southbound device link that produces readings until it is stopped."""

    @property
    def name(self) -> str: ...

    async def run(self, sink: ReadingSink) -> None:
        """Poll or subscribe and hand readings to ``sink``; returns only when cancelled."""
        ...


class Historian(Protocol):
    """Durable store of readings, queried by point and time range."""

    async def write(self, readings: Sequence[Reading]) -> None: ...

    async def query(
        self, machine: str, tag: str, start: datetime, end: datetime, limit: int = 10_000
    ) -> list[Reading]: ...

    async def close(self) -> None: ...


class OrderBook(Protocol):
    """Print orders: created by the MES or an alert, cancelled while still open."""

    async def create_order(
        self, design_id: str, quantity: int, reason: str, requested_by: str
    ) -> PrintOrder: ...

    async def cancel_order(self, order_id: str, cancelled_by: str) -> PrintOrder: ...


@dataclass(frozen=True, slots=True)
class VerificationOutcome:
    """Verdict of verifying a proof bundle, with the reason a person can act on."""

    valid: bool
    reason: str


class CertificateDesk(Protocol):
    """Part certificates as the quality engineer and the MES use them."""

    async def certificate_json(self, serial: str) -> str: ...

    async def proof_bundle_json(self, serial: str) -> str: ...

    async def verify_bundle(self, bundle_json: str) -> VerificationOutcome: ...

    async def record_inspection(self, serial: str, results_json: str, inspector: str) -> None: ...

    async def revoke(self, serial: str, reason: str, revoked_by: str) -> None: ...


class Aggregate(StrEnum):
    """Processed history aggregates (OPC 10000-13 §5.4: Average, Minimum, Maximum, Count)."""

    AVERAGE = "average"
    MINIMUM = "minimum"
    MAXIMUM = "maximum"
    COUNT = "count"


class AggregateStatus(StrEnum):
    """Quality of one interval (OPC 10000-13 §5.3 PercentValues; uncertain counts as bad)."""

    GOOD = "good"  # every reading in the interval is Good
    UNCERTAIN_DATA_SUBNORMAL = "uncertain_data_subnormal"  # some readings Good, some not
    BAD_NO_DATA = "bad_no_data"  # no Good reading in the interval


@dataclass(frozen=True, slots=True)
class AggregateValue:
    """One interval of an aggregate; ``value`` is None when the interval has no good data."""

    start: datetime
    value: float | None
    status: AggregateStatus = AggregateStatus.GOOD


@runtime_checkable
class AggregateHistorian(Protocol):
    """A historian that computes interval aggregates of one point."""

    async def aggregate(
        self,
        machine: str,
        tag: str,
        start: datetime,
        end: datetime,
        interval_s: float,
        kind: Aggregate,
    ) -> list[AggregateValue]: ...
