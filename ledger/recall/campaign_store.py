"""After-sales on disk: recall campaigns, orders held, closures, end of life, archive exports."""

# Durability as the ledger store: WAL with synchronous=FULL, one transaction per method, the
# connection shared by threads under a lock.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from ledger.recall.errors import AftersalesError, CampaignStateError, UnknownCampaignError
from models import SerializedStore, Synchronous, from_micros, to_micros

SCHEMA = """
CREATE TABLE IF NOT EXISTS campaigns (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    criteria TEXT NOT NULL,
    reason TEXT NOT NULL,
    disposition TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('suspend', 'revoke')),
    opened_by TEXT NOT NULL,
    opened_us INTEGER NOT NULL,
    affected BLOB NOT NULL,
    affected_sha256 TEXT NOT NULL,
    closed_us INTEGER
);
CREATE TABLE IF NOT EXISTS campaign_parts (
    campaign TEXT NOT NULL REFERENCES campaigns (id),
    serial TEXT NOT NULL,
    certificate TEXT NOT NULL,
    closure TEXT,
    closed_by TEXT,
    closed_us INTEGER,
    note TEXT NOT NULL DEFAULT '',
    replacement_order TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (campaign, serial)
);
CREATE TABLE IF NOT EXISTS held_orders (
    campaign TEXT NOT NULL REFERENCES campaigns (id),
    order_id TEXT NOT NULL,
    held_us INTEGER NOT NULL,
    PRIMARY KEY (campaign, order_id)
);
CREATE TABLE IF NOT EXISTS announced (
    campaign TEXT NOT NULL REFERENCES campaigns (id),
    event TEXT NOT NULL CHECK (event IN ('opened', 'closed')),
    at_us INTEGER NOT NULL,
    PRIMARY KEY (campaign, event)
);
CREATE TABLE IF NOT EXISTS archives (
    id INTEGER PRIMARY KEY,
    until_us INTEGER NOT NULL,
    exported_us INTEGER NOT NULL,
    folder TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS end_of_life (
    id INTEGER PRIMARY KEY,
    serial TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('taken-back', 'dismantled')),
    by TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
"""


class CampaignAction(StrEnum):
    """What a campaign does to the affected certificates."""

    SUSPEND = "suspend"
    REVOKE = "revoke"


class Disposition(StrEnum):
    """What whoever holds an affected part is asked to do with it."""

    QUARANTINE = "quarantine"
    RETURN = "return"
    SCRAP = "scrap"
    INSPECT = "inspect"


class Closure(StrEnum):
    """How an affected part's case ended."""

    RETURNED = "returned"
    SCRAPPED = "scrapped"
    REPLACED = "replaced"
    INSPECTED_OK = "inspected-ok"


class LifeEvent(StrEnum):
    """The end of a part's life on the record."""

    TAKEN_BACK = "taken-back"
    DISMANTLED = "dismantled"


@dataclass(frozen=True, slots=True)
class Campaign:
    """A recall campaign as opened: its criteria, why, and its frozen list with its digest."""

    id: str
    criteria: str
    """The criteria as canonical JSON."""
    reason: str
    disposition: Disposition
    action: CampaignAction
    opened_by: str
    opened_at: datetime
    affected: bytes
    """The frozen list of affected parts, canonical JSON: what ``affected_sha256`` hashes."""
    affected_sha256: str
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CampaignPart:
    """One affected part and, once closed, how, by whom and when."""

    serial: str
    certificate: str
    """The certificate's leaf hash (hex) when the list was frozen; "" when it had none."""
    closure: Closure | None = None
    closed_by: str = ""
    closed_at: datetime | None = None
    note: str = ""
    replacement_order: str = ""


@dataclass(frozen=True, slots=True)
class LifeRecord:
    """A part taken back or dismantled."""

    serial: str
    event: LifeEvent
    by: str
    at: datetime
    note: str


class CampaignStoreError(AftersalesError):
    """The recall campaigns' file cannot be opened, read or written."""


def campaign_id_of(seq: int) -> str:
    return f"RC-{seq:04d}"


class CampaignStore(SerializedStore):
    """One SQLite file (WAL, synchronous=FULL) holding the site's recall campaigns."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            path,
            SCHEMA,
            Synchronous.FULL,
            error=CampaignStoreError,
            opened_as=f"recalls {path}",
            label=f"recalls {path}",
        )

    def next_id(self) -> str:
        """The id the next campaign will get."""
        with self._tx() as cur:
            seq = cur.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM campaigns").fetchone()[0]
        return campaign_id_of(int(seq))

    def open(self, campaign: Campaign, parts: Sequence[CampaignPart]) -> None:
        """Keep a new campaign and its frozen list of parts."""
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO campaigns (id, criteria, reason, disposition, action, opened_by,"
                " opened_us, affected, affected_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    campaign.id,
                    campaign.criteria,
                    campaign.reason,
                    campaign.disposition.value,
                    campaign.action.value,
                    campaign.opened_by,
                    to_micros(campaign.opened_at),
                    campaign.affected,
                    campaign.affected_sha256,
                ),
            )
            cur.executemany(
                "INSERT INTO campaign_parts (campaign, serial, certificate) VALUES (?, ?, ?)",
                [(campaign.id, p.serial, p.certificate) for p in parts],
            )

    def campaign(self, campaign_id: str) -> Campaign:
        """A campaign; UnknownCampaignError when there is none with this id."""
        rows = self._campaigns("WHERE id = ?", (campaign_id,))
        if not rows:
            raise UnknownCampaignError(f"no recall campaign {campaign_id!r}")
        return rows[0]

    def campaigns(self) -> list[Campaign]:
        """Every campaign, oldest first."""
        return self._campaigns("", ())

    def _campaigns(self, where: str, args: tuple[object, ...]) -> list[Campaign]:
        with self._tx() as cur:
            rows = cur.execute(
                "SELECT id, criteria, reason, disposition, action, opened_by, opened_us,"
                f" affected, affected_sha256, closed_us FROM campaigns {where} ORDER BY seq",
                args,
            ).fetchall()
        return [
            Campaign(
                id=r[0],
                criteria=r[1],
                reason=r[2],
                disposition=Disposition(r[3]),
                action=CampaignAction(r[4]),
                opened_by=r[5],
                opened_at=from_micros(r[6]),
                affected=bytes(r[7]),
                affected_sha256=r[8],
                closed_at=None if r[9] is None else from_micros(r[9]),
            )
            for r in rows
        ]

    def parts(self, campaign_id: str) -> list[CampaignPart]:
        """The campaign's parts by serial, with their closures."""
        with self._tx() as cur:
            rows = cur.execute(
                "SELECT serial, certificate, closure, closed_by, closed_us, note,"
                " replacement_order FROM campaign_parts WHERE campaign = ? ORDER BY serial",
                (campaign_id,),
            ).fetchall()
        return [
            CampaignPart(
                serial=r[0],
                certificate=r[1],
                closure=None if r[2] is None else Closure(r[2]),
                closed_by=r[3] or "",
                closed_at=None if r[4] is None else from_micros(r[4]),
                note=r[5],
                replacement_order=r[6],
            )
            for r in rows
        ]

    def close_part(
        self,
        campaign_id: str,
        serial: str,
        closure: Closure,
        by: str,
        at: datetime,
        *,
        note: str = "",
        replacement_order: str = "",
    ) -> bool:
        """Record how one part's case ended; True when that closed the campaign's last part
        (the campaign is then closed at ``at``). CampaignStateError when the part is not in the
        campaign or already closed, or the campaign is closed."""
        with self._tx() as cur:
            row = cur.execute(
                "SELECT p.closure, c.closed_us FROM campaign_parts p JOIN campaigns c"
                " ON c.id = p.campaign WHERE p.campaign = ? AND p.serial = ?",
                (campaign_id, serial),
            ).fetchone()
            if row is None:
                raise CampaignStateError(f"part {serial} is not in recall campaign {campaign_id}")
            if row[0] is not None:
                raise CampaignStateError(
                    f"part {serial} of {campaign_id} was already closed as {row[0]}"
                )
            cur.execute(
                "UPDATE campaign_parts SET closure = ?, closed_by = ?, closed_us = ?, note = ?,"
                " replacement_order = ? WHERE campaign = ? AND serial = ?",
                (closure.value, by, to_micros(at), note, replacement_order, campaign_id, serial),
            )
            still_open = cur.execute(
                "SELECT COUNT(*) FROM campaign_parts WHERE campaign = ? AND closure IS NULL",
                (campaign_id,),
            ).fetchone()[0]
            if still_open:
                return False
            cur.execute(
                "UPDATE campaigns SET closed_us = ? WHERE id = ?", (to_micros(at), campaign_id)
            )
            return True

    def hold_orders(self, campaign_id: str, order_ids: Sequence[str], at: datetime) -> None:
        """Note the open orders the campaign held."""
        with self._tx() as cur:
            cur.executemany(
                "INSERT OR IGNORE INTO held_orders (campaign, order_id, held_us) VALUES (?, ?, ?)",
                [(campaign_id, order_id, to_micros(at)) for order_id in order_ids],
            )

    def open_holders(self, order_id: str) -> list[str]:
        """The campaigns still open that hold ``order_id``."""
        with self._read() as cur:
            rows = cur.execute(
                "SELECT h.campaign FROM held_orders h JOIN campaigns c ON c.id = h.campaign"
                " WHERE h.order_id = ? AND c.closed_us IS NULL ORDER BY h.campaign",
                (order_id,),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def held_orders(self, campaign_id: str) -> list[str]:
        """The orders the campaign held when it opened."""
        with self._read() as cur:
            rows = cur.execute(
                "SELECT order_id FROM held_orders WHERE campaign = ? ORDER BY order_id",
                (campaign_id,),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def record_life_event(self, record: LifeRecord) -> None:
        """Keep that a part was taken back or dismantled."""
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO end_of_life (serial, event, by, at_us, note) VALUES (?, ?, ?, ?, ?)",
                (record.serial, record.event.value, record.by, to_micros(record.at), record.note),
            )

    def life_events(self, serial: str | None = None) -> list[LifeRecord]:
        """Parts taken back or dismantled (of ``serial``, or all), oldest first."""
        where, args = ("WHERE serial = ?", (serial,)) if serial else ("", ())
        with self._tx() as cur:
            rows = cur.execute(
                f"SELECT serial, event, by, at_us, note FROM end_of_life {where} ORDER BY id",
                args,
            ).fetchall()
        return [LifeRecord(r[0], LifeEvent(r[1]), r[2], from_micros(r[3]), r[4]) for r in rows]

    def record_archive(self, until: datetime, exported_at: datetime, folder: str) -> None:
        """Note that an archive holds every certificate issued before ``until``."""
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO archives (until_us, exported_us, folder) VALUES (?, ?, ?)",
                (to_micros(until), to_micros(exported_at), folder),
            )

    def archived_until(self) -> datetime | None:
        """Before when every certificate is held by an archive export; None before any."""
        with self._tx() as cur:
            latest = cur.execute("SELECT MAX(until_us) FROM archives").fetchone()[0]
        return None if latest is None else from_micros(latest)

    def unannounced(self) -> list[tuple[Campaign, str]]:
        """Campaigns opened (or closed) that the running site has not announced yet, oldest
        first: ``(campaign, "opened" | "closed")``."""
        with self._tx() as cur:
            done = set(cur.execute("SELECT campaign, event FROM announced").fetchall())
        pending = []
        for campaign in self.campaigns():
            events = ["opened"] + (["closed"] if campaign.closed_at is not None else [])
            pending += [(campaign, e) for e in events if (campaign.id, e) not in done]
        return pending

    def mark_announced(self, campaign_id: str, event: str, at: datetime) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO announced (campaign, event, at_us) VALUES (?, ?, ?)",
                (campaign_id, event, to_micros(at)),
            )

    def campaigns_of(self, serial: str) -> list[tuple[str, Closure | None]]:
        """The campaigns part ``serial`` is in, oldest first, with its closure in each."""
        with self._tx() as cur:
            rows = cur.execute(
                "SELECT p.campaign, p.closure FROM campaign_parts p JOIN campaigns c"
                " ON c.id = p.campaign WHERE p.serial = ? ORDER BY c.seq",
                (serial,),
            ).fetchall()
        return [(str(r[0]), None if r[1] is None else Closure(r[1])) for r in rows]
