"""The Maintenance object's methods: CloseWorkRequest, a closure with ISO 14224 codes."""

# The arguments are those of `trustfloor maintenance close`: the work request, its ISO 14224
# failure mode, mechanism and cause, when it failed and/or was repaired (a DateTime left out or
# null, OPC 10000-6 §5.2.2.5, means "not known"), the fitted part's serial and notes. The
# closure is signed by the session's user. Unknown codes or no time answer BadInvalidArgument
# with every problem named; an unknown request BadNotFound; one closed otherwise before
# BadInvalidState.

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from asyncua import Server, ua

from models import WorkRequestCloser
from opcua_server.methods.table import MAX_TEXT_LENGTH, Arg, MethodSpec
from opcua_server.security.roles import RefusedError
from opcua_server.security.users import SiteUser

FOLDER = "Maintenance"
"""The object under Objects the maintenance methods hang on (``ns=<site>;s=Maintenance``)."""

NULL_DATETIME_YEAR = 1601
"""OPC UA DateTime 0 (1601-01-01) and anything before it stand for "no time"."""


async def add_maintenance_object(server: Server, namespace: int) -> ua.NodeId:
    """The Maintenance object under Objects, where CloseWorkRequest lives."""
    node = await server.nodes.objects.add_object(
        ua.NodeId(FOLDER, namespace), ua.QualifiedName(FOLDER, namespace)
    )
    return node.nodeid


def optional_time(value: object) -> str | None:
    """An ISO 8601 UTC time from a DateTime argument; None when left out or null."""
    if not isinstance(value, datetime) or value.year <= NULL_DATETIME_YEAR:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.isoformat()


class MaintenanceMethods:
    """CloseWorkRequest, calling the site's work-request desk (absent: BadNotSupported)."""

    def __init__(self, closer: WorkRequestCloser | None) -> None:
        self._closer = closer

    def specs(self) -> list[MethodSpec]:
        optional_time_note = "; left out or null: not known (give this time, the other, or both)"
        return [
            MethodSpec(
                "CloseWorkRequest",
                FOLDER,
                (
                    Arg("WorkRequestId", ua.VariantType.String, "e.g. WR-000012"),
                    Arg("FailureMode", ua.VariantType.String, "ISO 14224 failure mode, e.g. VIB"),
                    Arg(
                        "FailureMechanism",
                        ua.VariantType.String,
                        "ISO 14224 Table B.2 mechanism, e.g. 2.4 (wear)",
                    ),
                    Arg(
                        "FailureCause",
                        ua.VariantType.String,
                        "ISO 14224 Table B.3 cause, e.g. 3.4 (expected wear and tear)",
                    ),
                    Arg(
                        "FailedAt",
                        ua.VariantType.DateTime,
                        "when it failed" + optional_time_note,
                        optional=True,
                    ),
                    Arg(
                        "RepairedAt",
                        ua.VariantType.DateTime,
                        "when the part was fitted" + optional_time_note,
                        optional=True,
                    ),
                    Arg(
                        "PartSerial",
                        ua.VariantType.String,
                        "serial of the part fitted (its certificate)",
                        optional=True,
                    ),
                    Arg(
                        "Notes",
                        ua.VariantType.String,
                        "what the technician found",
                        MAX_TEXT_LENGTH,
                        optional=True,
                    ),
                ),
                (Arg("Status", ua.VariantType.String, "the work request's status after the call"),),
                self._close,
            )
        ]

    async def _close(self, user: SiteUser, args: list[Any]) -> list[Any]:
        if self._closer is None:
            raise RefusedError(ua.StatusCodes.BadNotSupported, "no work requests on this site")
        request_id, mode, mechanism, cause, failed_at, repaired_at, serial, notes = args
        closure = {
            "failure_mode": mode.strip(),
            "failure_mechanism": mechanism.strip(),
            "failure_cause": cause.strip(),
            "failed_at": optional_time(failed_at),
            "repaired_at": optional_time(repaired_at),
            "part_serial": serial.strip(),
            "closed_by": str(user.name),
            "notes": notes,
        }
        return [await self._closer.close_work_request(request_id.strip(), closure)]
