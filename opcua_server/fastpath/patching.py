"""Guarded patches: an asyncua function is replaced only while its source is the one we read."""

# Every patch names the asyncua functions it replaces or relies on, each with the SHA-256 of
# its source text as the patch was written against it, and the structure layouts it needs.
# When asyncua changes any of them the patch does not fit: `install_patch` refuses it with a
# logged warning (the server keeps running on asyncua's own code), and the security patches
# refuse to start the server instead (opcua_server.fastpath.channels). Each digest is also
# checked by a test, which fails on an asyncua upgrade until the patch is re-read and re-pinned.

from __future__ import annotations

import hashlib
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

log = logging.getLogger(__name__)

ASYNCUA_VERSION = "2.1.0"
"""The asyncua release the patches were written and measured against."""


def source_digest(function: Callable[..., Any]) -> str | None:
    """SHA-256 of a function's source text (the 'shape' a patch was written against), or None
    when the source is not installed."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return None
    return hashlib.sha256(source.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Target:
    """An asyncua function a patch replaces (with ``replacement``) or relies on (without)."""

    owner: Any
    name: str
    sha256: str
    replacement: Any = None

    def problem(self) -> str | None:
        """Why the function is not the one the patch was written against, or None."""
        function = getattr(self.owner, self.name, None)
        if function is None:
            return f"{self.owner.__name__}.{self.name} is missing"
        if self.replacement is not None and function is self.replacement:
            return None  # installed already
        if not callable(function) or source_digest(function) != self.sha256:
            return f"{self.owner.__name__}.{self.name} is not the asyncua {ASYNCUA_VERSION} one"
        return None


@dataclass(frozen=True, slots=True)
class Patch:
    """One guarded change to asyncua: the functions it checks and replaces, the layouts it needs."""

    name: str
    targets: tuple[Target, ...]
    field_layouts: tuple[tuple[type, tuple[str, ...]], ...] = ()
    precondition: Callable[[], str | None] | None = None

    def problem(self) -> str | None:
        """Why the patch does not fit the installed asyncua, or None."""
        for target in self.targets:
            if (found := target.problem()) is not None:
                return found
        for cls, names in self.field_layouts:
            if tuple(f.name for f in fields(cls)) != names:
                return f"{cls.__name__} fields are not {names}"
        return None if self.precondition is None else self.precondition()

    def apply(self) -> None:
        for target in self.targets:
            if target.replacement is not None:
                setattr(target.owner, target.name, target.replacement)


_installed: set[str] = set()


def installed() -> list[str]:
    """The names of the patches applied in this process, sorted."""
    return sorted(_installed)


def apply_once(patch: Patch) -> str | None:
    """Apply ``patch`` unless it is applied already; why it does not fit (then nothing is
    applied), or None."""
    if patch.name in _installed:
        return None
    problem = patch.problem()
    if problem is None:
        patch.apply()
        _installed.add(patch.name)
    return problem


def install_patch(patch: Patch) -> bool:
    """Apply ``patch`` once if asyncua has the shape it was written for; warn and skip if not."""
    problem = apply_once(patch)
    if problem is None:
        return True
    log.warning(
        "OPC UA fast path %r not installed: %s; it was written for asyncua %s, so the "
        "server serves this part on asyncua's own (slower) code",
        patch.name,
        problem,
        ASYNCUA_VERSION,
    )
    return False
