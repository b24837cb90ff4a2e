"""Fixtures of the maintenance integration tests: the leak guard."""

from tests.leakcheck import no_leaked_tasks

__all__ = ["no_leaked_tasks"]
