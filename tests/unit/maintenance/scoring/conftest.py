"""Fixtures of the scoring unit tests: numeric libraries on one thread."""

import pytest


@pytest.fixture(autouse=True)
def single_threaded(one_thread: None) -> None:
    """Every test here runs with BLAS and OpenMP on one thread (the root's ``one_thread``)."""
