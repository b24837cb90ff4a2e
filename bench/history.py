"""HistoryRead cost: raw values of one tag over 1 hour, 1 day and 7 days, paged as clients do."""

# One tag sampled every second (7 days = 604,800 readings) is written to the SQLite historian a
# site uses; a TrustfloorServer serves it (no security, the bench user: the service layer is
# measured) and an asyncua client in the same process reads each span with ReadRawModified,
# following continuation points until the span is read (the server caps an answer at
# ``server.history_max_values_per_node`` values). The same reads against a server that must build
# a Reading and a DataValue per value (the historian without ``query_rows``: the path before the
# rows were encoded straight to the wire) are the baseline, and the historian's row queries of
# each span, page by page, show what SQLite costs of it.
#
#     .venv/bin/python -m bench.history [--period-s 1] [--repeat 3] [--json]

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import struct
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asyncua import Client, ua
from asyncua.ua.ua_binary import struct_to_binary

from bench.opcua import BENCH_PASSWORD, PASSWORD_ENV, trustfloor_settings
from config import Settings
from connectors.historian import SqliteHistorian
from models import Historian, Reading, from_micros, good
from opcua_server.fastpath import thaw
from opcua_server.history.raw import SiteHistory
from opcua_server.server import ServerPorts, TrustfloorServer

SPANS = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}
"""The spans read, by the name their figures carry."""
END = datetime(2026, 1, 8, tzinfo=UTC)
"""The last reading's time; the history reaches back from it over the longest span."""
WRITE_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class SpanFigures:
    """One span read back: values, answers (pages), and the median seconds of each path."""

    values: int
    pages: int
    opcua_s: float
    """HistoryRead over the wire, the client's decoding included (rows encoded straight)."""
    baseline_s: float
    """The same through a Reading and a DataValue per value (the historian's ``query``)."""
    server_s: float
    """The server's own work: each page read and its answer encoded (no client, no socket)."""
    baseline_server_s: float
    sqlite_s: float
    """The historian's row queries alone."""


@dataclass(frozen=True, slots=True)
class ReadingsOnly:
    """The historian without ``query_rows``: the server falls back to its Reading path."""

    historian: SqliteHistorian

    async def write(self, readings: Sequence[Reading]) -> None:
        await self.historian.write(readings)

    async def query(
        self, machine: str, tag: str, start: datetime, end: datetime, limit: int = 10_000
    ) -> list[Reading]:
        return await self.historian.query(machine, tag, start, end, limit)

    async def close(self) -> None:
        """The historian is closed by whoever opened it."""


def readings(machine: str, tag: str, period: timedelta, count: int) -> Iterator[list[Reading]]:
    """``count`` Good readings ``period`` apart ending at END, in write batches, oldest first."""
    first = END - period * (count - 1)
    for start in range(0, count, WRITE_BATCH):
        stop = min(start + WRITE_BATCH, count)
        yield [good(machine, tag, first + period * n, float(n % 1000)) for n in range(start, stop)]


def fill(historian: SqliteHistorian, point: tuple[str, str], period: timedelta) -> int:
    """The longest span of ``point``'s history written; the number of readings."""
    count = int(max(SPANS.values()) / period)
    for batch in readings(*point, period, count):
        historian.store.write(batch)
    return count


def raw_details(start: datetime, end: datetime) -> ua.ReadRawModifiedDetails:
    details = ua.ReadRawModifiedDetails()
    details.IsReadModified = False
    details.StartTime, details.EndTime = start, end
    details.NumValuesPerNode = 0  # the server's cap decides the page size
    details.ReturnBounds = False
    return details


Answer = Callable[[ua.HistoryReadParameters], Awaitable[ua.HistoryReadResult]]
"""One HistoryRead of one node: over the wire, or the server's own work for it."""


async def read_span(answer: Answer, node: ua.NodeId, start: datetime) -> tuple[int, int]:
    """Every raw value of ``node`` from ``start`` to END; (values, answers)."""
    details = raw_details(start, END)
    point: bytes | None = None
    values = pages = 0
    while True:
        params = ua.HistoryReadParameters()
        params.HistoryReadDetails = details
        params.TimestampsToReturn = ua.TimestampsToReturn.Source
        params.ReleaseContinuationPoints = False
        params.NodesToRead = [ua.HistoryReadValueId(NodeId=node, ContinuationPoint=point)]
        result = await answer(params)
        result.StatusCode.check()
        values += values_in(result.HistoryData)
        pages += 1
        point = result.ContinuationPoint
        if not point:
            return values, pages


def values_in(data: ua.HistoryData | ua.ExtensionObject) -> int:
    """Values of a decoded HistoryData, or of one still encoded (its array length comes first)."""
    if isinstance(data, ua.ExtensionObject):
        return int(struct.unpack_from("<i", data.Body)[0])
    return len(data.DataValues)


def over_the_wire(client: Client) -> Answer:
    async def answer(params: ua.HistoryReadParameters) -> ua.HistoryReadResult:
        (result,) = await client.uaclient.history_read(params)
        return result

    return answer


def in_the_server(history: SiteHistory) -> Answer:
    """What the server does for a HistoryRead: read the page and encode the answer."""

    async def answer(params: ua.HistoryReadParameters) -> ua.HistoryReadResult:
        (result,) = await history.read_history(params)
        struct_to_binary(result)
        return result

    return answer


def query_span(
    historian: SqliteHistorian, point: tuple[str, str], start: datetime, page: int
) -> int:
    """Every raw row of ``point`` from ``start`` to END from the historian, page by page."""
    values = 0
    while True:
        rows = historian.store.query_rows(*point, start, END, page + 1)
        values += min(len(rows), page)
        if len(rows) <= page:
            return values
        start = from_micros(rows[page][0])


async def connected_client(endpoint: str) -> Client:
    """The bench user's client; its watchdog is slowed down, since the server answering a page
    shares its event loop and may keep the watchdog's read waiting for seconds."""
    client = Client(endpoint, timeout=60, watchdog_intervall=3600.0)
    client.set_user("bench")
    client.set_password(BENCH_PASSWORD)
    await client.connect()
    return client


async def read_spans(
    settings: Settings, historian: Historian, point: tuple[str, str], repeat: int
) -> dict[str, tuple[int, int, float, float]]:
    """Each span read from a server on ``historian``: (values, answers, median s over OPC UA,
    median s of the server's own work)."""
    server = TrustfloorServer(
        settings, {PASSWORD_ENV: BENCH_PASSWORD}, ServerPorts(historian=historian)
    )
    await server.start()
    try:
        assert server.address_space is not None
        node = server.address_space.node_id(*point)
        assert server.history is not None
        client = await connected_client(server.endpoint)
        try:
            paths = (over_the_wire(client), in_the_server(server.history))
            spans = {}
            for name, span in SPANS.items():
                times: tuple[list[float], list[float]] = ([], [])
                for _ in range(repeat):
                    for answer, taken in zip(paths, times, strict=True):
                        began = time.perf_counter()
                        values, pages = await read_span(answer, node, END - span)
                        taken.append(time.perf_counter() - began)
                wire, own = (statistics.median(taken) for taken in times)
                spans[name] = (values, pages, wire, own)
            return spans
        finally:
            await client.disconnect()
    finally:
        await server.stop()
        thaw()


def query_spans(
    historian: SqliteHistorian, point: tuple[str, str], page: int, repeat: int
) -> dict[str, tuple[int, float]]:
    """Each span read from the historian alone: (values, median s)."""
    spans = {}
    for name, span in SPANS.items():
        times, values = [], 0
        for _ in range(repeat):
            began = time.perf_counter()
            values = query_span(historian, point, END - span, page)
            times.append(time.perf_counter() - began)
        spans[name] = (values, statistics.median(times))
    return spans


async def measure(args: argparse.Namespace, folder: Path) -> dict[str, SpanFigures]:
    settings = trustfloor_settings(folder, 1, secure=False)
    machine = settings.site.machines[0]
    point = (machine.id, machine.tags[0].name)
    historian = SqliteHistorian.from_settings(settings.historian, folder)
    try:
        fill(historian, point, timedelta(seconds=args.period_s))
        rows = await read_spans(settings, historian, point, args.repeat)
        readings = await read_spans(settings, ReadingsOnly(historian), point, args.repeat)
        page = settings.server.history_max_values_per_node
        alone = query_spans(historian, point, page, args.repeat)
    finally:
        await historian.close()
    figures = {}
    for name, (values, pages, wire, own) in rows.items():
        if {values, readings[name][0], alone[name][0]} != {values}:
            raise RuntimeError(f"{name}: the paths returned different numbers of values")
        _, _, baseline_wire, baseline_own = readings[name]
        figures[name] = SpanFigures(
            values, pages, wire, baseline_wire, own, baseline_own, alone[name][1]
        )
    return figures


def report(figures: dict[str, SpanFigures], args: argparse.Namespace) -> Iterator[str]:
    yield (
        f"HistoryRead of one tag sampled every {args.period_s:g} s, medians of {args.repeat} "
        f"reads; client and server in one process ({os.cpu_count()} cores, shared)"
    )
    for name, f in figures.items():
        yield (
            f"  {name:>3}: {f.values:>8,} values in {f.pages:>3} answers: OPC UA {f.opcua_s:7.3f} s"
            f" ({f.values / f.opcua_s:>9,.0f} values/s); a Reading and a DataValue per value"
            f" {f.baseline_s:7.3f} s ({f.baseline_s / f.opcua_s:.1f}x); the server's own work"
            f" {f.server_s:6.3f} s, with the objects {f.baseline_server_s:6.3f} s"
            f" ({f.baseline_server_s / f.server_s:.1f}x); SQLite rows alone {f.sqlite_s:6.3f} s"
        )


def as_json(figures: dict[str, SpanFigures], args: argparse.Namespace) -> str:
    spans = {
        name: {
            "values": f.values,
            "answers": f.pages,
            "history_read_s": round(f.opcua_s, 4),
            "baseline_history_read_s": round(f.baseline_s, 4),
            "server_s": round(f.server_s, 4),
            "baseline_server_s": round(f.baseline_server_s, 4),
            "sqlite_query_s": round(f.sqlite_s, 4),
            "values_per_s": round(f.values / f.opcua_s),
        }
        for name, f in figures.items()
    }
    return json.dumps(
        {
            "measured": (
                f"HistoryRead (raw, paged by continuation points) of one tag sampled every "
                f"{args.period_s:g} s over 1 h / 1 d / 7 d, median of {args.repeat}; asyncua "
                "client and trustfloor server in one process, no security; server_s: the "
                "server's own work per span (pages read and answers encoded, no client); "
                "baseline: the same "
                "server building a Reading and a DataValue per value; SQLite row queries alone"
            ),
            "cores": os.cpu_count(),
            "history_read_7d_s": spans["7d"]["history_read_s"],
            "history_read_7d_server_s": spans["7d"]["server_s"],
            "sizes": spans,
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--period-s", type=float, default=1.0, help="seconds between readings")
    parser.add_argument("--repeat", type=int, default=3, help="reads of each span")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(measure(args, Path(folder)))
    lines = [as_json(figures, args)] if args.json else list(report(figures, args))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
