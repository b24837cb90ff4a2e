"""The port the ``Trace`` method calls: a trace query as JSON in, the parts it names as JSON out."""

from __future__ import annotations

from typing import Protocol


class Tracer(Protocol):
    """Answers ``Trace``: ``criteria_json`` is an object with any of lot, printer, from, until,
    design, revision, dossier, order, serial and upstream (a boolean); the answer is the
    trace's JSON (criteria, parts, open_orders), as ``trustfloor trace --json`` prints it.
    Criteria that name nothing raise InvalidRequestError."""

    async def trace_json(self, criteria_json: str) -> str: ...
