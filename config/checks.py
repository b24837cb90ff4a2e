"""Cross-field checks of a site that pydantic's per-field validation cannot see."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass

from config.settings import Settings
from models import Asset, Machine, ModbusAddress, OpcUaEndpoint, RegisterKind, SecurityPolicy, Tag


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a configuration, at a dotted path such as ``site.machines[2].id``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def repeats(keys: Sequence[Hashable | None]) -> Iterator[tuple[int, int]]:
    """``(index, first)`` for every key equal to the one at an earlier ``first``; None is unique."""
    first_at: dict[Hashable, int] = {}
    for index, key in enumerate(keys):
        if key is None:
            continue
        if key in first_at:
            yield index, first_at[key]
        else:
            first_at[key] = index


def duplicate_ids(ids: Sequence[Hashable | None], prefix: str, what: str) -> Iterator[Problem]:
    """A problem for every id that repeats an earlier one."""
    for index, _first in repeats(ids):
        yield Problem(f"{prefix}[{index}].id", f"duplicate {what} id '{ids[index]}'")


def machine_problems(machine: Machine, prefix: str) -> Iterator[Problem]:
    """Duplicate tag names, overlapping registers and unknown poll groups inside one machine."""
    names = [tag.name for tag in machine.tags]
    for index, _first in repeats(names):
        yield Problem(f"{prefix}.tags[{index}].name", f"duplicate tag name '{names[index]}'")
    yield from _overlaps(machine.tags, prefix)
    yield from _unknown_poll_groups(machine, prefix)


def _overlaps(tags: Sequence[Tag], prefix: str) -> Iterator[Problem]:
    """Each tag that shares a register (or bit) with a tag earlier in the file, naming the first.

    One pass in file order over the registers each tag covers, remembering the first owner of
    each: O(n·L) for n tags of at most L registers (125, a string's longest), where comparing
    every pair of tags was O(n²).
    """
    owners = _FirstOwners()
    for index, tag in enumerate(tags):
        first = owners.first_sharing(tag.address)
        if first is not None:
            yield Problem(f"{prefix}.tags[{index}].address", f"overlaps tag '{tags[first].name}'")
        owners.claim(tag.address, index)


class _FirstOwners:
    """The first tag on each register of each table; bits of a register overlap only on the same
    bit, or with a tag that reads the whole register."""

    def __init__(self) -> None:
        self._whole: dict[tuple[RegisterKind, int], int] = {}
        self._bit: dict[tuple[RegisterKind, int, int], int] = {}
        self._any_bit: dict[tuple[RegisterKind, int], int] = {}

    def first_sharing(self, address: ModbusAddress) -> int | None:
        """The earliest tag claimed so far that shares a register or bit with ``address``."""
        kind, bit = address.kind, address.bit
        if bit is not None:
            register = address.address
            owners = [self._whole.get((kind, register)), self._bit.get((kind, register, bit))]
        else:
            owners = [
                owner
                for register in range(address.address, address.end)
                for owner in (
                    self._whole.get((kind, register)),
                    self._any_bit.get((kind, register)),
                )
            ]
        return min((owner for owner in owners if owner is not None), default=None)

    def claim(self, address: ModbusAddress, index: int) -> None:
        """Record tag ``index`` on the registers (or the bit) of ``address`` not yet taken."""
        kind, bit = address.kind, address.bit
        if bit is not None:
            self._bit.setdefault((kind, address.address, bit), index)
            self._any_bit.setdefault((kind, address.address), index)
            return
        for register in range(address.address, address.end):
            self._whole.setdefault((kind, register), index)


def _unknown_poll_groups(machine: Machine, prefix: str) -> Iterator[Problem]:
    groups = {group.name for group in machine.modbus.poll_groups}
    for index, tag in enumerate(machine.tags):
        if tag.poll_group is not None and tag.poll_group not in groups:
            known = ", ".join(sorted(groups)) or "none defined"
            yield Problem(
                f"{prefix}.tags[{index}].poll_group",
                f"no poll group '{tag.poll_group}' in modbus.poll_groups ({known})",
            )


def empty_site_problems(settings: Settings) -> Iterator[Problem]:
    """A site needs something on its floor: a machine of either kind or a printer."""
    site = settings.site
    if not (site.machines or site.opcua_machines or site.printers):
        yield Problem(
            "site",
            "no machines or printers; add [[site.machines]], [[site.opcua_machines]] or"
            " [[site.printers]] (the bundled demo site shows each)",
        )


def user_problems(settings: Settings) -> Iterator[Problem]:
    """One entry per user, whatever the case of its name, and one user per certificate."""
    users = settings.server.users
    for index, first in repeats([user.name.casefold() for user in users]):
        yield Problem(
            f"server.users[{index}].name",
            f"user '{users[index].name}' repeats server.users[{first}] ('{users[first].name}');"
            " names are compared without case: keep one entry per user",
        )
    for index, first in repeats([user.certificate_file for user in users]):
        yield Problem(
            f"server.users[{index}].certificate_file",
            f"the certificate of server.users[{first}] ('{users[first].name}');"
            " give each user a certificate of its own",
        )


def insecure_link_problems(settings: Settings) -> Iterator[Problem]:
    """Security None to a real device only where its entry says ``allow_insecure = true``."""
    site = settings.site
    links: list[tuple[str, OpcUaEndpoint, bool]] = [
        (f"site.opcua_machines[{i}]", machine.opcua, False)
        for i, machine in enumerate(site.opcua_machines)
    ]
    links += [
        (f"site.printers[{i}]", printer.opcua, printer.simulated)
        for i, printer in enumerate(site.printers)
    ]
    for prefix, endpoint, simulated in links:
        if endpoint.security_policy is SecurityPolicy.NONE and not (
            simulated or endpoint.allow_insecure
        ):
            yield Problem(
                f"{prefix}.opcua.security_policy",
                "security None on a real device: choose Basic256Sha256 or an Aes policy with"
                " SignAndEncrypt, or set opcua.allow_insecure = true to accept an unprotected link",
            )


def spare_part_problems(settings: Settings) -> Iterator[Problem]:
    """Each spare part names a component some asset has, on the machine it names if any."""
    site = settings.site
    assets: dict[str, Asset] = {
        asset.id: asset for asset in (*site.machines, *site.opcua_machines, *site.printers)
    }
    everywhere = sorted({c.name for asset in assets.values() for c in asset.components})
    for index, part in enumerate(settings.maintenance.spare_parts):
        prefix = f"maintenance.spare_parts[{index}]"
        if part.machine is None:
            if part.component not in everywhere:
                yield Problem(
                    f"{prefix}.component",
                    f"no asset has a component '{part.component}' (components:"
                    f" {', '.join(everywhere) or 'none'}); correct the name or add the component"
                    " to its machine",
                )
            continue
        asset = assets.get(part.machine)
        if asset is None:
            yield Problem(
                f"{prefix}.machine",
                f"no machine or printer '{part.machine}'; name one of site.machines,"
                " site.opcua_machines or site.printers, or leave it out",
            )
            continue
        own = [component.name for component in asset.components]
        if part.component not in own:
            yield Problem(
                f"{prefix}.component",
                f"{asset.id} has no component '{part.component}'"
                f" (it has: {', '.join(own) or 'none'})",
            )


def printer_link_problems(settings: Settings) -> Iterator[Problem]:
    """Each printer a mapping profile is assigned to is a printer of the site."""
    printers = {printer.id for printer in settings.site.printers}
    for printer_id in settings.printer_links.use:
        if printer_id not in printers:
            yield Problem(
                f"printer_links.use.{printer_id}",
                f"no printer {printer_id!r} in site.printers: use one of {sorted(printers)}",
            )
