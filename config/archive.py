"""Archive settings: how long the live database keeps archived process samples."""

from __future__ import annotations

from pydantic import Field

from models import ConfigRecord


class ArchiveSettings(ConfigRecord):
    """What the live database may prune once archived (``[archive]``).

    Only the process samples of certified parts are ever pruned, and only those an archive
    export already holds: a certificate, its evidence summary and the samples' digest stay.
    """

    samples_retention_days: int | None = Field(
        None,
        ge=1,
        le=36_500,
        description="days the process samples of an archived, certified part are kept after its "
        "build (none: kept for ever)",
    )
