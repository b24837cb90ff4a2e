"""HistoryRead served from trustfloor's historian: raw, processed aggregates, and events."""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol, runtime_checkable

from asyncua import ua
from asyncua.server.history import HistoryManager

from config import ServerSettings
from models import (
    Aggregate,
    AggregateHistorian,
    AggregateStatus,
    AggregateValue,
    Cause,
    Historian,
    Quality,
    Reading,
    from_micros,
    to_micros,
)
from opcua_server.model.address_space import STATUS_BY_CAUSE, status_of, variant_of

log = logging.getLogger(__name__)

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
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_CONTINUATION = struct.Struct(">4sqI")
_CONTINUATION_TAG = b"tfrv"

PointOf = Callable[[ua.NodeId], tuple[str, str] | None]

NO_SQLITE_HISTORIAN = (
    "historian.sqlite_enabled is false: telemetry goes to historian.influx only, and HistoryRead "
    "of values answers BadHistoryOperationUnsupported (query the InfluxDB bucket for history)"
)
"""Logged when the site starts without its SQLite historian and at the first refused read."""


RawRow = tuple[int, float | int | str | None, str, str, str]
"""A stored reading: source time (µs since the Unix epoch), value, quality, cause, reason."""


@runtime_checkable
class RawRowHistorian(Protocol):
    """A historian that also answers raw queries as rows (no object per reading)."""

    async def query_rows(
        self, machine: str, tag: str, start: datetime, end: datetime, limit: int = 10_000
    ) -> list[RawRow]: ...


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


@dataclass(frozen=True, slots=True)
class HistoryLimits:
    """How many raw values one HistoryRead answer holds at most, whatever the client asks."""

    values_per_node: int = 10_000
    values_per_request: int = 10_000

    @classmethod
    def from_settings(cls, settings: ServerSettings) -> HistoryLimits:
        return cls(settings.history_max_values_per_node, settings.history_max_values_per_request)

    def per_node(self, nodes: int, asked: int) -> int:
        """Values each of ``nodes`` gets in one answer: the client's limit (0: none) within the
        per-node cap and an equal share of the per-request cap (at least one value)."""
        cap = min(self.values_per_node, max(1, self.values_per_request // max(1, nodes)))
        return min(asked, cap) if asked > 0 else cap


@dataclass(frozen=True, slots=True)
class RawPosition:
    """Where a raw read resumes: at ``start``, after the ``skip`` readings stamped exactly
    ``start`` that an earlier answer returned already."""

    start: datetime
    skip: int = 0


def encode_continuation(position: RawPosition) -> bytes:
    """A stateless continuation point (OPC 10000-11 §6.3): the position the next read resumes at.

    It holds no server memory, so releasing it frees nothing and any number may be open.
    """
    return _CONTINUATION.pack(_CONTINUATION_TAG, to_micros(position.start), position.skip)


def decode_continuation(point: bytes) -> RawPosition:
    """The position in ``point``; ValueError when it is not one this server handed out."""
    if len(point) != _CONTINUATION.size:
        raise ValueError("continuation point of the wrong size")
    tag, start_us, skip = _CONTINUATION.unpack(point)
    if tag != _CONTINUATION_TAG:
        raise ValueError("continuation point not issued by the raw history")
    return RawPosition(from_micros(start_us), skip)


def raw_result(readings: Sequence[Reading], limit: int, after: RawPosition) -> ua.HistoryReadResult:
    """The answer for one node: up to ``limit`` of ``readings`` (which follow ``after``), and a
    continuation point when more are left."""
    result = ua.HistoryReadResult()
    result.HistoryData = ua.HistoryData()
    if len(readings) > limit:
        stamps = [to_micros(r.source_ts) for r in readings[: limit + 1]]
        result.ContinuationPoint = encode_continuation(_next_position(stamps, limit, after))
    result.HistoryData.DataValues = [_data_value(r) for r in readings[:limit]]
    return result


def raw_rows_result(rows: Sequence[RawRow], limit: int, after: RawPosition) -> ua.HistoryReadResult:
    """:func:`raw_result` from stored rows: the HistoryData goes out already encoded (OPC
    10000-6 §5.2.2.15 ExtensionObject body), the same bytes asyncua would make of the
    DataValues, with no DataValue object per reading."""
    result = ua.HistoryReadResult()
    if len(rows) > limit:
        stamps = [row[0] for row in rows[: limit + 1]]
        result.ContinuationPoint = encode_continuation(_next_position(stamps, limit, after))
    result.HistoryData = ua.ExtensionObject(TypeId=_HISTORY_DATA, Body=history_data(rows[:limit]))
    return result


def _next_position(stamps: Sequence[int], limit: int, after: RawPosition) -> RawPosition:
    """Where the read resumes after returning ``limit`` of the readings stamped ``stamps`` (µs,
    oldest first, at least ``limit + 1``); those sharing the next one's timestamp that were
    returned already are skipped then."""
    resume = stamps[limit]
    returned = sum(1 for stamp in stamps[:limit] if stamp == resume)
    if resume == to_micros(after.start):
        returned += after.skip
    return RawPosition(from_micros(resume), returned)


_HISTORY_DATA = ua.NodeId(ua.ObjectIds.HistoryData_Encoding_DefaultBinary)
_ALL_FIELDS = 0x0F
"""DataValue encoding mask: value, status code, source and server timestamps."""
_WIN_EPOCH_TICKS = 116_444_736_000_000_000
"""100 ns ticks from 1601-01-01 to 1970-01-01 (OPC 10000-6 §5.2.2.5 DateTime)."""
_COUNT = struct.Struct("<i")
_NUMBER = struct.Struct("<BBdIqq")
_EMPTY = struct.Struct("<BBIqq")
_TEXT_HEAD = struct.Struct("<BBi")
_TAIL = struct.Struct("<Iqq")


def history_data(rows: Sequence[RawRow]) -> bytes:
    """The binary HistoryData of ``rows`` (OPC 10000-6 §5.2.2.17 DataValue, §5.2.2.16 Variant):
    numbers as Double, text as String, no value as a null Variant; both timestamps the source
    time, as :func:`raw_result` sends them."""
    parts = [_COUNT.pack(len(rows))]
    for stamp_us, value, quality, cause, _ in rows:
        ticks = stamp_us * 10 + _WIN_EPOCH_TICKS
        status = _status_code(quality, cause)
        if isinstance(value, int | float):
            parts.append(_NUMBER.pack(_ALL_FIELDS, 11, value, status, ticks, ticks))
        elif isinstance(value, str):
            text = value.encode()
            parts.append(_TEXT_HEAD.pack(_ALL_FIELDS, 12, len(text)))
            parts.append(text)
            parts.append(_TAIL.pack(status, ticks, ticks))
        else:
            parts.append(_EMPTY.pack(_ALL_FIELDS, 0, status, ticks, ticks))
    return b"".join(parts)


@cache
def _status_code(quality: str, cause: str) -> int:
    """The status code :func:`status_of` gives a reading of this stored quality and cause."""
    if quality == Quality.GOOD.value:
        return int(ua.StatusCodes.Good)
    code = STATUS_BY_CAUSE[Cause(cause)]
    if quality == Quality.BAD.value and code == ua.StatusCodes.Good:
        code = ua.StatusCodes.Bad
    return int(code)


def _data_value(reading: Reading) -> ua.DataValue:
    return ua.DataValue(
        variant_of(reading.value),
        StatusCode=status_of(reading),
        SourceTimestamp=reading.source_ts,
        ServerTimestamp=reading.source_ts,
    )


class SiteHistory(HistoryManager):  # type: ignore[misc]  # asyncua is untyped to mypy here
    """Replaces asyncua's history manager (its SQLite backend breaks on string NodeIds)."""

    def __init__(
        self,
        iserver: Any,
        point_of: PointOf,
        historian: Historian | None,
        aggregates: AggregateHistorian | None,
        events: EventHistory | None = None,
        *,
        limits: HistoryLimits | None = None,
    ) -> None:
        super().__init__(iserver)
        self._point_of = point_of
        self._historian = historian
        self._aggregates = aggregates
        self.events = events
        self.limits = limits or HistoryLimits()
        self._refusal_logged = False

    def _no_values(self) -> ua.HistoryReadResult:
        """The answer while the site keeps no values to read (logged once)."""
        if not self._refusal_logged:
            self._refusal_logged = True
            log.warning("HistoryRead refused: %s", NO_SQLITE_HISTORIAN)
        return _status_result(ua.StatusCodes.BadHistoryOperationUnsupported)

    async def _read_history(self, details: Any, rv: ua.HistoryReadValueId) -> ua.HistoryReadResult:
        if _is_raw(details):
            return await self._raw(details, rv, self.limits.per_node(1, details.NumValuesPerNode))
        if isinstance(details, ua.ReadProcessedDetails):
            return await self._processed(details, rv, 0)
        if isinstance(details, ua.ReadEventDetails):
            return await self._events(details, rv)
        return _status_result(ua.StatusCodes.BadHistoryOperationUnsupported)

    async def read_history(self, params: ua.HistoryReadParameters) -> list[ua.HistoryReadResult]:
        details = params.HistoryReadDetails
        if isinstance(details, ua.ReadProcessedDetails):
            nodes = enumerate(params.NodesToRead)
            return [await self._processed(details, rv, i) for i, rv in nodes]
        if isinstance(details, ua.ReadEventDetails):
            release = bool(params.ReleaseContinuationPoints)
            return [await self._events(details, rv, release) for rv in params.NodesToRead]
        if _is_raw(details):
            return await self._raw_nodes(params)
        return [await self._read_history(details, rv) for rv in params.NodesToRead]

    async def _raw_nodes(self, params: ua.HistoryReadParameters) -> list[ua.HistoryReadResult]:
        """Raw values of every node, each within its share of the caps (OPC 10000-11 §6.4.3)."""
        nodes = params.NodesToRead
        if params.ReleaseContinuationPoints:
            # stateless continuation points hold nothing to free
            return [raw_result([], 0, RawPosition(UNIX_EPOCH)) for _ in nodes]
        details = params.HistoryReadDetails
        limit = self.limits.per_node(len(nodes), details.NumValuesPerNode)
        return [await self._raw(details, rv, limit) for rv in nodes]

    async def _raw(
        self, details: ua.ReadRawModifiedDetails, rv: ua.HistoryReadValueId, limit: int
    ) -> ua.HistoryReadResult:
        """Up to ``limit`` raw values of one node, read and converted in worker threads."""
        point = self._point_of(rv.NodeId)
        if self._historian is None:
            return self._no_values()
        if point is None:
            return _status_result(ua.StatusCodes.BadHistoryOperationUnsupported)
        try:
            after = _resume_at(details, rv.ContinuationPoint)
        except ValueError:
            return _status_result(ua.StatusCodes.BadContinuationPointInvalid)
        end = _given(details.EndTime) or datetime.now(UTC)
        wanted = after.skip + limit + 1
        if isinstance(self._historian, RawRowHistorian):
            rows = await self._historian.query_rows(*point, after.start, end, wanted)
            return await asyncio.to_thread(raw_rows_result, rows[after.skip :], limit, after)
        readings = await self._historian.query(*point, after.start, end, wanted)
        return await asyncio.to_thread(raw_result, readings[after.skip :], limit, after)

    async def _processed(
        self, details: ua.ReadProcessedDetails, rv: ua.HistoryReadValueId, index: int
    ) -> ua.HistoryReadResult:
        point = self._point_of(rv.NodeId)
        if self._historian is None:
            return self._no_values()
        if point is None or self._aggregates is None:
            return _status_result(ua.StatusCodes.BadHistoryOperationUnsupported)
        types = details.AggregateType or []
        kind = AGGREGATES.get(types[min(index, len(types) - 1)]) if types else None
        if kind is None:
            return _status_result(ua.StatusCodes.BadAggregateNotSupported)
        start, end = _given(details.StartTime), _given(details.EndTime)
        if start is None or end is None or end <= start:
            return _status_result(ua.StatusCodes.BadInvalidTimestampArgument)
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
            return _status_result(ua.StatusCodes.BadHistoryOperationUnsupported)
        return await self.events.read(rv, details, release=release)


def _is_raw(details: Any) -> bool:
    return isinstance(details, ua.ReadRawModifiedDetails) and not details.IsReadModified


def _resume_at(details: ua.ReadRawModifiedDetails, point: bytes | None) -> RawPosition:
    """The continuation point's position, or the start of the requested range."""
    if point:
        return decode_continuation(point)
    return RawPosition(_given(details.StartTime) or UNIX_EPOCH)


def _status_result(status: int) -> ua.HistoryReadResult:
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
