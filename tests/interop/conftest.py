"""Fixtures of the interop tests: a running site and a trusted client certificate."""

from tests.fixtures import site, trusted_cert

__all__ = ["site", "trusted_cert"]
