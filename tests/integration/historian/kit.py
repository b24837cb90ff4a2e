"""What the historian integration tests share: numbered readings, expected samples, delivery."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from config.settings import InfluxSettings
from connectors.historian import InfluxSink
from models import Cause, Reading, bad, good
from models.timebase import from_micros, to_micros
from tests.support import WAIT_S, wait_until

Samples = dict[str, list[tuple[int, float]]]
"""Series name/tag (``telemetry_value/counter``…) → [(timestamp in ms, value)] as exported."""
TAG = "counter"
STEP_US = 10_000  # 10 ms apart: VictoriaMetrics keeps millisecond timestamps


def base_micros() -> int:
    """A whole-millisecond start an hour ago (inside the server's one-month retention)."""
    start = datetime.now(UTC) - timedelta(hours=1)
    return to_micros(start) // 1000 * 1000


def numbered(machine: str, numbers: Iterable[int], base_us: int) -> list[Reading]:
    """Reading n: value n at base + n·10 ms; every seventh one is Bad (no value)."""
    return [
        bad(machine, TAG, from_micros(base_us + n * STEP_US), Cause.COMMUNICATION, "timeout")
        if n % 7 == 3
        else good(machine, TAG, from_micros(base_us + n * STEP_US), float(n))
        for n in numbers
    ]


def expected_samples(numbers: Iterable[int], base_us: int) -> Samples:
    """What the server holds when each reading n arrived exactly once."""
    values, qualities, causes = [], [], []
    for n in sorted(numbers):
        ms = (base_us + n * STEP_US) // 1000
        if n % 7 == 3:
            qualities.append((ms, float(0x8000_0000)))
            causes.append((ms, 0.0))  # VictoriaMetrics stores string fields as 0
        else:
            qualities.append((ms, 0.0))
            values.append((ms, float(n)))
    series = {
        f"telemetry_value/{TAG}": values,
        f"telemetry_quality/{TAG}": qualities,
        f"telemetry_cause/{TAG}": causes,
    }
    return {name: samples for name, samples in series.items() if samples}


def influx_settings(url: str, **overrides: object) -> InfluxSettings:
    """Settings with short waits, so no test spends long in a backoff."""
    fields: dict[str, object] = {
        "url": url,
        "org": "plant7",
        "bucket": "telemetry",
        "batch_size": 100,
        "flush_interval_s": 0.05,
        "timeout_s": 2.0,
        "retry_initial_s": 0.05,
        "retry_max_s": 0.2,
    }
    return InfluxSettings.model_validate(fields | overrides)


async def delivered(sink: InfluxSink, timeout_s: float = WAIT_S) -> None:
    """Wait until the sink's spool is empty."""
    await wait_until(lambda: sink.stats.queued == 0, timeout_s=timeout_s)


def sample_count(samples: Samples) -> int:
    """Samples over every series."""
    return sum(map(len, samples.values()))


def spool_of(data_dir: Path) -> Path:
    return data_dir / "queue" / "influx.sqlite"
