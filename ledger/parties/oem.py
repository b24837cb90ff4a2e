"""The OEM as its own party: its key and data directory, its designs, the licences it grants."""

# The OEM's data directory (parties.oem_dir, default <data_dir>/oem, mode 0700) holds its key
# (oem.key, mode 0600, unless parties.oem_key_env names a variable holding it) and designs.json:
# the design revisions it registered (id, revision, dossier hash, design key, transaction).
# Every change is a transaction signed with the OEM's key; the contract lets only the design's
# OEM register its revisions and grant, change or revoke their licences.

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from config import Settings
from ledger.canonical import design_key
from ledger.contract import LicenceState
from ledger.designs import load_design, register_dossier_once
from ledger.errors import ContractError, PartyError
from ledger.parties.terms import LicenceTerms
from ledger.parties.usage import (
    LicenceUsage,
    licence_usage,
    statement_counts,
    with_statements,
)
from ledger.signing import SiteKey
from ledger.sitechain import key_file, open_chain_as

if TYPE_CHECKING:
    from ledger.chain import ChainClient

OEM_KEY_FILE = "oem.key"
DESIGNS_FILE = "designs.json"


def oem_dir(settings: Settings) -> Path:
    """The OEM's data directory: ``parties.oem_dir``, relative to the data directory."""
    folder = settings.parties.oem_dir
    return folder if folder.is_absolute() else settings.data_dir / folder


def oem_key(settings: Settings, environ: Mapping[str, str]) -> SiteKey:
    """The OEM's key: from ``parties.oem_key_env``, else its key file (see ``oem init``)."""
    if value := environ.get(settings.parties.oem_key_env):
        return SiteKey.from_hex(value)
    path = oem_dir(settings) / OEM_KEY_FILE
    if not path.exists():
        raise PartyError(
            f"no OEM key: {settings.parties.oem_key_env} is unset and {path} does not exist",
            advice="Run `trustfloor oem init` once, or set the variable to the OEM's hex key.",
        )
    return key_file(path)


def oem_address(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """The OEM's address when its key is at hand (variable or key file), else None."""
    try:
        return oem_key(settings, environ).address
    except PartyError:
        return None


@dataclass(frozen=True, slots=True)
class OemIdentity:
    """Who the OEM is on chain, and where its key is kept."""

    address: str
    key_source: str
    created: bool


def init_oem(settings: Settings, environ: Mapping[str, str]) -> OemIdentity:
    """The OEM's key: the variable's, the key file's, or a new key file (mode 0600)."""
    variable = settings.parties.oem_key_env
    if environ.get(variable):
        return OemIdentity(oem_key(settings, environ).address, f"${variable}", False)
    path = oem_dir(settings) / OEM_KEY_FILE
    created = not path.exists()
    key = key_file(path, create=True)
    oem_dir(settings).chmod(0o700)
    return OemIdentity(key.address, str(path), created)


@asynccontextmanager
async def oem_chain(settings: Settings, environ: Mapping[str, str]) -> AsyncIterator[ChainClient]:
    """The ledger as the OEM's account, refused when the consortium has not allow-listed it."""
    key = oem_key(settings, environ)
    async with open_chain_as(settings, key, environ) as client:
        if not await client.is_oem(key.address):
            raise PartyError(
                f"the OEM {key.address} is not on the consortium's OEM allow-list",
                advice=f"Ask the consortium admin to run `trustfloor consortium allow --oem "
                f"{key.address}`.",
            )
        yield client


# ---------------------------------------------------------------------- designs


@dataclass(frozen=True, slots=True)
class OemDesign:
    """A design revision the OEM registered."""

    id: str
    revision: str
    dossier_sha256: str
    key: bytes
    tx_hash: str | None

    @property
    def label(self) -> str:
        return f"{self.id}@{self.revision}"


def recorded_designs(settings: Settings) -> list[OemDesign]:
    """The design revisions this OEM registered, oldest first."""
    path = oem_dir(settings) / DESIGNS_FILE
    if not path.exists():
        return []
    try:
        entries = json.loads(path.read_text("utf-8"))["designs"]
        return [
            OemDesign(e["id"], e["revision"], e["dossier_sha256"], bytes.fromhex(e["key"]), e["tx"])
            for e in entries
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PartyError(f"cannot read the OEM's design records {path}: {exc}") from exc


def _record_design(settings: Settings, design: OemDesign) -> None:
    kept = [d for d in recorded_designs(settings) if d.key != design.key] + [design]
    entries = [
        {
            "id": d.id,
            "revision": d.revision,
            "dossier_sha256": d.dossier_sha256,
            "key": d.key.hex(),
            "tx": d.tx_hash,
        }
        for d in kept
    ]
    folder = oem_dir(settings)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / DESIGNS_FILE
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({"designs": entries}, indent=2) + "\n", "utf-8")
    os.replace(partial, path)


def find_design(settings: Settings, reference: str) -> OemDesign:
    """A design this OEM registered, named ``ID@REVISION`` or ``ID`` (its latest revision)."""
    design_id, _, revision = reference.partition("@")
    matches = [
        d
        for d in recorded_designs(settings)
        if d.id == design_id and (not revision or d.revision == revision)
    ]
    if not matches:
        raise PartyError(
            f"this OEM registered no design {reference}",
            advice="Register it first with `trustfloor oem design register FOLDER`; name it "
            "ID@REVISION (or ID for its latest revision).",
        )
    return matches[-1]


async def register_oem_design(
    settings: Settings, folder: Path, environ: Mapping[str, str]
) -> tuple[OemDesign, bool]:
    """Register a design folder's dossier hash as this OEM (once per revision); and whether it
    was registered already with that dossier."""
    dossier = load_design(folder)
    key = design_key(dossier.id, dossier.revision)
    async with oem_chain(settings, environ) as chain:
        tx_hash = await register_dossier_once(chain, dossier)
        if tx_hash is None and await chain.design_oem(key) != chain.address:
            raise PartyError(f"design {dossier.id} revision {dossier.revision} is another OEM's")
    design = OemDesign(dossier.id, dossier.revision, dossier.dossier_sha256, key, tx_hash)
    _record_design(settings, design)
    return design, tx_hash is None


# ---------------------------------------------------------------------- licences


async def grant_licence(
    settings: Settings,
    reference: str,
    site: str,
    terms: LicenceTerms,
    environ: Mapping[str, str],
) -> tuple[OemDesign, str]:
    """Grant ``site`` a licence of a design with ``terms``, or change its terms; the design and
    the transaction hash."""
    design = find_design(settings, reference)
    async with oem_chain(settings, environ) as chain:
        outcome = await chain.set_licence(
            design.key,
            site,
            terms.pieces,
            overdraft=terms.overdraft,
            valid_from=terms.valid_from,
            valid_until=terms.valid_until,
            price_micros=terms.price_micros,
            currency=terms.currency,
        )
    return design, "0x" + outcome.tx_hash.hex()


async def revoke_licence(
    settings: Settings, reference: str, site: str, environ: Mapping[str, str]
) -> tuple[OemDesign, str | None]:
    """Revoke ``site``'s licence of a design; the transaction hash, None when it already was."""
    design = find_design(settings, reference)
    async with oem_chain(settings, environ) as chain:
        try:
            outcome = await chain.revoke_licence(design.key, site)
        except ContractError as exc:
            if exc.name == "NoLicence":
                raise PartyError(f"{site} holds no licence of {design.label}") from exc
            raise
    revoked = outcome.events_named("LicenceRevoked")
    return design, "0x" + outcome.tx_hash.hex() if revoked else None


async def oem_usage(
    settings: Settings, environ: Mapping[str, str], statements: Sequence[Path] = ()
) -> list[LicenceUsage]:
    """Per design this OEM registered, per licensee: the licence's terms and what the chain
    counted against it; with the sites' ``statements`` (files or folders of them), the pieces
    they report started, certified, failed, revoked and credited."""
    files = [f for p in statements for f in (sorted(p.rglob("*.json")) if p.is_dir() else [p])]
    sums = statement_counts(files) if statements else None
    designs = recorded_designs(settings)
    async with open_chain_as(settings, None, environ) as chain:
        rows = [
            row
            for design in designs
            for row in await licence_usage(chain, design.key, design.label)
        ]
    return rows if sums is None else with_statements(rows, sums)


async def licence_standing(
    settings: Settings, environ: Mapping[str, str], key: bytes, site: str
) -> tuple[str | None, LicenceState]:
    """Who registered design ``key`` (None: nobody yet) and ``site``'s licence of it now."""
    async with open_chain_as(settings, None, environ) as chain:
        return await chain.design_oem(key), await chain.licence(key, site)
