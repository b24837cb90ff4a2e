"""Modbus TCP connector: one client and lock per device, poll groups, pacing, backoff, quality."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import le

from connectors.errors import CodecError, ConnectorError
from connectors.modbus.codec import BlockCodec, Payload, Registers, TagCodec, Value
from connectors.modbus.planner import READ_FUNCTION_CODES, ReadRequest, plan_reads
from connectors.modbus.schedule import GroupKey, Pacer, PollSchedule
from connectors.modbus.transport import DeviceException, ReadClient
from connectors.resilience import Backoff, LogOnce
from models import (
    Cause,
    Clock,
    Machine,
    Reading,
    ReadingBatch,
    ReadingSink,
    Tag,
    bad,
    good,
    uncertain,
)

log = logging.getLogger(__name__)

_EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}
"""Modbus Application Protocol v1.1b3 §7 exception codes."""


def raise_swallowed_cancel() -> None:
    """Re-raise a cancel request that an ``await`` swallowed instead of raising.

    Python 3.11's ``asyncio.wait_for`` returns the result when a result and a cancel arrive
    together; the task still counts the request.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def exception_text(code: int) -> str:
    """``"device exception 2 (illegal data address)"``."""
    return f"device exception {code} ({_EXCEPTION_NAMES.get(code, 'unknown')})"


_LARGEST = sys.float_info.max


@dataclass(frozen=True, slots=True)
class PlannedField:
    """One tag of a planned read: where its value starts in the response and how it decodes."""

    tag: Tag
    codec: TagCodec
    start: int
    template: Reading
    """A Good reading of the tag, the slow path's template."""
    low: float
    high: float
    """The engineering range as finite bounds: a value within them is a finite Good value."""

    @classmethod
    def of(cls, machine: str, request: ReadRequest, tag: Tag) -> PlannedField:
        template = good(machine, tag.name, datetime(1970, 1, 1, tzinfo=UTC), 0.0)
        low = -_LARGEST if tag.eu_low is None else tag.eu_low
        high = _LARGEST if tag.eu_high is None else tag.eu_high
        return cls(tag, TagCodec.of(tag), request.offset_of(tag), template, low, high)

    def reading_of_raw(self, raw: int | float, now: datetime) -> Reading:
        """The tag's reading from a raw number already unpacked from the response."""
        scaled = float(raw) * self.codec.scale + self.codec.offset
        if self.low <= scaled <= self.high:  # NaN and infinities fail both tests
            return good(self.template.machine, self.tag.name, now, scaled)
        return self._checked(raw, now)

    def _checked(self, raw: int | float, now: datetime) -> Reading:
        machine, name = self.template.machine, self.tag.name
        try:
            value = self.codec.engineering(raw)
        except CodecError as error:
            return bad(machine, name, now, Cause.INVALID_VALUE, str(error))
        return self._ranged(value, now)

    def _ranged(self, value: Value, now: datetime) -> Reading:
        machine, name = self.template.machine, self.tag.name
        reason = out_of_range(self.tag, value)
        if reason:
            assert isinstance(value, float)  # only numbers have an engineering range
            return uncertain(machine, name, now, value, Cause.OUT_OF_RANGE, reason)
        return self.template.model_copy(update={"source_ts": now, "value": value})

    def reading(self, payload: Payload, now: datetime) -> Reading:
        """The tag's reading from a response; bad device data becomes Bad or Uncertain quality."""
        machine, name = self.template.machine, self.tag.name
        try:
            value = self.codec.decode_from(payload, self.start)
        except CodecError as error:
            return bad(machine, name, now, Cause.INVALID_VALUE, str(error))
        return self._ranged(value, now)


def out_of_range(tag: Tag, value: Value) -> str:
    """Why a numeric ``value`` lies outside the tag's engineering range, or ""."""
    if not isinstance(value, float):
        return ""
    if tag.eu_high is not None and value > tag.eu_high:
        return f"{value:g} is above the engineering range (max {tag.eu_high:g})"
    if tag.eu_low is not None and value < tag.eu_low:
        return f"{value:g} is below the engineering range (min {tag.eu_low:g})"
    return ""


@dataclass(frozen=True, slots=True)
class PlannedRead:
    """A request with its tags' codecs, compiled once and executed on every poll."""

    request: ReadRequest
    fields: tuple[PlannedField, ...]
    key: str
    """``"holding 0+40"``: names the request in logs."""
    block: BlockCodec | None
    """Decodes every field of a register response in one unpack (None: field by field)."""
    machine: str
    names: tuple[str, ...]
    """The fields' tag names, in field order: the tag column of every batch this read gives."""
    scales: tuple[float, ...]
    offsets: tuple[float, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    """Each field's engineering conversion and finite range (see :class:`PlannedField`)."""

    @classmethod
    def of(cls, machine: str, request: ReadRequest) -> PlannedRead:
        fields = tuple(PlannedField.of(machine, request, t) for t in request.tags)
        ordered = sorted(fields, key=lambda f: f.start)
        block = BlockCodec.of([(f.start, f.tag.address) for f in ordered])
        key = f"{request.kind} {request.address}+{request.count}"
        kept = tuple(ordered) if block else fields
        return cls(
            request,
            kept,
            key,
            block,
            machine,
            tuple(f.tag.name for f in kept),
            tuple(float(f.codec.scale) for f in kept),
            tuple(float(f.codec.offset) for f in kept),
            tuple(f.low for f in kept),
            tuple(f.high for f in kept),
        )

    def readings(self, payload: Payload, now: datetime) -> list[Reading]:
        """One reading per tag, in the plan's order (see :meth:`batch`)."""
        return list(self.batch(payload, now))

    def batch(self, payload: Payload, now: datetime) -> ReadingBatch:
        """One reading per tag, in the plan's order, as columns.

        A register response of fixed-size numbers is unpacked in one call and scaled in one
        pass; when every value lies in its range (NaN and infinities never do) the batch is
        built with no object per reading. Otherwise each field is decoded on its own, so bad
        device data still becomes Bad or Uncertain quality with its reason.
        """
        if self.block is None or not isinstance(payload, Registers):
            return ReadingBatch.of([f.reading(payload, now) for f in self.fields])
        raws = self.block.unpack(payload)
        scaling = zip(raws, self.scales, self.offsets, strict=True)
        values = [raw * scale + offset for raw, scale, offset in scaling]
        if all(map(le, self.lows, values)) and all(map(le, values, self.highs)):
            return ReadingBatch.good(self.machine, self.names, now, values)
        fields = zip(self.fields, raws, strict=True)
        return ReadingBatch.of([field.reading_of_raw(raw, now) for field, raw in fields])


def plan_groups(machine: Machine) -> dict[GroupKey, tuple[PlannedRead, ...]]:
    """The machine's reads per poll group (None: tags that name no group)."""
    known = {group.name for group in machine.modbus.poll_groups}
    grouped: dict[GroupKey, list[Tag]] = {}
    for tag in machine.tags:
        if tag.poll_group is not None and tag.poll_group not in known:
            raise ConnectorError(
                f"tag {machine.id}/{tag.name} names poll group '{tag.poll_group}', "
                "which the machine's modbus endpoint does not define",
                advice="add the group to modbus.poll_groups or fix the tag's poll_group",
            )
        grouped.setdefault(tag.poll_group, []).append(tag)
    max_gap = machine.modbus.max_gap
    return {
        group: tuple(PlannedRead.of(machine.id, r) for r in plan_reads(tags, max_gap=max_gap))
        for group, tags in grouped.items()
    }


class ModbusConnector:
    """Polls one Modbus TCP device, each poll group at its own rate, through one connection."""

    def __init__(self, machine: Machine, clock: Clock, *, backoff: Backoff | None = None) -> None:
        self.machine = machine
        self._clock = clock
        self._plans = plan_groups(machine)
        endpoint = machine.modbus
        rates = {None: endpoint.poll_interval_s} | {
            g.name: g.interval_s for g in endpoint.poll_groups
        }
        self._intervals = {group: rates[group] for group in self._plans}
        self._backoff = backoff or Backoff()
        self._pacer = Pacer(endpoint.request_pacing_s)
        self._lock = asyncio.Lock()
        self._client: ReadClient | None = None
        self.connected = False
        self._log = LogOnce(log, f"modbus {machine.id} {endpoint.host}:{endpoint.port}")

    @property
    def name(self) -> str:
        return f"modbus:{self.machine.id}"

    @property
    def plan(self) -> list[ReadRequest]:
        """Every request of one full poll, group by group."""
        return [read.request for reads in self._plans.values() for read in reads]

    @property
    def groups(self) -> dict[GroupKey, float]:
        """Poll interval of each group that has tags (None: the endpoint's own interval)."""
        return dict(self._intervals)

    async def run(self, sink: ReadingSink) -> None:
        """Poll each group on its schedule until cancelled; a lost device backs off and retries."""
        loop = asyncio.get_running_loop()
        schedule = PollSchedule(self._intervals, loop.time())
        try:
            while True:
                due = schedule.due(loop.time())
                if due:
                    readings, connected = await self.poll_once(due)
                    await sink.put(readings)
                    self._reschedule(schedule, due, connected, loop.time())
                await asyncio.sleep(max(0.0, schedule.next_due() - loop.time()))
                raise_swallowed_cancel()
        finally:
            await self.close()

    def _reschedule(
        self, schedule: PollSchedule, polled: list[GroupKey], connected: bool, now: float
    ) -> None:
        if connected:
            self._backoff.reset()
            schedule.polled(polled, now)
        else:
            schedule.postpone(now + self._backoff.next_delay())

    async def poll_once(
        self, groups: Iterable[GroupKey] | None = None
    ) -> tuple[ReadingBatch, bool]:
        """Read ``groups`` (default: all) once; returns the readings and whether the link is up."""
        wanted = self._plans.keys() if groups is None else groups
        reads = [read for group in wanted for read in self._plans[group]]
        async with self._lock:
            readings, self.connected = await self._poll_locked(reads)
            return readings, self.connected

    async def _poll_locked(self, reads: Sequence[PlannedRead]) -> tuple[ReadingBatch, bool]:
        now = self._clock.now()
        if not await self._connected():
            endpoint = self.machine.modbus
            reason = f"cannot connect to {endpoint.host}:{endpoint.port}"
            return self._all_bad(reads, now, Cause.COMMUNICATION, reason), False
        batches: list[ReadingBatch] = []
        for index, read in enumerate(reads):
            try:
                batches.append(await self._paced_read(read, now))
            except (OSError, TimeoutError) as error:
                reason = f"communication error: {error}"
                self._log.failed("link", reason)
                await self.close()
                batches.append(self._all_bad(reads[index:], now, Cause.COMMUNICATION, reason))
                return ReadingBatch.joined(batches), False
        self._log.succeeded("link")
        return ReadingBatch.joined(batches), True

    async def close(self) -> None:
        """Close the connection; the next poll reconnects."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _connected(self) -> bool:
        if self._client is not None and self._client.connected:
            return True
        await self.close()
        endpoint = self.machine.modbus
        try:
            self._client = await ReadClient.connect(
                endpoint.host, endpoint.port, endpoint.timeout_s
            )
        except (OSError, TimeoutError) as error:
            where = f"{endpoint.host}:{endpoint.port}"
            self._log.failed("link", f"cannot connect to {where}: {error or 'timed out'}")
            return False
        return True

    async def _paced_read(self, read: PlannedRead, now: datetime) -> ReadingBatch:
        if self._pacer.gap_s == 0:
            return await self._read(read, now)
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self._pacer.delay(loop.time()))
        try:
            return await self._read(read, now)
        finally:
            self._pacer.done(loop.time())

    async def _read(self, read: PlannedRead, now: datetime) -> ReadingBatch:
        assert self._client is not None
        request = read.request
        function = READ_FUNCTION_CODES[request.kind]
        reply = await self._client.read(
            function, request.address, request.count, self.machine.modbus.unit_id
        )
        if isinstance(reply, DeviceException):
            text = exception_text(reply.code)
            self._log.failed(read.key, text)
            return self._all_bad([read], now, Cause.DEVICE_EXCEPTION, text)
        self._log.succeeded(read.key)
        payload: Payload = reply if isinstance(reply, list) else Registers.of_bytes(reply)
        return read.batch(payload, now)

    def _all_bad(
        self, reads: Iterable[PlannedRead], now: datetime, cause: Cause, reason: str
    ) -> ReadingBatch:
        machine = self.machine.id
        return ReadingBatch.of(
            [bad(machine, f.tag.name, now, cause, reason) for r in reads for f in r.fields]
        )
