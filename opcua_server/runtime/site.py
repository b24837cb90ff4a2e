"""Composition root: wires simulators, connectors, the ingest bus, the historian and the server."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import threading
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from config import Settings, SiteSettings
from connectors import (
    ModbusConnector,
    OpcUaConnector,
    OpcUaPrinterControl,
    SimulatedSite,
    SqliteHistorian,
    with_simulator_passwords,
)
from ledger import LedgerCounts, LedgerDesk, LedgerService, open_ledger
from maintenance import (
    AlertRow,
    AlertService,
    AlertStore,
    Catalogue,
    ModelStore,
    ScoreHistory,
    ScoringService,
    SqliteOrderBook,
    TrainingOptions,
    WebhookNotifier,
    WorkRequestDesk,
    scored_machines,
    site_training_options,
)
from models import (
    CertificateDesk,
    Clock,
    Connector,
    OrderDesk,
    PrinterControl,
    ReadingSink,
    SystemClock,
    make_private_dir,
)
from opcua_server.demo.excursions import faulty_printers
from opcua_server.history.raw import NO_SQLITE_HISTORIAN
from opcua_server.model.printers import PrinterView
from opcua_server.runtime.adapters import (
    AlarmManagerSink,
    SpoolRefusalCounted,
    aggregates_of,
    ua_machine_node,
)
from opcua_server.runtime.aftersales import Aftersales, alert_lookup
from opcua_server.runtime.cmms import start_cmms
from opcua_server.runtime.ingest import IngestBus
from opcua_server.runtime.maintenance_alarms import MaintenancePlans, WorkRequestAlarms
from opcua_server.runtime.metrics import (
    Metric,
    MetricsEndpoint,
    ReadingRate,
    SiteFigures,
    site_metrics,
)
from opcua_server.runtime.printer_snapshot import SNAPSHOT_EVERY_S, PrinterSnapshots
from opcua_server.runtime.printflow import PrintFlow
from opcua_server.runtime.recalls import RECALL_POLL_S, RecallAnnouncer
from opcua_server.runtime.retraining import SiteRetrainer
from opcua_server.runtime.scheduling import PeriodicJobs
from opcua_server.runtime.summary import SiteStatus, SiteSummary, alerts_without_failure
from opcua_server.server import ServerPorts, TrustfloorServer

if TYPE_CHECKING:
    from connectors import InfluxSink, SimulatedMachine
    from opcua_server.demo.actors import DemoTechnician
    from opcua_server.web import WebConsole

log = logging.getLogger(__name__)


class Site:
    """One running trustfloor process: ``start`` brings everything up, ``stop`` takes it down."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
        orders: OrderDesk | None = None,
        certificates: CertificateDesk | None = None,
        demo_designs: bool = False,
        excursion_every: int = 0,
        demo_loop: bool = False,
        retrain_options: TrainingOptions | None = None,
    ) -> None:
        """``demo_designs``, ``excursion_every`` and ``demo_loop`` play the demo's people
        (opcua_server.demo): the OEM's designs, a faulty job now and then, the fleet's history
        that trains the models and the technician who fits the parts. ``retrain_options``: the
        scheduled retrain's hyper-parameters (default: the site's, as `trustfloor maintenance
        retrain` trains)."""
        self.settings = settings
        self.clock = clock or SystemClock()
        self._environ = environ
        self._orders = orders
        self._certificates = certificates
        self._demo_designs = demo_designs
        self._excursion_every = excursion_every
        self._demo_loop = demo_loop
        self._retrain_options = retrain_options
        self.technician: DemoTechnician | None = None
        self.printflow: PrintFlow | None = None
        self.scoring: ScoringService | None = None
        self.score_history: ScoreHistory | None = None
        self.simulation: SimulatedSite | None = None
        self.printers: PrinterView | None = None
        self.printer_links: dict[str, OpcUaPrinterControl] = {}
        self._printer_environ: Mapping[str, str] = {}
        """Every printer's OPC UA driver (the simulated ones too), by printer id."""
        self.connectors: list[Connector] = []
        self.historian: SqliteHistorian | None = None
        self.server: TrustfloorServer | None = None
        self.bus: IngestBus | None = None
        self.metrics: MetricsEndpoint | None = None
        self.influx: InfluxSink | None = None
        self.order_book: SqliteOrderBook | None = None
        self.alerts: AlertService | None = None
        self.work_requests: WorkRequestDesk | None = None
        self.retrainer: SiteRetrainer | None = None
        self.notifier: WebhookNotifier | None = None
        self.ledger: LedgerService | None = None
        self.web: WebConsole | None = None
        self._stack = contextlib.AsyncExitStack()
        self.jobs = PeriodicJobs()
        self._reading_rate = ReadingRate(self.clock.now())
        self._ingest: asyncio.Task[None] | None = None
        self._pollers: list[asyncio.Task[None]] = []
        self._background: list[asyncio.Task[None]] = []
        self._stopping_event = threading.Event()
        """Set by ``stop``: work in threads (the demo's training) gives up at its next check."""

    async def start(self) -> None:
        """Start simulated devices, the server, the historian and one connector per device."""
        data_dir = Path(self.settings.data_dir)
        if make_private_dir(data_dir):
            log.warning("data directory %s was open to other users; now 0700", data_dir)
        self._printer_environ = with_simulator_passwords(self.settings.site, self._environ)
        self.simulation = SimulatedSite(
            self.settings.site,
            self.settings.simulation,
            self.clock,
            pki_dir=data_dir / "pki" / "printers",
            environ=self._printer_environ,
        )
        site = await self.simulation.start()
        self.settings = self.settings.model_copy(update={"site": site})
        hist = self.settings.historian
        if hist.sqlite_enabled:
            self.historian = SqliteHistorian.from_settings(hist, data_dir)
        else:
            log.warning(NO_SQLITE_HISTORIAN)
        sinks: list[ReadingSink] = [] if self.historian is None else [self.historian]
        if hist.influx is not None:
            from connectors import InfluxSink  # influxdb_client loads only for this historian

            environ = os.environ if self._environ is None else self._environ
            self.influx = InfluxSink.from_settings(hist.influx, data_dir, environ, clock=self.clock)
            await self.influx.start()
            sinks.append(SpoolRefusalCounted(self.influx))
        await self._open_operations(data_dir)
        self.work_requests = await start_cmms(
            self.settings, data_dir, self._environ, self.clock, self._background, self._stack
        )
        ports = ServerPorts(
            historian=self.historian,
            aggregates=aggregates_of(self.historian),
            orders=self._orders or self.order_book,
            certificates=self._certificates or self._ledger_desk(),
            announces_orders=self._orders is None,
            tracer=self._tracer(data_dir),
            work_requests=self.work_requests,
        )
        self.server = TrustfloorServer(self.settings, self._environ, ports)
        await self.server.start()
        await self._start_metrics()
        await self._start_alerts(data_dir)
        assert self.server.production is not None
        self.printers = PrinterView(
            [p.id for p in site.printers], self.server.production.apply_printer
        )
        self.printer_links = self._printer_links(site, data_dir / "pki" / "client")
        self.printflow = await self._start_printflow(data_dir)
        if self.printflow is not None:
            sinks.append(self.printflow)
        self.scoring = self._start_scoring(site, data_dir)
        if self.scoring is not None:
            sinks.append(self.scoring)
        if self._demo_loop:
            self._start_demo_loop(site, data_dir)
        self.bus = IngestBus(
            [*sinks, self.server, self.printers],
            capacity=self.settings.queue_size,
            batch_size=hist.batch_size,
            flush_interval_s=hist.flush_interval_s,
        )
        self._ingest = asyncio.create_task(self.bus.run(), name="ingest")
        self._schedule_housekeeping()
        self.connectors = self._connectors(site, data_dir / "pki" / "client")
        for connector in self.connectors:
            self._pollers.append(asyncio.create_task(connector.run(self.bus), name=connector.name))
        await self._start_web()
        # What start-up built lives as long as the process: frozen, later collections skip it
        # (bench/scoring: a full collection inside a tick took up to 0.9 s over an unfrozen
        # start-up heap, 2 ms over a frozen one); server.stop thaws it.
        gc.collect()
        gc.freeze()

    async def _start_web(self) -> None:
        """The web console on the same loop and services, when the config enables it."""
        if not self.settings.web.enabled or self.server is None:
            return
        # imported here: the ASGI stack loads only in a process that serves the console
        from opcua_server.runtime.web_services import console_services
        from opcua_server.web import WebConsole

        services = console_services(
            self.settings,
            self.server,
            clock=self.clock,
            orders=self.order_book,
            certificates=self._certificates or self._ledger_desk(),
            ledger=self.ledger,
            alerts=self.alerts,
            health=self.scoring.latest if self.scoring is not None else {},
            historian=self.historian,
            printers=self.printers,
            tracer=self.server.ports.tracer,
        )
        self.web = WebConsole(self.settings.web, services, self.clock)
        await self.web.start()

    def _connectors(self, site: SiteSettings, client_pki: Path) -> list[Connector]:
        """One connector per device: Modbus machines, OPC UA machines, printers (whose drivers
        publish their job state and process values)."""
        connectors: list[Connector] = [ModbusConnector(m, self.clock) for m in site.machines]
        for machine in site.opcua_machines:
            connectors.append(
                OpcUaConnector(machine, self.clock, pki_dir=client_pki, environ=self._environ)
            )
        connectors.extend(self.printer_links.values())
        return connectors

    def _printer_links(
        self, site: SiteSettings, client_pki: Path
    ) -> dict[str, OpcUaPrinterControl]:
        """An OPC UA driver per printer, by its mapping (default: the companion profile)."""
        links = self.settings.printer_links
        return {
            p.id: OpcUaPrinterControl(
                p,
                links.mapping_of(p.id),
                self.clock,
                pki_dir=client_pki,
                environ=self._printer_environ,
            )
            for p in site.printers
        }

    async def _open_operations(self, data_dir: Path) -> None:
        """Unless a certificate desk was given, the ledger on its chain; the order book, which
        asks the ledger whether a design is kept here and its licence has the pieces left."""
        m = self.settings.maintenance
        if self._certificates is None:
            self.ledger = await self._stack.enter_async_context(
                open_ledger(self.settings, self._environ, self.clock)
            )
        if self._orders is None:
            desk = self._ledger_desk()
            self.order_book = SqliteOrderBook(
                data_dir / m.orders_file,
                clock=self.clock,
                design_exists=desk.has_design if desk is not None else None,
                licence_check=desk.licence_refusal if desk is not None else None,
            )

    def _tracer(self, data_dir: Path) -> Aftersales | None:
        """What the ``Trace`` method asks: the ledger, the order book and the alerts."""
        if self.ledger is None or self.order_book is None:
            return None
        alerts = AlertStore(data_dir / self.settings.maintenance.alerts_file)
        self._stack.callback(alerts.close)
        return Aftersales(self.ledger.store, self.order_book, alert_lookup(alerts))

    def _ledger_desk(self) -> LedgerDesk | None:
        return LedgerDesk(self.ledger) if self.ledger is not None else None

    async def _start_alerts(self, data_dir: Path) -> None:
        """Alerts raise OPC UA alarms, order spare parts once, and notify the planners."""
        assert self.server is not None
        assert self.server.alarms is not None
        assert self.server.namespaces is not None
        if self.order_book is None:
            return
        self.order_book.add_listener(self.server.show_order)
        m = self.settings.maintenance
        if m.webhook is not None:
            environ = os.environ if self._environ is None else self._environ
            self.notifier = WebhookNotifier.from_settings(
                m.webhook, data_dir, environ=environ, clock=self.clock
            )
            self._background.append(asyncio.create_task(self.notifier.run(), name="webhook"))
        ns = self.server.namespaces.site
        site = self.settings.site
        nodes = {m.id: ua_machine_node(ns, m.id) for m in [*site.machines, *site.opcua_machines]}
        self.server.alarms.on_acknowledged = self._alarm_acknowledged
        plans = MaintenancePlans(Catalogue(m.spare_parts))
        if self.work_requests is not None:
            loop = asyncio.get_running_loop()
            progress = WorkRequestAlarms(self.server.alarms, loop, plans)
            self.work_requests.watchers.append(progress)
            self._stack.push_async_callback(progress.settled)
        self.alerts = await AlertService.start(
            AlertStore(data_dir / m.alerts_file),
            self.order_book,
            m,
            sink=AlarmManagerSink(self.server.alarms, nodes, plans),
            notifier=self.notifier,
            clock=self.clock,
            work_requests=self.work_requests,
        )

    async def _alarm_acknowledged(self, machine: str, component: str, user: str) -> None:
        if self.alerts is not None:
            await self.alerts.acknowledge_open(machine, component, user or "opcua")

    def _start_demo_loop(self, site: SiteSettings, data_dir: Path) -> None:
        """The demo's fleet history trains the models meanwhile; its technician fits the parts."""
        from opcua_server.demo.actors import DemoTechnician, train_demo_models  # the demo's only

        if self.scoring is not None:
            store = ModelStore(data_dir / self.settings.maintenance.models_dir)
            training = train_demo_models(
                site, self.settings, store, self.scoring, self._stopping_event
            )
            self._background.append(asyncio.create_task(training, name="training"))
        if self.simulation and self.order_book and self.alerts:
            self.technician = DemoTechnician(
                self.simulation,
                self.order_book,
                self.alerts,
                self.scoring,
                {part.component: part for part in self.settings.maintenance.spare_parts},
                self.clock,
            )

    def _start_scoring(self, site: SiteSettings, data_dir: Path) -> ScoringService | None:
        """Health scores of every machine on a schedule, shown in OPC UA and fed to the alerts."""
        machines = scored_machines(site)
        if not machines or self.server is None or self.server.address_space is None:
            return None
        m = self.settings.maintenance
        self.score_history = ScoreHistory(data_dir / m.scores_file)
        simulated = any(machine.simulated for machine in site.machines)
        return ScoringService(
            machines,
            ModelStore(data_dir / m.models_dir),
            m,
            self.clock,
            publish=self.server.address_space.apply_health,
            history=self.score_history,
            alerts=self.alerts,
            time_scale=self.settings.simulation.time_compression if simulated else 1.0,
        )

    async def _start_printflow(self, data_dir: Path) -> PrintFlow | None:
        """The closed loop from orders to certified parts, when the site has it all."""
        printers = self._printer_controls()
        if self.order_book is None or self.ledger is None or not printers or self.server is None:
            return None
        if self._demo_designs:
            from opcua_server.demo.actors import install_demo_designs  # the demo's only

            await install_demo_designs(self.ledger, self.settings, data_dir, self._environ)
        return PrintFlow(self.order_book, self.ledger, printers, self.server, clock=self.clock)

    def _printer_controls(self) -> Mapping[str, PrinterControl]:
        """Every printer behind its OPC UA driver; the demo's faulty jobs, when
        ``excursion_every`` asks for them, are injected over OPC UA too."""
        if self._excursion_every:
            return faulty_printers(self.printer_links, self._excursion_every)
        return dict(self.printer_links)

    def _schedule_housekeeping(self) -> None:
        """Periodic jobs: retention and rollups, anchoring, scoring, printing."""
        jobs = self.jobs
        if self.ledger is not None:
            jobs.every(2.0, self.ledger.tick, "ledger")
        if self.scoring is not None:
            jobs.every(self.settings.maintenance.scoring_interval_s, self.scoring.tick, "scoring")
        self.retrainer = self._retrainer()
        if self.retrainer is not None:
            hours = self.settings.maintenance.cmms.retrain_interval_h or 0.0
            jobs.every(hours * 3600.0, self.retrainer.tick, "retrain")
        if self.printflow is not None:
            jobs.every(1.0, self.printflow.tick, "printflow")
        if self.technician is not None:
            jobs.every(1.0, self.technician.tick, "technician")
        if self.printer_links:
            snapshots = PrinterSnapshots(
                self.printer_links, Path(self.settings.data_dir), self.clock
            )
            jobs.every(SNAPSHOT_EVERY_S, snapshots.tick, "printers")
        jobs.every(
            self.settings.historian.maintenance_interval_s, self._maintain_historian, "historian"
        )
        if self.server is not None:
            recalls = RecallAnnouncer.open(
                Path(self.settings.data_dir), self.server.ua_server, self.clock
            )
            self._stack.callback(recalls.close)
            jobs.every(RECALL_POLL_S, recalls.tick, "recalls")
        jobs.start()

    def _retrainer(self) -> SiteRetrainer | None:
        """The scheduled retrain, when ``maintenance.cmms.retrain_interval_h`` asks for one."""
        m = self.settings.maintenance
        if m.cmms.retrain_interval_h is None:
            return None
        if self.scoring is None or self.work_requests is None or self.historian is None:
            log.warning("retrain_interval_h is set but this site scores no machine: no retrain")
            return None
        return SiteRetrainer(
            self.historian,
            tuple(scored_machines(self.settings.site)),
            self.work_requests.store,
            ModelStore(Path(self.settings.data_dir) / m.models_dir),
            self.scoring,
            self._retrain_options or site_training_options(self.settings),
            self.clock,
            stop=self._stopping_event,
        )

    async def _maintain_historian(self) -> None:
        if self.historian is not None:
            report = await self.historian.maintain(self.clock.now())
            log.debug("historian maintenance: %s", report)

    async def wait_connected(self, timeout_s: float = 30.0) -> None:
        """Return once every device connector has connected (TimeoutError otherwise)."""
        async with asyncio.timeout(timeout_s):
            while not self._all_connected():  # noqa: ASYNC110 - connectors expose a flag only
                await asyncio.sleep(0.05)

    def _all_connected(self) -> bool:
        return all(c.connected for c in self.connectors)

    @property
    def simulators(self) -> dict[str, SimulatedMachine]:
        """The simulated Modbus machines by id (empty before start)."""
        return self.simulation.machines if self.simulation is not None else {}

    async def _start_metrics(self) -> None:
        cfg = self.settings.server
        if cfg.metrics_port is not None:
            self.metrics = MetricsEndpoint(cfg.metrics_host, cfg.metrics_port, self.collect_metrics)
            await self.metrics.start()
        self._background.append(
            asyncio.create_task(self._refresh_diagnostics(), name="diagnostics")
        )

    async def _refresh_diagnostics(self, every_s: float = 2.0) -> None:
        assert self.server is not None
        while True:
            await self.server.diagnostics.refresh()
            await asyncio.sleep(every_s)

    async def collect_metrics(self) -> list[Metric]:
        """Figures for Prometheus: ingest, sessions, devices, alerts and anchors."""
        snap = self.status()
        return site_metrics(
            SiteFigures(
                readings=snap.readings,
                readings_per_s=self._reading_rate.since_last(snap.readings, self.clock.now()),
                stored=snap.stored,
                queue_depth=snap.pending,
                devices=snap.devices,
                devices_up=snap.devices_up,
                opcua_sessions=self.server.diagnostics.current_sessions() if self.server else 0,
                rejected_sessions=self.server.counters.rejected if self.server else 0,
                alerts_active=await self.active_alerts(),
                anchors_pending=await self.pending_anchors(),
                influx=self.influx.stats if self.influx is not None else None,
                retrains=self.retrainer.figures.runs if self.retrainer else 0,
                models_replaced=self.retrainer.figures.promoted if self.retrainer else 0,
            )
        )

    async def summary(self) -> SiteSummary:
        """Where the loop stands now."""
        now = self.clock.now()
        sim = self.simulation
        scores = self.scoring.latest if self.scoring is not None else {}
        machines = [m.id for m in self.settings.site.machines]
        health = Counter(scores[m].state.value if m in scores else "unscored" for m in machines)
        orders = await self.order_book.list_orders() if self.order_book is not None else []
        counts = await self._ledger_counts()
        return SiteSummary(
            simulated_h=sim.timebase.simulated(now) / 3600.0 if sim is not None else 0.0,
            machines=len(machines),
            stopped=tuple(
                m for m, w in (sim.wear.items() if sim else []) if w.failed_component(now)
            ),
            health=dict(health),
            alerts=await self._alert_rows(),
            orders=dict(Counter(o.state.value for o in orders)),
            parts_passed=self.printflow.certified if self.printflow is not None else 0,
            parts_failed=self.printflow.rejected if self.printflow is not None else 0,
            batches_anchored=counts.batches_anchored,
            batches_pending=counts.batches_pending,
            certificates_unanchored=counts.certificates_unanchored,
            licences=await self._licences(),
            repairs=self.technician.repairs if self.technician is not None else None,
            alerts_without_failure=await alerts_without_failure(self.alerts, sim, now),
            last_retrain=self._last_retrain(),
        )

    def _last_retrain(self) -> str | None:
        last = self.retrainer.figures.last if self.retrainer is not None else None
        return last.line() if last is not None else None

    async def _alert_rows(self) -> list[AlertRow]:
        return await self.alerts.active_rows() if self.alerts is not None else []

    async def _licences(self) -> dict[str, tuple[int, int]]:
        """Pieces counted on chain and quota of each spare part's design."""
        if self.ledger is None:
            return {}
        licences = {}
        for part in self.settings.maintenance.spare_parts:
            standing = await self.ledger.design_standing(part.design_id, part.design_revision)
            if standing is not None:
                licences[part.design_id] = (standing.counted, standing.quota)
        return licences

    async def active_alerts(self) -> int:
        """Open maintenance alerts."""
        return await self.alerts.open_count() if self.alerts is not None else 0

    async def pending_anchors(self) -> int:
        """Sealed batches whose anchor transaction is not confirmed yet."""
        return (await self._ledger_counts()).batches_pending

    async def _ledger_counts(self) -> LedgerCounts:
        if self.ledger is None:
            return LedgerCounts(batches_anchored=0, batches_pending=0, certificates_unanchored=0)
        return await self.ledger.counts()

    async def _close_operations(self) -> None:
        if self.score_history is not None:
            self.score_history.close()
        if self.notifier is not None:
            await self.notifier.close()
        if self.alerts is not None:
            self.alerts.close()
        if self.order_book is not None:
            await self.order_book.close()
        await self._stack.aclose()

    def status(self) -> SiteStatus:
        stats = self.bus.stats if self.bus else None
        return SiteStatus(
            devices=len(self.connectors),
            devices_up=sum(1 for c in self.connectors if c.connected),
            readings=stats.received if stats else 0,
            pending=stats.pending if stats else 0,
            stored=stats.delivered if stats else 0,
        )

    async def stop(self) -> None:
        """Finish running jobs, stop polling, store what was accepted, then stop everything."""
        self._stopping_event.set()
        if self.web is not None:
            await self.web.stop()
        await self.jobs.stop()
        await _cancel(self._pollers)
        await _cancel(self._background)
        if self.bus is not None:
            await self.bus.close()
        if self._ingest is not None:
            await self._ingest
        if self.influx is not None:
            await self.influx.close()
        await self._close_operations()
        if self.metrics is not None:
            await self.metrics.stop()
        if self.server is not None:
            await self.server.stop()
        if self.historian is not None:
            await self.historian.close()
        if self.simulation is not None:
            await self.simulation.stop()
        log.info("stopped cleanly")


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()
