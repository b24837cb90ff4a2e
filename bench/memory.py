"""Memory benchmark: peak RSS of a site of N machines x 20 tags, and where the bytes are."""

from __future__ import annotations

import argparse
import asyncio
import json
import linecache
import os
import sys
import tracemalloc
from collections.abc import Sequence

from bench.ingest import build_for_rss

SWEEP_MACHINES = (100, 1000, 5000)
"""Machine counts of ``--sweep``."""


def child(machines: int, tags: int, top: int) -> dict[str, object]:
    """Build the site in this process; its peak RSS and, with ``top``, tracemalloc's top lines."""
    if top:
        tracemalloc.start()
    figures: dict[str, object] = dict(asyncio.run(build_for_rss(machines, tags)))
    if top:
        snapshot = tracemalloc.take_snapshot()
        figures["top"] = [
            {
                "where": f"{stat.traceback[0].filename}:{stat.traceback[0].lineno}",
                "line": linecache.getline(
                    stat.traceback[0].filename, stat.traceback[0].lineno
                ).strip()[:80],
                "mb": round(stat.size / 1e6, 1),
                "blocks": stat.count,
            }
            for stat in snapshot.statistics("lineno")[:top]
        ]
    return figures


async def measured(machines: int, tags: int, top: int = 0) -> dict[str, object]:
    """:func:`child` in a fresh process, so that nothing else counts."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.memory",
        "--child",
        "--machines",
        str(machines),
        "--tags",
        str(tags),
        "--top",
        str(top),
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate()
    result: dict[str, object] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--top", type=int, default=0, help="tracemalloc's top lines (slow)")
    parser.add_argument("--sweep", action="store_true", help="also 100, 1000 and 5000 machines")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> dict[str, object]:
    figures: dict[str, object] = {
        "measured": (
            f"peak RSS of the OPC UA server (companion nodesets, Machines folder), the SQLite "
            f"historian, {args.machines} Modbus connectors and one poll round in the ingest bus; "
            f"{args.machines} machines x {args.tags} tags"
        ),
        "cores": os.cpu_count(),
    }
    figures |= await measured(args.machines, args.tags, args.top)
    if args.sweep:
        sizes = {}
        for count in SWEEP_MACHINES:
            size = await measured(count, args.tags)
            sizes[str(count)] = {"peak_rss_mb": size["peak_rss_mb"], "build_s": size["build_s"]}
        figures["sizes"] = sizes
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    if args.child:
        print(json.dumps(child(args.machines, args.tags, args.top)))
        return
    figures = asyncio.run(run(args))
    if args.json:
        print(json.dumps(figures))
        return
    print(f"memory: {args.machines} machines x {args.tags} tags")
    print(f"  peak RSS MB   {figures['peak_rss_mb']:10.0f}   goal <= 300")
    print(f"  seconds to build {figures['build_s']:7.1f}")
    for entry in figures.get("top", []):  # type: ignore[attr-defined]  # a list when asked for
        print(f"  {entry['mb']:7.1f} MB {entry['blocks']:9d}  {entry['where']}  {entry['line']}")
    for count, size in figures.get("sizes", {}).items():  # type: ignore[attr-defined]  # a dict
        rss, built = size["peak_rss_mb"], size["build_s"]
        print(f"  {count:>5} machines: {rss:8.0f} MB, built in {built:.1f} s")


if __name__ == "__main__":
    main()
