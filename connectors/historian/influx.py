"""InfluxDB sink: readings spooled on disk, then written by a background task with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiohttp
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from influxdb_client.client.write_api_async import WriteApiAsync
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from config import InfluxSettings
from connectors.errors import HistorianError
from connectors.historian.errors import InfluxWriteError, SpoolError
from connectors.historian.lineprotocol import reading_lines
from connectors.historian.spool import Spool, SpoolBatch
from models import Clock, Reading, SystemClock

log = logging.getLogger(__name__)

QUEUE_DIR = "queue"
"""Folder under the data directory that holds the store-and-forward spools."""
_REJECTED_STATUSES = frozenset({400, 422})
"""HTTP statuses meaning "this data will never be accepted" (InfluxDB v2 write API)."""


@dataclass(slots=True)
class InfluxSinkStats:
    """Counters for metrics and the status line (since this sink started, except ``queued``)."""

    queued: int = 0
    """Readings on disk waiting for delivery (survives restarts)."""
    queued_bytes: int = 0
    accepted: int = 0
    """Readings ``put`` stored durably in the spool."""
    sent: int = 0
    """Readings the endpoint acknowledged."""
    retries: int = 0
    """Write attempts that failed and will be retried."""
    refused: int = 0
    """Readings ``put`` refused because the spool was full or unusable (never silently)."""
    rejected: int = 0
    """Readings the endpoint refused for good (HTTP 400/422), kept in the spool's rejected table."""
    last_error: str = ""
    last_error_at: datetime | None = None


class InfluxSink:
    """ReadingSink writing line protocol to an InfluxDB v2 ``/api/v2/write`` endpoint.

    ``put`` appends the readings to a disk spool (``<data_dir>/queue/<spool_file>``) and returns
    once they are durable, whether or not the endpoint is up; it never waits for the network.
    A background task sends the spool in order, up to ``batch_size`` readings per request
    (whole puts: a larger put goes alone; a partial batch after ``flush_interval_s``), and moves
    the spool's cursor only after the server accepted a batch. While the endpoint is down or
    slow it retries with exponential backoff (``retry_initial_s`` doubling up to
    ``retry_max_s``) and the spool grows, up to ``max_spool_mb``; beyond that ``put`` raises
    SpoolFullError (counted in ``refused``, logged).

    Delivery is at least once: a crash between the server's acceptance and the cursor's move
    resends that batch. InfluxDB keeps one point per (measurement, tag set, timestamp), so a
    resent batch overwrites itself; VictoriaMetrics does the same with
    ``-dedup.minScrapeInterval=1ms``.
    """

    def __init__(
        self,
        settings: InfluxSettings,
        data_dir: Path,
        *,
        token: str = "",
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.spool_path = data_dir / QUEUE_DIR / settings.spool_file
        self._token = token
        self._clock = clock or SystemClock()
        self._spool = Spool(self.spool_path, max_bytes=int(settings.max_spool_mb * 1024 * 1024))
        self._counts = InfluxSinkStats()
        self._changed = asyncio.Condition()
        self._stopping = False
        self._failing = False
        self._refusing = False
        self._client: InfluxDBClientAsync | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(
        cls,
        settings: InfluxSettings,
        data_dir: Path,
        environ: Mapping[str, str],
        *,
        clock: Clock | None = None,
    ) -> InfluxSink:
        """The sink ``[historian.influx]`` describes; the token comes from ``token_env``."""
        token = ""
        if settings.token_env is not None:
            token = environ.get(settings.token_env, "")
            if not token:
                raise HistorianError(
                    f"environment variable {settings.token_env} (historian.influx.token_env) "
                    "is not set",
                    advice=f"export {settings.token_env}=<InfluxDB API token> before starting",
                )
        return cls(settings, data_dir, token=token, clock=clock)

    @property
    def stats(self) -> InfluxSinkStats:
        """A snapshot of the counters."""
        return dataclasses.replace(
            self._counts, queued=self._spool.pending, queued_bytes=self._spool.pending_bytes
        )

    async def start(self) -> None:
        """Start delivering what the spool holds, including what a previous run left."""
        if self._task is not None:
            raise HistorianError("the InfluxDB sink is already running")
        self._client = InfluxDBClientAsync(
            url=self.settings.url,
            token=self._token,
            org=self.settings.org,
            timeout=int(self.settings.timeout_s * 1000),
        )
        self._stopping = False
        self._task = asyncio.create_task(
            self._deliver(self._client.write_api()), name=f"influx-sink:{self.settings.url}"
        )

    async def put(self, readings: Sequence[Reading]) -> None:
        """ReadingSink: spool ``readings`` durably; raises SpoolFullError when the spool is full."""
        if not readings:
            return
        try:
            await asyncio.to_thread(self._spool_readings, readings)
        except SpoolError as error:
            self._refused(len(readings), error)
            raise
        self._counts.accepted += len(readings)
        if self._refusing:
            self._refusing = False
            log.warning("InfluxDB spool accepts readings again (%d refused)", self._counts.refused)
        async with self._changed:
            self._changed.notify_all()

    async def close(self) -> None:
        """Stop delivering; a write in flight may finish (up to ``timeout_s``). The spool stays."""
        task, self._task = self._task, None
        if task is not None:
            async with self._changed:
                self._stopping = True
                self._changed.notify_all()
            done, _ = await asyncio.wait({task}, timeout=self.settings.timeout_s + 1)
            if not done:
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._client is not None:
            await self._client.close()  # type: ignore[no-untyped-call]  # unannotated upstream
            self._client = None
        self._spool.close()

    def _spool_readings(self, readings: Sequence[Reading]) -> None:
        self._spool.append(reading_lines(self.settings.measurement, readings))

    async def _deliver(self, write_api: WriteApiAsync) -> None:
        """Send the spool in order until closed; back off while the endpoint fails."""
        delay = self.settings.retry_initial_s
        while await self._wait_for_data(fill=delay == self.settings.retry_initial_s):
            batch = await asyncio.to_thread(self._spool.peek, self.settings.batch_size)
            if batch is None:
                continue
            try:
                await self._send(write_api, batch)
                await asyncio.to_thread(self._spool.ack, batch)
            except InfluxWriteError as error:
                if not error.retryable:
                    await self._set_aside(batch, error)
                    continue
                self._failed(error, delay)
            except SpoolError as error:
                self._failed(error, delay)
            else:
                self._delivered(batch.lines)
                delay = self.settings.retry_initial_s
                continue
            await self._pause(delay)
            delay = min(delay * 2, self.settings.retry_max_s)

    async def _wait_for_data(self, *, fill: bool) -> bool:
        """Wait for spooled readings (a full batch, or ``flush_interval_s``); False once closing.

        ``fill`` is False while retrying: the batch waiting for the endpoint goes out as is.
        """
        batch_size = self.settings.batch_size
        async with self._changed:
            await self._changed.wait_for(lambda: self._stopping or self._spool.pending > 0)
            if fill and not self._stopping and self._spool.pending < batch_size:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.flush_interval_s):
                        await self._changed.wait_for(
                            lambda: self._stopping or self._spool.pending >= batch_size
                        )
            return not self._stopping

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds`` unless the sink is closed meanwhile."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._changed.wait_for(lambda: self._stopping)

    async def _send(self, write_api: WriteApiAsync, batch: SpoolBatch) -> None:
        """One POST /api/v2/write of the batch (µs precision); third-party errors wrapped."""
        try:
            accepted = await write_api.write(
                bucket=self.settings.bucket,
                record=batch.body,
                write_precision=WritePrecision.US,  # type: ignore[arg-type]  # members are str
            )
        except ApiException as error:
            status = int(error.status) if error.status else None
            raise InfluxWriteError(
                f"{self.settings.url} answered HTTP {status}: {error.reason} {error.body or ''}",
                status=status,
                retryable=status not in _REJECTED_STATUSES,
            ) from error
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise InfluxWriteError(
                f"{self.settings.url} unreachable: {error!r}", status=None, retryable=True
            ) from error
        except Exception as error:  # the client's edge: anything else is retried, not fatal
            raise InfluxWriteError(
                f"writing to {self.settings.url} failed: {error!r}", status=None, retryable=True
            ) from error
        if not accepted:
            raise InfluxWriteError(
                f"{self.settings.url} answered an unexpected status", status=None, retryable=True
            )

    async def _set_aside(self, batch: SpoolBatch, error: InfluxWriteError) -> None:
        await asyncio.to_thread(self._spool.reject, batch, str(error))
        count = batch.lines
        self._counts.rejected += count
        self._note_error(error)
        log.error(
            "InfluxDB refused %d readings (spool seq %d..%d), kept in %s table 'rejected': %s",
            count,
            batch.first_seq,
            batch.last_seq,
            self.spool_path,
            error.diagnostics(),
        )

    def _note_error(self, error: HistorianError) -> None:
        self._counts.last_error = str(error)
        self._counts.last_error_at = self._clock.now()

    def _refused(self, count: int, error: SpoolError) -> None:
        self._counts.refused += count
        self._note_error(error)
        if not self._refusing:
            self._refusing = True
            log.error("refusing %d readings: %s", count, error.diagnostics())
        else:
            log.debug("refusing %d readings: %s", count, error)

    def _failed(self, error: HistorianError, delay: float) -> None:
        self._counts.retries += 1
        self._note_error(error)
        if not self._failing:
            self._failing = True
            log.warning(
                "InfluxDB write failed, retrying with backoff (readings wait on disk): %s",
                error.diagnostics(),
            )
        else:
            log.debug("InfluxDB write failed again, next try in %.1f s: %s", delay, error)

    def _delivered(self, count: int) -> None:
        self._counts.sent += count
        if self._failing:
            self._failing = False
            log.warning("InfluxDB writes succeed again after %d retries", self._counts.retries)
