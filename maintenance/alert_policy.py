"""Alert policy: health scores in; raise, update and clear decisions with print orders out."""

# Pure: no I/O, no event loop; time is the scores' own timestamps. Per (machine, component) the
# policy keeps at most one active alert and four timers: since when the raise (warning), alarm,
# recovery and order conditions have held without a break. A condition acts only once it has
# held ``min_duration_s``; an open alert never de-escalates; the thresholds have hysteresis
# (raise at ``warning_above``, clear below ``clear_below``), so a score hovering near one
# threshold neither flaps nor raises a second alert.
#
# Lead-time rule: an alert's print order is due once the lower edge of the RUL band reaches the
# spare part's lead time (print + logistics) plus ``margin_h``. The decision carrying
# ``order=True`` is emitted once per alert; the caller creates the order (idempotently per
# alert id). Across restarts the policy is rebuilt from the alert store's open alerts
# (``ActiveAlert``: level, and whether the order was raised); the timers restart, which at worst
# delays a decision by ``min_duration_s``.

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from config import MaintenanceSettings, SparePart
from maintenance.catalogue import Catalogue
from models import HealthScore, HealthState

Key = tuple[str, str]
"""(machine, component)."""


class Action(StrEnum):
    """What a decision asks the caller to do with the alert of a machine component."""

    RAISE = "raise"
    UPDATE = "update"
    CLEAR = "clear"


class ClearReason(StrEnum):
    """Why an alert cleared."""

    RECOVERED = "recovered"
    REPLACED = "replaced"


@dataclass(frozen=True, slots=True)
class Observation:
    """One health score of one component of the score's machine."""

    score: HealthScore
    component: str

    @property
    def key(self) -> Key:
        return (self.score.machine, self.component)


@dataclass(frozen=True, slots=True)
class Replacement:
    """A component was replaced at ``ts`` (its alert clears; later scores start afresh)."""

    machine: str
    component: str
    ts: datetime

    @property
    def key(self) -> Key:
        return (self.machine, self.component)


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    """What the policy remembers of an open alert; the alert store holds all of it."""

    machine: str
    component: str
    level: HealthState
    ordered: bool = False
    """The alert's print order was decided (it may have been created, or have failed)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """Raise, update or clear the one alert of ``(machine, component)``."""

    action: Action
    machine: str
    component: str
    ts: datetime
    level: HealthState
    severity: int
    """OPC 10000-5 §6.4.2 Severity, 1..1000."""
    summary: str
    anomaly_score: float = 0.0
    rul_low: float | None = None
    rul_high: float | None = None
    top_contributors: tuple[str, ...] = ()
    part: SparePart | None = None
    margin_h: float = 0.0
    order: bool = False
    """Create the print order of ``part`` for this alert now; never true twice for one alert."""
    clear_reason: ClearReason | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """What one score says against the thresholds and the spare part's order point."""

    level: HealthState | None
    """WARNING or ALARM when the score is at or above ``warning_above``; else None."""
    order_due: bool
    recovered: bool


@dataclass(frozen=True, slots=True)
class Track:
    """The policy's state of one machine component."""

    active: ActiveAlert | None = None
    raise_since: datetime | None = None
    """Since when every score was at least a warning (None: the last one was not)."""
    alarm_since: datetime | None = None
    clear_since: datetime | None = None
    order_since: datetime | None = None
    last_ts: datetime | None = None


def order_point_h(part: SparePart | None, margin_h: float) -> float | None:
    """RUL (hours) at which the part must be ordered: its lead time plus the margin."""
    return None if part is None else part.lead_time_h + margin_h


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def assess(
    score: HealthScore, part: SparePart | None, settings: MaintenanceSettings
) -> Assessment | None:
    """The score against the thresholds; None when its anomaly score is not a number."""
    anomaly = _finite(score.anomaly_score)
    if anomaly is None:
        return None
    rul_low = _finite(score.rul_low)
    point = order_point_h(part, settings.margin_h)
    order_due = point is not None and rul_low is not None and rul_low <= point
    rul_recovered = point is None or rul_low is None or rul_low > point + settings.rul_hysteresis_h
    level: HealthState | None = None
    if anomaly >= settings.alarm_above or order_due:
        level = HealthState.ALARM
    elif anomaly >= settings.warning_above:
        level = HealthState.WARNING
    return Assessment(level, order_due, anomaly < settings.clear_below and rul_recovered)


def severity_of(level: HealthState, settings: MaintenanceSettings) -> int:
    """The OPC UA severity (1..1000) of a warning or an alarm."""
    return settings.alarm_severity if level is HealthState.ALARM else settings.warning_severity


def _since(previous: datetime | None, holds: bool, now: datetime) -> datetime | None:
    """Start of an unbroken run of a condition that does (or does not) hold at ``now``."""
    return (previous or now) if holds else None


def _held(since: datetime | None, now: datetime, min_duration_s: float) -> bool:
    return since is not None and now - since >= timedelta(seconds=min_duration_s)


def _title(component: str) -> str:
    """``spindle_bearing`` → ``Spindle bearing``."""
    words = component.replace("_", " ").replace("-", " ")
    return words[:1].upper() + words[1:]


def _joined(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _hours(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _life(
    rul_low: float | None, rul_high: float | None, part: SparePart | None, margin_h: float
) -> str:
    """The RUL band, placed against the part's lead time and margin."""
    if rul_low is None:
        band = "remaining life unknown"
    elif rul_high is None:
        band = f"remaining life at least {_hours(rul_low)} h"
    else:
        band = f"remaining life {_hours(rul_low)}–{_hours(rul_high)} h"
    if part is None:
        return f"{band}; no spare part in the catalogue"
    lead = f"the {_hours(part.lead_time_h)} h lead time + {_hours(margin_h)} h margin"
    if rul_low is None:
        return f"{band}; the spare part needs {lead}"
    side = "below" if rul_low <= part.lead_time_h + margin_h else "above"
    return f"{band}, {side} {lead}"


def summarise(
    machine: str,
    component: str,
    level: HealthState,
    contributors: Sequence[str],
    rul_low: float | None,
    rul_high: float | None,
    part: SparePart | None,
    margin_h: float,
) -> str:
    """One plain sentence for the planner: what, why, and how long is left against lead time.

    ``Spindle bearing of mill-1 is wearing: vibration_rms and spindle_temp deviating; remaining
    life 70–140 h, below the 60 h lead time + 24 h margin.``
    """
    verb = "is wearing" if level is HealthState.ALARM else "behaves abnormally"
    signals = (
        f"{_joined(contributors)} deviating" if contributors else "no single signal stands out"
    )
    life = _life(rul_low, rul_high, part, margin_h)
    return f"{_title(component)} of {machine} {verb}: {signals}; {life}."


def cleared_summary(machine: str, component: str, reason: ClearReason) -> str:
    """The sentence of a cleared alert."""
    if reason is ClearReason.REPLACED:
        return f"{_title(component)} of {machine} was replaced."
    return f"{_title(component)} of {machine} is back to normal."


def _decision(
    action: Action,
    observation: Observation,
    level: HealthState,
    part: SparePart | None,
    settings: MaintenanceSettings,
    *,
    order: bool = False,
    clear_reason: ClearReason | None = None,
) -> Decision:
    score = observation.score
    machine, component = observation.key
    rul_low, rul_high = _finite(score.rul_low), _finite(score.rul_high)
    if clear_reason is not None:
        summary = cleared_summary(machine, component, clear_reason)
    else:
        contributors = score.top_contributors
        summary = summarise(
            machine, component, level, contributors, rul_low, rul_high, part, settings.margin_h
        )
    return Decision(
        action=action,
        machine=machine,
        component=component,
        ts=score.ts,
        level=level,
        severity=severity_of(level, settings),
        summary=summary,
        anomaly_score=score.anomaly_score,
        rul_low=rul_low,
        rul_high=rul_high,
        top_contributors=score.top_contributors,
        part=part,
        margin_h=settings.margin_h,
        order=order,
        clear_reason=clear_reason,
    )


def _timers(track: Track, found: Assessment, now: datetime) -> Track:
    """The track with each condition's unbroken run extended to ``now``, or ended."""
    ordered = track.active is not None and track.active.ordered
    return replace(
        track,
        raise_since=_since(track.raise_since, found.level is not None, now),
        alarm_since=_since(track.alarm_since, found.level is HealthState.ALARM, now),
        clear_since=_since(track.clear_since, found.recovered, now),
        order_since=_since(track.order_since, found.order_due and not ordered, now),
        last_ts=now,
    )


def _while_quiet(
    track: Track, observation: Observation, part: SparePart | None, settings: MaintenanceSettings
) -> tuple[Track, Decision | None]:
    """No open alert: raise one once the raise condition has held ``min_duration_s``."""
    now, minimum = observation.score.ts, settings.min_duration_s
    if not _held(track.raise_since, now, minimum):
        return track, None
    level = HealthState.ALARM if _held(track.alarm_since, now, minimum) else HealthState.WARNING
    order = _held(track.order_since, now, minimum)
    active = ActiveAlert(*observation.key, level, ordered=order)
    decision = _decision(Action.RAISE, observation, level, part, settings, order=order)
    return replace(track, active=active), decision


def _while_active(
    track: Track,
    active: ActiveAlert,
    observation: Observation,
    part: SparePart | None,
    settings: MaintenanceSettings,
) -> tuple[Track, Decision | None]:
    """An open alert: clear it on a lasting recovery, escalate it, order its part once."""
    now, minimum = observation.score.ts, settings.min_duration_s
    if _held(track.clear_since, now, minimum):
        reason = ClearReason.RECOVERED
        decision = _decision(
            Action.CLEAR, observation, active.level, part, settings, clear_reason=reason
        )
        return Track(last_ts=now), decision
    order = not active.ordered and _held(track.order_since, now, minimum)
    level = HealthState.ALARM if _held(track.alarm_since, now, minimum) else active.level
    if level is active.level and not order:
        return track, None
    changed = replace(active, level=level, ordered=active.ordered or order)
    decision = _decision(Action.UPDATE, observation, level, part, settings, order=order)
    return replace(track, active=changed), decision


def step(
    track: Track, observation: Observation, part: SparePart | None, settings: MaintenanceSettings
) -> tuple[Track, Decision | None]:
    """The track after ``observation``, and what to do about it (None: nothing).

    Scores no newer than the last one seen are ignored (replays, out-of-order delivery), and so
    are scores whose anomaly score is not a number.
    """
    now = observation.score.ts
    if track.last_ts is not None and now <= track.last_ts:
        return track, None
    found = assess(observation.score, part, settings)
    if found is None:
        return replace(track, last_ts=now), None
    timed = _timers(track, found, now)
    if timed.active is None:
        return _while_quiet(timed, observation, part, settings)
    return _while_active(timed, timed.active, observation, part, settings)


def replaced_step(
    track: Track, replacement: Replacement, settings: MaintenanceSettings
) -> tuple[Track, Decision | None]:
    """The component was replaced: clear its alert, forget the timers and older scores."""
    last = max(filter(None, (track.last_ts, replacement.ts)))
    fresh = Track(last_ts=last)
    if track.active is None:
        return fresh, None
    reason = ClearReason.REPLACED
    decision = Decision(
        action=Action.CLEAR,
        machine=replacement.machine,
        component=replacement.component,
        ts=replacement.ts,
        level=track.active.level,
        severity=severity_of(track.active.level, settings),
        summary=cleared_summary(replacement.machine, replacement.component, reason),
        margin_h=settings.margin_h,
        clear_reason=reason,
    )
    return fresh, decision


class AlertPolicy:
    """The policy over every machine component, rebuilt from the open alerts after a restart."""

    def __init__(
        self,
        settings: MaintenanceSettings,
        catalogue: Catalogue | None = None,
        active: Iterable[ActiveAlert] = (),
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue if catalogue is not None else Catalogue(settings.spare_parts)
        self._tracks: dict[Key, Track] = {
            (alert.machine, alert.component): Track(active=alert) for alert in active
        }

    def observe(self, observation: Observation) -> Decision | None:
        """Take one score; the decision it leads to, if any."""
        key = observation.key
        part = self.catalogue.part_for(*key)
        track, decision = step(self._tracks.get(key, Track()), observation, part, self.settings)
        self._tracks[key] = track
        return decision

    def observe_all(self, observations: Iterable[Observation]) -> list[Decision]:
        """Take a tick's scores, in order; the decisions they lead to."""
        return [d for d in map(self.observe, observations) if d is not None]

    def replaced(self, replacement: Replacement) -> Decision | None:
        """A component was replaced; the clear decision of its alert, if it had one."""
        key = replacement.key
        track, decision = replaced_step(self._tracks.get(key, Track()), replacement, self.settings)
        self._tracks[key] = track
        return decision

    def active(self) -> list[ActiveAlert]:
        """The open alerts, as the policy sees them."""
        return [track.active for track in self._tracks.values() if track.active is not None]
