"""Pure read planning: group a device's tags into as few Modbus requests as the limits allow."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from models import RegisterKind, Tag

MAX_REGISTERS_PER_READ = 125
"""Modbus Application Protocol v1.1b3 §6.3/§6.4: at most 125 registers per read request."""

MAX_BITS_PER_READ = 2000
"""Modbus Application Protocol v1.1b3 §6.1/§6.2: at most 2000 coils or discrete inputs per read."""

READ_FUNCTION_CODES: dict[RegisterKind, int] = {
    RegisterKind.COIL: 1,
    RegisterKind.DISCRETE_INPUT: 2,
    RegisterKind.HOLDING: 3,
    RegisterKind.INPUT: 4,
}
"""Modbus Application Protocol v1.1b3 §6.1-§6.4: the read function of each table."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One read of ``count`` registers (or bits) from ``address`` in ``kind``, covering ``tags``."""

    kind: RegisterKind
    address: int
    count: int
    tags: tuple[Tag, ...]

    def offset_of(self, tag: Tag) -> int:
        """Index of ``tag``'s first register (or bit) inside this request's response."""
        return tag.address.address - self.address

    def slice_for(self, tag: Tag, entries: Sequence[T]) -> Sequence[T]:
        """The registers (or bit) of ``tag`` inside this request's response."""
        start = self.offset_of(tag)
        return entries[start : start + tag.address.count]


def plan_reads(
    tags: Iterable[Tag],
    *,
    max_gap: int = 0,
    max_registers: int = MAX_REGISTERS_PER_READ,
    max_bits: int = MAX_BITS_PER_READ,
) -> list[ReadRequest]:
    """Requests covering every tag, merging neighbours at most ``max_gap`` addresses apart.

    Requires 1 <= max_registers <= 125 and 1 <= max_bits <= 2000 (Modbus Application Protocol
    v1.1b3 §6.1-§6.4) and every tag to fit in one request. Overlapping tags, such as bits of one
    register, share a request. The plan is ordered by function code, then address.
    """
    if not 1 <= max_registers <= MAX_REGISTERS_PER_READ:
        raise ValueError(f"requires 1 <= max_registers <= 125, got {max_registers}")
    if not 1 <= max_bits <= MAX_BITS_PER_READ:
        raise ValueError(f"requires 1 <= max_bits <= 2000, got {max_bits}")
    ordered = sorted(
        tags,
        key=lambda t: (READ_FUNCTION_CODES[t.address.kind], t.address.address, t.address.end),
    )
    plan: list[ReadRequest] = []
    group: list[Tag] = []
    end = 0
    for tag in ordered:
        limit = max_bits if tag.address.kind.is_bit_table else max_registers
        if group and _joins(group[0], end, tag, max_gap, limit):
            group.append(tag)
            end = max(end, tag.address.end)
            continue
        if group:
            plan.append(_request(group, end))
        group, end = [tag], tag.address.end
    if group:
        plan.append(_request(group, end))
    return plan


def _joins(first: Tag, end: int, tag: Tag, max_gap: int, limit: int) -> bool:
    """Whether ``tag`` can join the request that starts at ``first`` and ends before ``end``."""
    return (
        tag.address.kind == first.address.kind
        and tag.address.address - end <= max_gap
        and max(end, tag.address.end) - first.address.address <= limit
    )


def _request(group: list[Tag], end: int) -> ReadRequest:
    start = group[0].address.address
    return ReadRequest(group[0].address.kind, start, end - start, tuple(group))
