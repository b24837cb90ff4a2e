"""Event history: alarm, order and certificate events in SQLite, read back per OPC 10000-11."""

from __future__ import annotations

import asyncio
import logging
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.common.events import Event
from asyncua.common.utils import Buffer
from asyncua.server.monitored_item_service import WhereClauseEvaluator
from asyncua.ua.ua_binary import Primitives, variant_from_binary, variant_to_binary

from models import Synchronous, failures_as, open_wal, to_micros
from opcua_server.errors import ServerError

log = logging.getLogger(__name__)

EventFields = dict[str, ua.Variant]
"""One event as field name → value. Names are BrowsePaths joined by '/' (``AckedState/Id``), as
asyncua's ``Event.to_event_fields`` resolves select clauses; the ConditionId is ``NodeId``."""

SERVER = ua.NodeId(ua.ObjectIds.Server)
MAX_EVENTS_PER_READ = 1000
"""Events per HistoryRead answer; more come with a continuation point."""

_PAGE = 500
_MIN_US = -(2**62)
_MAX_US = 2**62
_UNSPECIFIED_BEFORE = datetime(1601, 1, 2, tzinfo=UTC)
_CONTINUATION = struct.Struct(">4sqq")
_CONTINUATION_TAG = b"tfev"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    time_us INTEGER NOT NULL,
    source TEXT NOT NULL,
    condition TEXT,
    machine TEXT,
    component TEXT,
    event_type TEXT NOT NULL,
    fields BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_time ON events (time_us, seq);
CREATE INDEX IF NOT EXISTS events_by_source ON events (source, time_us, seq);
CREATE INDEX IF NOT EXISTS events_by_condition ON events (condition, time_us, seq);
"""

_LATEST_PER_CONDITION = (
    "SELECT machine, component, fields FROM events WHERE seq IN"
    " (SELECT max(seq) FROM events WHERE machine IS NOT NULL GROUP BY machine, component)"
)


class EventStoreError(ServerError):
    """The event history file cannot be opened or written."""

    advice = "check that the data directory is writable and the events file is not corrupt"


def encode_fields(fields: Mapping[str, ua.Variant]) -> bytes:
    """Each field as an OPC 10000-6 §5.2.2.4 String name followed by its §5.2.2.16 Variant."""
    return b"".join(
        Primitives.String.pack(name) + variant_to_binary(v) for name, v in fields.items()
    )


def decode_fields(blob: bytes) -> EventFields:
    """Inverse of :func:`encode_fields`."""
    buffer = Buffer(blob)
    fields: EventFields = {}
    while len(buffer) > 0:
        name = Primitives.String.unpack(buffer)
        fields[name] = variant_from_binary(buffer)
    return fields


def event_of(fields: Mapping[str, ua.Variant], emitting_node: ua.NodeId = SERVER) -> Event:
    """An asyncua Event carrying ``fields``; ``to_event_fields(select_clauses)`` filters it."""
    event = Event(emitting_node)
    for name, value in fields.items():
        event.add_property(name, value.Value, value.VariantType)
    return event


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One stored event; ``position`` orders events by Time, then by arrival."""

    seq: int
    time_us: int
    fields: EventFields

    @property
    def position(self) -> tuple[int, int]:
        return (self.time_us, self.seq)


def _specified(ts: datetime | None) -> datetime | None:
    """None for DateTime.MinValue, which OPC 10000-11 §6.5.2.1 uses for "not specified"."""
    if ts is None:
        return None
    aware = ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
    return None if aware < _UNSPECIFIED_BEFORE else aware


@dataclass(frozen=True, slots=True)
class EventWindow:
    """The time domain of a ReadEventDetails request (OPC 10000-11 §6.5.2.2).

    Both ends are inclusive. Events come newest first when EndTime is before StartTime or when
    only EndTime is given; with neither time given every event is read, oldest first (lenient:
    the standard asks for two of StartTime, EndTime, NumValuesPerNode).
    """

    low_us: int
    high_us: int
    forward: bool
    limit: int

    @classmethod
    def of(cls, details: ua.ReadEventDetails) -> EventWindow:
        start, end = _specified(details.StartTime), _specified(details.EndTime)
        wanted = int(details.NumValuesPerNode or 0)
        limit = min(wanted, MAX_EVENTS_PER_READ) if wanted > 0 else MAX_EVENTS_PER_READ
        if start is not None and end is not None:
            low, high = sorted((to_micros(start), to_micros(end)))
            return cls(low, high, start <= end, limit)
        if end is not None:
            return cls(_MIN_US, to_micros(end), False, limit)
        low = to_micros(start) if start is not None else _MIN_US
        return cls(low, _MAX_US, True, limit)


def encode_continuation(position: tuple[int, int]) -> bytes:
    """A stateless continuation point (OPC 10000-11 §6.3): where the next read resumes."""
    return _CONTINUATION.pack(_CONTINUATION_TAG, *position)


def decode_continuation(point: bytes | None) -> tuple[int, int] | None:
    """The position in ``point``; ValueError when it is not one this server handed out."""
    if not point:
        return None
    if len(point) != _CONTINUATION.size:
        raise ValueError("continuation point of the wrong size")
    tag, time_us, seq = _CONTINUATION.unpack(point)
    if tag != _CONTINUATION_TAG:
        raise ValueError("continuation point not issued by the event history")
    return (time_us, seq)


def _query_sql(source: str | None, window: EventWindow, after: tuple[int, int] | None) -> str:
    clauses = ["time_us BETWEEN ? AND ?"]
    if source is not None:
        clauses.append("(source = ? OR condition = ?)")
    if after is not None:
        clauses.append("(time_us, seq) > (?, ?)" if window.forward else "(time_us, seq) < (?, ?)")
    order = "ASC" if window.forward else "DESC"
    where = " AND ".join(clauses)
    return (
        f"SELECT seq, time_us, fields FROM events WHERE {where}"
        f" ORDER BY time_us {order}, seq {order} LIMIT ?"
    )


class EventStore:
    """Every emitted event in one SQLite table (WAL; each append is on disk when it returns)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_wal(
            path, _SCHEMA, Synchronous.FULL, error=EventStoreError, label=f"event history {path}"
        )
        self._lock = threading.Lock()

    async def append(
        self,
        fields: Mapping[str, ua.Variant],
        *,
        condition: ua.NodeId | None = None,
        machine: str | None = None,
        component: str | None = None,
    ) -> int:
        """Store one event (its Time, SourceNode and EventType are indexed); returns its seq."""
        row = (
            to_micros(fields["Time"].Value),
            fields["SourceNode"].Value.to_string(),
            condition.to_string() if condition is not None else None,
            machine,
            component,
            fields["EventType"].Value.to_string(),
            encode_fields(fields),
        )
        return await asyncio.to_thread(self._insert, row)

    async def query(
        self,
        source: str | None,
        window: EventWindow,
        after: tuple[int, int] | None = None,
        limit: int = _PAGE,
    ) -> list[StoredEvent]:
        """Events in ``window`` after ``after``, of ``source`` (SourceNode/ConditionId) or all."""
        sql = _query_sql(source, window, after)
        params: list[object] = [window.low_us, window.high_us]
        if source is not None:
            params += [source, source]
        if after is not None:
            params += list(after)
        params.append(limit)
        rows = await asyncio.to_thread(self._select, sql, params)
        return [StoredEvent(seq, time_us, decode_fields(blob)) for seq, time_us, blob in rows]

    async def latest_conditions(self) -> list[tuple[str, str, EventFields]]:
        """(machine, component, fields) of the last event of every alarm condition ever stored."""
        rows = await asyncio.to_thread(self._select, _LATEST_PER_CONDITION, [])
        return [(machine, component, decode_fields(blob)) for machine, component, blob in rows]

    async def count(self) -> int:
        rows = await asyncio.to_thread(self._select, "SELECT count(*) FROM events", [])
        return int(rows[0][0])

    async def close(self) -> None:
        with self._lock:
            self._db.close()

    def _insert(self, row: tuple[object, ...]) -> int:
        with self._lock, failures_as(EventStoreError, f"cannot store an event in {self.path}"):
            cursor = self._db.execute(
                "INSERT INTO events (time_us, source, condition, machine, component,"
                " event_type, fields) VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return int(cursor.lastrowid or 0)

    def _select(self, sql: str, params: list[object]) -> list[tuple[Any, ...]]:
        with self._lock, failures_as(EventStoreError, f"cannot read {self.path}"):
            return list(self._db.execute(sql, params).fetchall())


def _status(code: int) -> ua.HistoryReadResult:
    result = ua.HistoryReadResult()
    result.StatusCode = ua.StatusCode(code)
    return result


class EventHistory:
    """HistoryRead with ReadEventDetails (OPC 10000-11 §6.5.2) answered from an EventStore.

    The Server object holds the history of every event; any other node holds the events whose
    SourceNode (a machine) or ConditionId (an alarm) it is. The filter's select clauses choose
    the fields returned; its where clause is applied as for subscriptions.
    """

    def __init__(self, store: EventStore, server: Server) -> None:
        self._store = store
        self._server = server

    async def read(
        self, item: ua.HistoryReadValueId, details: ua.ReadEventDetails, *, release: bool = False
    ) -> ua.HistoryReadResult:
        """The result for one node of a HistoryRead request."""
        if release:
            return _status(ua.StatusCodes.Good)  # stateless continuation points hold nothing
        if details.Filter is None or not details.Filter.SelectClauses:
            return _status(ua.StatusCodes.BadEventFilterInvalid)
        try:
            after = decode_continuation(item.ContinuationPoint)
        except ValueError:
            return _status(ua.StatusCodes.BadContinuationPointInvalid)
        source = None if item.NodeId == SERVER else item.NodeId.to_string()
        where = details.Filter.WhereClause or ua.ContentFilter()
        matches = WhereClauseEvaluator(log, self._server.iserver.aspace, where)
        window = EventWindow.of(details)
        events, resume = await self._collect(source, window, after, matches)
        result = ua.HistoryReadResult()
        result.HistoryData = ua.HistoryEvent(
            Events=[
                ua.HistoryEventFieldList(
                    EventFields=e.to_event_fields(details.Filter.SelectClauses)
                )
                for e in events
            ]
        )
        result.ContinuationPoint = encode_continuation(resume) if resume is not None else None
        found = bool(events) or resume is not None
        result.StatusCode = ua.StatusCode(
            ua.StatusCodes.Good if found else ua.StatusCodes.GoodNoData
        )
        return result

    async def read_history(self, params: ua.HistoryReadParameters) -> list[ua.HistoryReadResult]:
        """A HistoryRead service answer for event reads; other details are not handled here."""
        details = params.HistoryReadDetails
        if not isinstance(details, ua.ReadEventDetails):
            return [
                _status(ua.StatusCodes.BadHistoryOperationUnsupported) for _ in params.NodesToRead
            ]
        release = bool(params.ReleaseContinuationPoints)
        return [await self.read(item, details, release=release) for item in params.NodesToRead]

    async def _collect(
        self,
        source: str | None,
        window: EventWindow,
        after: tuple[int, int] | None,
        matches: WhereClauseEvaluator,
    ) -> tuple[list[Event], tuple[int, int] | None]:
        """Up to ``window.limit`` matching events and, when more may follow, where to resume."""
        found: list[Event] = []
        while True:
            page = await self._store.query(source, window, after)
            for index, stored in enumerate(page):
                after = stored.position
                event = event_of(stored.fields)
                if not matches.eval(event):
                    continue
                found.append(event)
                if len(found) == window.limit:
                    more = index < len(page) - 1 or len(page) == _PAGE
                    return found, after if more else None
            if len(page) < _PAGE:
                return found, None
