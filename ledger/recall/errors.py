"""Errors of trace queries, recall campaigns and archives."""

from __future__ import annotations

from ledger.errors import LedgerError
from models import InvalidRequestError, InvalidStateError, NotFoundError


class AftersalesError(LedgerError):
    """Sub-root of what fails in tracing parts, recall campaigns and archives."""


class TraceCriteriaError(AftersalesError, InvalidRequestError):
    """A trace or recall names no criterion, or a criterion that cannot hold."""

    advice = (
        "Name the parts by --lot, --printer (with --from/--until), --design [--revision], "
        "--dossier, --order or --serial; --from must be before --until."
    )


class UnknownCampaignError(AftersalesError, NotFoundError):
    """No recall campaign has this id."""

    advice = "List campaigns with `trustfloor recall list`; ids look like RC-0001."


class CampaignStateError(AftersalesError, InvalidStateError):
    """A recall campaign or one of its parts cannot take this step now."""


class ArchiveError(AftersalesError):
    """An archive cannot be written or read."""
