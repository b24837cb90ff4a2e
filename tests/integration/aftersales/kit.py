"""A site with parts from two lots on two printers, an alert's order and an open MES order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from config import Settings
from ledger.commands import open_ledger
from maintenance import AlertStore, SqliteOrderBook
from maintenance.alert_policy import Action, Decision
from models import HealthState, PrintOrder
from models.timebase import ManualClock
from tests.integration.ledger.ledger_chainkit import NO_ENV, licensed_site
from tests.unit.ledger.ledgerkit import T0, good_samples

LOT_A, LOT_B = "Ti64-L2291", "Ti64-L2307"
BUILDS = (
    ("P-A1", "am-1", LOT_A),
    ("P-A2", "am-1", LOT_A),
    ("P-B1", "am-2", LOT_B),
    ("P-B2", "am-2", LOT_B),
)
"""(serial, printer, lot) of each part, built an hour apart from T0 in this order."""


@dataclass(frozen=True)
class Floor:
    """The site's settings and the orders its parts were printed for."""

    settings: Settings
    alert_order: PrintOrder
    """Raised by the mill-1 spindle alert; the lot A parts were printed for it."""
    open_order: PrintOrder
    """An MES order for lot A not printed yet."""

    @property
    def data_dir(self) -> Path:
        return Path(self.settings.data_dir)

    def config(self, name: str = "site.toml", extra: str = "") -> Path:
        """A config file for this site (its data directory and local chain) beside its data
        directory, with ``extra`` TOML appended; the CLI reaches the site through it."""
        path = self.data_dir.parent / name
        path.write_text(
            f'data_dir = "{self.data_dir}"\n\n[chain]\nchain_id = {self.settings.chain.chain_id}\n'
            + extra
        )
        return path


async def build_floor(folder: Path) -> Floor:
    """Register the design, raise an alert and its order, print and anchor the four parts."""
    settings = await licensed_site(folder, quota=20)
    data_dir = Path(settings.data_dir)
    alerts = AlertStore(data_dir / settings.maintenance.alerts_file)
    orders = SqliteOrderBook(data_dir / settings.maintenance.orders_file)
    try:
        alert = alerts.insert(
            Decision(
                action=Action.RAISE,
                machine="mill-1",
                component="spindle-bearing",
                ts=T0,
                level=HealthState.ALARM,
                severity=800,
                summary="spindle bearing wear",
            )
        )
        alert_order = await orders.create_order_for_alert(
            alert.id, "pump-impeller", 2, "RUL below lead time", design_revision="C"
        )
        open_order = await orders.create_order(
            "pump-impeller", 1, "stock", "mes", design_revision="C", material_lot=LOT_A
        )
    finally:
        alerts.close()
        await orders.close()
    await print_parts(settings, alert_order.id)
    return Floor(settings, alert_order, open_order)


async def print_parts(settings: Settings, alert_order: str) -> None:
    """The four parts of BUILDS, certified and anchored (lot B for an order the book lacks)."""
    clock = ManualClock(T0)
    async with open_ledger(settings, NO_ENV, clock) as ledger:
        for serial, printer, lot in BUILDS:
            job = await ledger.start_job(
                serial=serial,
                design_id="pump-impeller",
                revision="C",
                printer=printer,
                order_id=alert_order if lot == LOT_A else "PO-ERP-77",
                material_lot=lot,
                layers_planned=412,
            )
            await ledger.record_samples(job.job_id, good_samples(clock.now(), 20))
            clock.advance(20)
            await ledger.finish_job(job.job_id, 412)
            await ledger.issue_certificate(serial)
            clock.advance(timedelta(hours=1).total_seconds() - 20)
        clock.advance(61)
        report = await ledger.tick()
        assert report.failures == []
