"""Stopping a training between its stages when the process shuts down."""

# A fit in native code (scikit-learn's boosting, OpenMP) cannot be interrupted, and a worker
# thread killed in the middle of one aborts the process. So the training checks a stop signal
# between its stages (each history, each cross-validation fold, each model, before storing) and
# gives up at the first check after shutdown was asked, having stored nothing.

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from maintenance.errors import MaintenanceError

T = TypeVar("T")


class StopSignal(Protocol):
    """What a training checks between its stages; a ``threading.Event`` is one."""

    def is_set(self) -> bool: ...


class TrainingStoppedError(MaintenanceError):
    """Shutdown was asked while a model trained: the training gave up between two stages and
    stored nothing."""

    advice = "nothing to do: the models stored before stay in use, and the training runs again"


def check_stop(stop: StopSignal | None, stage: str) -> None:
    """Raise :class:`TrainingStoppedError` before ``stage`` when ``stop`` is set."""
    if stop is not None and stop.is_set():
        raise TrainingStoppedError(f"training stopped before {stage}: shutting down")


STOPPED_BY_INTERRUPT = (
    "training stopped: interrupted; it ends at its next stage and stores nothing (the models "
    "stored before stay in use)"
)


async def stop_when_cancelled(
    work: Callable[[StopSignal], Awaitable[T]], told: Callable[[str], None]
) -> T:
    """Await ``work`` given a stop signal that is set when this task is cancelled (Ctrl+C
    cancels the task ``asyncio.run`` runs): its training thread then gives up at its next stage
    and stores nothing, instead of finishing unseen while the interpreter waits for it to exit.
    ``told`` hears :data:`STOPPED_BY_INTERRUPT`."""
    stop = threading.Event()
    try:
        return await work(stop)
    except asyncio.CancelledError:
        stop.set()
        told(STOPPED_BY_INTERRUPT)
        raise
