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
    """Duplicate tag names, overlapping registers and unknown poll groups inside one machine."""
    seen_names: dict[str, int] = {}
    for index, tag in enumerate(machine.tags):
        if tag.name in seen_names:
            yield Problem(f"{prefix}.tags[{index}].name", f"duplicate tag name '{tag.name}'")
        seen_names.setdefault(tag.name, index)
    yield from _overlaps(machine.tags, prefix)
    yield from _unknown_poll_groups(machine, prefix)


def _overlaps(tags: Sequence[Tag], prefix: str) -> Iterator[Problem]:
    for index, tag in enumerate(tags):
        for other in tags[:index]:
            if _overlap(tag, other):
                yield Problem(f"{prefix}.tags[{index}].address", f"overlaps tag '{other.name}'")
                break


def _overlap(tag: Tag, other: Tag) -> bool:
    """Same table and shared registers; bits of one register overlap only on the same bit."""
    a, b = tag.address, other.address
    if a.kind != b.kind or not (a.address < b.end and b.address < a.end):
        return False
    return a.bit is None or b.bit is None or a.bit == b.bit


def _unknown_poll_groups(machine: Machine, prefix: str) -> Iterator[Problem]:
    groups = {group.name for group in machine.modbus.poll_groups}
    for index, tag in enumerate(machine.tags):
        if tag.poll_group is not None and tag.poll_group not in groups:
            known = ", ".join(sorted(groups)) or "none defined"
            yield Problem(
                f"{prefix}.tags[{index}].poll_group",
                f"no poll group '{tag.poll_group}' in modbus.poll_groups ({known})",
            )


def duplicate_ids(ids: Sequence[object], prefix: str, what: str) -> Iterator[Problem]:
    """A problem for every id that repeats an earlier one."""
    seen: set[object] = set()
    for index, item in enumerate(ids):
        if item in seen:
            yield Problem(f"{prefix}[{index}].id", f"duplicate {what} id '{item}'")
        seen.add(item)
