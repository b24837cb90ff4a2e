"""The report's plots: each checked parameter over the job, drawn into an embedded PNG."""

# Plots are drawn by matplotlib's Agg canvas into memory and embedded as base64 PNG data URIs
# (RFC 2397), so the file needs nothing beside itself. A value holds until its parameter's next
# sample, as the evidence check counts it (ledger/evidence.py), so the plots draw steps.

from __future__ import annotations

import base64
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ledger.report.html import num, section, text
from ledger.report.part import PartRecords, seconds_since, window_of
from models import ParameterWindow, Sample

LINE_COLOUR = "#1f4e79"
WINDOW_FILL = "#d3ead8"
BOUND_COLOUR = "#4d4d4d"
EXCURSION_COLOUR = "#c00000"
"""Excursions and out-of-window samples, and nothing else, are drawn in this colour."""
PLOT_DPI = 144


def plots_section(part: PartRecords) -> str:
    """One plot per checked parameter: its values over the job, window shaded, excursions marked."""
    evidence = part.document["evidence"]
    started = datetime.fromisoformat(evidence["started_at"])
    ended = datetime.fromisoformat(evidence["ended_at"])
    series = _series(part.samples, started)
    figures = [
        _figure(name, stats, series.get(name, []), window_of(part, name), (started, ended))
        for name, stats in evidence["parameters"].items()
    ]
    return section("plots", "Process parameters over the job", "\n".join(figures))


def _figure(
    name: str,
    stats: dict[str, Any],
    points: list[tuple[float, float]],
    window: ParameterWindow | None,
    job: tuple[datetime, datetime],
) -> str:
    started, ended = job
    spans = [
        (seconds_since(e["start"], started), seconds_since(e["end"], started))
        for e in stats["excursions"]
    ]
    total = int(stats.get("excursions_total", len(spans)))
    caption = f"{name}: {len(points)} samples"
    caption += f", {total} excursion(s) marked" if total else ", no excursion"
    if window is not None:
        caption += f"; window {num(window.min)} to {num(window.max)} {window.unit} shaded"
    attributes = f'class="plot" data-parameter="{text(name)}" data-excursions="{total}"'
    if not points:
        shown = "<p>No samples kept.</p>"
    else:
        png = parameter_plot(name, points, window, spans, (ended - started).total_seconds())
        data = base64.b64encode(png).decode("ascii")
        shown = f'<img alt="{text(caption)}" src="data:image/png;base64,{data}">'
    return f"<figure {attributes}>{shown}<figcaption>{text(caption)}</figcaption></figure>"


def _series(samples: Iterable[Sample], started: datetime) -> dict[str, list[tuple[float, float]]]:
    """Each parameter's (seconds since ``started``, value) points, in time order."""
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for sample in samples:
        series[sample.parameter].append(((sample.ts - started).total_seconds(), sample.value))
    for points in series.values():
        points.sort()
    return series


def parameter_plot(
    name: str,
    points: Sequence[tuple[float, float]],
    window: ParameterWindow | None,
    excursions: Sequence[tuple[float, float]],
    duration_s: float,
) -> bytes:
    """A PNG of one parameter over the job (seconds since it started, value): each value held
    until the next sample and the last until the job ended, the window shaded, excursions
    hatched and their samples crossed."""
    figure = Figure(figsize=(7.2, 2.4), dpi=PLOT_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if window is not None:
        _shade_window(axes, window)
    held = [*points, (max(duration_s, points[-1][0]), points[-1][1])]
    axes.step(*zip(*held, strict=True), where="post", color=LINE_COLOUR, linewidth=1.2, label=name)
    _mark_excursions(axes, excursions)
    if window is not None:
        _cross_outside(axes, points, window)
    unit = f" ({window.unit})" if window is not None and window.unit else ""
    axes.set_xlim(0, held[-1][0] or 1)
    axes.margins(y=0.1)
    axes.set_xlabel("seconds since the job started", fontsize=8)
    axes.set_ylabel(f"{name}{unit}", fontsize=8)
    axes.tick_params(labelsize=7)
    axes.grid(True, color="#e0e0e0", linewidth=0.5)
    axes.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1, 1), ncols=4, frameon=False)
    figure.tight_layout(pad=0.4)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PLOT_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _shade_window(axes: Axes, window: ParameterWindow) -> None:
    axes.axhspan(window.min, window.max, facecolor=WINDOW_FILL, label="process window")
    for bound in (window.min, window.max):
        axes.axhline(bound, color=BOUND_COLOUR, linestyle="--", linewidth=0.8)


def _mark_excursions(axes: Axes, excursions: Sequence[tuple[float, float]]) -> None:
    """Hatched spans (they stay visible printed in black and white)."""
    for number, (start, end) in enumerate(excursions):
        axes.axvspan(
            start,
            max(end, start + 1e-3),
            facecolor=EXCURSION_COLOUR + "26",
            edgecolor=EXCURSION_COLOUR,
            hatch="///",
            linewidth=0.8,
            label="excursion" if number == 0 else None,
        )


def _cross_outside(
    axes: Axes, points: Sequence[tuple[float, float]], window: ParameterWindow
) -> None:
    outside = [(t, v) for t, v in points if not window.contains(v)]
    if outside:
        axes.plot(
            *zip(*outside, strict=True),
            linestyle="none",
            marker="x",
            markersize=6,
            markeredgewidth=1.6,
            color=EXCURSION_COLOUR,
            label="outside the window",
        )
