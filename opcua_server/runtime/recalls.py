"""Recall campaigns across the site: ledger, held orders, anchoring, webhook, part closures."""

# A campaign holds the open orders (created or dispatched) that would make more of the parts it
# names, with "recall <id>" as their state reason; the print flow leaves held orders alone. They
# are released to the state they had when the campaign closes with every part inspected-ok (the
# suspicion was lifted), or when the quality engineer releases or cancels them.

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from asyncua import Server

from config import Settings
from ledger import LedgerService, TraceCriteria, open_ledger, recall
from maintenance import Notification, SqliteOrderBook, WebhookNotifier
from models import HOLDABLE_STATES, AnchorReceipt, Clock, OrderState, PrintOrder, SystemClock
from opcua_server.model.recall_events import RecallEvents, RecallNotice
from opcua_server.runtime.aftersales import Aftersales, criteria_from_json, maintenance_books

log = logging.getLogger(__name__)


def hold_reason(campaign_id: str) -> str:
    """The state reason of the orders campaign ``campaign_id`` holds."""
    return f"recall {campaign_id}"


@dataclass(frozen=True, slots=True)
class RecallOpened:
    """A campaign opened across the site: the ledger's side, the orders held, the anchor of
    its batch (None until anchored) and whether the webhook took the notice."""

    opened: recall.Opened
    held: tuple[str, ...]
    anchor: AnchorReceipt | None
    notified: str
    """'delivered', 'queued' (the receiver did not answer yet), or 'no webhook'."""

    def document(self) -> dict[str, object]:
        campaign = self.opened.campaign
        return {
            **recall.campaign_document(campaign, self.opened.parts),
            "criteria": json.loads(campaign.criteria),
            "records": len(self.opened.records),
            "batch_root": None if self.opened.batch is None else self.opened.batch.root.hex(),
            "anchor": None if self.anchor is None else self.anchor.model_dump(mode="json"),
            "held_orders": list(self.held),
            "notified": self.notified,
        }


@dataclass(frozen=True, slots=True)
class PartRecorded:
    """A part's case closed, with the anchor of the record it issued and its replacement."""

    closed: recall.PartClosed
    replacement: PrintOrder | None
    released: tuple[str, ...] = ()
    """The held orders released as the campaign closed with every part inspected-ok."""


class RecallOffice:
    """What a quality engineer does with a recall, over the ledger, the orders and the webhook."""

    def __init__(
        self,
        ledger: LedgerService,
        campaigns: recall.CampaignStore,
        aftersales: Aftersales,
        orders: SqliteOrderBook,
        notifier: WebhookNotifier | None,
        clock: Clock,
    ) -> None:
        self.orders = orders
        self.ledger = ledger
        self.campaigns = campaigns
        self.desk = recall.RecallDesk(ledger.store, campaigns, ledger.key)
        self.aftersales = aftersales
        self.notifier = notifier
        self.clock = clock

    async def open_campaign(
        self,
        criteria: TraceCriteria,
        *,
        reason: str,
        disposition: recall.Disposition,
        revoke: bool,
        opened_by: str,
    ) -> RecallOpened:
        """Freeze, suspend (or revoke) in one batch, hold the open orders, anchor, notify."""
        action = recall.CampaignAction.REVOKE if revoke else recall.CampaignAction.SUSPEND
        opened = await asyncio.to_thread(
            self.desk.open,
            criteria,
            reason=reason,
            disposition=disposition,
            action=action,
            opened_by=opened_by,
            at=self.clock.now(),
        )
        held = await self._hold_orders(opened.campaign.id, criteria, opened_by)
        anchor = await self._anchor(opened.batch.id if opened.batch is not None else None)
        result = RecallOpened(opened, held, anchor, "no webhook")
        notified = await self._notify(opened.campaign.id, "recall.opened", result.document())
        return RecallOpened(opened, held, anchor, notified)

    async def _hold_orders(
        self, campaign_id: str, criteria: TraceCriteria, by: str
    ) -> tuple[str, ...]:
        """Hold the open orders that would make more parts the recall names (a printing order
        ends as its printer finishes)."""
        held = []
        for order in await self.aftersales.open_orders(criteria):
            if order.state in HOLDABLE_STATES:
                await self.orders.hold_order(order.id, by, hold_reason(campaign_id))
            if order.state in (*HOLDABLE_STATES, OrderState.HELD):  # held by another recall too
                held.append(order.id)
        await asyncio.to_thread(self.campaigns.hold_orders, campaign_id, held, self.clock.now())
        return tuple(held)

    async def _anchor(self, batch_id: int | None) -> AnchorReceipt | None:
        """Anchor every sealed batch now; the receipt of batch ``batch_id`` once on chain."""
        if batch_id is None:
            return None
        report = await self.ledger.tick()
        for failure in report.failures:
            log.warning("recall batch not anchored yet: %s", failure)
        batches = await asyncio.to_thread(self.ledger.store.batches)
        return next((b.receipt for b in batches if b.id == batch_id), None)

    async def _notify(self, campaign_id: str, event: str, payload: Mapping[str, object]) -> str:
        if self.notifier is None:
            return "no webhook"
        key = f"{campaign_id}:{event}"
        await self.notifier.enqueue(Notification(key, event, payload))
        await self.notifier.deliver_due()
        queued = await self.notifier.get(key)
        return "queued" if queued is not None and queued.state == "pending" else "delivered"

    async def close_part(
        self,
        campaign_id: str,
        serial: str,
        closure: recall.Closure,
        *,
        by: str,
        note: str = "",
        replacement_revision: str = "",
    ) -> PartRecorded:
        """Close one part's case; replaced, a replacement order is raised for its design (at
        ``replacement_revision`` when given). Its record is anchored now; the last part closes
        the campaign, and the webhook hears of it."""
        replacement = None
        if closure is recall.Closure.REPLACED:
            replacement = await self._replacement(campaign_id, serial, by, replacement_revision)
        closed = await asyncio.to_thread(
            self.desk.close_part,
            campaign_id,
            serial,
            closure,
            by=by,
            at=self.clock.now(),
            note=note,
            replacement_order="" if replacement is None else replacement.id,
        )
        if closed.record is not None:
            await self.ledger.tick()
        released: tuple[str, ...] = ()
        if closed.campaign_closed:
            if await self._every_part_inspected_ok(campaign_id):
                released = await self.release_orders(campaign_id, by=by)
            await self._notify(campaign_id, "recall.closed", await self.show(campaign_id))
        return PartRecorded(closed, replacement, released)

    async def _every_part_inspected_ok(self, campaign_id: str) -> bool:
        parts = await asyncio.to_thread(self.campaigns.parts, campaign_id)
        return all(p.closure is recall.Closure.INSPECTED_OK for p in parts)

    async def still_held(self, campaign_id: str) -> list[PrintOrder]:
        """The orders the campaign held that are held still."""
        held = await asyncio.to_thread(self.campaigns.held_orders, campaign_id)
        orders = [await self.orders.get_order(order_id) for order_id in held]
        return [o for o in orders if o.state is OrderState.HELD]

    async def release_orders(self, campaign_id: str, *, by: str) -> tuple[str, ...]:
        """Release the orders the campaign still holds to the state each had, unless another
        open campaign holds them too; the ids released."""
        await asyncio.to_thread(self.campaigns.campaign, campaign_id)
        released = []
        for order in await self.still_held(campaign_id):
            holders = await asyncio.to_thread(self.campaigns.open_holders, order.id)
            others = [h for h in holders if h != campaign_id]
            if others:
                log.info("order %s stays held by recall %s", order.id, ", ".join(others))
                continue
            await self.orders.release_order(
                order.id, by, f"released from {hold_reason(campaign_id)}"
            )
            released.append(order.id)
        return tuple(released)

    async def cancel_orders(self, campaign_id: str, *, by: str) -> tuple[str, ...]:
        """Cancel the orders the campaign still holds; their ids."""
        await asyncio.to_thread(self.campaigns.campaign, campaign_id)
        cancelled = []
        for order in await self.still_held(campaign_id):
            await self.orders.cancel_order(order.id, by)
            cancelled.append(order.id)
        return tuple(cancelled)

    async def _replacement(
        self, campaign_id: str, serial: str, by: str, revision: str
    ) -> PrintOrder:
        job = (await asyncio.to_thread(self.ledger.store.job_by_serial, serial)).job
        return await self.orders.create_order(
            job.design.id,
            1,
            f"replaces {serial} (recall {campaign_id})",
            by,
            design_revision=revision or job.design.revision,
        )

    async def show(self, campaign_id: str) -> dict[str, object]:
        """A campaign with its progress, the orders it held and each part's closure."""

        def read() -> dict[str, object]:
            campaign = self.campaigns.campaign(campaign_id)
            parts = self.campaigns.parts(campaign_id)
            document: dict[str, object] = dict(recall.campaign_document(campaign, parts))
            document["criteria"] = json.loads(campaign.criteria)
            document["held_orders"] = self.campaigns.held_orders(campaign_id)
            return document

        document = await asyncio.to_thread(read)
        still = await self.still_held(campaign_id)
        document["orders_still_held"] = [o.id for o in still]
        return document

    async def epcis(self, campaign_id: str) -> dict[str, object]:
        """The campaign as an EPCIS 2.0 document: each affected part's build (lot → part) and
        certificate, the recall, each closure, and the parts' end of life."""

        def read() -> dict[str, object]:
            campaign = self.campaigns.campaign(campaign_id)
            closures = self.campaigns.parts(campaign_id)
            serials = {p.serial for p in closures}
            criteria = criteria_from_json(json.loads(campaign.criteria))
            traced = [
                p for p in recall.traced_parts(self.ledger.store, criteria) if p.serial in serials
            ]
            life = [r for r in self.campaigns.life_events() if r.serial in serials]
            events = [
                *recall.trace_events(traced),
                *recall.recall_events(campaign, closures, life),
            ]
            return dict(recall.epcis_document(events, self.clock.now()))

        return await asyncio.to_thread(read)

    async def quality_alert(
        self, campaign_id: str, *, sender_bpn: str, recipient_bpn: str
    ) -> dict[str, object]:
        """The campaign as a Catena-X style quality alert."""
        campaign = await asyncio.to_thread(self.campaigns.campaign, campaign_id)
        parts = await asyncio.to_thread(self.campaigns.parts, campaign_id)
        alert = recall.quality_alert(
            campaign,
            parts,
            sender_bpn=sender_bpn,
            recipient_bpn=recipient_bpn,
            sent_at=self.clock.now(),
        )
        return dict(alert)

    async def campaigns_list(self) -> list[recall.Campaign]:
        return await asyncio.to_thread(self.campaigns.campaigns)

    async def end_of_life(
        self, serial: str, event: recall.LifeEvent, *, by: str, note: str = ""
    ) -> recall.LifeRecord:
        """Record that a part was taken back or dismantled (it must be a part of this site): a
        signed end-of-life record about its certificate, anchored now, and the event kept for
        the trace and the exchange formats."""
        await asyncio.to_thread(self.ledger.store.job_by_serial, serial)
        record = recall.LifeRecord(serial, event, by, self.clock.now(), note)
        signed = await asyncio.to_thread(
            self.desk.record_end_of_life, serial, event.value, by=by, note=note, at=record.at
        )
        await asyncio.to_thread(self.campaigns.record_life_event, record)
        if signed is not None:
            await self.ledger.tick()
        return record


@asynccontextmanager
async def open_recall_office(
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[RecallOffice]:
    """The site's ledger (with its chain), recalls, orders, alerts and webhook; closed on exit."""
    clock = clock or SystemClock()
    data_dir = Path(settings.data_dir)
    webhook = settings.maintenance.webhook
    notifier = (
        None
        if webhook is None
        else WebhookNotifier.from_settings(webhook, data_dir, environ=environ, clock=clock)
    )
    campaigns = recall.CampaignStore(data_dir / recall.RECALLS_FILE)
    try:
        async with (
            open_ledger(settings, environ, clock) as ledger,
            maintenance_books(settings) as (orders, alert_of),
        ):
            aftersales = Aftersales(ledger.store, orders, alert_of, campaigns)
            yield RecallOffice(ledger, campaigns, aftersales, orders, notifier, clock)
    finally:
        campaigns.close()
        if notifier is not None:
            await notifier.close()


RECALL_POLL_S = 2.0
"""How often the running site looks for campaigns opened or closed from the command line."""

SEVERITY = {
    recall.Disposition.SCRAP: 900,
    recall.Disposition.RETURN: 700,
    recall.Disposition.QUARANTINE: 700,
    recall.Disposition.INSPECT: 500,
}
"""An event's severity from what holders are asked to do."""


def recall_notice(campaign: recall.Campaign, event: str, parts: int) -> RecallNotice:
    """What the MES reads of a campaign opened or closed."""
    held = "revoked" if campaign.action is recall.CampaignAction.REVOKE else "suspended"
    if event == "closed":
        message = f"recall {campaign.id} closed: every one of its {parts} part(s) is closed"
    else:
        message = (
            f"recall {campaign.id} opened: {parts} part(s) {held}, disposition "
            f"{campaign.disposition.value}: {campaign.reason}"
        )
    return RecallNotice(campaign.id, event, message, SEVERITY[campaign.disposition])


class RecallAnnouncer:
    """Announces each campaign opened or closed as an OPC UA event, once, from the running
    site (campaigns are opened from the command line, another process)."""

    def __init__(self, campaigns: recall.CampaignStore, events: RecallEvents, clock: Clock) -> None:
        self.campaigns = campaigns
        self.events = events
        self.clock = clock

    @classmethod
    def open(cls, data_dir: Path, server: Server, clock: Clock) -> RecallAnnouncer:
        """The announcer of the site in ``data_dir`` on ``server``; ``close`` it at the end."""
        campaigns = recall.CampaignStore(data_dir / recall.RECALLS_FILE)
        return cls(campaigns, RecallEvents(server), clock)

    def close(self) -> None:
        self.campaigns.close()

    async def tick(self) -> int:
        """Emit the events not announced yet; how many."""
        pending = await asyncio.to_thread(self.campaigns.unannounced)
        for campaign, event in pending:
            parts = await asyncio.to_thread(self.campaigns.parts, campaign.id)
            await self.events.emit(recall_notice(campaign, event, len(parts)))
            await asyncio.to_thread(
                self.campaigns.mark_announced, campaign.id, event, self.clock.now()
            )
        return len(pending)
