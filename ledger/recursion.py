"""Keeps the interpreter's recursion limit across imports that raise it (py_ecc sets 100000)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def kept_recursion_limit() -> Iterator[None]:
    """Restore the recursion limit on exit, whatever the code inside set it to.

    py_ecc, loaded with eth_account, raises the limit to 100000 at import; with it, parsing
    JSON nested that deep overflows the C stack and kills the process instead of raising
    RecursionError. The Ethereum libraries run fine with the interpreter's limit.
    """
    limit = sys.getrecursionlimit()
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)
