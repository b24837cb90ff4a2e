"""Memory benchmark: peak RSS of a site of N machines x 20 tags, and where the bytes are."""

# Two children per size, each a fresh process that builds the same plant (OPC UA server,
# SQLite historian, Modbus connectors, one poll round in the ingest bus):
#
# - serve (`peak_rss_mb`): first imports what `trustfloor serve` imports (the site module) and
#   loads the group's RUL and anomaly models from a model store, as the running scoring holds
#   them; the parent trained them beforehand as `trustfloor train` does, on a small synthetic
#   run-to-failure table with the bench machines' tags;
# - bare (`peak_rss_mb_bare`): the plant alone.

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import linecache
import os
import sys
import tempfile
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench.ingest import build_for_rss, machines

if TYPE_CHECKING:  # the bare child imports none of maintenance
    from maintenance import MachineGroup, RunTable
    from maintenance.scoring_groups import GroupModels

SWEEP_MACHINES = (100, 1000, 5000)
"""Machine counts of ``--sweep``."""
SERVE_IMPORTS = "opcua_server.runtime.site"
"""The composition root `trustfloor serve` runs: importing it imports what serve imports."""
TRAINING_UNITS = 8
"""Synthetic run-to-failure units the models are trained on (the model's size, not its
accuracy, is what counts here)."""
WEAR_SAMPLES = 80
"""Samples before failure during which the synthetic signals drift."""


def training_table(tags: int, seed: int = 1) -> RunTable:
    """A small run-to-failure table over the bench machines' tags: steady noisy signals with a
    quadratic drift of each tag towards the end of each unit's life."""
    import pandas as pd

    from maintenance import TIME, UNIT, HistoryColumns, RunTable

    names = [tag.name for tag in machines(1, tags)[0].tags]
    rng = np.random.default_rng(seed)
    frames = []
    for unit in range(TRAINING_UNITS):
        length = int(rng.integers(150, 200))
        level = 100.0 + 10.0 * np.arange(len(names)) + rng.normal(0.0, 1.0, (length, len(names)))
        wear = np.clip((np.arange(length) - (length - WEAR_SAMPLES)) / WEAR_SAMPLES, 0.0, None)
        frame = pd.DataFrame(level + np.outer(wear**2, rng.uniform(4.0, 8.0, len(names))))
        frame.columns = names
        frame.insert(0, TIME, np.arange(length))
        frame.insert(0, UNIT, f"u{unit}")
        frames.append(frame)
    columns = HistoryColumns(UNIT, TIME, (), tuple(names))
    return RunTable(pd.concat(frames, ignore_index=True), columns)


def group_of(tags: int) -> MachineGroup:
    """The one scoring group the bench's machines form: they share their tags, so the group is
    named after the first (m0000) and scored with one pair of models, at any machine count."""
    from maintenance import ScoredMachine, machine_groups

    scored = [ScoredMachine(m.id, tuple(t.name for t in m.tags)) for m in machines(1, tags)]
    (group,) = machine_groups(scored)
    return group


def train_models(models_dir: Path, tags: int) -> None:
    """Store the group's RUL and anomaly models as `trustfloor train` does (one numeric thread:
    OpenMP workers spinning against a loaded machine cost more than they win)."""
    from threadpoolctl import threadpool_limits

    from maintenance import ModelStore, RulSettings, TrainingOptions, train_table

    options = TrainingOptions(
        sample_interval_s=1.0,
        window=10,
        long_window=40,
        rul=RulSettings(cap=100.0, use_age=False, folds=2, max_iter=20, min_samples_leaf=20),
    )
    group = group_of(tags)
    with threadpool_limits(1):
        train_table(training_table(tags), group.name, ModelStore(models_dir), options, _quiet)


def _quiet(line: str) -> None:
    """Training's progress lines are not the bench's output."""


def serve_holdings(models_dir: Path, tags: int) -> GroupModels:
    """What serve holds before it builds the plant: its imports and the group's loaded models."""
    importlib.import_module(SERVE_IMPORTS)
    from maintenance import ModelStore, load_group_models

    loaded = load_group_models(ModelStore(models_dir), group_of(tags))
    if loaded is None or loaded.rul is None:
        raise SystemExit(f"no RUL and anomaly models for the bench machines in {models_dir}")
    return loaded


def child(machines: int, tags: int, top: int, models_dir: Path | None) -> dict[str, object]:
    """Build the site in this process; its peak RSS and, with ``top``, tracemalloc's top lines.
    With ``models_dir``, first what serve imports and the models it scores with."""
    if top:
        tracemalloc.start()
    held = serve_holdings(models_dir, tags) if models_dir is not None else None
    figures: dict[str, object] = dict(asyncio.run(build_for_rss(machines, tags)))
    if held is not None:
        figures["models"] = held.version
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


async def measured(
    machines: int, tags: int, top: int = 0, models_dir: Path | None = None
) -> dict[str, object]:
    """:func:`child` in a fresh process, so that nothing else counts."""
    serve = () if models_dir is None else ("--models-dir", str(models_dir))
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
        *serve,
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
    parser.add_argument("--models-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--train-into", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def trained_in_child(models_dir: Path, tags: int) -> None:
    """:func:`train_models` in a process of its own: a child's ru_maxrss starts from its
    parent's resident set at the fork, so the parent must stay smaller than what it measures."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.memory", "--train-into", str(models_dir), "--tags", str(tags)
    )
    if await process.wait() != 0:
        raise SystemExit(f"training the bench's models failed (exit {process.returncode})")


async def both(machines: int, tags: int, models_dir: Path, top: int = 0) -> dict[str, object]:
    """The serve figures (with ``top``'s lines) and the bare ones, from two fresh processes."""
    serve = await measured(machines, tags, top, models_dir)
    bare = await measured(machines, tags)
    return serve | {"peak_rss_mb_bare": bare["peak_rss_mb"], "build_s_bare": bare["build_s"]}


async def run(args: argparse.Namespace) -> dict[str, object]:
    figures: dict[str, object] = {
        "measured": (
            f"peak RSS of a process holding the OPC UA server (companion nodesets, Machines "
            f"folder), the SQLite historian, {args.machines} Modbus connectors and one poll round "
            f"in the ingest bus, {args.machines} machines x {args.tags} tags; peak_rss_mb: after "
            f"first importing what `trustfloor serve` imports ({SERVE_IMPORTS}) and loading the "
            f"machines' group's RUL and anomaly models from a model store (trained by "
            f"`trustfloor train`'s path on a small synthetic table); peak_rss_mb_bare: the same "
            f"plant without them"
        ),
        "cores": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory(prefix="trustfloor-models-") as folder:
        models_dir = Path(folder)
        await trained_in_child(models_dir, args.tags)
        figures |= await both(args.machines, args.tags, models_dir, args.top)
        if args.sweep:
            keys = ("peak_rss_mb", "peak_rss_mb_bare", "build_s", "build_s_bare")
            sizes = {}
            for count in SWEEP_MACHINES:
                size = await both(count, args.tags, models_dir)
                sizes[str(count)] = {key: size[key] for key in keys}
            figures["sizes"] = sizes
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    if args.train_into is not None:
        train_models(args.train_into, args.tags)
        return
    if args.child:
        print(json.dumps(child(args.machines, args.tags, args.top, args.models_dir)))
        return
    figures = asyncio.run(run(args))
    if args.json:
        print(json.dumps(figures))
        return
    print(f"memory: {args.machines} machines x {args.tags} tags")
    print(f"  peak RSS MB, as serve  {figures['peak_rss_mb']:10.0f}   goal <= 300")
    print(f"  peak RSS MB, bare      {figures['peak_rss_mb_bare']:10.0f}")
    print(f"  seconds to build {figures['build_s']:7.1f} (bare {figures['build_s_bare']:.1f})")
    for entry in figures.get("top", []):  # type: ignore[attr-defined]  # a list when asked for
        print(f"  {entry['mb']:7.1f} MB {entry['blocks']:9d}  {entry['where']}  {entry['line']}")
    for count, size in figures.get("sizes", {}).items():  # type: ignore[attr-defined]  # a dict
        rss, bare, built = size["peak_rss_mb"], size["peak_rss_mb_bare"], size["build_s"]
        print(f"  {count:>5} machines: {rss:8.0f} MB as serve, {bare:.0f} MB bare, {built:.1f} s")


if __name__ == "__main__":
    main()
