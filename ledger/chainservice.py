"""The consortium's chain node as a service of its own: a node, the ledger its admin deployed."""

# The folder (mode 0700) belongs to the consortium admin: the node's state (anvil-state.json,
# dumped every 5 s and on a clean stop), the admin's key (admin.key, mode 0600, generated on
# first start), the deployment record (deployment.json) and the node's pid (anvil.pid). The
# node serves JSON-RPC over HTTP on 127.0.0.1 so that every party (sites, OEMs, verifiers)
# connects by URL with its own key. Its one genesis account has a random key known only to this
# process; it pays the admin's gas, as a PoA genesis allocation funds the consortium, and the
# admin gives each party it allow-lists gas money by plain transfers. Nothing here calls the
# node's developer methods, so a Besu QBFT network can take its place (deploy/besu-qbft).

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.anvil import LocalAnvil
from ledger.errors import ChainError
from ledger.sitechain import (
    ADMIN_FUNDS_WEI,
    PID_FILE,
    STATE_FILE,
    STATE_INTERVAL_S,
    fund_party,
    key_file,
    top_up,
)

if TYPE_CHECKING:
    from ledger.chain import ChainClient

log = logging.getLogger(__name__)

ADMIN_KEY_FILE = "admin.key"
DEPLOYMENT_FILE = "deployment.json"
GENESIS_ACCOUNTS = ("--mnemonic-random", "--accounts", "1")
"""One funded genesis account with a key nobody else knows (not anvil's published ones)."""


@dataclass(frozen=True, slots=True)
class ChainServiceInfo:
    """Where the consortium's chain answers and which ledger it carries: what a party configures
    (chain.url, chain.chain_id, chain.contract_address)."""

    url: str
    chain_id: int
    contract: str
    admin: str
    block: int

    def ready_line(self) -> str:
        """``chain ready {json}``: the line `trustfloor chain serve` prints once it serves."""
        return "chain ready " + json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_ready_line(cls, line: str) -> ChainServiceInfo:
        """Parse a ready line; ChainError when the line is not one."""
        prefix = "chain ready "
        if not line.startswith(prefix):
            raise ChainError(f"not a chain service's ready line: {line.strip()!r}")
        try:
            return cls(**json.loads(line[len(prefix) :]))
        except (ValueError, TypeError) as exc:
            raise ChainError(f"a chain service's ready line that does not parse: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Admission:
    """The parties the consortium admin allow-lists (and funds) when the service starts."""

    issuers: Sequence[str] = ()
    oems: Sequence[str] = ()


@asynccontextmanager
async def consortium_chain(
    folder: Path, chain_id: int, *, port: int = 0, admit: Admission = Admission()
) -> AsyncIterator[ChainServiceInfo]:
    """Run the consortium's chain node on 127.0.0.1:``port`` (0: a free one) with its state in
    ``folder``; deploy the ledger with the admin's key on first start (later starts use the
    recorded one) and allow-list and fund the parties of ``admit``. The node stops on exit."""
    from ledger.chain import ChainClient  # web3 loads only where a chain is used

    _private_folder(folder)
    admin_key = key_file(folder / ADMIN_KEY_FILE, create=True)
    node = LocalAnvil(
        chain_id=chain_id,
        state=folder / STATE_FILE,
        state_interval=STATE_INTERVAL_S,
        pid_file=folder / PID_FILE,
        port=port,
        extra_args=GENESIS_ACCOUNTS,
    )
    async with node:
        admin = await ChainClient.connect(node.url, chain_id, admin_key.secret_hex())
        async with admin:
            await top_up(admin, node.url, node.dev_key, ADMIN_FUNDS_WEI)
            block = await _use_or_deploy(admin, folder / DEPLOYMENT_FILE)
            await admit_parties(admin, admit)
            yield ChainServiceInfo(node.url, chain_id, admin.contract_address, admin.address, block)


async def admit_parties(admin: ChainClient, admit: Admission) -> None:
    """Allow-list each issuer and OEM of ``admit`` and give it gas money (both idempotent)."""
    for issuer in admit.issuers:
        await admin.add_issuer(issuer)
        await fund_party(admin, issuer)
        log.info("site %s allow-listed as issuer", issuer)
    for oem in admit.oems:
        await admin.add_oem(oem)
        await fund_party(admin, oem)
        log.info("OEM %s allow-listed", oem)


async def _use_or_deploy(admin: ChainClient, record: Path) -> int:
    """Use the ledger the record names, or deploy one and record it; its deployment block.

    A recorded version 1 ledger is followed by a version 2 ledger that names it: bundles
    anchored on it keep verifying against the new one, whose address the parties then use.
    """
    predecessor = None
    if (deployment := _read_deployment(record)) is not None:
        address = str(deployment["contract"])
        if not await admin.carries_v1_ledger(address):
            await admin.use_contract(address)
            return int(str(deployment["block"]))
        predecessor = address
    outcome = await admin.deploy(predecessor)
    _write_deployment(
        record,
        {
            "chain_id": admin.chain_id,
            "contract": admin.contract_address,
            "block": outcome.block_number,
            "admin": admin.address,
            "predecessor": predecessor,
        },
    )
    if predecessor is None:
        log.info("deployed the ledger at %s", admin.contract_address)
    else:
        log.warning(
            "deployed the ledger at %s following the version 1 ledger at %s: configure the "
            "parties with the new address; OEMs grant their licences again on it (designs "
            "stay registered, pieces are counted anew)",
            admin.contract_address,
            predecessor,
        )
    return outcome.block_number


def _write_deployment(record: Path, deployment: dict[str, object]) -> None:
    record.write_text(json.dumps(deployment, indent=2) + "\n", encoding="utf-8")


def _read_deployment(record: Path) -> dict[str, object] | None:
    """The deployment ``record`` holds; None when there is none yet."""
    if not record.exists():
        return None
    try:
        value = json.loads(record.read_text("utf-8"))
        if isinstance(value, dict) and "contract" in value and "block" in value:
            return value
    except (OSError, ValueError):
        pass
    raise ChainError(
        f"{record} names no deployed ledger",
        advice=f"Restore {record}, or remove it to deploy a new ledger (the parties must then "
        "be configured with its address).",
    )


def _private_folder(folder: Path) -> None:
    """Create ``folder`` if needed and let only its owner (the consortium admin) in."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
