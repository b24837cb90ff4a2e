"""Fixtures of the OPC UA server tests: a running site, a trusted client cert, the leak guard."""

from tests.fixtures import site, trusted_cert
from tests.leakcheck import no_leaked_tasks

__all__ = ["no_leaked_tasks", "site", "trusted_cert"]
