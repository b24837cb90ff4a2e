"""A real VictoriaMetrics (Debian package) on 127.0.0.1: start, stop, pause, and read data back."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.integration.historian.kit import Samples, sample_count
from tests.support import WAIT_S, free_port, wait_for

StartVictoria = Callable[..., Awaitable["VictoriaMetrics"]]
"""The ``start_victoria`` fixture: ``await start_victoria(dedup=False)``."""
BINARY = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"


class VictoriaMetrics:
    """One victoria-metrics process speaking the InfluxDB v2 write API at ``url``.

    With ``dedup`` it keeps one sample per series and millisecond
    (``-dedup.minScrapeInterval=1ms``), as InfluxDB keeps one point per series and timestamp;
    without it every sample written is kept, so a resent batch shows up twice.
    """

    def __init__(self, storage: Path, *, port: int | None = None, dedup: bool = False) -> None:
        self.storage = storage
        self.port = port or free_port()
        self.dedup = dedup
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        args = [
            BINARY,
            f"-storageDataPath={self.storage}",
            f"-httpListenAddr=127.0.0.1:{self.port}",
            "-retentionPeriod=1",
            "-search.latencyOffset=1s",
        ]
        return [*args, "-dedup.minScrapeInterval=1ms"] if self.dedup else args

    async def start(self, timeout_s: float = 30.0) -> None:
        """Start it and wait until ``/health`` answers."""
        self.storage.mkdir(parents=True, exist_ok=True)
        with (self.storage / "victoria.log").open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                *self.command(), stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log
            )
        await wait_for(self._healthy_while_running, timeout_s=timeout_s, poll_s=0.05)

    async def stop(self) -> None:
        """SIGTERM (after SIGCONT, in case it is paused) and wait for it to exit."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGCONT)
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()

    def pause(self) -> None:
        """SIGSTOP: connections are accepted by the kernel but never answered."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    async def samples(self, machine: str) -> Samples:
        """Every sample of every ``telemetry_*`` series of ``machine`` (flushed first)."""
        await self._get("/internal/force_flush")
        query = urllib.parse.urlencode(
            {"match[]": f'{{__name__=~"telemetry_.*",machine="{machine}"}}'}
        )
        text = await self._get(f"/api/v1/export?{query}")
        series: Samples = {}
        for line in text.splitlines():
            item: dict[str, Any] = json.loads(line)
            name = f"{item['metric']['__name__']}/{item['metric']['tag']}"
            pairs = zip(item["timestamps"], item["values"], strict=True)
            series.setdefault(name, []).extend((int(ts), float(v)) for ts, v in pairs)
        return {name: sorted(values) for name, values in series.items()}

    async def count(self, metric: str) -> int:
        """Samples of ``metric`` over every series it has (flushed first)."""
        await self._get("/internal/force_flush")
        query = urllib.parse.urlencode({"match[]": f'{{__name__="{metric}"}}'})
        text = await self._get(f"/api/v1/export?{query}")
        return sum(len(json.loads(line)["timestamps"]) for line in text.splitlines())

    async def samples_once_searchable(
        self, machine: str, expected: int, timeout_s: float = WAIT_S
    ) -> Samples:
        """The samples of ``machine`` once at least ``expected`` of them are searchable.

        The server makes fresh samples searchable after ``-search.latencyOffset`` (a second)
        or a little more on a busy machine; waiting for the count, not for a time, keeps a test
        deterministic. What the server holds is returned as is, for the test to compare: more
        than ``expected``, or after ``timeout_s`` fewer.
        """
        try:
            return await wait_for(
                lambda: self.samples(machine),
                lambda samples: sample_count(samples) >= expected,
                timeout_s=timeout_s,
                poll_s=0.1,
            )
        except TimeoutError:
            return await self.samples(machine)

    def log_tail(self) -> str:
        log = self.storage / "victoria.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

    def _signal(self, signum: int) -> None:
        if self._process is None:
            raise RuntimeError("victoria-metrics is not running")
        self._process.send_signal(signum)

    async def _healthy_while_running(self) -> bool:
        if self._process is None or self._process.returncode is not None:
            raise RuntimeError(f"victoria-metrics exited: {self.log_tail()}")
        return await self._healthy()

    async def _healthy(self) -> bool:
        try:
            return await self._get("/health") == "OK"
        except OSError:
            return False

    async def _get(self, path: str) -> str:
        return await asyncio.to_thread(_fetch, self.url + path)


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return str(answer.read().decode())
