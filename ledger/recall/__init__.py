"""After-sales: tracing parts by lot, printer, design, dossier, order or serial; recalls."""

from __future__ import annotations

from ledger.recall.criteria import TraceCriteria
from ledger.recall.errors import (
    AftersalesError,
    ArchiveError,
    CampaignStateError,
    TraceCriteriaError,
    UnknownCampaignError,
)
from ledger.recall.trace import TracedPart, certificate_status, traced_parts

__all__ = [
    "AftersalesError",
    "ArchiveError",
    "CampaignStateError",
    "TraceCriteria",
    "TraceCriteriaError",
    "TracedPart",
    "UnknownCampaignError",
    "certificate_status",
    "traced_parts",
]
