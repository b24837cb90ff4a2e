"""HistoryRead cost: raw values of one tag over 1 hour, 1 day and 7 days, paged as clients do."""

# One tag sampled every second (7 days = 604,800 readings) is written to the SQLite historian a
# site uses; a TrustfloorServer serves it (no security, the bench user: the service layer is
# measured) and an asyncua client in the same process reads each span with ReadRawModified,
# following continuation points until the span is read (the server caps an answer at
# ``server.history_max_values_per_node`` values). The historian's own query of the same span,
# page by page, is timed too, so the figures show what SQLite costs and what OPC UA adds.
#
#     .venv/bin/python -m bench.history [--period-s 1] [--repeat 3] [--json]

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asyncua import Client, ua

from bench.opcua import BENCH_PASSWORD, PASSWORD_ENV, trustfloor_settings
from connectors.historian import SqliteHistorian
from models import Reading, good
from opcua_server.fastpath import thaw
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
    sqlite_s: float


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


async def read_span(client: Client, node: ua.NodeId, start: datetime) -> tuple[int, int]:
    """Every raw value of ``node`` from ``start`` to END over OPC UA; (values, answers)."""
    details = raw_details(start, END)
    point: bytes | None = None
    values = pages = 0
    while True:
        params = ua.HistoryReadParameters()
        params.HistoryReadDetails = details
        params.TimestampsToReturn = ua.TimestampsToReturn.Source
        params.ReleaseContinuationPoints = False
        params.NodesToRead = [ua.HistoryReadValueId(NodeId=node, ContinuationPoint=point)]
        (result,) = await client.uaclient.history_read(params)
        result.StatusCode.check()
        values += len(result.HistoryData.DataValues)
        pages += 1
        point = result.ContinuationPoint
        if not point:
            return values, pages


def query_span(
    historian: SqliteHistorian, point: tuple[str, str], start: datetime, page: int
) -> int:
    """Every raw reading of ``point`` from ``start`` to END from the historian, page by page."""
    values = 0
    while True:
        rows = historian.store.query(*point, start, END, page + 1)
        values += min(len(rows), page)
        if len(rows) <= page:
            return values
        start = rows[page].source_ts


async def connected_client(endpoint: str) -> Client:
    """The bench user's client; its watchdog is slowed down, since the server answering a page
    shares its event loop and may keep the watchdog's read waiting for seconds."""
    client = Client(endpoint, timeout=60, watchdog_intervall=3600.0)
    client.set_user("bench")
    client.set_password(BENCH_PASSWORD)
    await client.connect()
    return client


async def measure(args: argparse.Namespace, folder: Path) -> dict[str, SpanFigures]:
    settings = trustfloor_settings(folder, 1, secure=False)
    machine = settings.site.machines[0]
    point = (machine.id, machine.tags[0].name)
    historian = SqliteHistorian.from_settings(settings.historian, folder)
    fill(historian, point, timedelta(seconds=args.period_s))
    ports = ServerPorts(historian=historian)
    server = TrustfloorServer(settings, {PASSWORD_ENV: BENCH_PASSWORD}, ports)
    await server.start()
    try:
        assert server.address_space is not None
        client = await connected_client(server.endpoint)
        try:
            node = server.address_space.node_id(*point)
            page = settings.server.history_max_values_per_node
            return {
                name: await measure_span(args, client, node, historian, point, END - span, page)
                for name, span in SPANS.items()
            }
        finally:
            await client.disconnect()
    finally:
        await server.stop()
        await historian.close()
        thaw()


async def measure_span(
    args: argparse.Namespace,
    client: Client,
    node: ua.NodeId,
    historian: SqliteHistorian,
    point: tuple[str, str],
    start: datetime,
    page: int,
) -> SpanFigures:
    opcua, sqlite = [], []
    values = pages = 0
    for _ in range(args.repeat):
        began = time.perf_counter()
        values, pages = await read_span(client, node, start)
        opcua.append(time.perf_counter() - began)
        began = time.perf_counter()
        direct = query_span(historian, point, start, page)
        sqlite.append(time.perf_counter() - began)
        if direct != values:
            raise RuntimeError(f"OPC UA returned {values} values, the historian holds {direct}")
    return SpanFigures(values, pages, statistics.median(opcua), statistics.median(sqlite))


def report(figures: dict[str, SpanFigures], args: argparse.Namespace) -> Iterator[str]:
    yield (
        f"HistoryRead of one tag sampled every {args.period_s:g} s, medians of {args.repeat} "
        f"reads; client and server in one process ({os.cpu_count()} cores, shared)"
    )
    for name, f in figures.items():
        yield (
            f"  {name:>3}: {f.values:>8,} values in {f.pages:>3} answers: OPC UA {f.opcua_s:7.3f} s"
            f" ({f.values / f.opcua_s:>9,.0f} values/s), SQLite alone {f.sqlite_s:6.3f} s"
            f" ({f.sqlite_s / f.opcua_s:.0%} of it)"
        )


def as_json(figures: dict[str, SpanFigures], args: argparse.Namespace) -> str:
    spans = {
        name: {
            "values": f.values,
            "answers": f.pages,
            "history_read_s": round(f.opcua_s, 4),
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
                "client and trustfloor server in one process, no security; SQLite query alone"
            ),
            "cores": os.cpu_count(),
            "history_read_7d_s": spans["7d"]["history_read_s"],
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
