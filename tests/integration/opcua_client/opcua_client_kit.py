"""Helpers of the OPC UA client tests: a collecting sink, a running connector, machine configs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from connectors.opcua_client import OpcUaConnector
from connectors.resilience import Backoff
from models import Quality, Reading
from models.machines import OpcUaMachine
from tests.support import REPO

NODE_SERVER = REPO / "tests" / "peers" / "nodeopcua_server.mjs"
PEER_START_S = 60.0

WAIT_S = 20.0
"""How long a test waits for a reading before failing (a deadline, never a measurement)."""


class CollectingSink:
    """Keeps every reading it is given, in order; tests wait on it for what they expect."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self._changed = asyncio.Condition()

    async def put(self, readings: Sequence[Reading]) -> None:
        async with self._changed:
            self.readings.extend(readings)
            self._changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[Reading], bool], *, after: int = 0, what: str = ""
    ) -> Reading:
        """The first reading from index ``after`` on that satisfies ``predicate``."""

        def found() -> Reading | None:
            return next((r for r in self.readings[after:] if predicate(r)), None)

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), WAIT_S)
            except TimeoutError:
                seen = [(r.tag, r.quality.value, r.value, r.reason) for r in self.readings[-10:]]
                raise AssertionError(f"no reading {what} within {WAIT_S}s; last: {seen}") from None
        reading = found()
        assert reading is not None
        return reading

    async def good(self, tag: str, *, after: int = 0, value: object = None) -> Reading:
        """The next Good reading of ``tag`` (with ``value``, when given)."""
        return await self.wait_for(
            lambda r: (
                r.tag == tag and r.quality is Quality.GOOD and (value is None or r.value == value)
            ),
            after=after,
            what=f"good {tag}={value}",
        )

    def latest(self, tag: str) -> Reading:
        return next(r for r in reversed(self.readings) if r.tag == tag)


@asynccontextmanager
async def running(connector: OpcUaConnector, sink: CollectingSink) -> AsyncIterator[None]:
    """Run ``connector`` into ``sink`` for the block, then cancel it and wait for it to end."""
    task = asyncio.create_task(connector.run(sink), name=connector.name)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def fast_backoff() -> Backoff:
    """Reconnect attempts 50 ms apart, at most 200 ms: tests see recovery quickly."""
    return Backoff(initial_s=0.05, max_s=0.2)


def machine(url: str, tags: Sequence[dict[str, Any]], **opcua: Any) -> OpcUaMachine:
    """An OPC UA machine config at ``url``; security None unless ``opcua`` says otherwise."""
    endpoint = {"url": url, "security_policy": "None", "security_mode": "None"} | opcua
    return OpcUaMachine.model_validate({"id": "m1", "opcua": endpoint, "tags": list(tags)})


def tag(name: str, node_id: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "node_id": node_id, "sampling_interval_ms": 50} | extra


class NodeOpcUaServer:
    """The node-opcua machine peer (tests/peers/nodeopcua_server.mjs) as a child process."""

    NAMESPACE = "urn:trustfloor:tests:nodeopcua-machine"
    SCRIPT = NODE_SERVER
    PATH = "machine"

    def __init__(self, port: int, pki_dir: Path, **options: Any) -> None:
        self.port = port
        self.url = f"opc.tcp://127.0.0.1:{port}/{self.PATH}"
        self._request = {"port": port, "pkiDir": str(pki_dir), "tickMs": 100} | options
        self._process: asyncio.subprocess.Process | None = None

    def node_id(self, name: str) -> str:
        return f"nsu={self.NAMESPACE};s={name}"

    async def start(self) -> None:
        """Start the peer and wait for its READY line (node-opcua starts in 1–3 s)."""
        self._process = await asyncio.create_subprocess_exec(
            "node",
            str(self.SCRIPT),
            json.dumps(self._request),
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert self._process.stdout is not None
        while True:
            line = await asyncio.wait_for(self._process.stdout.readline(), PEER_START_S)
            if not line:
                code = await self._process.wait()
                raise AssertionError(f"node-opcua server exited with {code} before READY")
            if line.startswith(b"READY "):
                assert int(line.split()[1]) == self.port
                return

    async def kill(self) -> None:
        """Kill the peer (SIGKILL: a crash, no goodbye to clients) and reap it."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        self._process = None

    async def __aenter__(self) -> NodeOpcUaServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.kill()
