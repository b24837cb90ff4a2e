"""Read planning in space and time: merging, the 125-register and 2000-bit limits, poll timing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config import ConfigError, parse_settings
from connectors.errors import ConnectorError
from connectors.modbus.connector import plan_groups
from connectors.modbus.planner import MAX_BITS_PER_READ, MAX_REGISTERS_PER_READ, plan_reads
from connectors.modbus.schedule import Pacer, PollSchedule
from models import DataType, Machine, ModbusAddress, RegisterKind, Tag

BIT_TABLES = [RegisterKind.COIL, RegisterKind.DISCRETE_INPUT]


def tag(
    name: str,
    addr: int,
    data_type: DataType = DataType.UINT16,
    kind: RegisterKind = RegisterKind.HOLDING,
    **extra: object,
) -> Tag:
    if kind.is_bit_table:
        data_type = DataType.BOOL
    if data_type is DataType.STRING:
        extra.setdefault("length", 3)
    address = ModbusAddress.model_validate(
        {"kind": kind, "address": addr, "data_type": data_type} | extra
    )
    return Tag(name=name, address=address)


def test_adjacent_tags_share_one_request() -> None:
    plan = plan_reads([tag("b", 2, DataType.FLOAT32), tag("a", 0, DataType.UINT32), tag("c", 4)])
    assert [(r.address, r.count) for r in plan] == [(0, 5)]
    assert [t.name for t in plan[0].tags] == ["a", "b", "c"]


def test_gap_splits_unless_max_gap_allows_it() -> None:
    tags = [tag("a", 0), tag("b", 3)]
    assert [(r.address, r.count) for r in plan_reads(tags)] == [(0, 1), (3, 1)]
    assert [(r.address, r.count) for r in plan_reads(tags, max_gap=2)] == [(0, 4)]


def test_tables_are_never_merged_and_come_in_function_code_order() -> None:
    plan = plan_reads(
        [
            tag("a", 0),
            tag("b", 1, kind=RegisterKind.INPUT),
            tag("c", 2, kind=RegisterKind.COIL),
            tag("d", 3, kind=RegisterKind.DISCRETE_INPUT),
        ]
    )
    assert [(r.kind, r.address) for r in plan] == [
        (RegisterKind.COIL, 2),
        (RegisterKind.DISCRETE_INPUT, 3),
        (RegisterKind.HOLDING, 0),
        (RegisterKind.INPUT, 1),
    ]


def test_requests_respect_the_125_register_limit() -> None:
    tags = [tag(f"t{i}", i * 2, DataType.FLOAT32) for i in range(100)]  # 200 contiguous registers
    plan = plan_reads(tags)
    assert [r.count for r in plan] == [124, 76]
    assert all(r.count <= MAX_REGISTERS_PER_READ for r in plan)


@pytest.mark.parametrize("kind", BIT_TABLES)
def test_bit_tables_read_up_to_2000_bits_per_request(kind: RegisterKind) -> None:
    tags = [tag(f"b{i}", i, kind=kind) for i in range(2500)]
    plan = plan_reads(tags)
    assert [(r.address, r.count) for r in plan] == [(0, 2000), (2000, 500)]


def test_64_bit_values_and_strings_occupy_their_registers() -> None:
    plan = plan_reads([tag("a", 0, DataType.FLOAT64), tag("s", 4, DataType.STRING, length=10)])
    assert [(r.address, r.count) for r in plan] == [(0, 14)]


def test_bits_of_one_register_share_it() -> None:
    bits = [tag(f"bit{i}", 5, DataType.BOOL, bit=i) for i in (3, 0, 15)]
    plan = plan_reads([*bits, tag("next", 6)])
    assert [(r.address, r.count) for r in plan] == [(5, 2)]
    request = plan[0]
    assert [request.offset_of(t) for t in request.tags] == [0, 0, 0, 1]


def test_response_slicing_returns_each_tags_registers() -> None:
    plan = plan_reads([tag("a", 10), tag("b", 11, DataType.UINT32)])
    request = plan[0]
    assert list(request.slice_for(request.tags[1], [7, 8, 9])) == [8, 9]


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_registers"):
        plan_reads([tag("a", 0)], max_registers=126)
    with pytest.raises(ValueError, match="max_bits"):
        plan_reads([tag("a", 0)], max_bits=2001)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 400),
            st.sampled_from([t for t in DataType if t is not DataType.BOOL]),
            st.sampled_from(list(RegisterKind)),
        ),
        min_size=1,
        max_size=60,
    ),
    st.integers(0, 8),
    st.integers(1, 125),
    st.integers(1, 2000),
)
def test_every_tag_is_covered_by_exactly_one_bounded_request(
    specs: list[tuple[int, DataType, RegisterKind]],
    max_gap: int,
    max_registers: int,
    max_bits: int,
) -> None:
    tags = [tag(f"t{i}", a, d, k) for i, (a, d, k) in enumerate(specs)]
    tags = [t for t in tags if t.address.count <= max_registers]
    plan = plan_reads(tags, max_gap=max_gap, max_registers=max_registers, max_bits=max_bits)
    covered = [t.name for r in plan for t in r.tags]
    assert sorted(covered) == sorted(t.name for t in tags)
    for request in plan:
        limit = max_bits if request.kind.is_bit_table else max_registers
        assert 1 <= request.count <= min(limit, MAX_BITS_PER_READ)
        for t in request.tags:
            assert t.address.kind == request.kind
            assert request.address <= t.address.address
            assert t.address.end <= request.address + request.count


def test_each_group_is_due_at_its_own_rate() -> None:
    schedule = PollSchedule({"fast": 1.0, None: 5.0}, start=100.0)
    assert schedule.due(100.0) == ["fast", None]
    schedule.polled(["fast", None], now=100.2)
    assert schedule.next_due() == 101.0
    seen = []
    for now in (101.0, 102.0, 103.0, 104.0, 105.0):
        due = schedule.due(now)
        seen.append(due)
        schedule.polled(due, now + 0.1)
    assert seen == [["fast"], ["fast"], ["fast"], ["fast"], ["fast", None]]


def test_an_overrun_poll_is_due_at_once_without_a_backlog() -> None:
    schedule = PollSchedule({"g": 1.0}, start=0.0)
    schedule.polled(["g"], now=3.5)  # took 3.5 intervals
    assert schedule.due(3.5) == ["g"]
    schedule.polled(["g"], now=3.6)
    assert schedule.next_due() == 4.5, "one poll, then the rate resumes from there"


def test_a_down_device_postpones_every_group() -> None:
    schedule = PollSchedule({"a": 1.0, "b": 60.0}, start=0.0)
    schedule.postpone(until=8.0)
    assert schedule.due(7.9) == []
    assert schedule.due(8.0) == ["a", "b"]


def test_schedules_need_groups_with_positive_intervals() -> None:
    with pytest.raises(ValueError, match="interval"):
        PollSchedule({}, start=0.0)
    with pytest.raises(ValueError, match="interval"):
        PollSchedule({"a": 0.0}, start=0.0)


def test_pacing_waits_out_the_gap_after_each_request() -> None:
    pacer = Pacer(0.05)
    assert pacer.delay(10.0) == 0.0, "the first request goes at once"
    pacer.done(10.0)
    assert pacer.delay(10.01) == pytest.approx(0.04)
    assert pacer.delay(10.2) == 0.0
    assert Pacer(0.0).delay(0.0) == 0.0
    with pytest.raises(ValueError, match="gap_s"):
        Pacer(-1.0)


def machine_problems_of(tags: list[dict[str, object]], **modbus: object) -> list[str]:
    """The problems `check-config` reports for one machine with ``tags``."""
    raw = {"site": {"machines": [{"id": "m", "modbus": modbus, "tags": tags}]}}
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    return [str(p) for p in caught.value.problems]


def spec(name: str, **address: object) -> dict[str, object]:
    return {"name": name, "address": {"address": 0} | address}


def test_addresses_whose_fields_do_not_fit_their_type_are_refused_with_their_paths() -> None:
    problems = machine_problems_of(
        [
            spec("a", data_type="uint32"),
            spec("c", kind="coil", data_type="uint16"),
            spec("d", data_type="string"),  # no length
            spec("e", address=9, data_type="bool", bit=16),
            spec("f", address=9, data_type="uint16", bit=3),
            spec("g", address=20, data_type="string", length=2, word_order="little"),
            {**spec("h", address=30, data_type="bool"), "scale": 2.0},
        ]
    )
    prefix = "site.machines[0].tags"
    assert problems == [
        f"{prefix}[1].address: Value error, coil tags are bits: data_type must be bool, not uint16",
        f"{prefix}[2].address: Value error, a string tag needs length (registers); "
        "other types take none",
        f"{prefix}[3].address.bit: Input should be less than or equal to 15",
        f"{prefix}[4].address: Value error, bit is only for bool tags read from a holding or "
        "input register",
        f"{prefix}[5].address: Value error, word_order does not apply to strings (registers are "
        "read in address order)",
        f"{prefix}[6]: Value error, scale, offset, eu_low and eu_high apply to numbers, not bool",
    ]


def test_overlaps_and_unknown_poll_groups_are_reported_together() -> None:
    problems = machine_problems_of(
        [
            spec("a", data_type="uint32"),
            spec("b", address=1),  # inside a
            spec("s", address=10, data_type="string", length=4),
            spec("t", address=13, data_type="int64"),  # its first register is the string's last
            {**spec("i", address=31), "poll_group": "fast"},
        ],
        poll_groups=[{"name": "slow", "interval_s": 10}],
    )
    prefix = "site.machines[0].tags"
    assert problems == [
        f"{prefix}[1].address: overlaps tag 'a'",
        f"{prefix}[3].address: overlaps tag 's'",
        f"{prefix}[4].poll_group: no poll group 'fast' in modbus.poll_groups (slow)",
    ]


def test_bit_tags_share_a_register_but_not_a_bit() -> None:
    flags = [spec(f"flag{bit}", address=5, data_type="bool", bit=bit) for bit in (0, 1, 15)]
    problems = machine_problems_of(
        [*flags, spec("again", address=5, data_type="bool", bit=1), spec("word", address=5)]
    )
    assert problems == [
        "site.machines[0].tags[3].address: overlaps tag 'flag1'",
        "site.machines[0].tags[4].address: overlaps tag 'flag0'",
    ]


def test_coils_and_registers_with_the_same_address_do_not_overlap() -> None:
    raw = {
        "site": {
            "machines": [
                {
                    "id": "m",
                    "modbus": {"poll_groups": [{"name": "fast", "interval_s": 0.1}]},
                    "tags": [
                        spec("coil", kind="coil", data_type="bool"),
                        spec("input", kind="discrete_input", data_type="bool"),
                        {**spec("word"), "poll_group": "fast"},
                    ],
                }
            ]
        }
    }
    machine = parse_settings(raw).site.machines[0]
    assert [t.address.kind for t in machine.tags] == ["coil", "discrete_input", "holding"]


def test_poll_group_names_are_unique() -> None:
    groups = [{"name": "g", "interval_s": 1}, {"name": "g", "interval_s": 2}]
    assert machine_problems_of([spec("a")], poll_groups=groups) == [
        "site.machines[0].modbus: Value error, poll group names must be unique: ['g', 'g']"
    ]


def test_a_tag_naming_an_undefined_poll_group_is_refused_with_advice() -> None:
    """check-config reports it; a connector built without the check refuses it too."""
    machine = Machine.model_validate(
        {"id": "m", "modbus": {}, "tags": [{**spec("a"), "poll_group": "fast"}]}
    )
    with pytest.raises(ConnectorError, match="poll group 'fast'") as caught:
        plan_groups(machine)
    assert "modbus.poll_groups" in caught.value.advice
