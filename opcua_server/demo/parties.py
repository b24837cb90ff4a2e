"""The demo's OEM and consortium admin: designs registered, the site licensed, dossiers sealed."""

# The consortium admin admits the OEM; the OEM, with its own key, registers the spare parts'
# designs, grants the site its licences and hands the site each design sealed for it.

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from config import Settings
from ledger import (
    LicenceTerms,
    allow_parties,
    design_key,
    designs_dir,
    grant_licence,
    init_oem,
    licence_standing,
    oem_dir,
    register_oem_design,
    seal_for_site,
)

log = logging.getLogger(__name__)

DEMO_LICENCE_DAYS = 365
DEMO_PRICE_MICROS = 12_500_000
DEMO_CURRENCY = "EUR"
"""What the demo's OEM charges per piece: 12.50 EUR."""
OEM_DESIGNS = "designs"
"""Where the OEM keeps its released design folders: ``<oem_dir>/designs/<id>/<revision>``."""


def oem_design_folder(settings: Settings, design_id: str, revision: str) -> Path:
    """The OEM's released folder of a design revision."""
    return oem_dir(settings) / OEM_DESIGNS / design_id / revision


async def play_demo_oem(
    settings: Settings,
    site: str,
    site_public_key: str,
    designs: Mapping[tuple[str, str], str],
    quota: int,
    environ: Mapping[str, str],
    write_design: Callable[[Path, str, str, str], None],
) -> None:
    """The OEM's part of the demo, each step idempotent so that a restart repeats nothing:
    its key (``<data_dir>/oem/oem.key``), admission by the consortium admin (on the local
    chain; the consortium's chain service admits it as it starts), each design of
    ``designs`` ((id, revision) -> name) written and registered, a year's licence of
    ``quota`` pieces granted to ``site`` when it holds none valid now, and the released
    folder sealed for the site (``site_public_key``) and handed to it: the site keeps only
    the sealed package, which its printer agent opens for each job.
    ``write_design(folder, id, revision, name)`` writes a design.

    A data directory from before the OEM was a party of its own has the designs registered
    by the site itself: those stay the site's own, with the licence it granted itself.
    """
    oem = init_oem(settings, environ)
    if settings.chain.url is None:  # a consortium's node admitted the OEM when it started
        await allow_parties(settings, environ, oems=[oem.address])
    now = datetime.now(UTC)
    for (design_id, revision), name in designs.items():
        key = design_key(design_id, revision)
        released = oem_design_folder(settings, design_id, revision)
        owner, licence = await licence_standing(settings, environ, key, site)
        if owner is not None and owner != oem.address:
            log.info(
                "demo: %s %s stays the site's own design (an older data directory)",
                design_id,
                revision,
            )
            continue
        if not (released / "design.toml").exists():
            write_design(released, design_id, revision, name)
        await register_oem_design(settings, released, environ)
        if licence.refusal(int(now.timestamp())) is not None:
            await grant_licence(
                settings, f"{design_id}@{revision}", site, _terms(now, quota), environ
            )
        installed = designs_dir(settings) / design_id / revision
        if not installed.exists():
            installed.mkdir(parents=True)
            seal_for_site(settings, released, site_public_key, environ, out=installed)


def _terms(now: datetime, quota: int) -> LicenceTerms:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=DEMO_LICENCE_DAYS)
    return LicenceTerms(
        quota,
        int(start.timestamp()),
        int(end.timestamp()),
        price_micros=DEMO_PRICE_MICROS,
        currency=DEMO_CURRENCY,
    )
