"""Pure wear model of simulated components: degradation to failure, its telemetry, ground truth."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

from connectors.errors import ConnectorError
from models import Component, ComponentKind, Tag

HOUR_S = 3600.0


class Signal(StrEnum):
    """What a tag measures, recognised from a keyword in its name (the first match wins)."""

    STATE = "state"
    ALARM = "alarm"
    VIBRATION = "vib"
    TEMPERATURE = "temp"
    CURRENT = "current"
    SPEED = "speed"


def signal_of(tag_name: str) -> Signal | None:
    """The signal a tag carries (``spindle_temp`` → TEMPERATURE, ``temp_alarm`` → ALARM)."""
    name = tag_name.lower()
    return next((signal for signal in Signal if signal.value in name), None)


class RunState(IntEnum):
    """Value of a machine's ``state`` tag."""

    RUNNING = 1
    FAILED = 2
    """Stopped by a component failure; runs again once it is replaced."""


_EFFECTS: dict[ComponentKind, dict[Signal, float]] = {
    ComponentKind.BEARING: {Signal.VIBRATION: 0.45, Signal.TEMPERATURE: 0.20, Signal.CURRENT: 0.03},
    ComponentKind.SPINDLE: {Signal.VIBRATION: 0.30, Signal.TEMPERATURE: 0.30, Signal.CURRENT: 0.08},
    ComponentKind.PUMP: {Signal.VIBRATION: 0.25, Signal.TEMPERATURE: 0.10, Signal.CURRENT: 0.20},
    ComponentKind.GEARBOX: {Signal.VIBRATION: 0.40, Signal.TEMPERATURE: 0.15, Signal.CURRENT: 0.05},
    ComponentKind.MOTOR: {Signal.VIBRATION: 0.15, Signal.TEMPERATURE: 0.35, Signal.CURRENT: 0.15},
    ComponentKind.SEAL: {Signal.VIBRATION: 0.10, Signal.TEMPERATURE: 0.25, Signal.CURRENT: 0.10},
}
"""Rise of each signal at failure, as a fraction of the tag's engineering span."""

WEAR_NOISE = 0.03
"""Extra vibration noise at failure (fraction of span): a worn part also runs rougher."""


@dataclass(frozen=True, slots=True)
class Degradation:
    """One component instance's path: healthy until ``onset_s``, then down to 0 at ``life_s``.

    Health after the onset follows 1 − (e^(c·x) − 1)/(e^c − 1) with x the fraction of the
    wear phase elapsed: slow at first, accelerating towards failure (the usual shape of
    bearing and spindle degradation curves). Ages are operating seconds since install.
    """

    life_s: float
    onset_s: float
    curvature: float

    def health(self, age_s: float) -> float:
        """1.0 as new, falling monotonically to 0.0 at ``life_s``."""
        if age_s <= self.onset_s:
            return 1.0
        if age_s >= self.life_s:
            return 0.0
        x = (age_s - self.onset_s) / (self.life_s - self.onset_s)
        return 1.0 - math.expm1(self.curvature * x) / math.expm1(self.curvature)


def draw_degradation(component: Component, rng: random.Random) -> Degradation:
    """A fresh instance: Weibull life with the component's mean and shape, random onset/curve."""
    mean_s = component.mean_life_h * HOUR_S
    scale = mean_s / math.gamma(1.0 + 1.0 / component.life_shape)
    life = max(rng.weibullvariate(scale, component.life_shape), 0.05 * mean_s)
    return Degradation(
        life_s=life, onset_s=life * rng.uniform(0.4, 0.8), curvature=rng.uniform(2.0, 5.0)
    )


@dataclass(frozen=True, slots=True)
class TimeBase:
    """Simulated seconds since ``epoch`` = real seconds × ``compression``."""

    epoch: datetime
    compression: float = 1.0

    def simulated(self, at: datetime) -> float:
        return (at - self.epoch).total_seconds() * self.compression

    def real(self, simulated_s: float) -> datetime:
        return self.epoch + timedelta(seconds=simulated_s / self.compression)


class WearEventKind(StrEnum):
    FAILURE = "failure"
    REPLACEMENT = "replacement"


@dataclass(frozen=True, slots=True)
class WearEvent:
    """A failure or a replacement: ground truth for evaluating predictions."""

    kind: WearEventKind
    machine: str
    component: str
    instance: int
    """1 for the part fitted at start, +1 per replacement."""
    at: datetime
    operating_h: float
    """Operating hours of the instance at the event (simulated time)."""
    health: float


@dataclass(slots=True)
class _Fitted:
    component: Component
    instance: int
    degradation: Degradation
    age_s: float = 0.0

    @property
    def remaining_s(self) -> float:
        return max(0.0, self.degradation.life_s - self.age_s)

    @property
    def health(self) -> float:
        return self.degradation.health(self.age_s)


class MachineWear:
    """The components of one machine wearing over simulated time.

    Components age only while the machine runs. When one reaches the end of its life the
    machine stops (state FAILED, speed, current and vibration at their lowest) until
    ``replace`` fits a new instance with freshly drawn parameters. Instance parameters come
    from ``seed``, machine, component and instance number alone, so a run is reproducible
    whatever order the questions are asked in. The instance fitted at start has already used
    its component's ``initial_wear`` fraction of its life (a fleet that has been running).
    """

    def __init__(
        self, machine: str, components: Sequence[Component], timebase: TimeBase, *, seed: int = 0
    ) -> None:
        self.machine = machine
        self.timebase = timebase
        self._seed = seed
        self._fitted = {c.name: self._fit(c, 1) for c in components}
        self._noise = random.Random(f"{seed}:{machine}:noise")
        self._simulated_s = 0.0
        self._failed: str | None = None
        self.events: list[WearEvent] = []

    def advance(self, now: datetime) -> None:
        """Age the components up to ``now``, stopping the machine at the first failure."""
        target = self.timebase.simulated(now)
        while target > self._simulated_s:
            if self._failed is not None:
                self._simulated_s = target
                return
            first = min(self._fitted.values(), key=lambda f: f.remaining_s, default=None)
            if first is None or self._simulated_s + first.remaining_s > target:
                self._age(target - self._simulated_s)
                return
            self._age(first.remaining_s)
            first.age_s = first.degradation.life_s
            self._failed = first.component.name
            self._record(WearEventKind.FAILURE, first)

    def state(self, now: datetime) -> RunState:
        self.advance(now)
        return RunState.RUNNING if self._failed is None else RunState.FAILED

    def failed_component(self, now: datetime) -> str | None:
        """The component that stopped the machine, or None while it runs."""
        self.advance(now)
        return self._failed

    def health(self, component: str, now: datetime) -> float:
        """Health index of the fitted instance: 1.0 as new, 0.0 failed."""
        self.advance(now)
        return self._get(component).health

    def remaining_life_h(self, component: str, now: datetime) -> float:
        """Operating hours the fitted instance has left (ground-truth RUL)."""
        self.advance(now)
        return self._get(component).remaining_s / HOUR_S

    def failure_time(self, component: str, now: datetime) -> datetime | None:
        """When the fitted instance fails (or failed) on the clock, if the machine keeps running.

        None while another component's failure holds the machine still: the instance does not
        age then, so its failure time depends on when that component is replaced.
        """
        self.advance(now)
        fitted = self._get(component)
        if self._failed == component:
            return self._last_failure(component).at
        if self._failed is not None:
            return None
        return self.timebase.real(self._simulated_s + fitted.remaining_s)

    def replace(self, component: str, now: datetime) -> None:
        """Fit a new instance of ``component``; a machine stopped by it starts again."""
        self.advance(now)
        old = self._get(component)
        self._record(WearEventKind.REPLACEMENT, old)
        self._fitted[component] = self._fit(old.component, old.instance + 1)
        if self._failed == component:
            self._failed = None

    def adjust(self, tag: Tag, value: float, now: datetime) -> float:
        """``value`` of ``tag`` as the wear and the run state of the machine change it."""
        self.advance(now)
        signal = signal_of(tag.name)
        if signal is Signal.STATE:
            return float(RunState.RUNNING if self._failed is None else RunState.FAILED)
        if signal is Signal.ALARM:
            return float(self._alarm_code())
        if signal is None:
            return value
        low, span = _range(tag)
        if self._failed is not None:
            stopped = signal in (Signal.SPEED, Signal.CURRENT, Signal.VIBRATION)
            return low if stopped else value
        wear = sum(
            _EFFECTS[f.component.kind].get(signal, 0.0) * (1.0 - f.health)
            for f in self._fitted.values()
        )
        if signal is Signal.VIBRATION:
            worst = max((1.0 - f.health for f in self._fitted.values()), default=0.0)
            wear += self._noise.gauss(0.0, WEAR_NOISE * worst)
        return value + span * wear

    def _alarm_code(self) -> int:
        """0 while running, else 1 + the index of the failed component in the machine's list."""
        if self._failed is None:
            return 0
        return 1 + list(self._fitted).index(self._failed)

    def _fit(self, component: Component, instance: int) -> _Fitted:
        rng = random.Random(f"{self._seed}:{self.machine}:{component.name}:{instance}")
        degradation = draw_degradation(component, rng)
        used = component.initial_wear if instance == 1 else 0.0
        return _Fitted(component, instance, degradation, age_s=used * degradation.life_s)

    def _age(self, seconds: float) -> None:
        for fitted in self._fitted.values():
            fitted.age_s += seconds
        self._simulated_s += seconds

    def _record(self, kind: WearEventKind, fitted: _Fitted) -> None:
        self.events.append(
            WearEvent(
                kind=kind,
                machine=self.machine,
                component=fitted.component.name,
                instance=fitted.instance,
                at=self.timebase.real(self._simulated_s),
                operating_h=fitted.age_s / HOUR_S,
                health=fitted.health,
            )
        )

    def _last_failure(self, component: str) -> WearEvent:
        return next(
            e
            for e in reversed(self.events)
            if e.kind is WearEventKind.FAILURE and e.component == component
        )

    def _get(self, component: str) -> _Fitted:
        try:
            return self._fitted[component]
        except KeyError:
            raise ConnectorError(
                f"machine {self.machine} has no component {component!r}",
                advice=f"use one of {sorted(self._fitted)}",
            ) from None


def _range(tag: Tag) -> tuple[float, float]:
    """Lowest value and span of a tag's engineering range (0..100 when it has none)."""
    low = tag.eu_low if tag.eu_low is not None else 0.0
    high = tag.eu_high if tag.eu_high is not None else 100.0
    return low, high - low
