"""The printer agent's checks before a job: the dossier against the chain, the licence's quota."""

from __future__ import annotations

from datetime import datetime

from ledger.contract import LicenceState
from ledger.designs import changed_files
from ledger.errors import (
    DesignNotRegisteredError,
    DossierMismatchError,
    JobRefusedError,
    LicenceNotValidError,
    QuotaExhaustedError,
)
from models import DesignDossier


def dossier_refusal(
    local: DesignDossier, registered: bytes | None, kept: DesignDossier | None
) -> JobRefusedError | None:
    """Why the local dossier must not be printed, or None when it is the registered one.

    ``registered`` is the dossier hash on chain; ``kept`` the registered dossier this site
    keeps, which (when it matches the chain) names the files that differ.
    """
    label = f"design {local.id} revision {local.revision}"
    if registered is None:
        return DesignNotRegisteredError(f"{label} is not registered on chain")
    if local.dossier_sha256 == registered.hex():
        return None
    files = []
    if kept is not None and kept.dossier_sha256 == registered.hex():
        files = changed_files(local, kept)
    which = f"; files that differ from the registered dossier: {', '.join(files)}" if files else ""
    return DossierMismatchError(
        f"the local dossier of {label} hashes to {local.dossier_sha256}, "
        f"the chain registers {registered.hex()}{which}"
    )


def quota_refusal(
    label: str,
    licence: LicenceState,
    unanchored: int,
    requested: int = 1,
    *,
    at: datetime | None = None,
) -> JobRefusedError | None:
    """Why ``requested`` more pieces do not fit the licence, or None when they fit.

    ``unanchored`` counts pieces printed or printing that no anchor has counted yet: the chain
    counts a piece only when its certificate's batch is anchored. The overdraft counts as room.
    With ``at``, a licence never granted, revoked, or not valid at that time is refused too.
    """
    if at is not None and (why := licence.refusal(int(at.timestamp()))) is not None:
        return LicenceNotValidError(f"{label}: {why}")
    if licence.room - unanchored >= requested:
        return None
    overdraft = f" and {licence.overdraft} more as overdraft" if licence.overdraft else ""
    return QuotaExhaustedError(
        f"the licence for {label} allows {licence.quota} pieces{overdraft}: {licence.used} "
        f"anchored and {unanchored} printed but not yet anchored leave no room for "
        f"{requested} more"
    )
