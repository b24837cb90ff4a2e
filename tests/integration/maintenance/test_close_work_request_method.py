"""CloseWorkRequest over an encrypted OPC UA session: ISO 14224 codes, roles, audit, refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.ua.uaerrors import (
    BadInvalidArgument,
    BadInvalidState,
    BadNotFound,
    BadTypeMismatch,
    BadUserAccessDenied,
)

from maintenance import WorkRequestDesk, WorkRequestStore
from maintenance.work_requests import WorkRequestStatus, from_alert
from models import Alert, HealthState, ManualClock
from opcua_server.server import ServerPorts, TrustfloorServer
from tests.support import (
    call_method,
    secure_client,
    site_settings,
    text,
    trusted_client_certificate,
)
from tests.unit.maintenance.alerts.policy_kit import at

pytestmark = pytest.mark.asyncio(loop_scope="session")

FAILED_AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
NOT_KNOWN = datetime(1601, 1, 1)
"""OPC UA's null DateTime: the time is not known."""


def open_request(store: WorkRequestStore, number: int) -> str:
    """A work request opened by an alarm on mill-1's spindle bearing; its id."""
    alert = Alert(
        id=f"AL-{number:06d}",
        machine="mill-1",
        component="spindle_bearing",
        level=HealthState.ALARM,
        severity=800,
        raised_at=at(0),
        updated_at=at(0),
    )
    request = from_alert(alert, at(0))
    store.add(request)
    return request.id


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[TrustfloorServer, WorkRequestStore, tuple[Path, Path]]]:
    data_dir = tmp_path_factory.mktemp("close-method")
    store = WorkRequestStore(data_dir / "work_requests.sqlite")
    for number in (1, 2, 3):
        open_request(store, number)
    desk = WorkRequestDesk(store, clock=ManualClock(at(0)))
    server = TrustfloorServer(
        site_settings(data_dir, machines=1), ports=ServerPorts(work_requests=desk)
    )
    await server.start()
    cert = trusted_client_certificate(server.pki.trusted, data_dir / "client", "close-client")
    try:
        yield server, store, cert
    finally:
        await server.stop()
        store.close()


def codes(request_id: str, mode: str = "VIB", mechanism: str = "2.4") -> list[ua.Variant]:
    """WorkRequestId, FailureMode, FailureMechanism, FailureCause (3.4: wear and tear)."""
    return [text(request_id), text(mode), text(mechanism), text("3.4")]


def when(moment: datetime) -> ua.Variant:
    return ua.Variant(moment, ua.VariantType.DateTime)


async def close(client: Client, *args: ua.Variant) -> str:
    answer: str = await call_method(client, "Maintenance", "CloseWorkRequest", *args)
    return answer


async def test_a_planner_closes_a_work_request_with_codes_time_and_the_part_fitted(
    served: tuple[TrustfloorServer, WorkRequestStore, tuple[Path, Path]],
) -> None:
    server, store, cert = served
    fields = [when(FAILED_AT), when(NOT_KNOWN), text("SN-BH-0007"), text("cage worn")]
    async with await secure_client(server.endpoint, cert, "planner") as planner:
        status = await close(planner, *codes("WR-000001"), *fields)
        again = await close(planner, *codes("WR-000001"), *fields)
    assert status == again == "CLOSED"
    request = store.get("WR-000001")
    assert request.status is WorkRequestStatus.CLOSED
    assert request.closure is not None
    closure = request.closure
    assert (closure.failure_mode, closure.failure_mechanism, closure.failure_cause) == (
        "VIB",
        "2.4",
        "3.4",
    )
    assert closure.failed_at == FAILED_AT
    assert closure.repaired_at is None
    assert (closure.part_serial, closure.closed_by, closure.notes) == (
        "SN-BH-0007",
        "planner",
        "cage worn",
    )
    calls = [e for e in server.audit.entries() if e.target == "CloseWorkRequest"]
    assert [(e.user, e.result) for e in calls[:2]] == [("planner", "Started"), ("planner", "Good")]
    assert "'WR-000001'" in calls[0].detail


async def test_a_repair_time_alone_closes_it_too(
    served: tuple[TrustfloorServer, WorkRequestStore, tuple[Path, Path]],
) -> None:
    server, store, cert = served
    repaired = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    async with await secure_client(server.endpoint, cert, "mes") as mes:
        status = await close(mes, *codes("WR-000002"), when(NOT_KNOWN), when(repaired))
    assert status == "CLOSED"
    closure = store.get("WR-000002").closure
    assert closure is not None
    assert (closure.failed_at, closure.repaired_at, closure.closed_by) == (None, repaired, "mes")


async def test_unknown_codes_no_time_wrong_types_and_unknown_requests_are_refused(
    served: tuple[TrustfloorServer, WorkRequestStore, tuple[Path, Path]],
) -> None:
    server, store, cert = served
    async with await secure_client(server.endpoint, cert, "planner") as planner:
        with pytest.raises(BadInvalidArgument):
            await close(planner, *codes("WR-000003", mechanism="9.9"), when(FAILED_AT))
        with pytest.raises(BadInvalidArgument):
            await close(planner, *codes("WR-000003"))
        wrong = ua.Variant(7, ua.VariantType.Int32)
        with pytest.raises(BadTypeMismatch):
            await close(planner, text("WR-000003"), wrong, text("2.4"), text("3.4"))
        with pytest.raises(BadTypeMismatch):
            await close(planner, *codes("WR-000003"), text(FAILED_AT.isoformat()))
        with pytest.raises(BadNotFound):
            await close(planner, *codes("WR-999999"), when(FAILED_AT))
        with pytest.raises(BadInvalidState):  # closed before with other codes
            await close(planner, *codes("WR-000001", mode="BRD"), when(FAILED_AT))
    assert store.get("WR-000003").status is WorkRequestStatus.OPEN
    results = [e.result for e in server.audit.entries() if e.target == "CloseWorkRequest"]
    assert any(
        r.startswith("BadInvalidArgument") and "'9.9' is not an ISO 14224 failure mechanism" in r
        for r in results
    )
    assert any("give the failure time, the repair time, or both" in r for r in results)


async def test_only_the_maintenance_roles_may_close(
    served: tuple[TrustfloorServer, WorkRequestStore, tuple[Path, Path]],
) -> None:
    server, store, cert = served
    for role in ("operator", "auditor", "quality_engineer"):
        async with await secure_client(server.endpoint, cert, role) as client:
            with pytest.raises(BadUserAccessDenied):
                await close(client, *codes("WR-000003"), when(FAILED_AT))
    assert store.get("WR-000003").status is WorkRequestStatus.OPEN
