"""Pure signal models of a simulated machine: smooth, noisy, bounded telemetry per tag."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from models import Tag


@dataclass(frozen=True, slots=True)
class SignalShape:
    """A level with a slow oscillation and noise, all in engineering units."""

    level: float
    amplitude: float
    period_s: float
    phase: float
    noise: float

    def value_at(self, seconds: float, rng: random.Random) -> float:
        """The signal at ``seconds`` since the simulation epoch, with fresh noise."""
        wave = self.amplitude * math.sin(2 * math.pi * seconds / self.period_s + self.phase)
        return self.level + wave + rng.gauss(0.0, self.noise)


_PROFILES: tuple[tuple[str, float, float, float], ...] = (
    # name keyword, level (fraction of range), amplitude (fraction), period (s)
    ("temp", 0.45, 0.06, 300.0),
    ("vib", 0.15, 0.03, 45.0),
    ("current", 0.50, 0.10, 20.0),
    ("speed", 0.60, 0.05, 120.0),
)


def shape_for(tag: Tag, rng: random.Random) -> SignalShape:
    """A plausible shape for ``tag`` from its name and engineering range."""
    low = tag.eu_low if tag.eu_low is not None else 0.0
    high = tag.eu_high if tag.eu_high is not None else 100.0
    span = high - low
    level, amplitude, period = 0.5, 0.05, 60.0
    for keyword, k_level, k_amplitude, k_period in _PROFILES:
        if keyword in tag.name.lower():
            level, amplitude, period = k_level, k_amplitude, k_period
            break
    return SignalShape(
        level=low + level * span * rng.uniform(0.9, 1.1),
        amplitude=amplitude * span,
        period_s=period * rng.uniform(0.8, 1.2),
        phase=rng.uniform(0, 2 * math.pi),
        noise=0.005 * span,
    )


def clamp(tag: Tag, value: float) -> float:
    """``value`` kept inside the tag's engineering range, where it has one."""
    if tag.eu_low is not None:
        value = max(tag.eu_low, value)
    if tag.eu_high is not None:
        value = min(tag.eu_high, value)
    return value
