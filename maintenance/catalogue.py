"""The site's spare-part catalogue: which design replaces a component, and its lead time."""

from __future__ import annotations

from collections.abc import Iterable

from config import SparePart


class Catalogue:
    """Spare parts by machine and component; a machine's own entry wins over a site-wide one."""

    def __init__(self, parts: Iterable[SparePart] = ()) -> None:
        self._parts = {(part.machine, part.component): part for part in parts}

    def __len__(self) -> int:
        return len(self._parts)

    def part_for(self, machine: str, component: str) -> SparePart | None:
        """The part that replaces ``component`` on ``machine``; None when the site has none."""
        return self._parts.get((machine, component)) or self._parts.get((None, component))

    def lead_time_h(self, machine: str, component: str) -> float | None:
        """Hours from ordering the part to having it fitted; None when there is no part."""
        part = self.part_for(machine, component)
        return None if part is None else part.lead_time_h
