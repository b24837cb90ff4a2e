"""Cross-field checks of a site that pydantic's per-field validation cannot see."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from models import Machine, Tag


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a configuration, at a dotted path such as ``site.machines[2].id``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def machine_problems(machine: Machine, prefix: str) -> Iterator[Problem]:
    """Duplicate tag names and overlapping register ranges inside one machine."""
    seen_names: dict[str, int] = {}
    for index, tag in enumerate(machine.tags):
        if tag.name in seen_names:
            yield Problem(f"{prefix}.tags[{index}].name", f"duplicate tag name '{tag.name}'")
        seen_names.setdefault(tag.name, index)
    yield from _overlaps(machine.tags, prefix)


def _overlaps(tags: Sequence[Tag], prefix: str) -> Iterator[Problem]:
    for index, tag in enumerate(tags):
        for other in tags[:index]:
            same_table = other.address.kind == tag.address.kind
            if (
                same_table
                and tag.address.address < other.address.end
                and (other.address.address < tag.address.end)
            ):
                yield Problem(f"{prefix}.tags[{index}].address", f"overlaps tag '{other.name}'")
                break


def duplicate_ids(ids: Sequence[object], prefix: str, what: str) -> Iterator[Problem]:
    """A problem for every id that repeats an earlier one."""
    seen: set[object] = set()
    for index, item in enumerate(ids):
        if item in seen:
            yield Problem(f"{prefix}[{index}].id", f"duplicate {what} id '{item}'")
        seen.add(item)
