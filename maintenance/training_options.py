"""What training is asked to do and what it reports: options, failure labels, outcomes."""

# The running site (its configuration, the scheduled retrain's bookkeeping, the work requests'
# closures) needs these without the training code (``fleet_training``) and the libraries it
# imports: pandas, scikit-learn.

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from pydantic import AwareDatetime, Field

from config import Settings
from maintenance.features import Window, default_windows
from maintenance.rul import RulSettings
from maintenance.work_requests import WorkRequest
from models import Frozen

Progress = Callable[[str], None]
UNIT, TIME = "unit", "time"


SITE_RUL = RulSettings(
    cap=300.0,
    use_age=False,
    band_coverage=0.95,
    log_offset=30.0,
    folds=4,
    max_iter=200,
    min_samples_leaf=200,
    far_stride=4,
    full_windows_only=True,
)
"""RUL settings for a site's machines sampled hourly (``TrainingOptions.for_site`` scales the
cap and offset to other intervals): a 300-sample horizon (12.5 days, room above any part's lead
time + margin); a 95 % band, as its low edge decides print orders; errors
relative to the life left + 30 samples, so the hours around an order point count as much as
the last ones; large leaves, so that one rough hour of a signal does not swing the prediction;
no age (scoring counts a machine's age from the service's start, not from the part's install);
and training only on full windows, as scoring only ever scores full windows."""


SITE_RUL_CAP_H = 300.0
"""The site's RUL horizon as a duration: room above any part's lead time + margin."""
SITE_LOG_OFFSET_H = 30.0


class TrainingOptions(Frozen):
    """How a table is split, sampled and modelled."""

    sample_interval_s: float = Field(3600.0, gt=0, description="seconds between rows")
    held_out_fraction: float = Field(0.2, gt=0, lt=0.9, description="units kept for evaluation")
    seed: int = 0
    window: int = Field(24, ge=2, le=10_000, description="samples of the short feature window")
    long_window: int = Field(
        192, ge=2, le=10_000, description="samples of the longest trend window (the history)"
    )
    rul: RulSettings = SITE_RUL

    @property
    def windows(self) -> tuple[Window, ...]:
        return default_windows(self.window, self.long_window)

    @classmethod
    def for_site(cls, sample_interval_s: float) -> TrainingOptions:
        """The site defaults for rows ``sample_interval_s`` apart.

        The RUL cap and the log offset are durations (300 h, 30 h), so they become that many
        samples at this interval: at one row a minute the cap is 18,000 samples, not 300.
        """
        per_hour = 3600.0 / sample_interval_s
        rul = SITE_RUL.model_copy(
            update={"cap": SITE_RUL_CAP_H * per_hour, "log_offset": SITE_LOG_OFFSET_H * per_hour}
        )
        return cls(sample_interval_s=sample_interval_s, rul=rul)


class Evaluation(Frozen):
    """Figures on held-out units, against the true remaining life capped at the RUL cap."""

    units: int
    points: int
    rmse: float
    phm08: float
    coverage: float
    band_width: float


class TrainingReport(Frozen):
    """What one training stored, and how well it does on units it never saw."""

    name: str
    rul_model: str
    anomaly_model: str
    rows: int
    units: int
    signals: tuple[str, ...]
    sample_interval_s: float
    evaluation: Evaluation

    def lines(self) -> list[str]:
        e = self.evaluation
        return [
            f"{self.name}: {self.units} units, {self.rows} rows, signals {', '.join(self.signals)}",
            f"  stored {self.rul_model} and {self.anomaly_model}",
            f"  held-out {e.units} units at {e.points} points: RMSE {e.rmse:.2f} samples, "
            f"PHM08 {e.phm08:.1f}, band coverage {e.coverage:.3f} (mean width {e.band_width:.1f})",
        ]


class Failure(Frozen):
    """One row of the failures table: a machine stopped by a component at ``failed_at``."""

    machine: str
    component: str
    failed_at: AwareDatetime
    replaced_at: AwareDatetime | None = None

    @property
    def back_at(self) -> datetime:
        """When the machine ran again (failed_at when the replacement time is unknown)."""
        return self.replaced_at or self.failed_at


def site_training_options(settings: Settings) -> TrainingOptions:
    """What `trustfloor train` trains with: the site defaults at its scoring interval."""
    return TrainingOptions.for_site(settings.maintenance.scoring_interval_s)


def closure_labels(requests: Sequence[WorkRequest]) -> tuple[Failure, ...]:
    """The failures closed work requests report: each ends a run at its failure (or repair)."""
    return tuple(
        Failure(
            machine=r.asset,
            component=r.component,
            failed_at=r.closure.label_at,
            replaced_at=r.closure.repaired_at,
        )
        for r in requests
        if r.closure is not None
    )


class RetrainOutcome(Frozen):
    """What a retrain of one group did: the candidate against the model scoring now."""

    group: str
    candidate_rmse: float
    current_rmse: float | None
    """The current model's RMSE on the same held-out runs (None: there was none, or it no
    longer fits these signals)."""
    promoted: bool
    report: TrainingReport
