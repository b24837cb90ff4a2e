"""Remaining-useful-life regression with a split-conformal prediction band."""

# The point model is scikit-learn's ``HistGradientBoostingRegressor`` trained on run-to-failure
# histories with the target capped (piecewise-linear RUL, Heimes 2008: a healthy machine's RUL is
# not observable, so every RUL above ``cap`` is taken as ``cap``). By default it learns
# log(RUL + ``log_offset``): errors then count relative to the life left (10 h off matters at
# 20 h left, not at 250 h), and a remaining life that is a ratio of signals (how far the wear
# still has to go over how fast it goes) becomes a sum the boosted trees learn from few units.
# The fitted trees are kept as an ONNX graph (``maintenance/tree_export.py``) and scored by ONNX
# Runtime: scoring a stored model needs no scikit-learn, which is imported by the fit only.
#
# The band comes from cross-validated residuals grouped by unit (CV+-style split conformal,
# Barber et al. 2021), in the space the model learns, computed per bin of predicted RUL because
# errors grow with the RUL. The bins split the predictions below ``band_focus`` × cap into equally
# populated bins, and the predictions above into one more: healthy machines (predicted at the
# cap) are most rows of a run-to-failure history and would otherwise swallow every bin, leaving
# the part of the range where orders are decided with the residuals of healthy machines.
#
# Rows more than ``FAR_FROM_FAILURE`` × cap before their failure all carry the target ``cap``; with
# ``far_stride`` > 1 only every ``far_stride``-th of them is kept, so long histories of healthy
# running do not dominate the training time.

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from maintenance.errors import FeatureInputError, TrainingDataError
from maintenance.features import FloatArray
from maintenance.pipeline import FeaturePipeline
from maintenance.training_stop import StopSignal, check_stop
from maintenance.tree_ensemble import TreeEnsemble
from models import Frozen

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingRegressor

AGE_FEATURE = "age"
"""Name of the feature holding the machine's age (samples since new or since overhaul)."""
FAR_FROM_FAILURE = 1.5
"""Rows at least this many caps before their failure are thinned by ``far_stride``."""


class RulSettings(Frozen):
    """Target cap, band and gradient-boosting hyper-parameters of a RUL model."""

    cap: float = Field(125.0, gt=0, description="RUL above this is trained as this")
    use_age: bool = Field(True, description="feed the machine's age as a feature")
    band_coverage: float = Field(0.9, gt=0, lt=1, description="nominal coverage of the band")
    band_bins: int = Field(5, ge=1, le=50, description="bins of predicted RUL for the band")
    band_focus: float = Field(
        0.9, gt=0, le=1, description="predictions below this share of the cap get band_bins bins"
    )
    log_offset: float | None = Field(
        10.0, gt=0, description="learn log(RUL + log_offset); None learns the RUL itself"
    )
    far_stride: int = Field(
        1, ge=1, le=1000, description="keep every n-th row more than 1.5 caps before failure"
    )
    full_windows_only: bool = Field(
        False, description="train only on rows whose longest window is full (as live scoring)"
    )
    folds: int = Field(5, ge=2, le=20, description="unit-grouped folds for band residuals")
    max_iter: int = Field(300, ge=1, le=10_000)
    learning_rate: float = Field(0.05, gt=0, le=1)
    max_leaf_nodes: int = Field(15, ge=2, le=1024)
    min_samples_leaf: int = Field(50, ge=1)
    l2_regularization: float = Field(1.0, ge=0)
    seed: int = 0


@dataclass(frozen=True, eq=False)
class RulPrediction:
    """Remaining useful life per machine with its prediction band, in samples (cycles)."""

    rul: FloatArray
    lower: FloatArray
    upper: FloatArray


@dataclass(frozen=True, eq=False)
class ResidualBand:
    """Split-conformal band: residual quantiles per bin of the predicted value."""

    edges: FloatArray
    """Inner bin edges on the predicted value, ascending; ``len(edges) + 1`` bins."""
    below: FloatArray
    """Per bin, the residual (actual − predicted) quantile at the band's lower edge."""
    above: FloatArray
    coverage: float

    @classmethod
    def fit(
        cls,
        predicted: FloatArray,
        actual: FloatArray,
        *,
        coverage: float,
        bins: int,
        focus_below: float | None = None,
    ) -> ResidualBand:
        """Band offsets from out-of-sample predictions and the values they should have hit.

        With ``focus_below``, the ``bins`` equally populated bins split only the predictions
        below it, and the predictions at or above it form one more bin.
        """
        residuals = actual - predicted
        edges = _quantile_edges(predicted, bins, focus_below)
        which = np.searchsorted(edges, predicted, side="right")
        tail = (1.0 - coverage) / 2.0
        count = edges.size + 1
        below = np.array([_conformal_quantile(residuals[which == b], tail) for b in range(count)])
        above = np.array(
            [_conformal_quantile(residuals[which == b], 1.0 - tail) for b in range(count)]
        )
        return cls(edges, below, above, coverage)

    def interval(self, predicted: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Lower and upper band edges around ``predicted`` (in the space the band was fitted)."""
        which = np.searchsorted(self.edges, predicted, side="right")
        return predicted + self.below[which], predicted + self.above[which]


def _quantile_edges(predicted: FloatArray, bins: int, focus_below: float | None) -> FloatArray:
    """Inner edges splitting ``predicted`` (below ``focus_below``) into equally populated bins."""
    levels = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    if focus_below is None:
        return np.asarray(np.quantile(predicted, levels), dtype=np.float64)
    focused = predicted[predicted < focus_below]
    inner = np.quantile(focused, levels) if focused.size and bins > 1 else np.empty(0)
    return np.asarray(np.append(inner, focus_below), dtype=np.float64)


def _conformal_quantile(residuals: FloatArray, level: float) -> float:
    """Finite-sample conservative quantile: rank ⌈(n + 1)·level⌉ (upper) or ⌊(n + 1)·level⌋."""
    ordered = np.sort(residuals)
    n = ordered.size
    if n == 0:
        return 0.0
    if level >= 0.5:
        rank = min(int(np.ceil((n + 1) * level)), n)
    else:
        rank = max(int(np.floor((n + 1) * level)), 1)
    return float(ordered[rank - 1])


@dataclass(frozen=True, eq=False)
class RulModel:
    """A fitted RUL regressor with the feature pipeline it was trained on and its band."""

    kind: ClassVar[str] = "rul"
    model_version: ClassVar[int] = 2
    """2: trend-ladder features (Stat.DELTA), log target, band bins focused below the cap."""

    pipeline: FeaturePipeline
    settings: RulSettings
    trees: TreeEnsemble
    """The fitted gradient-boosting trees, scored by ONNX Runtime."""
    band: ResidualBand
    metrics: dict[str, float] = field(default_factory=dict)
    """Out-of-fold figures measured while training (capped target)."""

    @property
    def feature_names(self) -> tuple[str, ...]:
        """What the estimator sees: the pipeline's features, then the age when used."""
        names = self.pipeline.feature_names
        return (*names, AGE_FEATURE) if self.settings.use_age else names

    def predict(self, windows: FloatArray, age: FloatArray | None = None) -> RulPrediction:
        """RUL of ``(machines, time, input tags)`` windows; ``age`` per machine when used."""
        return self.predict_features(self.pipeline.transform(windows), age)

    def predict_features(
        self, features: FloatArray, age: FloatArray | None = None
    ) -> RulPrediction:
        """RUL from the pipeline's features (so anomaly and RUL scoring share one extraction)."""
        design = _design_matrix(features, age, self.settings.use_age)
        if design.shape[1] != len(self.feature_names):
            raise FeatureInputError(
                f"{design.shape[1]} features given, the model needs {len(self.feature_names)}"
            )
        learnt = _Target(self.settings)
        predicted = learnt.clipped(self.trees.predict(design))
        lower, upper = self.band.interval(predicted)
        return RulPrediction(learnt.rul(predicted), learnt.rul(lower), learnt.rul(upper))

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle; a model stored before the trees were ONNX (it holds scikit-learn's
        ``estimator``) has its trees converted, which imports scikit-learn to unpickle it."""
        if "estimator" in state:
            from maintenance.tree_export import tree_ensemble_of

            state = dict(state)
            state["trees"] = tree_ensemble_of(state.pop("estimator"))
        for name, value in state.items():
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class _Target:
    """What the estimator learns: the capped RUL, or log(RUL + offset)."""

    settings: RulSettings

    def of(self, rul: FloatArray) -> FloatArray:
        capped = np.minimum(np.asarray(rul, dtype=np.float64), self.settings.cap)
        offset = self.settings.log_offset
        return capped if offset is None else np.log(capped + offset)

    def rul(self, learnt: FloatArray) -> FloatArray:
        """Back to RUL (samples), never below 0."""
        offset = self.settings.log_offset
        values = learnt if offset is None else np.exp(learnt) - offset
        return np.maximum(np.asarray(values, dtype=np.float64), 0.0)

    def clipped(self, learnt: FloatArray) -> FloatArray:
        """Predictions kept at or above the target of RUL 0."""
        return np.maximum(learnt, float(self.of(np.zeros(1))[0]))

    @property
    def focus(self) -> float:
        """Where the band's focused bins end, in the learnt space."""
        return float(self.of(np.array([self.settings.band_focus * self.settings.cap]))[0])


def fit_rul_model(
    pipeline: FeaturePipeline,
    features: FloatArray,
    *,
    rul: FloatArray,
    groups: FloatArray,
    age: FloatArray | None = None,
    settings: RulSettings | None = None,
    stop: StopSignal | None = None,
) -> RulModel:
    """Train on the features of every history row, ``rul`` its true remaining life.

    ``groups`` names each row's unit, so the band's residuals come from units the fold model
    never saw. ``stop`` is checked before each fold's fit and before the final fit
    (:class:`~maintenance.training_stop.TrainingStoppedError` once it is set).
    """
    settings = settings or RulSettings()
    design = _design_matrix(features, age, settings.use_age)
    remaining = np.asarray(rul, dtype=np.float64)
    _check_training_rows(design, remaining, groups, settings.folds)
    kept = _thinned(remaining, settings)
    design, remaining, groups = design[kept], remaining[kept], np.asarray(groups)[kept]
    learnt = _Target(settings)
    target = learnt.of(remaining)
    out_of_fold = _out_of_fold_predictions(design, target, groups, settings, stop)
    band = ResidualBand.fit(
        out_of_fold,
        target,
        coverage=settings.band_coverage,
        bins=settings.band_bins,
        focus_below=learnt.focus,
    )
    check_stop(stop, "the RUL model's final fit")
    trees = _fitted_trees(design, target, settings)
    metrics = _out_of_fold_metrics(learnt.rul(out_of_fold), np.minimum(remaining, settings.cap))
    return RulModel(pipeline, settings, trees, band, metrics)


def _thinned(remaining: FloatArray, settings: RulSettings) -> npt.NDArray[np.bool_]:
    """Rows to train on: all near failure, every ``far_stride``-th far from it."""
    far = remaining >= FAR_FROM_FAILURE * settings.cap
    rank = np.cumsum(far) - 1
    return np.asarray(~far | (rank % settings.far_stride == 0))


def _design_matrix(features: FloatArray, age: FloatArray | None, use_age: bool) -> FloatArray:
    matrix = np.asarray(features, dtype=np.float64)
    if matrix.ndim != 2:
        raise FeatureInputError(f"expected a (rows, features) matrix, got shape {matrix.shape}")
    if not use_age:
        return matrix
    if age is None:
        raise FeatureInputError("this RUL model uses the machine's age: pass age per machine")
    ages = np.asarray(age, dtype=np.float64).reshape(-1)
    if ages.shape[0] != matrix.shape[0]:
        raise FeatureInputError(f"{ages.shape[0]} ages for {matrix.shape[0]} rows")
    return np.column_stack([matrix, ages])


def _check_training_rows(
    design: FloatArray, target: FloatArray, groups: FloatArray, folds: int
) -> None:
    if design.shape[0] != target.shape[0] or design.shape[0] != len(groups):
        raise TrainingDataError(
            f"{design.shape[0]} feature rows, {target.shape[0]} targets, {len(groups)} groups"
        )
    if not np.isfinite(target).all():
        raise TrainingDataError("the RUL target holds NaN or infinite values")
    if len(np.unique(groups)) < folds:
        raise TrainingDataError(f"{len(np.unique(groups))} units cannot make {folds} folds")


def _fitted_trees(design: FloatArray, target: FloatArray, settings: RulSettings) -> TreeEnsemble:
    """Fit scikit-learn's trees on every row and keep their ONNX form for scoring."""
    from maintenance.tree_export import tree_ensemble_of

    return tree_ensemble_of(_new_estimator(settings).fit(design, target))


def _new_estimator(settings: RulSettings) -> HistGradientBoostingRegressor:
    # Imported here: scoring a stored model must not load scikit-learn.
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        max_iter=settings.max_iter,
        learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes,
        min_samples_leaf=settings.min_samples_leaf,
        l2_regularization=settings.l2_regularization,
        early_stopping=False,
        random_state=settings.seed,
    )


def _out_of_fold_predictions(
    design: FloatArray,
    target: FloatArray,
    groups: FloatArray,
    settings: RulSettings,
    stop: StopSignal | None = None,
) -> FloatArray:
    from sklearn.model_selection import GroupKFold

    predicted = np.empty_like(target)
    learnt = _Target(settings)
    folds = GroupKFold(n_splits=settings.folds).split(design, target, groups)
    for number, (train, held_out) in enumerate(folds, start=1):
        check_stop(stop, f"cross-validation fold {number} of {settings.folds}")
        fold_model = _new_estimator(settings).fit(design[train], target[train])
        predicted[held_out] = learnt.clipped(fold_model.predict(design[held_out]))
    return predicted


def _out_of_fold_metrics(predicted: FloatArray, target: FloatArray) -> dict[str, float]:
    error = predicted - target
    return {
        "oof_rmse_capped": float(np.sqrt(np.mean(np.square(error)))),
        "oof_mae_capped": float(np.mean(np.abs(error))),
    }
