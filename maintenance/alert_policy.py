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
#
# Calibrated alerting (``settings.alerting``): an alert that rests on the anomaly score alone (no
# spare part due) needs its evidence to persist ``anomaly_hold_s``, and is held back, with a
# SUPPRESS decision saying why (once per unbroken run of the condition), while the RUL model is
# confident of a long life (the band's lower edge above ``rul_veto_factor`` × the order point),
# while the machine settles after a repair, a change of its model or the first model it is scored
# by (``settling_s``), or once the machine has spent its alert budget (``budget_per_month`` raised
# alerts per ``budget_window_s``).
# An alert whose part is due is never held back.

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
    SUPPRESS = "suppress"
    """An alert would have been raised; it was held back (``Decision.suppressed`` says why)."""


class SuppressReason(StrEnum):
    """Why an anomaly-only alert was held back."""

    RUL_VETO = "rul_veto"
    """The RUL band's lower edge is far above the part's order point."""
    SETTLING = "settling"
    """The machine settles after a repair or a change of its model."""
    BUDGET = "budget"
    """The machine has raised its budget of alerts in the budget window."""


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
    suppressed: SuppressReason | None = None


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
    settle_until: datetime | None = None
    """Anomaly-only alerts are held back until then (a repair, a model change)."""
    model_version: str = ""
    suppressed: SuppressReason | None = None
    """Why the current run of the raise condition is held back (logged once per run)."""


@dataclass(frozen=True, slots=True)
class Budget:
    """How many alerts the machine raised in the budget window (counted by the policy)."""

    raised: int = 0


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
    raising = found.level is not None
    return replace(
        track,
        suppressed=track.suppressed if raising else None,
        raise_since=_since(track.raise_since, raising, now),
        alarm_since=_since(track.alarm_since, found.level is HealthState.ALARM, now),
        clear_since=_since(track.clear_since, found.recovered, now),
        order_since=_since(track.order_since, found.order_due and not ordered, now),
        last_ts=now,
    )


def _veto_point_h(part: SparePart | None, settings: MaintenanceSettings) -> float | None:
    """RUL low (hours) above which the RUL model vetoes an anomaly-only alert (None: never)."""
    point = order_point_h(part, settings.margin_h)
    factor = settings.alerting.rul_veto_factor
    return None if point is None or factor <= 0 else factor * point


def held_back(
    track: Track,
    observation: Observation,
    part: SparePart | None,
    settings: MaintenanceSettings,
    budget: Budget,
) -> SuppressReason | None:
    """Why an anomaly-only alert must not be raised now (None: raise it)."""
    score, tuning = observation.score, settings.alerting
    veto = _veto_point_h(part, settings)
    rul_low = _finite(score.rul_low)
    if veto is not None and rul_low is not None and rul_low > veto:
        return SuppressReason.RUL_VETO
    if track.settle_until is not None and score.ts < track.settle_until:
        return SuppressReason.SETTLING
    if 0 < tuning.budget_per_month <= budget.raised:
        return SuppressReason.BUDGET
    return None


def why_held_back(
    reason: SuppressReason, track: Track, part: SparePart | None, settings: MaintenanceSettings
) -> str:
    """The reason in words, with the figures that decided it."""
    if reason is SuppressReason.RUL_VETO:
        veto = _veto_point_h(part, settings) or 0.0
        return (
            f"the RUL band's lower edge is above {_hours(veto)} h "
            f"({settings.alerting.rul_veto_factor:g} × the order point)"
        )
    if reason is SuppressReason.SETTLING:
        until = track.settle_until.isoformat() if track.settle_until else "-"
        return f"settling after a repair or a model change until {until}"
    tuning = settings.alerting
    days = tuning.budget_window_s / 86_400
    return f"the machine's budget of {tuning.budget_per_month} alerts per {days:g} days is spent"


def _suppress(
    track: Track,
    observation: Observation,
    part: SparePart | None,
    settings: MaintenanceSettings,
    reason: SuppressReason,
) -> tuple[Track, Decision | None]:
    """Hold the alert back; say so once per reason in an unbroken run of the condition."""
    if track.suppressed is reason:
        return track, None
    level = HealthState.ALARM if track.alarm_since is not None else HealthState.WARNING
    decision = _decision(Action.SUPPRESS, observation, level, part, settings)
    why = why_held_back(reason, track, part, settings)
    held = replace(decision, suppressed=reason, summary=f"{decision.summary} Held back: {why}.")
    return replace(track, suppressed=reason), held


def _while_quiet(
    track: Track,
    observation: Observation,
    part: SparePart | None,
    settings: MaintenanceSettings,
    budget: Budget,
) -> tuple[Track, Decision | None]:
    """No open alert: raise one once the raise condition has held ``min_duration_s``.

    An anomaly-only alert needs ``anomaly_hold_s`` and may be held back (``held_back``).
    """
    now, minimum = observation.score.ts, settings.min_duration_s
    if not _held(track.raise_since, now, minimum):
        return track, None
    order = _held(track.order_since, now, minimum)
    if not order:
        hold = max(minimum, settings.alerting.anomaly_hold_s)
        if not _held(track.raise_since, now, hold):
            return track, None
        reason = held_back(track, observation, part, settings, budget)
        if reason is not None:
            return _suppress(track, observation, part, settings, reason)
    level = HealthState.ALARM if _held(track.alarm_since, now, minimum) else HealthState.WARNING
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


def _settle(track: Track, until: datetime) -> Track:
    return replace(track, settle_until=max(filter(None, (track.settle_until, until))))


def _model_seen(track: Track, score: HealthScore, settings: MaintenanceSettings) -> Track:
    """A score from another model than the last one starts a settling period, and so does the
    first model a machine is scored by (a fresh baseline, or a restart)."""
    version = score.model_version
    if not version or version == track.model_version:
        return track
    changed = replace(track, model_version=version)
    return _settle(changed, score.ts + timedelta(seconds=settings.alerting.settling_s))


def step(
    track: Track,
    observation: Observation,
    part: SparePart | None,
    settings: MaintenanceSettings,
    budget: Budget | None = None,
) -> tuple[Track, Decision | None]:
    """The track after ``observation``, and what to do about it (None: nothing).

    Scores no newer than the last one seen are ignored (replays, out-of-order delivery), and so
    are scores whose anomaly score is not a number. ``budget``: the machine's alerts so far.
    """
    now = observation.score.ts
    if track.last_ts is not None and now <= track.last_ts:
        return track, None
    track = _model_seen(track, observation.score, settings)
    found = assess(observation.score, part, settings)
    if found is None:
        return replace(track, last_ts=now), None
    timed = _timers(track, found, now)
    if timed.active is None:
        return _while_quiet(timed, observation, part, settings, budget or Budget())
    return _while_active(timed, timed.active, observation, part, settings)


def replaced_step(
    track: Track, replacement: Replacement, settings: MaintenanceSettings
) -> tuple[Track, Decision | None]:
    """The component was replaced: clear its alert, forget the timers and older scores."""
    last = max(filter(None, (track.last_ts, replacement.ts)))
    settling = timedelta(seconds=settings.alerting.settling_s)
    fresh = Track(
        last_ts=last, model_version=track.model_version, settle_until=replacement.ts + settling
    )
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


def _recent(raised: list[datetime], now: datetime, window_s: float) -> list[datetime]:
    """The raise times within the budget window before ``now``."""
    start = now - timedelta(seconds=window_s)
    return [ts for ts in raised if ts > start]


class AlertPolicy:
    """The policy over every machine component, rebuilt from the open alerts after a restart."""

    def __init__(
        self,
        settings: MaintenanceSettings,
        catalogue: Catalogue | None = None,
        active: Iterable[ActiveAlert] = (),
        raised: Iterable[tuple[str, datetime]] = (),
    ) -> None:
        """``raised``: (machine, raised at) of earlier alerts, counted against the budgets."""
        self.settings = settings
        self.catalogue = catalogue if catalogue is not None else Catalogue(settings.spare_parts)
        self._tracks: dict[Key, Track] = {
            (alert.machine, alert.component): Track(active=alert) for alert in active
        }
        self._raised: dict[str, list[datetime]] = {}
        for machine, ts in sorted(raised, key=lambda item: item[1]):
            self._raised.setdefault(machine, []).append(ts)

    def observe(self, observation: Observation) -> Decision | None:
        """Take one score; the decision it leads to, if any."""
        key = observation.key
        part = self.catalogue.part_for(*key)
        budget = self.budget(key[0], observation.score.ts)
        track, decision = step(
            self._tracks.get(key, Track()), observation, part, self.settings, budget
        )
        self._tracks[key] = track
        if decision is not None and decision.action is Action.RAISE:
            self._raised.setdefault(key[0], []).append(decision.ts)
        return decision

    def budget(self, machine: str, now: datetime) -> Budget:
        """The alerts ``machine`` raised in the budget window before ``now``."""
        window = self.settings.alerting.budget_window_s
        recent = _recent(self._raised.get(machine, []), now, window)
        self._raised[machine] = recent
        return Budget(raised=len(recent))

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
