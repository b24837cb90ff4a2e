"""C-MAPSS RUL benchmark: train on train_FD00X, score the last cycle of every test unit."""

# Uses the product's feature pipeline and RUL model (maintenance.training) unchanged: the test
# units go through the same raw-window → features → model path as live machines. Prints RMSE, the
# PHM08 score and the prediction band's coverage beside the published results. The published
# protocol caps the true test RUL at the training cap (125): that is what the headline and
# ``--json`` report; the figures against the raw true RUL are printed beside them
# (``--truth raw`` puts those in the JSON).
#
#     .venv/bin/python -m bench.pdm_cmapss --data ../shared/data --subsets FD001,FD002 [--json]

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maintenance import HistoryColumns, RulSettings
from maintenance.conditions import count_operating_conditions
from maintenance.datasets import (
    CMAPSS_CYCLE,
    CMAPSS_SENSORS,
    CMAPSS_SETTINGS,
    CMAPSS_UNIT,
    read_cmapss,
)
from maintenance.evaluation import band_coverage, mean_band_width, phm08_score, rmse
from maintenance.features import FloatArray
from maintenance.rul import RulPrediction
from maintenance.training import ages_of, train_rul_model, unit_windows

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
COLUMNS = HistoryColumns(CMAPSS_UNIT, CMAPSS_CYCLE, CMAPSS_SETTINGS, CMAPSS_SENSORS)

PUBLISHED = {
    "FD001": (
        ("CNN, Babu et al. 2016", 18.45, 1290.0),
        ("LSTM, Zheng et al. 2017", 16.14, 338.0),
        ("Deep CNN, Li et al. 2018 (cap 125)", 12.61, 274.0),
        ("STAR transformer, Fan et al. 2024 (cap 125)", 10.61, 169.0),
    ),
    "FD002": (
        ("CNN, Babu et al. 2016", 30.29, 13600.0),
        ("LSTM, Zheng et al. 2017", 24.49, 4450.0),
        ("Deep CNN, Li et al. 2018 (cap 125)", 22.36, 10412.0),
        ("STAR transformer, Fan et al. 2024 (cap 125)", 13.47, 784.0),
    ),
}


@dataclass(frozen=True)
class Figures:
    rmse: float
    score: float
    coverage: float

    @classmethod
    def of(cls, prediction: RulPrediction, truth: FloatArray) -> Figures:
        return cls(
            rmse=rmse(prediction.rul, truth),
            score=phm08_score(prediction.rul, truth),
            coverage=band_coverage(prediction.lower, prediction.upper, truth),
        )


@dataclass(frozen=True)
class SubsetResult:
    name: str
    capped: Figures
    raw: Figures
    band_width: float
    conditions: int
    features: int
    test_units: int
    train_seconds: float
    out_of_fold_rmse: float


def run_subset(directory: Path, subset: str, settings: RulSettings) -> SubsetResult:
    frames = read_cmapss(directory, subset)
    conditions = count_operating_conditions(frames.train[list(CMAPSS_SETTINGS)].to_numpy())
    started = time.perf_counter()
    model = train_rul_model(frames.train, COLUMNS, n_conditions=conditions, settings=settings)
    train_seconds = time.perf_counter() - started
    last = unit_windows(frames.test, COLUMNS, model.pipeline)
    prediction = model.predict(last.windows, ages_of(last))
    return SubsetResult(
        name=subset,
        capped=Figures.of(prediction, np.minimum(frames.test_rul, settings.cap)),
        raw=Figures.of(prediction, frames.test_rul),
        band_width=mean_band_width(prediction.lower, prediction.upper),
        conditions=conditions,
        features=len(model.feature_names),
        test_units=len(last.units),
        train_seconds=train_seconds,
        out_of_fold_rmse=model.metrics["oof_rmse_capped"],
    )


def print_result(result: SubsetResult, settings: RulSettings) -> None:
    print(
        f"\n{result.name}: {result.conditions} operating condition(s), {result.features} "
        f"features, {result.test_units} test units; trained in {result.train_seconds:.0f} s "
        f"(out-of-fold RMSE {result.out_of_fold_rmse:.2f})"
    )
    print(f"  {'model':<48} {'RMSE':>7} {'PHM08':>8}  band coverage")
    for label, published_rmse, published_score in PUBLISHED.get(result.name, ()):
        print(f"  {label:<48} {published_rmse:>7.2f} {published_score:>8.0f}")
    for label, figures in (
        (f"trustfloor, true RUL capped at {settings.cap:g}", result.capped),
        ("trustfloor, raw true RUL", result.raw),
    ):
        print(f"  {label:<48} {figures.rmse:>7.2f} {figures.score:>8.0f}  {figures.coverage:.3f}")
    print(
        f"  band: nominal coverage {settings.band_coverage:.2f}, "
        f"mean width {result.band_width:.1f} cycles"
    )


def data_directory(data: Path) -> Path:
    """``DIR/cmapss`` when it exists, else ``DIR`` itself."""
    nested = data / "cmapss"
    return nested if nested.is_dir() else data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data directory")
    parser.add_argument("--subsets", default="FD001,FD002", help="comma-separated subsets")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--truth",
        choices=("capped", "raw"),
        default="capped",
        help="true RUL the JSON reports against (published protocol: capped)",
    )
    parser.add_argument("--cap", type=float, default=125.0, help="RUL cap of the target")
    arguments = parser.parse_args(argv)
    settings = RulSettings(cap=arguments.cap)
    subsets = [name.strip() for name in arguments.subsets.split(",") if name.strip()]
    directory = data_directory(arguments.data)
    results = [run_subset(directory, subset, settings) for subset in subsets]
    if arguments.json:
        chosen = {r.name: r.raw if arguments.truth == "raw" else r.capped for r in results}
        print(
            json.dumps(
                {
                    name: {
                        "rmse": round(f.rmse, 3),
                        "score": round(f.score, 1),
                        "coverage": round(f.coverage, 3),
                    }
                    for name, f in chosen.items()
                }
            )
        )
        return 0
    for result in results:
        print_result(result, settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
