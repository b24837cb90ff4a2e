"""RUL trees' predict: scikit-learn's estimator against its ONNX form, on bench.scoring's model."""

# The RUL model of ``bench.scoring`` (train_FD002's first 80 engines, the product's training with
# two folds: 300 trees of at most 15 leaves) is trained with the product's code, which keeps its
# trees as an ONNX graph; the same scikit-learn estimator is fitted again on the same rows (same
# seed: the bench checks that it converts to the very same graph). Both then predict the design
# matrix of one scoring tick of 1000 machines, alternately, each on one thread. The bench also
# reports the resident memory of a fresh process after ``import opcua_server.runtime.site`` and
# which of scikit-learn, SciPy and pandas that import loaded.
#
#     .venv/bin/python -m bench.rul_trees --data ../shared/data [--repeats 30] [--json]

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from bench.scoring import (
    DEFAULT_DATA,
    MACHINES,
    TRAINING_UNITS,
    build_fleet,
    informative_columns,
)
from maintenance import HistoryColumns, RulSettings
from maintenance.datasets import CMAPSS_UNIT, read_cmapss, remaining_life
from maintenance.features import FloatArray
from maintenance.rul import RulModel, _new_estimator, _Target
from maintenance.training import history_features, train_rul_model
from maintenance.tree_export import tree_ensemble_of

SETTINGS = RulSettings(folds=2)
"""The scoring bench's RUL settings."""
TRAINING_LIBRARIES = ("sklearn", "scipy", "pandas")
SITE_IMPORT = (
    "import json, re, sys\n"
    "import opcua_server.runtime.site\n"
    "peak = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1)\n"
    "print(json.dumps({'rss_mb': int(peak) / 1024,"
    " 'loaded': [m for m in sys.argv[1:] if m in sys.modules]}))\n"
)
"""A fresh process's peak RSS after the import (VmHWM: getrusage would report the parent's
peak, which a forked child inherits) and the training libraries the import loaded."""


def same_estimator(frame: Any, columns: HistoryColumns, model: RulModel) -> Any:
    """scikit-learn's estimator fitted on the rows ``train_rul_model`` fitted the model on."""
    features = history_features(frame, columns, model.pipeline)
    index = features.index.to_frame(index=False)
    rul = remaining_life(index, unit_column=columns.unit, time_column=columns.time)
    age = index[columns.time].to_numpy(dtype=np.float64)
    design = np.column_stack([features.to_numpy(), age])
    return _new_estimator(SETTINGS).fit(design, _Target(SETTINGS).of(rul))


def tick_design(model: RulModel, frame: Any, columns: HistoryColumns) -> FloatArray:
    """The design matrix of one scoring tick: 1000 machines' features and ages."""
    fleet = build_fleet(frame, columns, model.pipeline.history, seed=0, machines=MACHINES)
    features = model.pipeline.transform(fleet.samples)
    age = fleet.start_age + model.pipeline.history - 1
    return np.column_stack([features, age])


def alternate(
    functions: dict[str, Callable[[FloatArray], object]], design: FloatArray, repeats: int
) -> dict[str, tuple[float, float]]:
    """Median wall and CPU milliseconds of each function, run in turns ``repeats`` times."""
    wall: dict[str, list[float]] = {name: [] for name in functions}
    cpu: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            function(design)
            wall[name].append((time.perf_counter() - started) * 1000.0)
            cpu[name].append((time.process_time() - started_cpu) * 1000.0)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in wall}


def site_import() -> dict[str, Any]:
    child = subprocess.run(
        [sys.executable, "-c", SITE_IMPORT, *TRAINING_LIBRARIES],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(child.stdout.splitlines()[-1])
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data directory")
    parser.add_argument("--repeats", type=int, default=30, help="predictions timed per way")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    arguments = parser.parse_args(argv)
    nested = arguments.data / "cmapss"
    train = read_cmapss(nested if nested.is_dir() else arguments.data, "FD002").train
    columns = informative_columns(train)
    subset = train[train[CMAPSS_UNIT] <= TRAINING_UNITS]
    with threadpool_limits(limits=1):
        model = train_rul_model(subset, columns, n_conditions=6, settings=SETTINGS)
        estimator = same_estimator(subset, columns, model)
    design = tick_design(model, train, columns)
    onnx_values = model.trees.predict(design)
    with threadpool_limits(limits=1):
        timings = alternate(
            {"sklearn": estimator.predict, "onnx": model.trees.predict}, design, arguments.repeats
        )
        sklearn_values = estimator.predict(design)
    imported = site_import()
    figures = {
        "machines": design.shape[0],
        "features": design.shape[1],
        "trees": len(estimator._predictors),
        "same_trees": tree_ensemble_of(estimator).graph == model.trees.graph,
        "max_abs_difference": float(np.max(np.abs(onnx_values - sklearn_values))),
        "sklearn_predict_ms": timings["sklearn"][0],
        "onnx_predict_ms": timings["onnx"][0],
        "sklearn_predict_cpu_ms": timings["sklearn"][1],
        "onnx_predict_cpu_ms": timings["onnx"][1],
        "speedup": timings["sklearn"][0] / timings["onnx"][0],
        "site_import_rss_mb": imported["rss_mb"],
        "site_import_loads": imported["loaded"],
        "threads": 1,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }
    report(figures)
    if arguments.json:
        print(json.dumps(figures))
    return 0


def report(figures: dict[str, Any]) -> None:
    print(
        f"RUL predict, {figures['machines']} machines x {figures['features']} features, "
        f"{figures['trees']} trees, one thread ({figures['cores']} cores, load "
        f"{figures['load_average']:.1f}):"
    )
    print(
        f"  scikit-learn {figures['sklearn_predict_ms']:.1f} ms "
        f"(CPU {figures['sklearn_predict_cpu_ms']:.1f}), ONNX Runtime "
        f"{figures['onnx_predict_ms']:.1f} ms (CPU {figures['onnx_predict_cpu_ms']:.1f}): "
        f"{figures['speedup']:.1f}x; same trees: {figures['same_trees']}, largest difference "
        f"{figures['max_abs_difference']:.2e}"
    )
    loads = ", ".join(figures["site_import_loads"]) or "none of scikit-learn, SciPy, pandas"
    rss = figures["site_import_rss_mb"]
    print(f"  import opcua_server.runtime.site: {rss:.0f} MB peak RSS; loads {loads}")


if __name__ == "__main__":
    raise SystemExit(main())
