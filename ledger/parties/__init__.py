"""The parties beside a printing site: the OEM (designs, licences, usage), the consortium admin."""

from __future__ import annotations

from ledger.parties.consortium import allow_parties
from ledger.parties.oem import (
    grant_licence,
    init_oem,
    oem_dir,
    oem_key,
    oem_usage,
    register_oem_design,
    revoke_licence,
)
from ledger.parties.terms import LicenceTerms, licence_period, parse_price

__all__ = [
    "LicenceTerms",
    "allow_parties",
    "grant_licence",
    "init_oem",
    "licence_period",
    "oem_dir",
    "oem_key",
    "oem_usage",
    "parse_price",
    "register_oem_design",
    "revoke_licence",
]
