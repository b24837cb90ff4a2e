"""Read planning: contiguous merging, the 125-register limit, tables kept apart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.modbus.planner import MAX_REGISTERS_PER_READ, plan_reads
from models import DataType, ModbusAddress, RegisterKind, Tag


def tag(
    name: str,
    addr: int,
    data_type: DataType = DataType.UINT16,
    kind: RegisterKind = RegisterKind.HOLDING,
) -> Tag:
    return Tag(name=name, address=ModbusAddress(kind=kind, address=addr, data_type=data_type))


def test_adjacent_tags_share_one_request() -> None:
    plan = plan_reads([tag("b", 2, DataType.FLOAT32), tag("a", 0, DataType.UINT32), tag("c", 4)])
    assert [(r.address, r.count) for r in plan] == [(0, 5)]
    assert [t.name for t in plan[0].tags] == ["a", "b", "c"]


def test_gap_splits_unless_max_gap_allows_it() -> None:
    tags = [tag("a", 0), tag("b", 3)]
    assert [(r.address, r.count) for r in plan_reads(tags)] == [(0, 1), (3, 1)]
    assert [(r.address, r.count) for r in plan_reads(tags, max_gap=2)] == [(0, 4)]


def test_tables_are_never_merged() -> None:
    plan = plan_reads([tag("a", 0), tag("b", 1, kind=RegisterKind.INPUT)])
    assert [(r.kind, r.address) for r in plan] == [
        (RegisterKind.HOLDING, 0),
        (RegisterKind.INPUT, 1),
    ]


def test_requests_respect_the_125_register_limit() -> None:
    tags = [tag(f"t{i}", i * 2, DataType.FLOAT32) for i in range(100)]  # 200 contiguous registers
    plan = plan_reads(tags)
    assert [r.count for r in plan] == [124, 76]
    assert all(r.count <= MAX_REGISTERS_PER_READ for r in plan)


def test_response_slicing_returns_each_tags_registers() -> None:
    plan = plan_reads([tag("a", 10), tag("b", 11, DataType.UINT32)])
    request = plan[0]
    assert list(request.slice_for(request.tags[1], [7, 8, 9])) == [8, 9]


def test_invalid_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="max_count"):
        plan_reads([tag("a", 0)], max_count=126)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 400),
            st.sampled_from([t for t in DataType if t.is_numeric]),
            st.sampled_from([RegisterKind.HOLDING, RegisterKind.INPUT]),
        ),
        min_size=1,
        max_size=60,
    ),
    st.integers(0, 8),
)
def test_every_tag_is_covered_by_exactly_one_bounded_request(
    specs: list[tuple[int, DataType, RegisterKind]], max_gap: int
) -> None:
    tags = [tag(f"t{i}", a, d, k) for i, (a, d, k) in enumerate(specs)]
    plan = plan_reads(tags, max_gap=max_gap)
    covered = [t.name for r in plan for t in r.tags]
    assert sorted(covered) == sorted(t.name for t in tags)
    for request in plan:
        assert 1 <= request.count <= MAX_REGISTERS_PER_READ
        for t in request.tags:
            assert t.address.kind == request.kind
            assert request.address <= t.address.address
            assert t.address.end <= request.address + request.count
