"""OPC UA benchmark: reads/s, notifications/s, start-to-ready; trustfloor, asyncua, node-opcua."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from asyncua import Client, Server, ua
from asyncua.crypto import cert_gen
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography.x509.oid import ExtendedKeyUsageOID

from config import Settings
from models import Machine, good
from opcua_server.fastpath import PATCHES, install_fast_path, quiet_startup, thaw
from opcua_server.model.namespaces import SITE
from opcua_server.server import TrustfloorServer, free_port

REPO = Path(__file__).resolve().parents[1]
NODE_SERVER = REPO / "tests" / "peers" / "nodeopcua_bench_server.mjs"
SUBSCRIBER = REPO / "bench" / "nodeopcua_subscriber.mjs"
READY_LINE_LIMIT = 1 << 24
"""Bytes a server's ready line may take (it lists every node id: 10,000 of them in saturation)."""
SATURATION_KINDS = ("trustfloor", "nodeopcua")
"""Servers of the saturation case, both consumed by the same node-opcua subscriber."""
PER_OBJECT = 100
"""Variables per object (asyncua slows down with every sibling under one parent)."""

BENCH_URI = "urn:trustfloor:bench"
PASSWORD_ENV = "TRUSTFLOOR_BENCH_PASSWORD"
BENCH_PASSWORD = "bench-secret-1"
CLIENT_URI = "urn:trustfloor:bench:client"
PUBLISHING_MS = 100.0
SLICES = 10
"""Variables change in ten interleaved slices, one slice per tenth of the change period."""
QUIET_STARTUP = "quiet_startup"
"""The fast path's start-up part (a context around start, not a patch)."""

KINDS = ("trustfloor", "trustfloor-secure", "asyncua", "nodeopcua")
"""Servers in the order they are measured; ``trustfloor-secure`` runs with ``--secure``."""


# --- the server side: one process per server, commanded through stdin ---


class BenchServer(Protocol):
    """What a server process exposes to the client side and to its change loop."""

    endpoint: str
    namespace_uri: str
    node_ids: list[str]

    async def change(self, tick: int) -> None: ...

    async def stop(self) -> None: ...


def bench_machines(items: int) -> list[Machine]:
    """``items`` float32 tags, one machine (one OPC UA object) per 100 of them."""
    machines = []
    for first in range(0, items, PER_OBJECT):
        tags = [
            {"name": f"t{n:03d}", "address": {"address": 2 * n, "data_type": "float32"}}
            for n in range(min(PER_OBJECT, items - first))
        ]
        spec = {"id": f"m{first // PER_OBJECT:03d}", "modbus": {"port": 502}, "tags": tags}
        machines.append(Machine.model_validate(spec))
    return machines


def trustfloor_settings(data_dir: Path, items: int, *, secure: bool) -> Settings:
    """No security (the service layer is measured) or Basic256Sha256 SignAndEncrypt + a user."""
    policies = ["Basic256Sha256"] if secure else ["None"]
    users = [{"name": "bench", "role": "mes", "password_env": PASSWORD_ENV}]
    server = {
        "host": "127.0.0.1",
        "port": 0,
        "security_policies": policies,
        "allow_insecure": not secure,
        "trust_unknown_clients": True,
        "metrics_port": None,
        "users": users,
    }
    machines = [m.model_dump(mode="json") for m in bench_machines(items)]
    raw = {"data_dir": str(data_dir), "server": server, "site": {"machines": machines}}
    return Settings.model_validate(raw)


@dataclass(slots=True)
class TrustfloorBench:
    """The trustfloor server, changed through its publish path like the ingest bus does."""

    server: TrustfloorServer
    points: list[tuple[str, str]]
    endpoint: str
    node_ids: list[str]
    constructed_at: float
    namespace_uri: str = SITE

    @classmethod
    async def start(cls, args: argparse.Namespace) -> TrustfloorBench:
        settings = trustfloor_settings(Path(args.data_dir), args.items, secure=args.secure)
        fast = fast_path_names(args.fast_path)
        constructed_at = time.time()
        server = TrustfloorServer(settings, {PASSWORD_ENV: BENCH_PASSWORD})
        install_fast_path(server.ua_server, [name for name in fast if name in PATCHES])
        with quiet_startup() if QUIET_STARTUP in fast else nullcontext():
            await server.start()
        assert server.address_space is not None
        points = [(m.id, t.name) for m in settings.site.machines for t in m.tags]
        node_ids = [str(server.address_space.node_id(m, t).Identifier) for m, t in points]
        bench = cls(server, points, server.endpoint, node_ids, constructed_at)
        for tick in range(SLICES):  # every value Good before the first Read
            await bench.change(tick)
        return bench

    async def change(self, tick: int) -> None:
        now = datetime.now(UTC)
        first = tick % SLICES
        readings = [
            good(machine, tag, now, tick + index / 1000)
            for index, (machine, tag) in enumerate(self.points[first::SLICES], first)
        ]
        await self.server.publish(readings)

    async def stop(self) -> None:
        await self.server.stop()
        thaw()


@dataclass(slots=True)
class AsyncuaBench:
    """A bare asyncua server with the same variables, changed by ``write_attribute_value``."""

    server: Server
    nodes: list[ua.NodeId]
    endpoint: str
    namespace_uri: str = BENCH_URI
    node_ids: list[str] = field(default_factory=list)

    @classmethod
    async def start(cls, args: argparse.Namespace) -> AsyncuaBench:
        server = Server()
        await server.init()
        port = free_port()
        endpoint = f"opc.tcp://127.0.0.1:{port}/bench"
        server.set_endpoint(endpoint)
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        namespace = await server.register_namespace(BENCH_URI)
        nodes = await add_bench_variables(server, namespace, args.items)
        await server.start()
        return cls(server, nodes, endpoint, node_ids=[str(n.Identifier) for n in nodes])

    async def change(self, tick: int) -> None:
        now = datetime.now(UTC)
        first = tick % SLICES
        for index, node in enumerate(self.nodes[first::SLICES], first):
            value = ua.Variant(tick + index / 1000, ua.VariantType.Double)
            await self.server.write_attribute_value(
                node, ua.DataValue(value, SourceTimestamp=now, ServerTimestamp=now)
            )

    async def stop(self) -> None:
        await self.server.stop()


async def add_bench_variables(server: Server, namespace: int, items: int) -> list[ua.NodeId]:
    """``Bench/o<k>/v<i>`` Double variables, one object per 100, as the node-opcua peer has."""
    nodes: list[ua.NodeId] = []
    parent = None
    for index in range(items):
        number = index // PER_OBJECT
        if index % PER_OBJECT == 0:
            object_id = ua.NodeId(f"Bench/o{number}", namespace)
            parent = await server.nodes.objects.add_object(object_id, f"o{number}")
        node_id = ua.NodeId(f"Bench/o{number}/v{index}", namespace)
        assert parent is not None
        await parent.add_variable(node_id, f"v{index}", ua.Variant(0.0, ua.VariantType.Double))
        nodes.append(node_id)
    return nodes


@dataclass(slots=True)
class Changer:
    """Changes every variable once per period, a tenth of them at a time, while switched on."""

    change: Callable[[int], Awaitable[None]]
    period_s: float
    task: asyncio.Task[None] | None = None

    def switch(self, on: bool) -> None:
        if on and self.task is None:
            self.task = asyncio.create_task(self._run(), name="bench-changer")
        elif not on and self.task is not None:
            self.task.cancel()
            self.task = None

    async def _run(self) -> None:
        started, tick, step_s = time.perf_counter(), 0, self.period_s / SLICES
        while True:
            await self.change(tick)
            tick += 1
            await asyncio.sleep(max(0.0, started + tick * step_s - time.perf_counter()))


async def follow_commands(changer: Changer) -> None:
    """``change`` / ``still`` lines switch the changer; the end of stdin returns."""
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        changer.switch(line.strip() == "change")
    changer.switch(False)


async def serve(args: argparse.Namespace) -> None:
    started: BenchServer
    if args.serve == "trustfloor":
        started = await TrustfloorBench.start(args)
        extra = {"constructed_at": started.constructed_at}
    else:
        started = await AsyncuaBench.start(args)
        extra = {}
    ready = {
        "endpoint": started.endpoint,
        "namespace_uri": started.namespace_uri,
        "node_ids": started.node_ids,
        **extra,
    }
    print("READY " + json.dumps(ready), flush=True)
    await follow_commands(Changer(started.change, args.change_ms / 1000))
    await started.stop()


# --- the client side: the bench process, one asyncua client per server ---


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class ServerProcess:
    """A benchmarked server in its own process, and what its ready line said."""

    process: asyncio.subprocess.Process
    ready: dict[str, Any]

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def command(self, line: str) -> None:
        """Send ``change`` or ``still`` to the server process."""
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")


def server_command(kind: str, args: argparse.Namespace, data_dir: Path) -> list[str]:
    if kind == "nodeopcua":
        return ["node", str(NODE_SERVER), "0", str(args.items), str(args.change_ms), str(data_dir)]
    serve = "asyncua" if kind == "asyncua" else "trustfloor"
    command = [sys.executable, "-m", "bench.opcua", "--serve", serve, "--items", str(args.items)]
    command += ["--change-ms", str(args.change_ms), "--data-dir", str(data_dir)]
    command += ["--fast-path", args.fast_path]
    return command + (["--secure"] if kind == "trustfloor-secure" else [])


@asynccontextmanager
async def running_server(
    kind: str, args: argparse.Namespace, folder: Path
) -> AsyncIterator[ServerProcess]:
    data_dir = folder / kind
    data_dir.mkdir()
    process = await asyncio.create_subprocess_exec(
        *server_command(kind, args, data_dir),
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        limit=READY_LINE_LIMIT,
    )
    assert process.stdout is not None
    try:
        ready = await asyncio.wait_for(read_ready(process.stdout), 300)
        server = ServerProcess(process, ready)
        yield server
    finally:
        if process.returncode is None:
            if process.stdin is not None:
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def read_ready(stdout: asyncio.StreamReader) -> dict[str, Any]:
    while line := await stdout.readline():
        if line.startswith(b"READY "):
            ready: dict[str, Any] = json.loads(line[len(b"READY ") :])
            return ready
    raise RuntimeError("the server process ended before it was ready")


async def client_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "client.der", folder / "client_key.pem"
    await cert_gen.setup_self_signed_certificate(
        key, cert, CLIENT_URI, "localhost", [ExtendedKeyUsageOID.CLIENT_AUTH], {}
    )
    return cert, key


async def connected_client(
    endpoint: str, secure_cert: tuple[Path, Path] | None, *, login: bool
) -> Client:
    """An asyncua client: anonymous, or the bench user (trustfloor refuses anonymous sessions)."""
    client = Client(endpoint, timeout=30)
    if secure_cert is not None:
        client.application_uri = CLIENT_URI
        await client.set_security(
            SecurityPolicyBasic256Sha256,
            certificate=str(secure_cert[0]),
            private_key=str(secure_cert[1]),
            mode=ua.MessageSecurityMode.SignAndEncrypt,
        )
    if login:
        client.set_user("bench")
        client.set_password(BENCH_PASSWORD)
    await client.connect()
    return client


async def node_ids_of(client: Client, ready: dict[str, Any]) -> list[ua.NodeId]:
    namespace = await client.get_namespace_index(ready["namespace_uri"])
    return [ua.NodeId(identifier, namespace) for identifier in ready["node_ids"]]


def rounds_of(seconds: float) -> int:
    return max(3, round(seconds))


def read_parameters(nodes: Sequence[ua.NodeId]) -> ua.ReadParameters:
    params = ua.ReadParameters()
    for node in nodes:
        item = ua.ReadValueId()
        item.NodeId = node
        item.AttributeId = ua.AttributeIds.Value
        params.NodesToRead.append(item)
    return params


class CountingHandler:
    """Counts data-change notifications as the asyncua client delivers them."""

    def __init__(self) -> None:
        self.count = 0
        self.bad = 0

    def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
        self.count += 1
        if not data.monitored_item.Value.StatusCode.is_good():
            self.bad += 1


@dataclass(slots=True)
class Peer:
    """One benchmarked server, its client and what was measured of it, round by round."""

    kind: str
    server: ServerProcess
    client: Client
    nodes: list[ua.NodeId]
    start_to_ready_s: float | None = None
    read_rates: list[float] = field(default_factory=list)
    note_rates: list[float] = field(default_factory=list)
    read_cpu_s: float = 0.0
    values_read: int = 0
    note_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    notes_counted: int = 0
    bad_values: int = 0
    handler: CountingHandler = field(default_factory=CountingHandler)
    subscription: Any = None

    async def read_round(self, params: ua.ReadParameters, round_s: float) -> None:
        """Read calls carrying every node, one after another, for ``round_s``."""
        values, cpu, started = 0, cpu_seconds(self.server.pid), time.perf_counter()
        while (elapsed := time.perf_counter() - started) < round_s:
            results = await self.client.uaclient.read(params)
            self.bad_values += sum(1 for r in results if not r.StatusCode.is_good())
            values += len(results)
        self.read_cpu_s += cpu_seconds(self.server.pid) - cpu
        self.values_read += values
        self.read_rates.append(values / elapsed)

    async def subscribe(self) -> None:
        """Every node, queue size 1 (latest value per publish), sampling as fast as possible."""
        self.subscription = await self.client.create_subscription(PUBLISHING_MS, self.handler)
        nodes = [self.client.get_node(n) for n in self.nodes]
        await self.subscription.subscribe_data_change(nodes, queuesize=1, sampling_interval=0.0)

    async def notification_round(self, round_s: float, warmup_s: float) -> None:
        """Notifications/s while the server changes its values, after ``warmup_s``."""
        self.server.command("change")
        try:
            await asyncio.sleep(warmup_s)
            count, cpu = self.handler.count, cpu_seconds(self.server.pid)
            started, client_cpu = time.perf_counter(), time.process_time()
            await asyncio.sleep(round_s)
            elapsed = time.perf_counter() - started
        finally:
            self.server.command("still")
        self.client_cpu_s += time.process_time() - client_cpu
        self.note_cpu_s += cpu_seconds(self.server.pid) - cpu
        self.notes_counted += self.handler.count - count
        self.note_rates.append((self.handler.count - count) / elapsed)

    def figures(self) -> Figures:
        return Figures(
            kind=self.kind,
            reads_per_s=statistics.median(self.read_rates),
            notifications_per_s=statistics.median(self.note_rates),
            read_cpu_us=1e6 * self.read_cpu_s / max(1, self.values_read),
            notification_cpu_us=1e6 * self.note_cpu_s / max(1, self.notes_counted),
            client_cpu_us=1e6 * self.client_cpu_s / max(1, self.notes_counted),
            start_to_ready_s=self.start_to_ready_s,
            bad_values=self.bad_values + self.handler.bad,
            read_rounds=[round(r) for r in self.read_rates],
            notification_rounds=[round(r) for r in self.note_rates],
        )


@dataclass(frozen=True, slots=True)
class Figures:
    """One server's medians, and its process's CPU per value read and per notification sent."""

    kind: str
    reads_per_s: float
    notifications_per_s: float
    read_cpu_us: float
    notification_cpu_us: float
    client_cpu_us: float
    start_to_ready_s: float | None
    bad_values: int
    read_rounds: list[float]
    notification_rounds: list[float]


@asynccontextmanager
async def peer(kind: str, args: argparse.Namespace, folder: Path) -> AsyncIterator[Peer]:
    """A started server of ``kind`` with a connected asyncua client."""
    cert = await client_certificate(folder) if kind == "trustfloor-secure" else None
    async with running_server(kind, args, folder) as server:
        login = kind.startswith("trustfloor")
        client = await connected_client(server.ready["endpoint"], cert, login=login)
        started = server.ready.get("constructed_at")
        ready_s = None if started is None else time.time() - started
        measured = Peer(kind, server, client, [], start_to_ready_s=ready_s)
        try:
            measured.nodes = await node_ids_of(client, server.ready)
            yield measured
        finally:
            if measured.subscription is not None:
                await measured.subscription.delete()
            await client.disconnect()


async def measure(peers: Sequence[Peer], seconds: float) -> None:
    """Round-robin rounds, so that the machine's other load falls on every server alike."""
    rounds, round_s = rounds_of(seconds), seconds / rounds_of(seconds)
    params = {p.kind: read_parameters(p.nodes) for p in peers}
    for _ in range(rounds):
        for each in peers:
            await each.read_round(params[each.kind], round_s)
    for each in peers:
        await each.subscribe()
    await asyncio.sleep(1.0)  # initial values
    for _ in range(rounds):
        for each in peers:
            await each.notification_round(round_s, warmup_s=0.5)


# --- saturation: many monitored items changing faster than a server can report them ---


@dataclass(frozen=True, slots=True)
class Saturation:
    """What one server delivered to the node-opcua subscriber, and the CPU both spent."""

    notifications_per_s: float
    server_cpu_us_per_notification: float
    client_cpu_us_per_notification: float


async def saturation_case(kind: str, args: argparse.Namespace, folder: Path) -> Saturation:
    """``--saturation-items`` variables changed every ``--saturation-ms`` and monitored at that
    rate by one node-opcua client; notifications/s delivered and CPU per notification."""
    sized = argparse.Namespace(
        **{**vars(args), "items": args.saturation_items, "change_ms": args.saturation_ms}
    )
    async with running_server(kind, sized, folder / "saturation") as server:
        login = kind.startswith("trustfloor")
        client = await connected_client(server.ready["endpoint"], None, login=login)
        try:
            nodes = [n.to_string() for n in await node_ids_of(client, server.ready)]
        finally:
            await client.disconnect()
        request = {
            "endpoint": server.ready["endpoint"],
            "user": "bench" if login else None,
            "password": BENCH_PASSWORD,
            "nodeIds": nodes,
            "publishingMs": args.saturation_ms,
            "seconds": args.seconds,
        }
        return await subscribed(server, request)


async def subscribed(server: ServerProcess, request: dict[str, Any]) -> Saturation:
    """Run the node-opcua subscriber against ``server`` while the server changes its values."""
    process = await asyncio.create_subprocess_exec(
        "node",
        str(SUBSCRIBER),
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(json.dumps(request).encode() + b"\n")
        await asyncio.wait_for(line_starting(process.stdout, b"READY"), 300)
        server.command("change")
        await asyncio.sleep(1.0)
        cpu = cpu_seconds(server.pid)
        process.stdin.write(b"go\n")
        result = json.loads(await asyncio.wait_for(line_starting(process.stdout, b"{"), 600))
        server_cpu = cpu_seconds(server.pid) - cpu
        server.command("still")
    finally:
        process.stdin.close()
        await process.wait()
    count = max(1, result["notifications"])
    return Saturation(
        notifications_per_s=result["notifications"] / result["seconds"],
        server_cpu_us_per_notification=1e6 * server_cpu / count,
        client_cpu_us_per_notification=1e6 * result["client_cpu_s"] / count,
    )


async def line_starting(stdout: asyncio.StreamReader, start: bytes) -> bytes:
    """The first line that starts with ``start`` (node-opcua prints its warnings on stdout)."""
    while line := await stdout.readline():
        if line.startswith(start):
            return line
    raise RuntimeError("the node-opcua subscriber ended early")


async def saturation(args: argparse.Namespace) -> dict[str, Saturation]:
    with tempfile.TemporaryDirectory(prefix="trustfloor-bench-opcua-") as folder:
        (Path(folder) / "saturation").mkdir()
        return {kind: await saturation_case(kind, args, Path(folder)) for kind in SATURATION_KINDS}


def fast_path_names(choice: str) -> list[str]:
    if choice == "all":
        return [*PATCHES, QUIET_STARTUP]
    if choice == "none":
        return []
    return [name.strip() for name in choice.split(",") if name.strip()]


async def run(args: argparse.Namespace) -> dict[str, Figures]:
    with tempfile.TemporaryDirectory(prefix="trustfloor-bench-opcua-") as folder:
        async with AsyncExitStack() as stack:
            peers = [
                await stack.enter_async_context(peer(kind, args, Path(folder)))
                for kind in args.servers
            ]
            await measure(peers, args.seconds)
    return {p.kind: p.figures() for p in peers}


# --- output ---


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def report(measured: dict[str, Figures], args: argparse.Namespace) -> Iterator[str]:
    offered = args.items * 1000 / max(args.change_ms, PUBLISHING_MS)
    yield (
        f"OPC UA benchmark: {args.items} Double variables (one object per {PER_OBJECT}), "
        f"{args.seconds:g} s per figure: median of {rounds_of(args.seconds)} rounds, "
        "taken round-robin across the servers"
    )
    yield (
        "  each server runs in its own process; the asyncua client runs in this one "
        f"({os.cpu_count()} cores, shared: compare ratios within one run)"
    )
    yield (
        f"  reads: {args.items} values per Read call; notifications: {args.items} monitored items, "
        f"{PUBLISHING_MS:g} ms publishing, queue 1; the server changes each value every "
        f"{args.change_ms:g} ms, a tenth of them every {args.change_ms / SLICES:g} ms "
        f"(at most {offered:,.0f}/s can be delivered)"
    )
    yield f"  trustfloor fast path: {args.fast_path}"
    yield ""
    yield "  server CPU: the server process's CPU time per value read / per notification delivered"
    yield "  (the latter includes its own variable changes)"
    yield ""
    yield f"  {'server':<19}{'reads/s':>10}{'notif/s':>10}{'µs/read':>10}{'µs/notif':>10}"
    for f in measured.values():
        yield (
            f"  {f.kind:<19}{f.reads_per_s:>10,.0f}{f.notifications_per_s:>10,.0f}"
            f"{f.read_cpu_us:>10.1f}{f.notification_cpu_us:>10.1f}"
            + (f"   ({f.bad_values} values not Good)" if f.bad_values else "")
        )
    yield ""
    yield from ratios(measured)


def ratios(measured: dict[str, Figures]) -> Iterator[str]:
    ours = measured.get("trustfloor")
    if ours is None:
        return
    for other in ("nodeopcua", "asyncua"):
        if other in measured:
            theirs = measured[other]
            yield (
                f"  trustfloor/{other:<10} reads {ratio(ours.reads_per_s, theirs.reads_per_s)}"
                f"   notifications {ratio(ours.notifications_per_s, theirs.notifications_per_s)}"
            )
    if ours.start_to_ready_s is not None:
        yield f"  trustfloor start-to-ready {ours.start_to_ready_s:.2f} s (goal <= 3 s)"


def as_json(measured: dict[str, Figures]) -> dict[str, Any]:
    prefixes = {"trustfloor": "trustfloor", "asyncua": "asyncua", "nodeopcua": "nodeopcua"}
    out: dict[str, Any] = {}
    for kind, prefix in prefixes.items():
        if kind in measured:
            out[f"{prefix}_reads_per_s"] = round(measured[kind].reads_per_s, 1)
            out[f"{prefix}_notifications_per_s"] = round(measured[kind].notifications_per_s, 1)
    ready_s = measured["trustfloor"].start_to_ready_s if "trustfloor" in measured else None
    if ready_s is not None:
        out["start_to_ready_s"] = round(ready_s, 3)
    if "trustfloor-secure" in measured:
        secure = measured["trustfloor-secure"]
        out["trustfloor_secure_reads_per_s"] = round(secure.reads_per_s, 1)
        out["trustfloor_secure_notifications_per_s"] = round(secure.notifications_per_s, 1)
    out["details"] = {kind: asdict(figures) for kind, figures in measured.items()}
    return out


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.opcua", description=__doc__)
    parser.add_argument("--items", type=int, default=1000, help="variables read and monitored")
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time per figure")
    parser.add_argument(
        "--change-ms", type=float, default=100.0, help="each variable changes once per this"
    )
    parser.add_argument(
        "--servers",
        type=lambda s: s.split(","),
        default=list(KINDS),
        help=f"comma-separated, from {','.join(KINDS)} (default: all)",
    )
    parser.add_argument(
        "--fast-path",
        default="all",
        help=f"trustfloor's fast path: all, none, or names from {','.join(PATCHES)},"
        f"{QUIET_STARTUP} (to measure each)",
    )
    parser.add_argument(
        "--saturation",
        choices=("no", "also", "only"),
        default="no",
        help="the saturation case (trustfloor and node-opcua, one node-opcua subscriber)",
    )
    parser.add_argument("--saturation-items", type=int, default=10_000)
    parser.add_argument("--saturation-ms", type=float, default=50.0, help="change and sampling")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--serve", choices=("trustfloor", "asyncua"), help=argparse.SUPPRESS)
    parser.add_argument("--secure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    if args.serve is not None:
        asyncio.run(serve(args))
        return
    logging.getLogger("asyncua").setLevel(logging.ERROR)  # the client's notes on plain passwords
    measured = asyncio.run(run(args)) if args.saturation != "only" else {}
    saturated = asyncio.run(saturation(args)) if args.saturation != "no" else {}
    if args.json:
        out = {
            "measured": (
                f"reads and notifications of {args.items} variables per server"
                + (
                    f"; saturation: {args.saturation_items} items changed and sampled every "
                    f"{args.saturation_ms:g} ms, one node-opcua subscriber"
                    if saturated
                    else ""
                )
            ),
            "cores": os.cpu_count(),
        }
        print(json.dumps(out | as_json(measured) | saturation_json(saturated)))
    else:
        print("\n".join([*report(measured, args), *saturation_report(saturated, args)]))


def saturation_json(saturated: dict[str, Saturation]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, figures in saturated.items():
        out[f"{kind}_saturation_notifications_per_s"] = round(figures.notifications_per_s, 1)
        out[f"{kind}_cpu_us_per_notification"] = round(figures.server_cpu_us_per_notification, 2)
        out[f"{kind}_client_cpu_us_per_notification"] = round(
            figures.client_cpu_us_per_notification, 2
        )
    return out


def saturation_report(saturated: dict[str, Saturation], args: argparse.Namespace) -> Iterator[str]:
    if not saturated:
        return
    offered = args.saturation_items * 1000 / args.saturation_ms
    yield (
        f"saturation: {args.saturation_items} items changed every {args.saturation_ms:g} ms "
        f"(offered {offered:,.0f}/s), one node-opcua subscriber"
    )
    yield f"  {'server':<12}{'notif/s':>12}{'server µs/notif':>17}{'client µs/notif':>17}"
    for kind, f in saturated.items():
        yield (
            f"  {kind:<12}{f.notifications_per_s:>12,.0f}{f.server_cpu_us_per_notification:>17.1f}"
            f"{f.client_cpu_us_per_notification:>17.1f}"
        )


if __name__ == "__main__":
    main()
