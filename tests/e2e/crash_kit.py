"""Crash-test kit: a printing site's config, `trustfloor serve` as a killable group, store reads."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncua import ua
from eth_utils.crypto import keccak

from config import load_settings
from ledger.canonical import design_key
from ledger.chain import ChainClient
from ledger.childprocess import command_line, read_pid_file
from ledger.commands import design_register
from ledger.signing import SiteKey
from maintenance.orders import order_id_of
from opcua_server.demo.actors import write_demo_design
from tests.integration.ledger.chain_node_kit import ipc_rpc, node_endpoint
from tests.support import PASSWORDS, REPO, call_method, make_client_certificate, secure_client, text

DESIGN = "spindle-bearing-housing"
REVISION = "A"
LICENCE_QUOTA = 60
KEY_ENV = "TRUSTFLOOR_CHAIN_KEY"
PASSWORD_ENV = "CRASH_MES_PASSWORD"
STAGES = ("ingest", "dispatch", "printing", "sealing", "anchoring")
"""The stages of the closed loop a kill can interrupt, as the stores show them."""
FINAL_ORDER_STATES = frozenset({"certified", "rejected", "cancelled"})
ORDER_RANK = {"created": 0, "dispatched": 1, "printing": 2, "printed": 3}
"""Open order states in life order (ISA-95, maintenance.orders.NEXT_STATES)."""
JOB_RANK = {"printing": 0, "finished": 1, "certified": 2}
"""A part's job states in the ledger, in life order."""

SITE_TOML = f"""\
data_dir = "var"
queue_size = 10000

[server]
host = "127.0.0.1"
port = 0
metrics_port = 0
hostnames = ["localhost", "127.0.0.1"]
security_policies = ["Basic256Sha256"]
trust_unknown_clients = true

[[server.users]]
name = "mes"
role = "mes"
password_env = "{PASSWORD_ENV}"

[historian]
batch_size = 200
flush_interval_s = 0.2

[simulation]
seed = 7
time_compression = 7200.0

[site]
name = "crash-site"

[[site.machines]]
id = "mill-1"
name = "Milling centre"
simulated = true
components = [{{ name = "spindle_bearing", kind = "bearing", mean_life_h = 2000 }}]
modbus = {{ host = "127.0.0.1", port = 0, unit_id = 1, poll_interval_s = 0.2 }}
tags = [
  {{ name = "spindle_temp", unit = "Cel", address = {{ kind = "holding", address = 0, \
data_type = "float32" }} }},
  {{ name = "motor_current", unit = "A", address = {{ kind = "holding", address = 2, \
data_type = "uint16" }}, scale = 0.01 }},
]

[[site.printers]]
id = "am-1"
name = "Laser powder-bed printer"
simulated = true
opcua = {{ url = "opc.tcp://127.0.0.1:0/printer", security_policy = "None", \
security_mode = "None" }}

[ledger]
batch_max_size = 2
batch_max_age_s = 1

[maintenance]
scoring_interval_s = 600

[[maintenance.spare_parts]]
component = "spindle_bearing"
design_id = "{DESIGN}"
print_hours = 18
logistics_hours = 30
"""
"""One simulated machine, one simulated printer, small and quick batches, no scoring to speak of
(so every order comes from the test's MES)."""

_LISTENING = re.compile(r"OPC UA server listening on (opc\.tcp://\S+)")


@dataclass(frozen=True, slots=True)
class CrashSite:
    """The site under test: its config file, data directory, environment and MES certificate."""

    config: Path
    data_dir: Path
    env: dict[str, str]
    key: SiteKey
    mes_cert: tuple[Path, Path]
    logs: Path

    def store(self, name: str) -> Path:
        """One of the site's SQLite files in its data directory."""
        return self.data_dir / name


async def prepare_site(folder: Path) -> CrashSite:
    """Write the config and the design; register the design with a licence (what the OEM does
    with `trustfloor design register`), which deploys the ledger on the site's local chain."""
    config = folder / "site.toml"
    config.write_text(SITE_TOML, encoding="utf-8")
    key = SiteKey.generate()
    env = os.environ | {
        KEY_ENV: key.secret_hex(),
        PASSWORD_ENV: PASSWORDS["mes"],
        "PYTHONUNBUFFERED": "1",
    }
    site = CrashSite(
        config, folder / "var", env, key, make_client_certificate(folder / "mes"), folder / "logs"
    )
    site.logs.mkdir()
    design = site.data_dir / "designs" / DESIGN / REVISION
    write_demo_design(design, DESIGN, REVISION, "Spindle bearing housing")
    settings = load_settings(config, check_secrets=False)
    registered = await design_register(
        settings, design, licensee=key.address, quota=LICENCE_QUOTA, environ=env
    )
    assert registered.exit_code == 0, registered.output
    return site


class ServerProcess:
    """`trustfloor serve` in its own process group (anvil in one of its own), its output in a log
    file."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path, data_dir: Path) -> None:
        self.process = process
        self.log = log
        self.data_dir = data_dir

    @classmethod
    async def start(cls, site: CrashSite, run: int) -> ServerProcess:
        log = site.logs / f"run-{run}.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "opcua_server.cli.main",
                "serve",
                "--config",
                str(site.config),
                "--data-dir",
                str(site.data_dir),
                cwd=REPO,
                env=site.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(process, log, site.data_dir)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def endpoint(self, timeout_s: float = 45.0) -> str:
        """The OPC UA endpoint, once the server says it listens."""
        async with asyncio.timeout(timeout_s):
            while not (match := _LISTENING.search(self.output())):
                if self.process.returncode is not None:
                    raise AssertionError("trustfloor serve exited early:\n" + self.output())
                await asyncio.sleep(0.1)
        return match.group(1)

    async def kill(self) -> None:
        """Power loss: SIGKILL to the local chain node (its own process group, named in the pid
        file) and to the whole process group of trustfloor."""
        node = read_pid_file(self.data_dir / "chain" / "anvil.pid")
        if node and any(str(self.data_dir) in arg for arg in command_line(node) or []):
            with suppress(ProcessLookupError):
                os.killpg(node, signal.SIGKILL)
        os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()

    async def terminate(self, timeout_s: float = 60.0) -> int:
        """SIGTERM (what an operator or systemd sends) and the exit status."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout_s)
        except TimeoutError:
            await self.kill()
            raise


async def create_order(site: CrashSite, endpoint: str, quantity: int) -> str:
    """What the MES does: CreatePrintOrder over a secure session; the new order's id."""
    client = await secure_client(endpoint, site.mes_cert, "mes", timeout_s=15)
    async with client:
        order_id = await call_method(
            client,
            "PrintOrders",
            "CreatePrintOrder",
            text(DESIGN),
            ua.Variant(quantity, ua.VariantType.UInt32),
            text("crash-safety test"),
        )
    return str(order_id)


# ---------------------------------------------------------------------- what the stores hold


@dataclass(frozen=True, slots=True)
class Certificate:
    """A certificate leaf as stored: its hash, verdict, and the batch root once sealed."""

    leaf_hash: bytes
    verdict: str
    root: bytes | None


@dataclass(frozen=True, slots=True)
class Batch:
    """A sealed batch: its state and, once anchored, the receipt's transaction and block."""

    state: str
    tx_hash: str | None
    block: int | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the site's stores held at one moment, read with read-only SQLite connections."""

    readings: frozenset[tuple[str, str, int]]
    orders: dict[str, str]
    quantities: dict[str, int]
    jobs: dict[str, tuple[str, str]]
    """serial -> (order id, ledger job state)"""
    certificates: dict[str, Certificate]
    batches: dict[bytes, Batch]
    chain_saved_block: int
    """The newest block in the local chain's state file: what survives a kill of the node."""


@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to one of the site's SQLite files (WAL: readers never block)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
        yield db


def snapshot(site: CrashSite, chain_saved_block: int = 0) -> Snapshot:
    with read_only(site.store("telemetry.sqlite")) as db:
        readings = frozenset(
            db.execute(
                "SELECT p.machine, p.tag, r.ts_us FROM readings r JOIN points p ON p.id = r.point"
            ).fetchall()
        )
    with read_only(site.store("orders.sqlite")) as db:
        rows = db.execute("SELECT seq, state, quantity FROM orders").fetchall()
    with read_only(site.store("ledger.sqlite")) as db:
        jobs = db.execute(
            "SELECT serial, json_extract(job, '$.order_id'), state FROM jobs"
        ).fetchall()
        leaves = db.execute(
            "SELECT l.serial, l.leaf_hash, json_extract(l.body, '$.verdict'), b.root"
            " FROM leaves l LEFT JOIN batches b ON b.id = l.batch_id WHERE l.kind = 'certificate'"
        ).fetchall()
        batches = db.execute("SELECT root, state, receipt FROM batches").fetchall()
    return Snapshot(
        readings=readings,
        orders={order_id_of(seq): state for seq, state, _ in rows},
        quantities={order_id_of(seq): quantity for seq, _, quantity in rows},
        jobs={serial: (order, state) for serial, order, state in jobs},
        certificates={
            serial: Certificate(bytes(leaf), verdict, None if root is None else bytes(root))
            for serial, leaf, verdict, root in leaves
        },
        batches={bytes(root): _batch(state, receipt) for root, state, receipt in batches},
        chain_saved_block=chain_saved_block,
    )


def _batch(state: str, receipt: str | None) -> Batch:
    if receipt is None:
        return Batch(state, None, None)
    fields = json.loads(receipt)
    return Batch(state, str(fields["tx_hash"]), int(fields["block_number"]))


def chain_saved_block(site: CrashSite, previous: int) -> int:
    """The block number anvil last dumped to its state file (``previous`` while it writes it)."""
    try:
        state = json.loads((site.data_dir / "chain" / "anvil-state.json").read_text("utf-8"))
        return int(state["best_block_number"])
    except (OSError, ValueError, KeyError, TypeError):
        return previous


def stages(now: Snapshot, earlier: Snapshot) -> frozenset[str]:
    """The stages under way in ``now`` (``earlier``: a poll a moment before, to see ingest)."""
    found = set()
    if len(now.readings) > len(earlier.readings):
        found.add("ingest")
    if any(state in ("created", "dispatched") for state in now.orders.values()):
        found.add("dispatch")
    job_states = {state for _, state in now.jobs.values()}
    if "printing" in job_states:
        found.add("printing")
    if "finished" in job_states or any(c.root is None for c in now.certificates.values()):
        found.add("sealing")
    if any(_anchor_at_risk(b, now.chain_saved_block) for b in now.batches.values()):
        found.add("anchoring")
    return frozenset(found)


def _anchor_at_risk(batch: Batch, saved_block: int) -> bool:
    """Sealed but not anchored, or anchored in a block the chain node has not saved yet."""
    return batch.state != "anchored" or (batch.block or 0) > saved_block


def open_orders(now: Snapshot) -> list[str]:
    """Orders not closed yet (created, dispatched, printing, printed)."""
    return [order for order, state in now.orders.items() if state not in FINAL_ORDER_STATES]


# ---------------------------------------------------------------------- what the chain holds

ANCHORED_TOPIC = "0x" + keccak(text="Anchored(bytes32,address,uint64,uint64)").hex()
"""The ledger's (version 2) anchor event: root and issuer indexed, then size and sequence."""


@dataclass(frozen=True, slots=True)
class Anchor:
    """One Anchored event of the ledger contract."""

    root: bytes
    issuer: str
    tx_hash: str
    block: int


@dataclass(frozen=True, slots=True)
class ChainView:
    """The ledger contract as the site's chain node serves it now."""

    anchors: list[Anchor]
    """Every Anchored event, in chain order (a root anchored twice would appear twice)."""
    licence_used: int
    """Pieces of the design the contract counted against the site's licence."""


async def read_chain(site: CrashSite) -> ChainView:
    """Read the running site's chain node: every Anchored event and the site's licence."""
    chain_dir = site.data_dir / "chain"
    endpoint = node_endpoint(chain_dir)
    contract = str(json.loads((chain_dir / "deployment.json").read_text("utf-8"))["contract"])
    logs = await ipc_rpc(
        endpoint,
        "eth_getLogs",
        {"address": contract, "fromBlock": "0x0", "toBlock": "latest", "topics": [ANCHORED_TOPIC]},
    )
    client = await ChainClient.connect(
        endpoint, 31337, SiteKey.generate().secret_hex(), contract_address=contract
    )
    async with client:
        licence = await client.licence(design_key(DESIGN, REVISION), site.key.address)
    return ChainView([_anchor(log) for log in logs], licence.used)


def _anchor(log: dict[str, Any]) -> Anchor:
    """An Anchored(bytes32 indexed root, address indexed issuer, uint64, uint64) log (Solidity ABI,
    "Events")."""
    _, root, issuer = log["topics"]
    return Anchor(
        root=bytes.fromhex(root[2:]),
        issuer="0x" + issuer[-40:],
        tx_hash=str(log["transactionHash"]),
        block=int(log["blockNumber"], 16),
    )
