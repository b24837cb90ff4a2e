"""The chain a site anchors on: its consortium's node, or a local anvil kept in the data dir."""

# Local default (chain.url unset): <data_dir>/chain/ (mode 0700) holds the anvil state
# (anvil-state.json, dumped every 5 s and on a clean stop), the deployment record
# (deployment.json) and, unless the key variable is set, the site's generated key (site.key,
# mode 0600). One process runs the node at a time (node.lock); others find its endpoint in
# node.json and share it. The node serves JSON-RPC only to this user, on the Unix socket
# anvil.ipc; its HTTP port, which anvil always opens and which offers the developer methods
# (impersonation, balances), sits in a network namespace of its own where the kernel allows
# unprivileged user namespaces (else on a random 127.0.0.1 port, and a warning says so). The
# node dies with the process that started it; anvil.pid names it, so that a start after a
# crash stops a node left running on the same state before it starts its own. On first start
# the consortium admin (its key from parties.consortium_key_env, else consortium.key, mode
# 0600) deploys the contract and allow-lists the site as issuer, and as OEM of designs of its
# own; the admin's and the site's accounts are funded by transfers from the node's funded
# development account, as a PoA genesis account funds new members. Other parties (an OEM)
# connect with their own key; the admin funds them when it allow-lists them.
#
# A consortium's node instead (chain.url unset, consortium.json in the chain folder, written by
# the demo as it starts `trustfloor chain serve`): the site and every command on its data
# directory connect to that URL, the consortium admin's key is the file the record names.
#
# Production (chain.url set): the node is the consortium's (Besu QBFT/IBFT 2.0, any Ethereum
# JSON-RPC), the contract its deployed ledger (chain.contract_address), the keys come only
# from the environment; the consortium admin allow-lists the site.

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from config import Settings
from ledger.anvil import LocalAnvil
from ledger.errors import ChainError, ChainNodeUnreachableError
from ledger.signing import SiteKey, same_address

if TYPE_CHECKING:
    from ledger.chain import ChainClient

log = logging.getLogger(__name__)

CHAIN_DIR = "chain"
STATE_FILE = "anvil-state.json"
DEPLOYMENT_FILE = "deployment.json"
KEY_FILE = "site.key"
CONSORTIUM_KEY_FILE = "consortium.key"
NODE_FILE = "node.json"
LOCK_FILE = "node.lock"
IPC_FILE = "anvil.ipc"
PID_FILE = "anvil.pid"
CONSORTIUM_FILE = "consortium.json"
"""In the chain folder of a site without chain.url: the consortium node it uses instead of a
node of its own ({"url", "chain_id", "contract", "admin", "admin_key"}); the demo writes it."""
STATE_INTERVAL_S = 5
SITE_FUNDS_WEI = 1000 * 10**18
"""What the site's account is topped up to on the local chain (when below half of it): gas
for millions of anchors."""
ADMIN_FUNDS_WEI = 2000 * 10**18
"""What the consortium admin's account gets on the local chain, to fund the parties it admits."""
PARTY_FUNDS_WEI = 100 * 10**18
"""What the admin gives a party it allow-lists on the local chain (an OEM's gas)."""


@dataclass(frozen=True, slots=True)
class SiteChain:
    """An open connection to the site's chain and ledger contract, with the site's key."""

    client: ChainClient
    key: SiteKey | None
    local: bool


def chain_dir(settings: Settings) -> Path:
    """``<data_dir>/chain``: the local chain's state, deployment record and generated key."""
    return settings.data_dir / CHAIN_DIR


def record_consortium(settings: Settings, url: str, contract: str, admin_key: Path) -> None:
    """Make the site of ``settings`` (which has no chain.url) use the consortium node at ``url``
    and its ledger ``contract`` from now on, every command on its data directory too; the
    consortium admin's key is kept in ``admin_key``."""
    record = {
        "url": url,
        "chain_id": settings.chain.chain_id,
        "contract": contract,
        "admin": key_file(admin_key).address,
        "admin_key": str(admin_key.absolute()),
    }
    _private_folder(chain_dir(settings))
    _write_json(chain_dir(settings) / CONSORTIUM_FILE, record)


def joined_consortium(settings: Settings) -> Settings:
    """``settings`` with the consortium node recorded in its chain folder as chain.url (see
    ``record_consortium``), or as they are when chain.url is set or nothing is recorded."""
    if settings.chain.url is not None:
        return settings
    record = _read_record(chain_dir(settings) / CONSORTIUM_FILE)
    if "url" not in record or "contract" not in record:
        return settings
    chain = settings.chain.model_copy(
        update={"url": str(record["url"]), "contract_address": str(record["contract"])}
    )
    return settings.model_copy(update={"chain": chain})


def site_key(settings: Settings, environ: Mapping[str, str]) -> SiteKey:
    """The site's key from ``chain.key_env``; on the local chain, a generated one if unset."""
    if value := environ.get(settings.chain.key_env):
        return SiteKey.from_hex(value)
    if settings.chain.url is not None:
        raise ChainError(
            f"environment variable {settings.chain.key_env} holds no site key",
            advice=f"Set {settings.chain.key_env} to the hex secp256k1 key of this site's "
            "account (allow-listed as issuer by the consortium admin).",
        )
    return _generated_key(chain_dir(settings) / KEY_FILE)


def consortium_key(settings: Settings, environ: Mapping[str, str]) -> SiteKey:
    """The consortium admin's key from ``parties.consortium_key_env``; on the local chain, the
    admin key kept in the chain folder (generated on first use), or the site's key where an
    earlier local deployment made the site its admin."""
    if value := environ.get(settings.parties.consortium_key_env):
        return SiteKey.from_hex(value)
    variable = settings.parties.consortium_key_env
    if settings.chain.url is not None:
        raise ChainError(
            f"environment variable {variable} holds no consortium admin key",
            advice=f"Set {variable} to the hex secp256k1 key of the ledger's admin account.",
        )
    folder = chain_dir(settings)
    if isinstance(admin_key := _read_record(folder / CONSORTIUM_FILE).get("admin_key"), str):
        return key_file(Path(admin_key))
    if not (folder / CONSORTIUM_KEY_FILE).exists() and (folder / DEPLOYMENT_FILE).exists():
        admin = _read_record(folder / DEPLOYMENT_FILE).get("admin")
        site = site_key(settings, environ)
        if isinstance(admin, str) and same_address(admin, site.address):
            return site
    return key_file(folder / CONSORTIUM_KEY_FILE, create=True)


def recorded_admin(settings: Settings) -> str | None:
    """The consortium admin's address: the one the consortium record names (see
    ``record_consortium``), else the local deployment record's, if there is one."""
    folder = chain_dir(settings)
    if isinstance(member := _read_record(folder / CONSORTIUM_FILE).get("admin"), str):
        return member
    admin = _read_record(folder / DEPLOYMENT_FILE).get("admin")
    return admin if isinstance(admin, str) else None


def key_file(path: Path, *, create: bool = False) -> SiteKey:
    """The key kept in ``path``, which only its owner may read; created (mode 0600, in a
    folder only the owner enters) when ``create`` and missing."""
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ChainError(
                f"{path} may be read by other users (mode {mode:o})",
                advice=f"Let only its owner read it: chmod 600 {path}.",
            )
        return SiteKey.from_hex(path.read_text("ascii"))
    if not create:
        raise ChainError(f"no key in {path}")
    return _generated_key(path)


def _generated_key(path: Path) -> SiteKey:
    """The development key kept in ``path``, created (mode 0600) on first use."""
    if path.exists():
        return SiteKey.from_hex(path.read_text("ascii"))
    _private_folder(path.parent)
    key = SiteKey.generate()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key.secret_hex() + "\n")
    log.info("generated the key of %s in %s", key.address, path)
    return key


@asynccontextmanager
async def open_site_chain(
    settings: Settings, environ: Mapping[str, str] | None = None, *, read_only: bool = False
) -> AsyncIterator[SiteChain]:
    """Connect to the site's chain and ledger; start, fund and deploy the local one if needed.

    ``read_only`` (verification) uses a throwaway key and never deploys.
    """
    env = os.environ if environ is None else environ
    key = None if read_only else site_key(settings, env)
    async with open_chain_as(settings, key, env) as client:
        yield SiteChain(client, key, local=joined_consortium(settings).chain.url is None)


@asynccontextmanager
async def open_chain_as(
    settings: Settings, key: SiteKey | None, environ: Mapping[str, str]
) -> AsyncIterator[ChainClient]:
    """Connect to the configured chain and ledger as ``key``'s account (None: a throwaway key
    that only reads). On the local chain the node is started if no process runs it, the
    account topped up when this process runs it, and the ledger deployed if there is none."""
    from ledger.chain import ChainClient  # web3 loads only where a chain is used

    secret = (key or SiteKey.generate()).secret_hex()
    settings = joined_consortium(settings)
    chain = settings.chain
    if chain.url is not None:
        client = await _connect_consortium_node(settings, secret)
        try:
            yield client
        finally:
            await client.close()
        return
    folder = chain_dir(settings)
    async with _local_node(folder, chain.chain_id) as node:
        # One local node mines a block per transaction and never reorganises: 1 confirmation.
        client = await ChainClient.connect(
            node.endpoint, chain.chain_id, secret, confirmations=1, timeout_s=chain.timeout_s
        )
        try:
            if key is None:
                await client.use_contract(_deployed_contract(folder / DEPLOYMENT_FILE))
            else:
                if node.funding_key is not None:
                    await top_up(client, node.endpoint, node.funding_key, SITE_FUNDS_WEI)
                await _use_or_deploy(client, folder, node, settings, environ)
            yield client
        finally:
            await client.close()


async def _connect_consortium_node(settings: Settings, secret: str) -> ChainClient:
    """The configured consortium node, as ``secret``'s account; never a node of our own: a node
    that does not answer is ConsortiumNodeUnreachableError."""
    from ledger.chain import ChainClient  # web3 loads only where a chain is used

    chain = settings.chain
    assert chain.url is not None
    try:
        return await ChainClient.connect(
            chain.url,
            chain.chain_id,
            secret,
            contract_address=chain.contract_address,
            confirmations=chain.confirmations,
            timeout_s=chain.timeout_s,
        )
    except ChainNodeUnreachableError as exc:
        raise ChainNodeUnreachableError(
            f"the consortium's chain node at {chain.url} does not answer ({exc}); "
            "trustfloor starts no chain node of its own when chain.url is set",
            advice="Start the consortium's chain node (`trustfloor chain serve`) or fix "
            "chain.url; unset chain.url to run a local chain for this site alone.",
        ) from exc


@dataclass(frozen=True, slots=True)
class _NodeAccess:
    """How to reach the local node, and its funded account's key when this process runs it."""

    endpoint: str
    funding_key: str | None


def local_node(folder: Path, chain_id: int) -> LocalAnvil:
    """The local chain node of the chain folder ``folder``, not started."""
    return LocalAnvil(
        chain_id=chain_id,
        state=folder / STATE_FILE,
        state_interval=STATE_INTERVAL_S,
        ipc=folder / IPC_FILE,
        pid_file=folder / PID_FILE,
    )


@asynccontextmanager
async def _local_node(folder: Path, chain_id: int) -> AsyncIterator[_NodeAccess]:
    """The local anvil: started here (holding the lock), or the one another process runs."""
    with _lock_file(folder) as lock:
        if not _try_lock(lock):
            yield _NodeAccess(_running_node_endpoint(folder / NODE_FILE), None)
            return
        node = local_node(folder, chain_id)
        await node.start()
        try:
            _write_json(
                folder / NODE_FILE,
                {
                    "endpoint": node.endpoint,
                    "pid": os.getpid(),
                    "node_pid": node.pid,
                    "network_isolated": node.network_isolated,
                },
            )
            yield _NodeAccess(node.endpoint, node.dev_key)
        finally:
            _remove(folder / NODE_FILE)
            await node.stop()


async def top_up(account: ChainClient, endpoint: str, funding_key: str, wei: int) -> None:
    """Top an account up to ``wei`` by a transfer from the node's funded development account,
    when it holds less than half of that."""
    from ledger.chain import ChainClient  # web3 loads only where a chain is used

    if await account.balance(account.address) >= wei // 2:
        return
    funder = await ChainClient.connect(endpoint, account.chain_id, funding_key, confirmations=1)
    async with funder:
        await funder.transfer(account.address, wei)
    log.info("funded the account %s on the local chain", account.address)


async def fund_party(admin: ChainClient, party: str) -> bool:
    """On the local chain, the admin gives a party it admits gas money (when it holds less
    than half of PARTY_FUNDS_WEI); True when it did."""
    if await admin.balance(party) >= PARTY_FUNDS_WEI // 2:
        return False
    await admin.transfer(party, PARTY_FUNDS_WEI)
    return True


@contextmanager
def _lock_file(folder: Path) -> Iterator[TextIO]:
    _private_folder(folder)
    with (folder / LOCK_FILE).open("a") as lock:
        yield lock


def _private_folder(folder: Path) -> None:
    """Create ``folder`` if needed and let only its owner in (the node's socket is inside)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)


def _try_lock(lock: TextIO) -> bool:
    """Take the lock of the local node without waiting; False when another process holds it.

    The lock lasts until the file is closed, also when the process dies.
    """
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n")


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _running_node_endpoint(path: Path) -> str:
    try:
        return str(json.loads(path.read_text("utf-8"))["endpoint"])
    except (OSError, ValueError, KeyError) as exc:
        raise ChainError(
            f"another process holds the local chain but {path} names no node: {exc}",
            advice="Wait for the other trustfloor process to finish starting, then retry.",
        ) from exc


def _exists(path: Path) -> bool:
    return path.exists()


def _deployed_contract(path: Path) -> str:
    try:
        return str(json.loads(path.read_text("utf-8"))["contract"])
    except (OSError, ValueError, KeyError):
        raise ChainError(
            f"no ledger is deployed on the local chain yet ({path} is missing)",
            advice="Start the site (or register a design) once so that it deploys the ledger.",
        ) from None


def _read_record(path: Path) -> dict[str, object]:
    try:
        value = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


async def _use_or_deploy(
    client: ChainClient,
    folder: Path,
    node: _NodeAccess,
    settings: Settings,
    environ: Mapping[str, str],
) -> None:
    """Use the ledger the deployment record names, or have the consortium admin deploy one
    and allow-list the site as issuer (and as OEM of designs of its own)."""
    from ledger.chain import ChainClient  # web3 loads only where a chain is used

    record = folder / DEPLOYMENT_FILE
    predecessor = None
    if _exists(record):
        address = _deployed_contract(record)
        try:
            await client.use_contract(address)
            return
        except ChainError as exc:
            if await client.carries_v1_ledger(address):
                predecessor = address  # followed by a version 2 ledger that names it
                log.warning("the ledger at %s is of version 1: deploying its successor", address)
            else:
                log.warning(
                    "the local chain lost the ledger at %s (%s): deploying anew", address, exc
                )
    if node.funding_key is None:
        raise ChainError(
            "no ledger is deployed on the local chain, and another process runs its node",
            advice="Start the site first: it deploys the ledger on the local chain.",
        )
    admin_key = consortium_key(settings, environ)
    site = site_key(settings, environ)
    admin = await ChainClient.connect(
        node.endpoint, client.chain_id, admin_key.secret_hex(), confirmations=1
    )
    async with admin:
        await top_up(admin, node.endpoint, node.funding_key, ADMIN_FUNDS_WEI)
        outcome = await admin.deploy(predecessor)
        await admin.add_issuer(site.address)
        await admin.add_oem(site.address)
        _write_json(
            record,
            {
                "chain_id": admin.chain_id,
                "contract": admin.contract_address,
                "block": outcome.block_number,
                "admin": admin.address,
            },
        )
    await client.use_contract(_deployed_contract(record))
    log.info("deployed the ledger at %s on the local chain", client.contract_address)
