"""The running site's scheduled retrain: closures as labels, better models only, live reload."""

# Opt-in with ``maintenance.cmms.retrain_interval_h``. Each turn reads the closed work requests
# (their ISO 14224 closures end runs to failure), retrains every machine group from the
# historian with them (`trustfloor maintenance retrain` does the same by hand), keeps a
# candidate only when its held-out RMSE beats the model scoring now (older versions stay for
# rollback), and has the running ScoringService take the new versions without a restart.
# Training runs in a worker thread on one numeric thread; the event loop keeps serving.

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from maintenance import (
    ModelStore,
    RetrainOutcome,
    ScoredMachine,
    ScoringService,
    StopSignal,
    TrainingOptions,
    WorkRequestStore,
    closure_labels,
)
from models import Clock, Historian

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""Where the history a retrain reads begins: all of it."""


@dataclass(frozen=True, slots=True)
class RetrainRun:
    """What one turn of the scheduled retrain did."""

    at: datetime
    labels: int
    """Failures the closed work requests reported."""
    promoted: tuple[str, ...]
    """Groups whose candidate beat the model scoring them; stored as the next version."""
    kept: tuple[str, ...]
    """Groups whose current model stayed (the candidate was not better)."""
    reloaded: tuple[str, ...]
    """Groups the running scoring took the new version of."""

    def line(self) -> str:
        """One line for the log and the site's summary."""
        return (
            f"{self.at:%Y-%m-%d %H:%M} UTC: {self.labels} closure label(s); replaced "
            f"{', '.join(self.promoted) or 'none'}; kept {', '.join(self.kept) or 'none'}; "
            f"scoring now with {', '.join(self.reloaded) or 'the same models'}"
        )


@dataclass(slots=True)
class RetrainFigures:
    """Counts since start, for metrics."""

    runs: int = 0
    promoted: int = 0
    last: RetrainRun | None = None


class SiteRetrainer:
    """One turn (``tick``) retrains from the closures and reloads the running scoring."""

    def __init__(
        self,
        historian: Historian,
        machines: tuple[ScoredMachine, ...],
        requests: WorkRequestStore,
        models: ModelStore,
        scoring: ScoringService,
        options: TrainingOptions,
        clock: Clock,
        stop: StopSignal | None = None,
    ) -> None:
        """``stop``: set when the site stops; a retrain running then ends at its next stage."""
        self._historian = historian
        self._machines = machines
        self._requests = requests
        self._models = models
        self._scoring = scoring
        self._options = options
        self._clock = clock
        self._stop = stop
        self.figures = RetrainFigures()

    async def tick(self) -> RetrainRun:
        """Retrain every group that has labelled runs; reload what was replaced."""
        closed = await asyncio.to_thread(self._requests.closed)
        labels = closure_labels(closed)
        retrain_from_historian = await asyncio.to_thread(_training_code)
        outcomes = await retrain_from_historian(
            self._historian,
            self._machines,
            labels,
            self._models,
            start=EPOCH,
            options=self._options,
            progress=lambda line: log.info("retrain: %s", line),
            threads=1,  # OpenMP workers spinning against the running site cost more than they win
            stop=self._stop,
        )
        run = RetrainRun(
            at=self._clock.now(),
            labels=len(labels),
            promoted=_groups(outcomes, promoted=True),
            kept=_groups(outcomes, promoted=False),
            reloaded=tuple(self._scoring.reload_models()),
        )
        self._record(run)
        log.info("scheduled retrain %s", run.line())
        return run

    def _record(self, run: RetrainRun) -> None:
        figures = self.figures
        figures.runs += 1
        figures.promoted += len(run.promoted)
        figures.last = run


def _training_code() -> Callable[..., Awaitable[list[RetrainOutcome]]]:
    """The retrain entry point, imported on first use (pandas and scikit-learn load with it,
    which the site needs only when it trains); called in a worker thread, off the event loop."""
    from maintenance import retrain_from_historian

    return retrain_from_historian


def _groups(outcomes: list[RetrainOutcome], *, promoted: bool) -> tuple[str, ...]:
    return tuple(o.group for o in outcomes if o.promoted is promoted)
