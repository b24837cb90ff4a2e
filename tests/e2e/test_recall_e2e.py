"""A recall through the print flow on two simulated printers, from the held order to closure."""

# One demo-like site (no machines, both simulated printers, the demo's designs) prints two
# orders of two pieces through the print flow; am-1 builds from lot A, am-2 from lot B. While
# both printers run an operator's local build, a new order for lot A waits; the recall of lot A
# then finds exactly its two parts, suspends them in one anchored batch, holds the waiting order
# (which stays unprinted once the printers are free and print a newer order), announces itself
# as an OPC UA event and on the webhook, and closes when both parts are recorded.

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client

from config import Settings, WebhookSettings, load_demo_settings
from ledger import TraceCriteria, recall
from models import OrderState, PrinterJobState, PrintOrder
from opcua_server.runtime.recalls import open_recall_office
from opcua_server.runtime.site import Site
from tests.integration.maintenance.webhook_kit import SECRET, Receiver, running_receiver
from tests.integration.opcua.alarm_kit import EventCollector
from tests.support import (
    call_method,
    secure_client,
    site_settings,
    text,
    trusted_client_certificate,
    wait_for,
)

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(240)]

DESIGN = "spindle-bearing-housing"
LOT_A, LOT_B = "P316L-LPBF250-0007-A", "P316L-LPBF250-0008-A"
"""The powder loaded in am-1 and in am-2 (the simulated printer's lot names its serial number)."""
ENVIRON = {"TRUSTFLOOR_DEMO_PASSWORD": "recall-e2e", "TRUSTFLOOR_WEBHOOK_SECRET": SECRET.decode()}
PRINTED_WITHIN_S = 120.0
"""Bound on printing a few pieces on the simulated printers (never a measurement)."""
LOCAL_LAYERS = 100_000
"""A local build far longer than the test."""
FINAL = (OrderState.CERTIFIED, OrderState.REJECTED, OrderState.CANCELLED)


@dataclass
class RecallSite:
    site: Site
    receiver: Receiver
    client_cert: tuple[Path, Path]

    @property
    def settings(self) -> Settings:
        return self.site.settings

    async def order(self, quantity: int, lot: str = "") -> PrintOrder:
        assert self.site.order_book is not None
        return await self.site.order_book.create_order(
            DESIGN, quantity, "stock", "mes", material_lot=lot
        )

    async def state_of(self, order: PrintOrder) -> OrderState:
        assert self.site.order_book is not None
        return (await self.site.order_book.get_order(order.id)).state

    async def states_where(
        self, orders: tuple[PrintOrder, ...], wanted: tuple[OrderState, ...]
    ) -> list[OrderState]:
        """The orders' states once every one is in ``wanted``."""

        async def states() -> list[OrderState]:
            return [await self.state_of(o) for o in orders]

        return await wait_for(
            states, lambda got: all(s in wanted for s in got), timeout_s=PRINTED_WITHIN_S
        )

    async def occupy_printers(self) -> None:
        """Start a long local job on each printer (an operator's own build): the print flow
        finds them printing and cannot dispatch."""
        assert self.site.simulation is not None
        for printer, simulator in self.site.simulation.printers.items():
            simulator.start_job(f"LOCAL-{printer}", DESIGN, layers=LOCAL_LAYERS)
        for control in self.site.printer_links.values():
            await wait_for(control.status, lambda s: s.job_state is PrinterJobState.PRINTING)

    def free_printers(self) -> None:
        assert self.site.simulation is not None
        for printer, simulator in self.site.simulation.printers.items():
            simulator.abort(f"LOCAL-{printer}", "the operator ended the local build")

    async def mes(self) -> Client:
        assert self.site.server is not None
        return await secure_client(self.site.server.endpoint, self.client_cert, "mes")


def two_printers(settings: Settings) -> Settings:
    """``settings`` with both of the demo site's simulated printers, the planners' webhook
    and batches sealed within a second."""
    demo = load_demo_settings(Path(settings.data_dir), check_secrets=False)
    return settings.model_copy(
        update={
            "site": settings.site.model_copy(update={"printers": demo.site.printers[:2]}),
            "ledger": settings.ledger.model_copy(update={"batch_max_age_s": 1}),
        }
    )


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as receiving:
        yield receiving


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def floor(
    tmp_path_factory: pytest.TempPathFactory, receiver: Receiver
) -> AsyncIterator[RecallSite]:
    folder = tmp_path_factory.mktemp("recall-e2e")
    settings = two_printers(site_settings(folder / "var", machines=0))
    webhook = WebhookSettings(url=receiver.url, retry_initial_s=0.1)
    maintenance = settings.maintenance.model_copy(update={"webhook": webhook})
    site = Site(
        settings.model_copy(update={"maintenance": maintenance}),
        environ=ENVIRON,
        demo_designs=True,
    )
    await site.start()
    try:
        await site.wait_connected()
        assert site.server is not None
        trusted = site.server.pki.trusted
        trusted.mkdir(parents=True, exist_ok=True)
        cert = trusted_client_certificate(trusted, folder / "client", "recall-e2e")
        yield RecallSite(site, receiver, cert)
    finally:
        await site.stop()


async def recall_event(events: EventCollector, campaign: str, what: str) -> str:
    """The message of the OPC UA event that announces ``campaign`` ``what`` (opened, closed)."""
    while True:
        event = await events.next(timeout_s=30)
        message = str(event["Message"].Text or "")
        if event["SourceName"] == "Recalls" and message.startswith(f"recall {campaign} {what}"):
            return message


async def test_a_recall_by_lot_through_the_print_flow_holds_suspends_tells_and_closes(
    floor: RecallSite,
) -> None:
    printed = (await floor.order(2), await floor.order(2))
    assert await floor.states_where(printed, FINAL) == [OrderState.CERTIFIED] * 2
    assert floor.site.ledger is not None
    built = {p.job.serial: p.job for p in await floor.site.ledger.parts()}
    assert {(job.printer, job.material_lot) for job in built.values()} == {
        ("am-1", LOT_A),
        ("am-2", LOT_B),
    }
    from_lot_a = sorted(s for s, job in built.items() if job.material_lot == LOT_A)

    # Both printers busy with local builds: a new order for lot A has to wait.
    await floor.occupy_printers()
    waiting = await floor.order(1, LOT_A)

    async with await floor.mes() as mes:
        events = EventCollector()
        subscription = await mes.create_subscription(50, events)
        await subscription.subscribe_events(mes.nodes.server)
        async with open_recall_office(floor.settings, ENVIRON) as office:
            opened = await office.open_campaign(
                TraceCriteria(lot=LOT_A),
                reason="powder lot contaminated",
                disposition=recall.Disposition.RETURN,
                revoke=False,
                opened_by="qe-anna",
            )
        document = opened.document()
        campaign = opened.opened.campaign.id
        assert [p.serial for p in opened.opened.parts] == from_lot_a
        assert document["records"] == 2
        assert opened.anchor is not None
        assert opened.anchor.root == document["batch_root"]
        assert len(from_lot_a) == 2
        assert opened.held == (waiting.id,)
        assert await floor.state_of(waiting) is OrderState.HELD
        assert opened.notified == "delivered"
        [notice] = floor.receiver.delivered
        assert notice.signed
        assert (notice.json()["event"], notice.json()["id"]) == ("recall.opened", campaign)
        message = await recall_event(events, campaign, "opened")
        assert message.startswith(f"recall {campaign} opened: 2 part(s) suspended")

        bundle = await call_method(mes, "Parts", "GetProofBundle", text(from_lot_a[0]))
        valid, reason = await call_method(mes, "Parts", "VerifyCertificate", text(bundle))
        assert valid is False
        assert f"suspended by recall campaign {campaign}" in reason

        # The printers free up and take a newer order: the held one is left alone.
        floor.free_printers()
        later = await floor.order(1)
        assert await floor.states_where((later,), FINAL) == [OrderState.CERTIFIED]
        assert await floor.state_of(waiting) is OrderState.HELD
        assert not [p for p in await floor.site.ledger.parts() if p.job.order_id == waiting.id]

        async with open_recall_office(floor.settings, ENVIRON) as office:
            returned = await office.close_part(
                campaign, from_lot_a[0], recall.Closure.RETURNED, by="tech-carl"
            )
            last = await office.close_part(
                campaign, from_lot_a[1], recall.Closure.SCRAPPED, by="tech-carl"
            )
            assert not returned.closed.campaign_closed
            assert last.closed.campaign_closed
            assert last.released == ()  # scrapped parts: the lot stays in doubt
            assert await office.cancel_orders(campaign, by="qe-anna") == (waiting.id,)
            shown = await office.show(campaign)
        assert shown["state"] == "closed"
        assert await floor.state_of(waiting) is OrderState.CANCELLED
        await floor.receiver.wait_for(2)
        assert [r.json()["event"] for r in floor.receiver.delivered] == [
            "recall.opened",
            "recall.closed",
        ]
        assert await recall_event(events, campaign, "closed")
