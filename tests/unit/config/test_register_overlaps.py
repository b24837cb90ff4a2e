"""Register overlaps inside one machine: the pairwise definition, found in one pass, so large
register maps validate."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bench.config_check import pairwise_overlaps
from config import parse_settings
from config.checks import machine_problems
from models import Machine
from tests.unit.config.config_kit import problems_of

TAGS_ON_ONE_MACHINE = 16_000


def site_of(tags: list[dict[str, Any]]) -> dict[str, Any]:
    return {"site": {"machines": [{"id": "m", "modbus": {}, "tags": tags}]}}


def tag(name: str, address: int, **fields: Any) -> dict[str, Any]:
    return {"name": name, "address": {"address": address} | fields}


def test_sixteen_thousand_tags_on_one_machine_validate() -> None:
    """One holding table: 12,000 32-bit values, then 4,000 bits four to a register."""
    words = [tag(f"w{i}", 2 * i, data_type="uint32") for i in range(12_000)]
    bits = [tag(f"b{i}", 24_000 + i // 4, data_type="bool", bit=i % 4) for i in range(4_000)]
    machine = parse_settings(site_of(words + bits)).site.machines[0]
    assert len(machine.tags) == TAGS_ON_ONE_MACHINE


def test_an_overlap_among_sixteen_thousand_tags_is_found() -> None:
    tags = [tag(f"t{i}", 2 * i, data_type="uint32") for i in range(TAGS_ON_ONE_MACHINE - 1)]
    tags.append(tag("late", 17, data_type="uint16"))
    assert problems_of(site_of(tags)) == [
        f"site.machines[0].tags[{TAGS_ON_ONE_MACHINE - 1}].address: overlaps tag 't8'"
    ]


def test_the_later_tag_in_the_file_is_named_whatever_its_address() -> None:
    tags = [tag("high", 10, data_type="float32"), tag("low", 9, data_type="uint32")]
    assert problems_of(site_of(tags)) == ["site.machines[0].tags[1].address: overlaps tag 'high'"]


def test_a_long_tag_overlaps_one_that_starts_far_after_it() -> None:
    tags = [
        tag("text", 0, data_type="string", length=100),
        tag("a", 100),
        tag("b", 99),
    ]
    assert problems_of(site_of(tags)) == ["site.machines[0].tags[2].address: overlaps tag 'text'"]


def test_bits_of_one_register_overlap_only_on_the_same_bit_or_the_whole_register() -> None:
    tags = [
        tag("run", 5, data_type="bool", bit=0),
        tag("fault", 5, data_type="bool", bit=1),
        tag("fault_again", 5, data_type="bool", bit=1),
        tag("word", 5),
        tag("bit_in_long", 7, data_type="bool", bit=3),
        tag("long", 6, data_type="uint32"),
        tag("other_table", 5, kind="input"),
    ]
    assert problems_of(site_of(tags)) == [
        "site.machines[0].tags[2].address: overlaps tag 'fault'",
        "site.machines[0].tags[3].address: overlaps tag 'run'",
        "site.machines[0].tags[5].address: overlaps tag 'bit_in_long'",
    ]


def address_strategy() -> st.SearchStrategy[dict[str, Any]]:
    """Addresses crowded into a few registers of three tables, of every shape a tag can take."""
    register = st.integers(0, 12)
    word = st.sampled_from(["uint16", "uint32", "float64"])
    return st.one_of(
        st.builds(
            lambda kind, at, data_type: {"kind": kind, "address": at, "data_type": data_type},
            st.sampled_from(["holding", "input"]),
            register,
            word,
        ),
        st.builds(
            lambda at, length: {"address": at, "data_type": "string", "length": length},
            register,
            st.integers(1, 6),
        ),
        st.builds(
            lambda at, bit: {"address": at, "data_type": "bool", "bit": bit},
            register,
            st.integers(0, 2),
        ),
        st.builds(lambda at: {"kind": "coil", "address": at, "data_type": "bool"}, register),
    )


@given(st.lists(address_strategy(), min_size=1, max_size=12))
def test_the_one_pass_reports_what_comparing_every_pair_reports(
    addresses: list[dict[str, Any]],
) -> None:
    machine = Machine.model_validate(
        {
            "id": "m",
            "modbus": {},
            "tags": [tag(f"t{i}", 0) | {"address": a} for i, a in enumerate(addresses)],
        }
    )
    expected = [
        f"m.tags[{index}].address: overlaps tag 't{first}'"
        for index, first in pairwise_overlaps(machine.tags)
    ]
    reported = [str(p) for p in machine_problems(machine, "m") if p.path.endswith(".address")]
    assert reported == expected
