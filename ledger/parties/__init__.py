"""The parties beside a printing site: the OEM (designs, licences, usage), the consortium admin."""

from __future__ import annotations

from ledger.parties.consortium import allow_parties
from ledger.parties.dossiers import (
    check_sealed_package,
    read_package_file,
    seal_for_site,
    site_key_for_dossiers,
)
from ledger.parties.oem import (
    OemDesign,
    find_design,
    grant_licence,
    init_oem,
    licence_standing,
    oem_address,
    oem_dir,
    oem_key,
    oem_usage,
    register_oem_design,
    revoke_licence,
)
from ledger.parties.terms import LicenceTerms, licence_period, parse_price
from ledger.parties.usage import render_usage
from ledger.sitechain import recorded_admin

__all__ = [
    "LicenceTerms",
    "OemDesign",
    "allow_parties",
    "check_sealed_package",
    "find_design",
    "grant_licence",
    "init_oem",
    "licence_period",
    "licence_standing",
    "oem_address",
    "oem_dir",
    "oem_key",
    "oem_usage",
    "parse_price",
    "read_package_file",
    "recorded_admin",
    "register_oem_design",
    "render_usage",
    "revoke_licence",
    "seal_for_site",
    "site_key_for_dossiers",
]
