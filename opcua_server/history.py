"""HistoryRead served from trustfloor's historian: raw, processed aggregates, and events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from asyncua import ua
from asyncua.common.utils import Buffer
from asyncua.server.history import HistoryManager
from asyncua.ua.ua_binary import Primitives

from models import Aggregate, AggregateHistorian, AggregateValue, Historian
from models.ports import AggregateStatus
from opcua_server.address_space import status_of, variant_of

AGGREGATES: dict[ua.NodeId, Aggregate] = {
    ua.NodeId(ua.ObjectIds.AggregateFunction_Average): Aggregate.AVERAGE,
    ua.NodeId(ua.ObjectIds.AggregateFunction_Minimum): Aggregate.MINIMUM,
    ua.NodeId(ua.ObjectIds.AggregateFunction_Maximum): Aggregate.MAXIMUM,
    ua.NodeId(ua.ObjectIds.AggregateFunction_Count): Aggregate.COUNT,
}
"""Aggregate functions served (OPC 10000-13 §5.4.3)."""

CALCULATED = 0x00000400 | 0x00000001
"""Good + DataValue info type + HistorianCalculated bit (OPC 10000-4 §7.39.3)."""
WIN_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
MAX_RAW_VALUES = 10_000

PointOf = Callable[[ua.NodeId], tuple[str, str] | None]


class EventHistory(Protocol):
    """Stored events readable for HistoryRead of events (OPC 10000-11 §6.5)."""

    async def read(
        self, item: ua.HistoryReadValueId, details: ua.ReadEventDetails, *, release: bool = False
    ) -> ua.HistoryReadResult: ...


def _given(ts: datetime | None) -> datetime | None:
    """None for the 'unspecified' timestamps clients send (null or 1601-01-01)."""
    if ts is None:
        return None
    aware = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return None if aware <= WIN_EPOCH + timedelta(days=1) else aware


def _pack(ts: datetime) -> bytes:
    return bytes(Primitives.DateTime.pack(ts))


def _unpack(point: bytes) -> datetime:
    ts: datetime = Primitives.DateTime.unpack(Buffer(point))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


class SiteHistory(HistoryManager):  # type: ignore[misc]  # asyncua is untyped to mypy here
    """Replaces asyncua's history manager (its SQLite backend breaks on string NodeIds)."""

    def __init__(
        self,
        iserver: Any,
        point_of: PointOf,
        historian: Historian | None,
        aggregates: AggregateHistorian | None,
        events: EventHistory | None = None,
    ) -> None:
        super().__init__(iserver)
        self._point_of = point_of
        self._historian = historian
        self._aggregates = aggregates
        self.events = events

    async def _read_history(self, details: Any, rv: ua.HistoryReadValueId) -> ua.HistoryReadResult:
        if isinstance(details, ua.ReadRawModifiedDetails) and not details.IsReadModified:
            return await self._raw(details, rv)
        if isinstance(details, ua.ReadProcessedDetails):
            return await self._processed(details, rv, 0)
        if isinstance(details, ua.ReadEventDetails):
            return await self._events(details, rv)
        return _failed(ua.StatusCodes.BadHistoryOperationUnsupported)

    async def read_history(self, params: ua.HistoryReadParameters) -> list[ua.HistoryReadResult]:
        details = params.HistoryReadDetails
        if isinstance(details, ua.ReadProcessedDetails):
            nodes = enumerate(params.NodesToRead)
            return [await self._processed(details, rv, i) for i, rv in nodes]
        if isinstance(details, ua.ReadEventDetails):
            release = bool(params.ReleaseContinuationPoints)
            return [await self._events(details, rv, release) for rv in params.NodesToRead]
        return [await self._read_history(details, rv) for rv in params.NodesToRead]

    async def _raw(
        self, details: ua.ReadRawModifiedDetails, rv: ua.HistoryReadValueId
    ) -> ua.HistoryReadResult:
        point = self._point_of(rv.NodeId)
        if point is None or self._historian is None:
            return _failed(ua.StatusCodes.BadHistoryOperationUnsupported)
        start = _unpack(rv.ContinuationPoint) if rv.ContinuationPoint else _given(details.StartTime)
        end = _given(details.EndTime) or datetime.now(UTC)
        wanted = details.NumValuesPerNode or MAX_RAW_VALUES
        readings = await self._historian.query(
            *point, start or datetime(1970, 1, 1, tzinfo=UTC), end, wanted + 1
        )
        result = ua.HistoryReadResult()
        result.HistoryData = ua.HistoryData()
        if len(readings) > wanted:
            result.ContinuationPoint = _pack(readings[wanted].source_ts)
            readings = readings[:wanted]
        result.HistoryData.DataValues = [
            ua.DataValue(
                variant_of(r.value),
                StatusCode=status_of(r),
                SourceTimestamp=r.source_ts,
                ServerTimestamp=r.source_ts,
            )
            for r in readings
        ]
        return result

    async def _processed(
        self, details: ua.ReadProcessedDetails, rv: ua.HistoryReadValueId, index: int
    ) -> ua.HistoryReadResult:
        point = self._point_of(rv.NodeId)
        if point is None or self._aggregates is None:
            return _failed(ua.StatusCodes.BadHistoryOperationUnsupported)
        types = details.AggregateType or []
        kind = AGGREGATES.get(types[min(index, len(types) - 1)]) if types else None
        if kind is None:
            return _failed(ua.StatusCodes.BadAggregateNotSupported)
        start, end = _given(details.StartTime), _given(details.EndTime)
        if start is None or end is None or end <= start:
            return _failed(ua.StatusCodes.BadInvalidTimestampArgument)
        interval_s = (details.ProcessingInterval or 0) / 1000 or (end - start).total_seconds()
        values = await self._aggregates.aggregate(*point, start, end, interval_s, kind)
        result = ua.HistoryReadResult()
        result.HistoryData = ua.HistoryData()
        result.HistoryData.DataValues = [_aggregate_value(v, kind) for v in values]
        return result

    async def _events(
        self, details: ua.ReadEventDetails, rv: ua.HistoryReadValueId, release: bool = False
    ) -> ua.HistoryReadResult:
        if self.events is None:
            return _failed(ua.StatusCodes.BadHistoryOperationUnsupported)
        return await self.events.read(rv, details, release=release)


def _failed(status: int) -> ua.HistoryReadResult:
    result = ua.HistoryReadResult()
    result.StatusCode = ua.StatusCode(status)
    return result


_STATUS = {
    AggregateStatus.GOOD: CALCULATED,
    AggregateStatus.UNCERTAIN_DATA_SUBNORMAL: ua.StatusCodes.UncertainDataSubNormal | CALCULATED,
    AggregateStatus.BAD_NO_DATA: ua.StatusCodes.BadNoData,
}
"""Interval status (OPC 10000-13 §5.3) with the HistorianCalculated bit where a value exists."""


def _aggregate_value(value: AggregateValue, kind: Aggregate) -> ua.DataValue:
    """One interval's DataValue; an interval without good data is BadNoData (Count is then 0)."""
    if value.value is None and kind is Aggregate.COUNT:
        value = AggregateValue(value.start, 0.0, value.status)
    if value.value is None:
        return ua.DataValue(
            StatusCode=ua.StatusCode(ua.StatusCodes.BadNoData), SourceTimestamp=value.start
        )
    variant = (
        ua.Variant(int(value.value), ua.VariantType.Int32)
        if kind is Aggregate.COUNT
        else ua.Variant(float(value.value), ua.VariantType.Double)
    )
    status = ua.StatusCode(_STATUS[value.status])
    return ua.DataValue(variant, StatusCode=status, SourceTimestamp=value.start)
