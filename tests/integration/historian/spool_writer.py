"""A process putting numbered batches into an InfluxSink on cue, printing each once durable."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from connectors.historian import InfluxSink
from tests.integration.historian.kit import influx_settings, numbered


async def write_batches(data_dir: Path, url: str, machine: str, base_us: int, size: int) -> None:
    """One batch per line read on stdin, until killed or stdin ends.

    Batch i holds readings i·size … i·size+size-1; ``stored i`` is printed after its put. The
    test says when to write each batch, so it knows how many were stored when it kills us.
    """
    sink = InfluxSink(influx_settings(url), data_dir)
    await sink.start()
    index = 0
    while await asyncio.to_thread(sys.stdin.readline):
        await sink.put(numbered(machine, range(index * size, (index + 1) * size), base_us))
        print(f"stored {index}", flush=True)
        index += 1
    await sink.close()


def main(argv: list[str]) -> None:
    data_dir, url, machine, base_us, size = argv
    asyncio.run(write_batches(Path(data_dir), url, machine, int(base_us), int(size)))


if __name__ == "__main__":
    main(sys.argv[1:])
