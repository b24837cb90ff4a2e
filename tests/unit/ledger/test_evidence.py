"""Process evidence: statistics, excursions, tolerance, layers, verdicts and the samples digest."""

from __future__ import annotations

import hashlib
import math
import random
import statistics
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.evidence import (
    MAX_LISTED_EXCURSIONS,
    evaluate,
    find_excursions,
    samples_digest,
    samples_document,
)
from models.parts import EvidenceSummary, ParameterWindow, Sample, Verdict
from models.timebase import from_micros, to_micros
from tests.unit.ledger.ledgerkit import T0, WINDOW, good_samples

POWER = ParameterWindow(min=270.0, max=290.0, unit="W")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def power(*pairs: tuple[float, float]) -> list[Sample]:
    return [Sample("laser_power_w", T0 + timedelta(seconds=s), v) for s, v in pairs]


def run(
    samples: list[Sample], seconds: float = 60, *, layers: tuple[int, int] = (10, 10)
) -> EvidenceSummary:
    return evaluate(
        samples,
        {"laser_power_w": POWER},
        started_at=T0,
        ended_at=T0 + timedelta(seconds=seconds),
        layers_done=layers[0],
        layers_planned=layers[1],
    )


def test_a_clean_job_passes_with_its_statistics() -> None:
    samples = good_samples(seconds=60)
    summary = evaluate(
        samples,
        WINDOW,
        started_at=T0,
        ended_at=T0 + timedelta(seconds=60),
        layers_done=412,
        layers_planned=412,
    )
    assert summary.verdict is Verdict.PASS
    assert summary.reasons == ()
    assert summary.samples == len(samples)
    stats = {s.parameter: s for s in summary.parameters}
    assert list(stats) == sorted(WINDOW)
    laser = [s.value for s in samples if s.parameter == "laser_power_w"]
    assert stats["laser_power_w"].samples == 60
    assert (stats["laser_power_w"].min, stats["laser_power_w"].max) == (280.0, 281.0)
    assert stats["laser_power_w"].mean == pytest.approx(statistics.fmean(laser))
    assert stats["laser_power_w"].std == pytest.approx(statistics.pstdev(laser))
    assert stats["laser_power_w"].out_of_window_s == 0
    assert stats["laser_power_w"].excursions == ()


def test_an_excursion_runs_from_the_first_sample_out_to_the_next_in() -> None:
    summary = run(power((0, 280), (10, 295), (12, 300), (15, 280), (20, 265), (25, 281)))
    [stats] = summary.parameters
    first, second = stats.excursions
    assert (first.start, first.end, first.worst) == (at(10), at(15), 300)
    assert (second.start, second.end, second.worst) == (at(20), at(25), 265)
    assert stats.out_of_window_s == 10
    assert stats.excursion_count == 2
    assert summary.verdict is Verdict.FAIL
    assert summary.reasons == (
        "laser_power_w: outside [270, 290] W for 10 s in 2 excursion(s), tolerance 0 s",
    )


def test_an_excursion_still_open_at_the_end_lasts_until_the_job_ends() -> None:
    [stats] = run(power((0, 280), (50, 299)), seconds=60).parameters
    [excursion] = stats.excursions
    assert (excursion.start, excursion.end) == (at(50), at(60))
    assert stats.out_of_window_s == 10


def test_the_bounds_themselves_are_inside_the_window() -> None:
    assert run(power((0, 270.0), (1, 290.0))).verdict is Verdict.PASS


def test_time_out_of_window_within_the_tolerance_passes() -> None:
    window = {"laser_power_w": POWER.model_copy(update={"tolerance_s": 5.0})}
    samples = power((0, 280), (10, 295), (14, 280))
    summary = evaluate(
        samples, window, started_at=T0, ended_at=at(20), layers_done=1, layers_planned=1
    )
    assert summary.verdict is Verdict.PASS
    assert summary.parameters[0].out_of_window_s == 4
    assert len(summary.parameters[0].excursions) == 1  # still reported


def test_missing_parameters_and_layers_fail_with_their_reasons() -> None:
    summary = evaluate(
        [],
        WINDOW,
        started_at=T0,
        ended_at=at(5),
        layers_done=398,
        layers_planned=412,
    )
    assert summary.verdict is Verdict.FAIL
    assert summary.reasons == (
        "bed_temp_c: no samples recorded",
        "chamber_o2_ppm: no samples recorded",
        "laser_power_w: no samples recorded",
        "layer_time_s: no samples recorded",
        "layers: 398 printed of 412 planned",
    )
    assert summary.parameters[0].mean is None


def test_parameters_outside_the_window_count_in_the_digest_only() -> None:
    extra = [Sample("fan_rpm", T0, 1200.0)]
    with_extra = run(power((0, 280)) + extra)
    without = run(power((0, 280)))
    assert [s.parameter for s in with_extra.parameters] == ["laser_power_w"]
    assert with_extra.verdict is Verdict.PASS
    assert with_extra.samples_sha256 != without.samples_sha256


def test_listed_excursions_are_capped_but_all_are_counted() -> None:
    pairs = [(2 * i + offset, value) for i in range(15) for offset, value in ((0, 300), (1, 280))]
    [stats] = run(power(*pairs)).parameters
    assert stats.excursion_count == 15
    assert len(stats.excursions) == MAX_LISTED_EXCURSIONS


def test_a_job_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="cannot end before it starts"):
        run([], seconds=-1)


def test_samples_digest_is_pinned_and_independent_of_recording_order() -> None:
    samples = [*power((0, 280.0), (1, 281.5), (2, 279.25)), Sample("bed_temp_c", T0, 180)]
    shuffled = samples[:]
    random.Random(7).shuffle(shuffled)
    assert samples_digest(shuffled) == samples_digest(samples)
    listed = samples_document(samples)["samples"]
    assert isinstance(listed, list)
    assert listed[:2] == [
        ["bed_temp_c", to_micros(T0), 180],
        ["laser_power_w", to_micros(T0), 280.0],
    ]
    # FROZEN: certificates carry this digest; its document layout must never change.
    t = to_micros(T0)
    text = (
        f'{{"samples":[["bed_temp_c",{t},180],["laser_power_w",{t},280],'
        f'["laser_power_w",{t + 1_000_000},281.5],["laser_power_w",{t + 2_000_000},279.25]],'
        '"schema":"trustfloor.samples/1"}'
    )
    assert hashlib.sha256(text.encode()).hexdigest() == samples_digest(samples)
    assert samples_digest(samples) == (
        "d2b2791d104a1c0682e0eb31e2178098c2a2f7869e06dcfa684e0587fd4baf3f"
    )


def test_micros_round_trips() -> None:
    ts = T0 + timedelta(microseconds=123_457)
    assert from_micros(to_micros(ts)) == ts


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 600), st.floats(250, 310, allow_nan=False)),
        min_size=1,
        max_size=40,
        unique_by=lambda p: p[0],
    ),
    st.integers(0, 60),
)
def test_time_out_of_window_matches_a_step_function_sum(
    pairs: list[tuple[int, float]], tail: int
) -> None:
    pairs.sort()
    end = pairs[-1][0] + tail
    stats = run(power(*pairs), seconds=end).parameters[0]
    held = [
        (pairs[i + 1][0] if i + 1 < len(pairs) else end) - t
        for i, (t, v) in enumerate(pairs)
        if not POWER.contains(v)
    ]
    assert stats.out_of_window_s == pytest.approx(math.fsum(held))
    excursions = find_excursions(
        [(T0 + timedelta(seconds=t), v) for t, v in pairs], POWER, T0 + timedelta(seconds=end)
    )
    assert stats.excursion_count == len(excursions)
    for excursion in excursions:
        assert not POWER.contains(excursion.worst)
        assert excursion.start <= excursion.end
