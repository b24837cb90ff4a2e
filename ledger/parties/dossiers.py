"""Sealed dossiers between the parties: the OEM seals for a site; the site checks and opens."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from config import Settings
from ledger.designs import load_design
from ledger.errors import PartyError, SealedDossierError
from ledger.parties.oem import find_design, oem_dir, oem_key
from ledger.sealing import (
    JOBS_DIR,
    SEALED_SUFFIX,
    SealedDossier,
    check_sealed,
    opened_dossier,
    package_address,
    read_sealed,
    seal_dossier,
    site_public_key,
)
from ledger.signing import SiteKey
from ledger.sitechain import open_chain_as, site_key
from models import Clock, SystemClock

SEALED_DIR = "sealed"


def site_key_for_dossiers(settings: Settings, environ: Mapping[str, str]) -> str:
    """The site's public key (hex), which it hands to an OEM to receive sealed dossiers."""
    return site_public_key(site_key(settings, environ))


def seal_for_site(
    settings: Settings,
    folder: Path,
    recipient_public_key: str,
    environ: Mapping[str, str],
    out: Path | None = None,
) -> tuple[str, Path]:
    """Seal a design folder this OEM registered for the site with ``recipient_public_key``;
    the package's address and where it was written (``<oem_dir>/sealed`` by default)."""
    dossier = load_design(folder)
    registered = find_design(settings, f"{dossier.id}@{dossier.revision}")
    if registered.dossier_sha256 != dossier.dossier_sha256:
        raise PartyError(
            f"{folder} is not the dossier this OEM registered as {registered.label}",
            advice="Seal the released folder exactly as it was registered.",
        )
    package = seal_dossier(folder, recipient_public_key, oem_key(settings, environ))
    address = package_address(package)
    target_dir = out or oem_dir(settings) / SEALED_DIR
    target_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = target_dir / f"{address}{SEALED_SUFFIX}"
    target.write_bytes(package)
    return address, target


def read_package_file(path: Path) -> SealedDossier:
    """A sealed package from its file, whose name is its address: ``<sha256>.sealed.json``."""
    if not path.name.endswith(SEALED_SUFFIX):
        raise SealedDossierError(f"{path} is not named <sha256>{SEALED_SUFFIX}")
    return read_sealed(path.read_bytes(), path.name.removesuffix(SEALED_SUFFIX))


async def check_sealed_package(
    settings: Settings,
    sealed: SealedDossier,
    environ: Mapping[str, str],
    clock: Clock | None = None,
) -> list[str]:
    """As the site's agent does before a job: the package checked against the chain (the
    design's OEM, the registered dossier, this site's licence now) and opened into a private
    folder that is removed at once. The lines say what it holds; SealedDossierError says why
    it is refused."""
    key = site_key(settings, environ)
    design_id, revision, dkey, _ = sealed.design
    async with open_chain_as(settings, None, environ) as chain:
        oem = await chain.design_oem(dkey)
        registered = await chain.dossier_hash(dkey)
        licence = await chain.licence(dkey, key.address)
    now = int((clock or SystemClock()).now().timestamp())
    check_sealed(
        sealed, key.address, design_oem=oem, registered=registered, licence=licence, at=now
    )
    files, dossier_hash = await asyncio.to_thread(
        _open_and_list, sealed, key, settings.data_dir / JOBS_DIR
    )
    return [
        f"sealed dossier {design_id}@{revision} for {key.address}: opens",
        f"  OEM        {oem}",
        f"  dossier    {dossier_hash} (the registered one)",
        f"  licence    {licence.room} piece(s) left",
        f"  files      {', '.join(files)} (opened only inside a job, removed after)",
    ]


def _open_and_list(sealed: SealedDossier, key: SiteKey, job_dir: Path) -> tuple[list[str], str]:
    """Open the package into a private folder of ``job_dir``, list it, remove it."""
    with opened_dossier(sealed, key, job_dir) as folder:
        files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        return files, load_design(folder).dossier_sha256
