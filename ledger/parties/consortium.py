"""The consortium admin as its own party: allow-listing OEMs and printing sites on the ledger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from config import Settings
from ledger.errors import PartyError
from ledger.signing import same_address
from ledger.sitechain import consortium_key, fund_party, open_chain_as

if TYPE_CHECKING:
    from ledger.chain import ChainClient


async def allow_parties(
    settings: Settings,
    environ: Mapping[str, str],
    *,
    oems: Sequence[str] = (),
    sites: Sequence[str] = (),
    remove: bool = False,
) -> list[str]:
    """Add (or ``remove``) OEMs and printing sites on the ledger's allow-lists, with the
    consortium admin's key; on the local chain, a party added gets gas money. One line per
    change, saying what was done."""
    key = consortium_key(settings, environ)
    lines = []
    async with open_chain_as(settings, key, environ) as admin:
        if not same_address(await admin.admin(), key.address):
            raise PartyError(
                f"{key.address} is not the consortium admin of the ledger {admin.contract_address}",
                advice=f"Use the admin's key ({settings.parties.consortium_key_env}).",
            )
        for role, parties in (("OEM", oems), ("site", sites)):
            for party in parties:
                lines.append(await _change(admin, role, party, remove, settings.chain.url is None))
    return lines


async def _change(admin: ChainClient, role: str, party: str, remove: bool, local: bool) -> str:
    if remove:
        await (admin.remove_oem(party) if role == "OEM" else admin.remove_issuer(party))
        return f"{role} {party} removed from the allow-list"
    await (admin.add_oem(party) if role == "OEM" else admin.add_issuer(party))
    funded = local and await fund_party(admin, party)
    return f"{role} {party} allow-listed" + (" and funded for gas" if funded else "")
