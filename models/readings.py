"""Readings: one sample of one tag with its timestamp and quality."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from datetime import datetime
from enum import StrEnum
from typing import overload

from pydantic import BaseModel, ConfigDict, field_validator


class Quality(StrEnum):
    """OPC UA style quality of a reading (OPC 10000-4 §7.39 severity bits)."""

    GOOD = "good"
    UNCERTAIN = "uncertain"
    BAD = "bad"


class Cause(StrEnum):
    """Why a reading is not Good; the OPC UA server maps each to a status code."""

    NONE = "none"
    COMMUNICATION = "communication"
    DEVICE_EXCEPTION = "device_exception"
    INVALID_VALUE = "invalid_value"
    OUT_OF_RANGE = "out_of_range"


class Reading(BaseModel):
    """One sample of one tag; a Bad reading carries ``value=None`` and says why in ``reason``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    machine: str
    tag: str
    source_ts: datetime
    value: float | int | bool | str | None
    quality: Quality = Quality.GOOD
    cause: Cause = Cause.NONE
    reason: str = ""

    @field_validator("source_ts")
    @classmethod
    def _timezone_aware(cls, ts: datetime) -> datetime:
        if ts.tzinfo is None:
            raise ValueError("source_ts must be timezone-aware (UTC)")
        return ts

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float | int | bool | str | None) -> float | int | bool | str | None:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("value must be finite; report NaN/inf as a Bad reading")
        return value

    @property
    def key(self) -> str:
        """``machine/tag``: the reading's point identity across stores."""
        return f"{self.machine}/{self.tag}"


def trusted_reading(
    machine: str,
    tag: str,
    ts: datetime,
    value: float | int | bool | str | None,
    quality: Quality,
    cause: Cause,
    reason: str,
) -> Reading:
    """A reading from already-decoded data: built without re-validation on the hot path.

    The same object ``Reading.model_construct`` builds with every field given, without its
    per-call work: the frozen model's fields are written once.
    """
    reading = _new(Reading)
    _set(
        reading,
        "__dict__",
        {
            "machine": machine,
            "tag": tag,
            "source_ts": ts,
            "value": value,
            "quality": quality,
            "cause": cause,
            "reason": reason,
        },
    )
    _set(reading, "__pydantic_fields_set__", _ALL_FIELDS.copy())
    _set(reading, "__pydantic_extra__", None)
    _set(reading, "__pydantic_private__", None)
    return reading


_new = object.__new__
_set = object.__setattr__
_ALL_FIELDS = set(Reading.model_fields)
"""A reading's fields set (each reading gets its own copy: ``model_copy`` updates it)."""


def good(machine: str, tag: str, ts: datetime, value: float | int | bool | str) -> Reading:
    """A Good reading."""
    return trusted_reading(machine, tag, ts, value, Quality.GOOD, Cause.NONE, "")


def uncertain(
    machine: str, tag: str, ts: datetime, value: float, cause: Cause, reason: str
) -> Reading:
    """An Uncertain reading: a value exists but should not be trusted, and ``reason`` says why."""
    return trusted_reading(machine, tag, ts, value, Quality.UNCERTAIN, cause, reason)


def bad(machine: str, tag: str, ts: datetime, cause: Cause, reason: str) -> Reading:
    """A Bad reading: the value could not be obtained, and ``reason`` says why."""
    return trusted_reading(machine, tag, ts, None, Quality.BAD, cause, reason)


Value = float | int | bool | str | None
"""A reading's value: a number, a bit, a text, or None for a Bad reading."""


class ReadingBatch(Sequence[Reading]):
    """Readings held as columns: item ``i`` of every column is reading ``i``.

    A poll decodes into one batch and the ingest bus joins batches, so no object is built per
    reading on the way to the historian and the address space, which read the columns.
    Iterating builds the :class:`Reading` objects once, for every sink that wants them. The
    columns are trusted like :func:`trusted_reading`'s arguments (decoded data, not validated)
    and never changed once the batch is built.
    """

    __slots__ = (
        "_readings",
        "causes",
        "machines",
        "qualities",
        "reasons",
        "tags",
        "times",
        "values",
    )

    def __init__(
        self,
        machines: Sequence[str],
        tags: Sequence[str],
        times: Sequence[datetime],
        values: Sequence[Value],
        qualities: Sequence[Quality],
        causes: Sequence[Cause],
        reasons: Sequence[str],
    ) -> None:
        columns = (machines, tags, times, values, qualities, causes, reasons)
        if len({len(column) for column in columns}) > 1:
            raise ValueError(f"columns differ in length: {[len(c) for c in columns]}")
        self.machines = machines
        self.tags = tags
        self.times = times
        self.values = values
        self.qualities = qualities
        self.causes = causes
        self.reasons = reasons
        self._readings: list[Reading] | None = None

    @classmethod
    def good(
        cls, machine: str, tags: Sequence[str], ts: datetime, values: Sequence[Value]
    ) -> ReadingBatch:
        """Good readings of one machine's ``tags`` sampled at ``ts``."""
        n = len(tags)
        return cls((machine,) * n, tags, (ts,) * n, values, _GOODS * n, _NONES * n, _EMPTIES * n)

    @classmethod
    def of(cls, readings: Sequence[Reading]) -> ReadingBatch:
        """The batch of ``readings`` (itself when it is a batch already)."""
        if isinstance(readings, ReadingBatch):
            return readings
        batch = cls(
            [r.machine for r in readings],
            [r.tag for r in readings],
            [r.source_ts for r in readings],
            [r.value for r in readings],
            [r.quality for r in readings],
            [r.cause for r in readings],
            [r.reason for r in readings],
        )
        batch._readings = list(readings)
        return batch

    @classmethod
    def joined(cls, batches: Sequence[ReadingBatch]) -> ReadingBatch:
        """One batch holding ``batches`` one after the other."""
        if len(batches) == 1:
            return batches[0]
        chain = itertools.chain.from_iterable
        return cls(
            list(chain(b.machines for b in batches)),
            list(chain(b.tags for b in batches)),
            list(chain(b.times for b in batches)),
            list(chain(b.values for b in batches)),
            list(chain(b.qualities for b in batches)),
            list(chain(b.causes for b in batches)),
            list(chain(b.reasons for b in batches)),
        )

    def part(self, start: int, stop: int) -> ReadingBatch:
        """Readings ``start`` to ``stop - 1`` as a batch."""
        return ReadingBatch(
            self.machines[start:stop],
            self.tags[start:stop],
            self.times[start:stop],
            self.values[start:stop],
            self.qualities[start:stop],
            self.causes[start:stop],
            self.reasons[start:stop],
        )

    @property
    def all_good(self) -> bool:
        """Whether every reading is Good."""
        return self.qualities.count(Quality.GOOD) == len(self.qualities)

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, index: int) -> Reading: ...

    @overload
    def __getitem__(self, index: slice) -> ReadingBatch: ...

    def __getitem__(self, index: int | slice) -> Reading | ReadingBatch:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return ReadingBatch.of([self[i] for i in range(start, stop, step)])
            return self.part(start, stop)
        if self._readings is not None:
            return self._readings[index]
        return trusted_reading(
            self.machines[index],
            self.tags[index],
            self.times[index],
            self.values[index],
            self.qualities[index],
            self.causes[index],
            self.reasons[index],
        )

    def __iter__(self) -> Iterator[Reading]:
        return iter(self.readings())

    def readings(self) -> list[Reading]:
        """The readings as objects, built on the first call and kept for the next ones."""
        if self._readings is None:
            columns = (self.machines, self.tags, self.times, self.values)
            flags = (self.qualities, self.causes, self.reasons)
            built = itertools.starmap(trusted_reading, zip(*columns, *flags, strict=True))
            self._readings = list(built)
        return self._readings

    def __repr__(self) -> str:
        return f"ReadingBatch({len(self)} readings)"


_GOODS = (Quality.GOOD,)
_NONES = (Cause.NONE,)
_EMPTIES = ("",)
