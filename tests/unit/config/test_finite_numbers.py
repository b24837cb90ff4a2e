"""Every number in the config file is finite: TOML's nan and inf are refused with their path."""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from config import Settings
from tests.unit.config.config_kit import demo_raw, problems_of

FINITE = "must be a finite number"


def set_path(raw: dict[str, Any], path: tuple[str | int, ...], value: object) -> None:
    target: Any = raw
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("site", "machines", 0, "tags", 2, "scale"), math.nan),
        (("site", "machines", 0, "tags", 0, "eu_high"), math.inf),
        (("site", "machines", 3, "modbus", "poll_interval_s"), math.nan),
        (("site", "machines", 0, "components", 0, "mean_life_h"), math.inf),
        (("historian", "flush_interval_s"), -math.inf),
        (("simulation", "time_compression"), math.nan),
        (("maintenance", "margin_h"), math.nan),
        (("maintenance", "spare_parts", 1, "print_hours"), math.inf),
        (("ledger", "batch_max_age_s"), math.nan),
    ],
    ids=lambda item: ".".join(map(str, item)) if isinstance(item, tuple) else str(item),
)
def test_nan_and_inf_are_refused_with_one_clear_message(
    path: tuple[str | int, ...], value: float
) -> None:
    raw = demo_raw()
    set_path(raw, path, value)
    [problem] = problems_of(raw)
    location, message = problem.split(": ", 1)
    assert location == "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in path
    ).lstrip(".")
    assert message.startswith(FINITE), "not a misleading 'greater than 0' for a nan"


def models_under(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """``model`` and every pydantic model its fields can hold, each once."""
    seen: set[type[BaseModel]] = set()
    waiting = [model]
    while waiting:
        current = waiting.pop()
        if current in seen:
            continue
        seen.add(current)
        yield current
        for field in current.model_fields.values():
            waiting.extend(nested_models(field.annotation))


def nested_models(annotation: object) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    origin = typing.get_origin(annotation)
    if origin is not None or isinstance(annotation, types.UnionType):
        for argument in typing.get_args(annotation):
            yield from nested_models(argument)


def test_every_record_of_the_file_refuses_nan_and_inf() -> None:
    """One rule for every float field, present and future: the records' shared base."""
    records = list(models_under(Settings))
    assert len(records) > 15
    lenient = [m.__name__ for m in records if m.model_config.get("allow_inf_nan", True)]
    assert lenient == []


def test_a_machine_whose_only_tag_fails_reports_that_tag_alone() -> None:
    raw = demo_raw()
    raw["site"]["machines"][0]["tags"] = raw["site"]["machines"][0]["tags"][2:3]
    raw["site"]["machines"][0]["tags"][0]["scale"] = math.nan
    assert problems_of(raw) == [
        "site.machines[0].tags[0].scale: must be a finite number;"
        " nan and inf are not values a site can use"
    ]
