"""The printer model: jobs, layers in compressed time, process windows, excursions, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.simulated.printer_model import (
    NOMINAL,
    NoJobPrintingError,
    PrinterBusyError,
    PrinterError,
    PrinterModel,
)
from models import PrinterJobState, ProcessParameter

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
LASER, O2, PLATE, LAYER_TIME = (
    ProcessParameter.LASER_POWER,
    ProcessParameter.CHAMBER_OXYGEN,
    ProcessParameter.BUILD_PLATE_TEMPERATURE,
    ProcessParameter.LAYER_TIME,
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def printing(layers: int = 50, compression: float = 100.0, seed: int = 0) -> PrinterModel:
    model = PrinterModel("am-1", seed=seed, time_compression=compression)
    model.start_job("job-1", "bracket-7", layers, "LOT-316L-0042", T0)
    return model


def test_an_idle_printer_shows_no_job_and_no_laser() -> None:
    snapshot = PrinterModel("am-1").snapshot(T0)
    assert snapshot.state is PrinterJobState.IDLE
    assert (snapshot.current_layer, snapshot.layers_planned, snapshot.jobs_completed) == (0, 0, 0)
    assert snapshot.process[LASER] == 0.0


def test_layers_complete_in_compressed_time() -> None:
    model = printing(layers=50, compression=100.0)
    start = model.snapshot(T0)
    assert (start.state, start.current_layer, start.layers_planned) == (
        PrinterJobState.PRINTING,
        0,
        50,
    )
    assert start.material_lot == "LOT-316L-0042"
    # a layer takes ~40 simulated seconds: ~0.4 real seconds at 100×
    after_ten = model.snapshot(at(10 * 0.4))
    assert 8 <= after_ten.current_layer <= 12
    assert after_ten.remaining_s == pytest.approx(start.remaining_s - 400, abs=1.0)
    done = model.snapshot(at(60))
    assert (done.state, done.current_layer, done.jobs_completed) == (
        PrinterJobState.COMPLETED,
        50,
        1,
    )
    assert model.snapshot(at(120)).jobs_completed == 1, "a completion counts once"


def test_process_values_stay_in_their_nominal_window_while_printing() -> None:
    model = printing(layers=200, compression=1000.0)
    seen: dict[ProcessParameter, list[float]] = {p: [] for p in ProcessParameter}
    for step in range(0, 8000, 41):
        snapshot = model.snapshot(at(step / 1000))
        for parameter, value in snapshot.process.items():
            seen[parameter].append(value)
    for parameter, values in seen.items():
        nominal = NOMINAL[parameter]
        assert len(set(values)) > 20, f"{parameter} varies from layer to layer"
        assert all(abs(v - nominal.mean) < 5 * nominal.noise for v in values), parameter


def test_a_busy_printer_refuses_a_second_job_and_accepts_after_completion() -> None:
    model = printing(layers=5, compression=100.0)
    with pytest.raises(PrinterBusyError, match="printing job job-1") as refused:
        model.start_job("job-2", "bracket-7", 5, "LOT", at(0.5))
    assert "abort" in refused.value.advice
    model.start_job("job-2", "bracket-7", 5, "LOT", at(10))
    snapshot = model.snapshot(at(10))
    assert (snapshot.job_id, snapshot.state, snapshot.jobs_completed) == (
        "job-2",
        PrinterJobState.PRINTING,
        1,
    )


def test_bad_jobs_are_refused() -> None:
    with pytest.raises(PrinterError, match="at least one layer"):
        PrinterModel("am-1").start_job("job-1", "d", 0, "LOT", T0)


def test_an_excursion_shifts_its_parameter_for_its_layers_only() -> None:
    model = printing(layers=50, compression=100.0)
    baseline = PrinterModel("am-1", time_compression=100.0)
    baseline.start_job("job-1", "bracket-7", 50, "LOT-316L-0042", T0)
    now = at(0.4 * 10 + 0.2)  # in layer 11
    layer = model.snapshot(now).current_layer + 1
    excursion = model.inject_excursion(O2, 1500.0, 3, now)
    assert (excursion.first_layer, excursion.last_layer) == (layer, layer + 2)
    assert model.excursions == [excursion]
    during = model.snapshot(now)
    assert during.process[O2] == pytest.approx(baseline.snapshot(now).process[O2] + 1500.0)
    assert during.process[LASER] == baseline.snapshot(now).process[LASER]
    after = at(0.4 * 20)
    assert model.snapshot(after).process[O2] == baseline.snapshot(after).process[O2]


def test_a_layer_time_excursion_slows_the_job() -> None:
    model, baseline = printing(layers=20), printing(layers=20)
    model.inject_excursion(LAYER_TIME, 60.0, 5, T0)
    later = at(0.4 * 12)
    assert model.snapshot(later).current_layer < baseline.snapshot(later).current_layer
    assert model.snapshot(T0).process[LAYER_TIME] == pytest.approx(
        baseline.snapshot(T0).process[LAYER_TIME] + 60.0
    )


def test_excursions_and_aborts_need_a_printing_job() -> None:
    model = PrinterModel("am-1")
    with pytest.raises(NoJobPrintingError):
        model.inject_excursion(PLATE, 10.0, 1, T0)
    with pytest.raises(NoJobPrintingError):
        model.abort(T0)


def test_an_aborted_job_stops_where_it_was() -> None:
    model = printing(layers=50, compression=100.0)
    model.abort(at(2.1))
    stopped = model.snapshot(at(100))
    assert stopped.state is PrinterJobState.ABORTED
    assert 4 <= stopped.current_layer <= 6
    assert stopped.jobs_completed == 0
    assert stopped.process[LASER] == 0.0


def test_the_same_job_prints_the_same_way_for_the_same_seed() -> None:
    def history(seed: int) -> list[float]:
        model = printing(seed=seed)
        return [model.snapshot(at(s / 10)).process[LASER] for s in range(40)]

    assert history(1) == history(1)
    assert history(1) != history(2)
