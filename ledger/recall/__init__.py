"""After-sales: trace parts, recall campaigns that suspend or revoke in one batch, end of life."""

from __future__ import annotations

from ledger.recall.campaign_store import (
    Campaign,
    CampaignAction,
    CampaignPart,
    CampaignStore,
    Closure,
    Disposition,
    LifeEvent,
    LifeRecord,
)
from ledger.recall.campaigns import Opened, PartClosed, RecallDesk, campaign_document
from ledger.recall.criteria import TraceCriteria
from ledger.recall.errors import (
    AftersalesError,
    ArchiveError,
    CampaignStateError,
    TraceCriteriaError,
    UnknownCampaignError,
)
from ledger.recall.exchange import (
    RECALL_COLUMNS,
    csv_text,
    epcis_document,
    quality_alert,
    recall_events,
    trace_events,
)
from ledger.recall.trace import TracedPart, certificate_status, traced_parts

RECALLS_FILE = "recalls.sqlite"
"""The recall campaigns' file, beside the ledger's in the data directory."""

__all__ = [
    "RECALLS_FILE",
    "RECALL_COLUMNS",
    "AftersalesError",
    "ArchiveError",
    "Campaign",
    "CampaignAction",
    "CampaignPart",
    "CampaignStateError",
    "CampaignStore",
    "Closure",
    "Disposition",
    "LifeEvent",
    "LifeRecord",
    "Opened",
    "PartClosed",
    "RecallDesk",
    "TraceCriteria",
    "TraceCriteriaError",
    "TracedPart",
    "UnknownCampaignError",
    "campaign_document",
    "certificate_status",
    "csv_text",
    "epcis_document",
    "quality_alert",
    "recall_events",
    "trace_events",
    "traced_parts",
]
