"""The wear model: monotonic degradation, seeded reproducibility, failure truth in the telemetry."""

from __future__ import annotations

import itertools
import random
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from config.settings import SiteSettings
from connectors.simulated import SimulatedMachine
from connectors.simulated.wear import (
    HOUR_S,
    Degradation,
    MachineWear,
    RunState,
    TimeBase,
    WearEventKind,
    draw_degradation,
    signal_of,
)
from models import Machine
from models.machines import Component, ComponentKind
from models.timebase import ManualClock

START = datetime(2026, 3, 1, tzinfo=UTC)
BEARING = Component(name="spindle_bearing", kind=ComponentKind.BEARING, mean_life_h=500)
SPINDLE = Component(name="spindle", kind=ComponentKind.SPINDLE, mean_life_h=900)


def mill(components: tuple[Component, ...] = (BEARING, SPINDLE)) -> Machine:
    def holding(name: str, address: int, data_type: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "address": {"address": address, "data_type": data_type}} | extra

    return Machine.model_validate(
        {
            "id": "mill-1",
            "simulated": True,
            "modbus": {"port": 0},
            "components": [c.model_dump() for c in components],
            "tags": [
                holding("spindle_temp", 0, "float32", eu_low=15.0, eu_high=120.0),
                holding("vibration_rms", 2, "float32", eu_low=0.0, eu_high=25.0),
                holding("motor_current", 4, "uint16", scale=0.01, eu_low=0.0, eu_high=60.0),
                holding("spindle_speed", 5, "uint32", eu_low=0.0, eu_high=24000.0),
                holding("state", 7, "uint16"),
                holding("alarm", 8, "uint16"),
            ],
        }
    )


def wear_of(machine: Machine, *, seed: int = 7, compression: float = 3600.0) -> MachineWear:
    """Wear on a time base where one real second is one simulated hour."""
    return MachineWear(machine.id, machine.components, TimeBase(START, compression), seed=seed)


@given(
    life=st.floats(min_value=10.0, max_value=1e8),
    onset=st.floats(min_value=0.0, max_value=0.95),
    curvature=st.floats(min_value=0.5, max_value=8.0),
    ages=st.lists(st.floats(min_value=0.0, max_value=2e8), min_size=2, max_size=20),
)
def test_health_never_rises_with_age_and_stays_within_zero_and_one(
    life: float, onset: float, curvature: float, ages: list[float]
) -> None:
    path = Degradation(life_s=life, onset_s=life * onset, curvature=curvature)
    healths = [path.health(age) for age in sorted(ages)]
    assert all(0.0 <= h <= 1.0 for h in healths)
    assert all(later <= earlier for earlier, later in itertools.pairwise(healths))
    assert path.health(life) == 0.0
    assert path.health(path.onset_s) == 1.0


def test_instance_lives_scatter_around_the_configured_mean() -> None:
    rng = random.Random(1)
    lives = [draw_degradation(BEARING, rng).life_s / HOUR_S for _ in range(4000)]
    assert statistics.fmean(lives) == pytest.approx(500, rel=0.05)
    assert statistics.stdev(lives) > 100, "instances differ from one another"
    assert min(lives) >= 0.05 * 500


def run_to_failure_and_repair(wear: MachineWear, cycles: int) -> list[tuple[str, datetime]]:
    """Let the machine fail ``cycles`` times, replacing the failed part a minute later."""
    now = START
    for _ in range(cycles):
        times = {c.name: wear.failure_time(c.name, now) for c in (BEARING, SPINDLE)}
        component, failure_at = min(
            ((c, t) for c, t in times.items() if t is not None), key=lambda item: item[1]
        )
        now = failure_at + timedelta(minutes=1)
        assert wear.failed_component(now) == component
        wear.replace(component, now)
    return [(e.component, e.at) for e in wear.events]


def test_the_same_seed_gives_the_same_failures_whatever_is_asked_first() -> None:
    components = ("spindle", "spindle_bearing")
    truth = {c: wear_of(mill()).failure_time(c, START) for c in components}
    other_order = wear_of(mill())
    assert {c: other_order.failure_time(c, START) for c in reversed(components)} == truth
    history = run_to_failure_and_repair(wear_of(mill()), cycles=6)
    assert run_to_failure_and_repair(wear_of(mill()), cycles=6) == history
    assert run_to_failure_and_repair(wear_of(mill(), seed=8), cycles=6) != history
    assert len(history) == 12


def test_failure_time_is_the_instance_life_on_the_compressed_clock() -> None:
    wear = wear_of(mill((BEARING,)), compression=3600.0)
    life_h = wear.remaining_life_h("spindle_bearing", START)
    assert wear.failure_time("spindle_bearing", START) == START + timedelta(seconds=life_h)
    halfway = START + timedelta(seconds=life_h / 2)
    assert wear.remaining_life_h("spindle_bearing", halfway) == pytest.approx(life_h / 2)


def test_initial_wear_shortens_only_the_first_instance_life() -> None:
    fresh = wear_of(mill((BEARING,)))
    worn_bearing = BEARING.model_copy(update={"initial_wear": 0.75})
    worn = wear_of(mill((worn_bearing,)))
    life_h = fresh.remaining_life_h("spindle_bearing", START)
    assert worn.remaining_life_h("spindle_bearing", START) == pytest.approx(life_h / 4)
    failed_at = worn.failure_time("spindle_bearing", START)
    assert failed_at is not None
    worn.replace("spindle_bearing", failed_at)
    fresh.replace("spindle_bearing", START)
    second = fresh.remaining_life_h("spindle_bearing", START)
    assert worn.remaining_life_h("spindle_bearing", failed_at) == pytest.approx(second)
    assert worn.health("spindle_bearing", failed_at) == 1.0


def test_the_first_failure_stops_the_machine_and_is_logged_with_its_time() -> None:
    wear = wear_of(mill())
    first = min(("spindle", "spindle_bearing"), key=lambda c: wear.remaining_life_h(c, START))
    other = "spindle" if first == "spindle_bearing" else "spindle_bearing"
    failure_at = wear.failure_time(first, START)
    assert failure_at is not None
    just_before = failure_at - timedelta(milliseconds=1)
    assert wear.state(just_before) is RunState.RUNNING
    assert wear.health(first, just_before) > 0.0
    later = failure_at + timedelta(hours=1)
    assert wear.state(later) is RunState.FAILED
    assert wear.failed_component(later) == first
    assert wear.health(first, later) == 0.0
    [event] = wear.events
    assert (event.kind, event.component, event.instance) == (WearEventKind.FAILURE, first, 1)
    assert event.at == failure_at
    assert wear.failure_time(first, later) == failure_at
    assert wear.failure_time(other, later) is None, "the stopped machine does not wear"
    left = wear.remaining_life_h(other, failure_at)
    assert wear.remaining_life_h(other, later + timedelta(days=3)) == pytest.approx(left)


def test_replacement_restarts_the_machine_with_a_fresh_instance() -> None:
    wear = wear_of(mill((BEARING,)))
    failed_at = wear.failure_time("spindle_bearing", START)
    assert failed_at is not None
    repair = failed_at + timedelta(seconds=30)
    old_life = wear.events[0].operating_h if wear.state(repair) is RunState.FAILED else 0.0
    wear.replace("spindle_bearing", repair)
    assert wear.state(repair) is RunState.RUNNING
    assert wear.health("spindle_bearing", repair) == 1.0
    new_life = wear.remaining_life_h("spindle_bearing", repair)
    assert new_life != pytest.approx(old_life), "the new part has its own life"
    kinds = [(e.kind, e.instance) for e in wear.events]
    assert kinds == [(WearEventKind.FAILURE, 1), (WearEventKind.REPLACEMENT, 1)]
    next_failure = wear.failure_time("spindle_bearing", repair)
    assert next_failure == repair + timedelta(seconds=new_life)


def test_a_preventive_replacement_avoids_the_failure() -> None:
    wear = wear_of(mill((BEARING,)))
    failure_at = wear.failure_time("spindle_bearing", START)
    assert failure_at is not None
    before = START + (failure_at - START) * 0.9
    wear.replace("spindle_bearing", before)
    assert wear.state(failure_at + timedelta(seconds=1)) is RunState.RUNNING
    [event] = wear.events
    assert event.kind is WearEventKind.REPLACEMENT
    assert 0.0 <= event.health < 1.0


def test_telemetry_degrades_with_health_and_stops_at_the_known_failure_time() -> None:
    machine = mill((BEARING,))
    clock = ManualClock(START)
    wear = wear_of(machine)
    simulator = SimulatedMachine(machine, clock, seed=7, wear=wear)
    failure_at = wear.failure_time("spindle_bearing", START)
    assert failure_at is not None

    def mean_of(tag: str, around: datetime) -> float:
        at = [around + timedelta(milliseconds=i) for i in range(-100, 0)]
        return statistics.fmean(simulator.value_of(machine.tag(tag), t) for t in at)

    new = {
        t: mean_of(t, START + timedelta(milliseconds=200))
        for t in ("vibration_rms", "spindle_temp")
    }
    worn = {t: mean_of(t, failure_at) for t in ("vibration_rms", "spindle_temp")}
    assert worn["vibration_rms"] > new["vibration_rms"] + 0.3 * 25.0
    assert worn["spindle_temp"] > new["spindle_temp"] + 0.1 * 105.0
    running = failure_at - timedelta(milliseconds=1)
    assert simulator.value_of(machine.tag("state"), running) == RunState.RUNNING
    assert simulator.value_of(machine.tag("spindle_speed"), running) > 1000.0
    stopped = failure_at + timedelta(milliseconds=1)
    assert simulator.value_of(machine.tag("state"), stopped) == RunState.FAILED
    assert simulator.value_of(machine.tag("alarm"), stopped) == 1.0
    assert simulator.value_of(machine.tag("spindle_speed"), stopped) == 0.0
    assert simulator.value_of(machine.tag("vibration_rms"), stopped) == 0.0
    assert simulator.value_of(machine.tag("motor_current"), stopped) == 0.0


def test_a_healthy_machine_keeps_its_plain_signals() -> None:
    machine = mill((BEARING,))
    wear = wear_of(machine)
    plain = SimulatedMachine(machine, ManualClock(START), seed=3)
    worn = SimulatedMachine(machine, ManualClock(START), seed=3, wear=wear)
    at = START + timedelta(seconds=1)  # one simulated hour: long before any onset
    tag = machine.tag("spindle_temp")
    assert worn.value_of(tag, at) == pytest.approx(plain.value_of(tag, at))


@pytest.mark.parametrize(
    ("name", "signal"),
    [("spindle_temp", "temp"), ("temp_alarm", "alarm"), ("machine_state", "state"), ("x", None)],
)
def test_signals_are_recognised_from_tag_names(name: str, signal: str | None) -> None:
    found = signal_of(name)
    assert (found.value if found else None) == signal


def test_unknown_components_are_refused_with_the_known_ones() -> None:
    from connectors.errors import ConnectorError

    with pytest.raises(ConnectorError) as raised:
        wear_of(mill()).health("gearbox", START)
    assert "spindle_bearing" in raised.value.advice


def test_components_and_asset_ids_are_validated() -> None:
    with pytest.raises(ValidationError, match="component names must be unique"):
        mill((BEARING, BEARING))
    printer = {
        "id": "mill-1",
        "opcua": {
            "url": "opc.tcp://127.0.0.1:0",
            "security_policy": "None",
            "security_mode": "None",
        },
    }
    secure = printer | {"id": "am-1", "simulated": True}
    secure["opcua"] = {"url": "opc.tcp://127.0.0.1:0"}  # secure by default
    with pytest.raises(ValidationError, match="secured simulated printer serves one user"):
        SiteSettings.model_validate({"printers": [secure]})
    with pytest.raises(ValidationError, match="ids must be unique"):
        SiteSettings.model_validate(
            {"machines": [mill().model_dump(mode="json")], "printers": [printer]}
        )
