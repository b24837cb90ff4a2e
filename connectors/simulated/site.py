"""A simulated site: wearing machines and printers on one time base and seed, with ground truth."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from config import SimulationSettings, SiteSettings
from connectors.errors import ConnectorError
from connectors.simulated.printer import SimulatedPrinter
from connectors.simulated.wear import MachineWear, TimeBase, WearEvent, WearEventKind
from models import Clock

if TYPE_CHECKING:
    from connectors.simulated.machine import SimulatedMachine

log = logging.getLogger(__name__)


def with_simulator_passwords(
    site: SiteSettings, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``environ`` (default: the process environment) plus a password made up for this run
    for each simulated printer whose user's variable is unset: the simulator and the driver
    share it, and it never leaves the process."""
    merged = dict(os.environ if environ is None else environ)
    for printer in site.printers:
        variable = printer.opcua.password_env
        if printer.simulated and variable is not None and not merged.get(variable):
            merged[variable] = secrets.token_urlsafe(16)
    return merged


def _simulated_machines(
    site: SiteSettings, clock: Clock, seed: int, host: str, wear: Mapping[str, MachineWear]
) -> dict[str, SimulatedMachine]:
    """A Modbus TCP server per simulated machine; pymodbus loads only when there is one."""
    if not any(m.simulated for m in site.machines):
        return {}
    from connectors.simulated.machine import SimulatedMachine

    return {
        m.id: SimulatedMachine(m, clock, seed=seed, host=host, wear=wear[m.id])
        for m in site.machines
        if m.simulated
    }


class SimulatedSite:
    """Every simulated machine and printer of a site, and the truth about their wear.

    Machines are Modbus TCP servers whose telemetry follows their components' wear; printers
    are OPC UA servers, secured as their endpoints say. Time runs
    ``simulation.time_compression`` times faster than ``clock`` from the moment the site is
    created, and ``simulation.seed`` fixes every random draw.
    """

    def __init__(
        self,
        site: SiteSettings,
        simulation: SimulationSettings,
        clock: Clock,
        *,
        host: str = "127.0.0.1",
        pki_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """``pki_dir`` keeps the secured printers' certificates; ``environ`` their users'
        passwords (default: the process environment)."""
        self._clock = clock
        self.timebase = TimeBase(clock.now(), simulation.time_compression)
        seed = simulation.seed
        self.wear: dict[str, MachineWear] = {
            m.id: MachineWear(m.id, m.components, self.timebase, seed=seed)
            for m in site.machines
            if m.simulated
        }
        self.machines = _simulated_machines(site, clock, seed, host, self.wear)
        self.printers: dict[str, SimulatedPrinter] = {
            p.id: SimulatedPrinter(
                p,
                clock,
                seed=seed,
                time_compression=simulation.time_compression,
                pki_dir=pki_dir,
                environ=environ,
            )
            for p in site.printers
            if p.simulated
        }
        self._site = site

    async def start(self) -> SiteSettings:
        """Start every simulator; returns the site with the ports and URLs they listen on."""
        try:
            ports = {m: await sim.start() for m, sim in self.machines.items()}
            urls = {p: await sim.start() for p, sim in self.printers.items()}
        except BaseException:
            await self.stop()
            raise
        machines = tuple(
            m.model_copy(update={"modbus": m.modbus.model_copy(update={"port": ports[m.id]})})
            if m.id in ports
            else m
            for m in self._site.machines
        )
        printers = tuple(
            p.model_copy(update={"opcua": p.opcua.model_copy(update={"url": urls[p.id]})})
            if p.id in urls
            else p
            for p in self._site.printers
        )
        return self._site.model_copy(update={"machines": machines, "printers": printers})

    async def stop(self) -> None:
        for machine in self.machines.values():
            await machine.stop()
        for printer in self.printers.values():
            await printer.stop()

    def failure_time(self, machine: str, component: str) -> datetime | None:
        """When the fitted instance fails (or failed) if its machine keeps running."""
        return self._wear(machine).failure_time(component, self._clock.now())

    def remaining_life_h(self, machine: str, component: str) -> float:
        """Operating hours (simulated) the fitted instance has left."""
        return self._wear(machine).remaining_life_h(component, self._clock.now())

    def health(self, machine: str, component: str) -> float:
        return self._wear(machine).health(component, self._clock.now())

    def replace(self, machine: str, component: str) -> None:
        """Fit a new instance; a machine stopped by this component's failure runs again."""
        self._wear(machine).replace(component, self._clock.now())
        log.info("replaced %s of %s", component, machine)

    def events(self) -> list[WearEvent]:
        """Every failure and replacement so far, in time order."""
        now = self._clock.now()
        for wear in self.wear.values():
            wear.advance(now)
        return sorted((e for w in self.wear.values() for e in w.events), key=lambda e: e.at)

    def failures(self) -> list[WearEvent]:
        return [e for e in self.events() if e.kind is WearEventKind.FAILURE]

    def _wear(self, machine: str) -> MachineWear:
        try:
            return self.wear[machine]
        except KeyError:
            raise ConnectorError(
                f"no simulated machine {machine!r}",
                advice=f"use one of {sorted(self.wear)}",
            ) from None
