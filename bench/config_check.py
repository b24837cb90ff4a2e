"""Config check cost: register overlaps of one machine of 2k and 16k tags, pairwise vs one pass."""

# The register map is the worst case for a pairwise check: every tag in one holding table.
# Three figures per size, measured in the same run:
#
# - pairwise: the earlier check, every tag against every tag before it (O(n²));
# - one pass: `config.checks.machine_problems`, which remembers the first tag on each register
#   (O(n·L), L ≤ 125 registers per tag) and reports the same tags, naming the same partners;
# - whole file: `config.parse_settings` on a site of that one machine, every check included.
#
#     .venv/bin/python -m bench.config_check [--sizes 2000,16000] [--json]

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from config import parse_settings
from config.checks import machine_problems
from models import Machine, Tag


def site_of(tags: int) -> dict[str, Any]:
    """One simulated machine with ``tags`` 32-bit tags back to back in its holding registers."""
    specs = [
        {"name": f"t{i}", "address": {"address": 2 * i, "data_type": "uint32"}} for i in range(tags)
    ]
    machine = {"id": "m", "simulated": True, "modbus": {"port": 0}, "tags": specs}
    return {"site": {"machines": [machine]}}


def pairwise_overlaps(tags: Sequence[Tag]) -> list[tuple[int, int]]:
    """The earlier check: each tag against every tag before it in the file; returns each tag
    that overlaps one of them with the first such (the definition the one pass keeps)."""
    found = []
    for index, tag in enumerate(tags):
        for earlier, other in enumerate(tags[:index]):
            a, b = tag.address, other.address
            shared = a.kind == b.kind and a.address < b.end and b.address < a.end
            if shared and (a.bit is None or b.bit is None or a.bit == b.bit):
                found.append((index, earlier))
                break
    return found


def seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def measure(tags: int) -> dict[str, float]:
    raw = site_of(tags)
    machine = Machine.model_validate(raw["site"]["machines"][0])
    return {
        "tags": tags,
        "pairwise_s": seconds(lambda: pairwise_overlaps(machine.tags)),
        "one_pass_s": seconds(lambda: list(machine_problems(machine, "site.machines[0]"))),
        "whole_file_s": seconds(lambda: parse_settings(raw, runs_site=True)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="2000,16000", help="tag counts, comma separated")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    rows = [measure(int(size)) for size in args.sizes.split(",")]
    if args.json:
        measured = "register-overlap check of one machine of N tags: one pass vs pairwise"
        sizes = {str(int(row["tags"])): row for row in rows}
        print(json.dumps({"measured": measured, "cores": os.cpu_count(), "sizes": sizes}))
        return
    print(f"{'tags':>7} {'pairwise s':>11} {'one pass s':>11} {'ratio':>8} {'whole file s':>13}")
    for row in rows:
        ratio = row["pairwise_s"] / max(row["one_pass_s"], 1e-9)
        print(
            f"{row['tags']:>7.0f} {row['pairwise_s']:>11.3f} {row['one_pass_s']:>11.3f}"
            f" {ratio:>7.0f}x {row['whole_file_s']:>13.3f}"
        )


if __name__ == "__main__":
    main()
