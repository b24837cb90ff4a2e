"""A print job's process evidence checked against its design's process window: pure, no I/O."""

# How time out of the window is counted: a sample's value holds until the next sample of the
# same parameter (sample-and-hold, as a historian's step interpolation), the last one until
# the job ends. An excursion is a maximal run of consecutive samples outside the window; it
# starts at the first such sample and ends at the next sample inside the window (or the job's
# end). A parameter passes when its accumulated time outside is within its tolerance.

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from ledger.canonical import JsonObject, JsonValue, canonical_json
from models import (
    EvidenceSummary,
    Excursion,
    ParameterStats,
    ParameterWindow,
    Sample,
    Verdict,
    to_micros,
)

SAMPLES_SCHEMA = "trustfloor.samples/1"
"""Schema of the canonical raw-samples document whose SHA-256 a certificate carries."""

MAX_LISTED_EXCURSIONS = 10
"""Excursions listed per parameter; ``excursion_count`` still counts them all."""

Series = Sequence[tuple[datetime, float]]


def samples_document(samples: Iterable[Sample]) -> JsonObject:
    """The canonical document of a job's raw samples, whatever order they were recorded in.

    ``{"schema": "trustfloor.samples/1", "samples": [[parameter, ts_us, value], ...]}`` sorted
    by timestamp (µs since the epoch), then parameter, then value.
    """
    rows = sorted((to_micros(s.ts), s.parameter, s.value) for s in samples)
    listed: list[JsonValue] = [[p, t, v] for t, p, v in rows]
    return {"schema": SAMPLES_SCHEMA, "samples": listed}


def samples_digest(samples: Iterable[Sample]) -> str:
    """SHA-256 (hex) of the RFC 8785 form of :func:`samples_document`."""
    return hashlib.sha256(canonical_json(samples_document(samples))).hexdigest()


def evaluate(
    samples: Sequence[Sample],
    window: Mapping[str, ParameterWindow],
    *,
    started_at: datetime,
    ended_at: datetime,
    layers_done: int,
    layers_planned: int,
) -> EvidenceSummary:
    """Statistics of every windowed parameter, the verdict with its reasons, the samples' digest.

    Samples of parameters outside the window are part of the digest but not judged.
    Requires started_at <= ended_at.
    """
    if ended_at < started_at:
        raise ValueError("a job cannot end before it starts")
    series = _series_by_parameter(samples)
    stats = tuple(
        parameter_stats(name, series.get(name, []), window[name], ended_at)
        for name in sorted(window)
    )
    reasons = [r for s in stats if (r := _parameter_reason(s, window[s.parameter]))]
    if layers_done != layers_planned:
        reasons.append(f"layers: {layers_done} printed of {layers_planned} planned")
    return EvidenceSummary(
        samples_sha256=samples_digest(samples),
        samples=len(samples),
        started_at=started_at,
        ended_at=ended_at,
        layers_done=layers_done,
        layers_planned=layers_planned,
        parameters=stats,
        verdict=Verdict.FAIL if reasons else Verdict.PASS,
        reasons=tuple(reasons),
    )


def _series_by_parameter(samples: Iterable[Sample]) -> dict[str, list[tuple[datetime, float]]]:
    series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for sample in samples:
        series[sample.parameter].append((sample.ts, sample.value))
    for values in series.values():
        values.sort()
    return series


def parameter_stats(
    name: str, series: Series, window: ParameterWindow, ended_at: datetime
) -> ParameterStats:
    """Min, max, mean, population std, time out of window and excursions of one parameter.

    ``series`` is sorted by time.
    """
    if not series:
        return ParameterStats(
            parameter=name, samples=0, min=None, max=None, mean=None, std=None, out_of_window_s=0.0
        )
    values = [v for _, v in series]
    mean = math.fsum(values) / len(values)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))
    excursions = find_excursions(series, window, ended_at)
    out_s = math.fsum((e.end - e.start).total_seconds() for e in excursions)
    return ParameterStats(
        parameter=name,
        samples=len(values),
        min=min(values),
        max=max(values),
        mean=_significant(mean),
        std=_significant(std),
        out_of_window_s=round(out_s, 6),
        excursions=tuple(excursions[:MAX_LISTED_EXCURSIONS]),
        excursion_count=len(excursions),
    )


def find_excursions(series: Series, window: ParameterWindow, ended_at: datetime) -> list[Excursion]:
    """Maximal runs of consecutive samples outside ``window``, each with its worst value."""
    excursions: list[Excursion] = []
    start: datetime | None = None
    worst = 0.0
    for ts, value in series:
        if window.contains(value):
            if start is not None:
                excursions.append(Excursion(start=start, end=ts, worst=worst))
                start = None
            continue
        if start is None:
            start, worst = ts, value
        elif _distance(value, window) > _distance(worst, window):
            worst = value
    if start is not None:
        excursions.append(Excursion(start=start, end=max(ended_at, start), worst=worst))
    return excursions


def _distance(value: float, window: ParameterWindow) -> float:
    """How far ``value`` lies outside ``window`` (0 inside)."""
    return max(window.min - value, value - window.max, 0.0)


def _parameter_reason(stats: ParameterStats, window: ParameterWindow) -> str:
    """Why a parameter fails its window, or "" when it passes."""
    if stats.samples == 0:
        return f"{stats.parameter}: no samples recorded"
    if stats.out_of_window_s <= window.tolerance_s:
        return ""
    unit = f" {window.unit}" if window.unit else ""
    return (
        f"{stats.parameter}: outside [{window.min:g}, {window.max:g}]{unit} for "
        f"{stats.out_of_window_s:g} s in {stats.excursion_count} excursion(s), "
        f"tolerance {window.tolerance_s:g} s"
    )


def _significant(value: float) -> float:
    """``value`` kept to 9 significant digits: derived statistics, not measurements."""
    return float(f"{value:.9g}")
