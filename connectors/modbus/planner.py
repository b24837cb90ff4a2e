"""Pure read planning: group a device's tags into as few Modbus requests as the limits allow."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from models import RegisterKind, Tag

MAX_REGISTERS_PER_READ = 125
"""Modbus Application Protocol v1.1b3 §6.3/§6.4: at most 125 registers per read request."""


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One read of ``count`` registers from ``address`` in table ``kind``, covering ``tags``."""

    kind: RegisterKind
    address: int
    count: int
    tags: tuple[Tag, ...]

    def slice_for(self, tag: Tag, registers: Sequence[int]) -> Sequence[int]:
        """The registers of ``tag`` inside this request's response."""
        start = tag.address.address - self.address
        return registers[start : start + tag.address.count]


def plan_reads(
    tags: Iterable[Tag], *, max_gap: int = 0, max_count: int = MAX_REGISTERS_PER_READ
) -> list[ReadRequest]:
    """Requests covering every tag, merging neighbours separated by at most ``max_gap`` registers.

    Requires 1 <= max_count <= 125 and every tag to fit in one request. Overlapping tags share
    a request. The plan is ordered by table, then address.
    """
    if not 1 <= max_count <= MAX_REGISTERS_PER_READ:
        raise ValueError(f"requires 1 <= max_count <= {MAX_REGISTERS_PER_READ}, got {max_count}")
    ordered = sorted(tags, key=lambda t: (t.address.kind, t.address.address, t.address.end))
    plan: list[ReadRequest] = []
    group: list[Tag] = []
    for tag in ordered:
        if group and _fits(group, tag, max_gap, max_count):
            group.append(tag)
            continue
        if group:
            plan.append(_request(group))
        group = [tag]
    if group:
        plan.append(_request(group))
    return plan


def _fits(group: list[Tag], tag: Tag, max_gap: int, max_count: int) -> bool:
    first = group[0].address
    end = max(t.address.end for t in group)
    return (
        tag.address.kind == first.kind
        and tag.address.address - end <= max_gap
        and max(end, tag.address.end) - first.address <= max_count
    )


def _request(group: list[Tag]) -> ReadRequest:
    start = group[0].address.address
    end = max(t.address.end for t in group)
    return ReadRequest(group[0].address.kind, start, end - start, tuple(group))
