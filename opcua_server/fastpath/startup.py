"""quiet_startup: no full garbage collections over the address space while it is built."""

# Not a patch of asyncua: a context manager around TrustfloorServer.start.
#
# Why: Python's cyclic GC ran full collections over the growing address space while the
# standard nodes (~6200) and the site's nodes were built: ~1.5 s of a 4.1 s start on a busy
# machine. GC is paused while the server starts, then what was built is frozen (gc.freeze) so
# later collections, also those while serving, skip it; `thaw` undoes it when the server stops.
#
# Checked: nothing of asyncua is replaced, so nothing needs a digest; tests check that the GC
# runs again after a start, failed or not, and that `thaw` unfreezes.

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_startup() -> Iterator[None]:
    """Pause the cyclic GC while the server starts, then freeze what was built (`thaw` undoes)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    except BaseException:
        if was_enabled:
            gc.enable()
        raise
    gc.freeze()
    if was_enabled:
        gc.enable()


def thaw() -> None:
    """Let the GC see frozen objects again (call when a server stops, so it can be freed)."""
    gc.unfreeze()
