"""Hostile and mistaken method inputs against `trustfloor serve` in its own process.

The server runs in a subprocess (with its chain node), so a call that crashed the interpreter
(the JSON bracket bomb once did) fails these tests instead of taking pytest down with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua

from maintenance.orders import order_id_of
from opcua_server.security.audit import AuditEntry, AuditLog
from opcua_server.security.passwords import hash_password
from tests.e2e.crash_kit import (
    DESIGN,
    LICENCE_QUOTA,
    REVISION,
    CrashSite,
    ServerProcess,
    prepare_site,
    read_only,
)
from tests.support import PASSWORDS, call_method, secure_client, text, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")

BRACKET_BOMB = "[" * 100_000 + "]" * 100_000
HUGE_INTEGER = "9" * 5000
EXTRA_USERS = ("auditor", "quality_engineer")


@dataclass(frozen=True, slots=True)
class Served:
    """The site, its server process and the endpoint it listens on."""

    site: CrashSite
    server: ServerProcess
    endpoint: str

    def audit(self) -> list[AuditEntry]:
        return AuditLog(self.site.data_dir / "audit.log").entries()


def add_users(config: Path) -> None:
    """An auditor and a quality engineer beside the site's MES user."""
    blocks = "".join(
        f'\n[[server.users]]\nname = "{name}"\nrole = "{name}"\n'
        f'password_hash = "{hash_password(PASSWORDS[name])}"\n'
        for name in EXTRA_USERS
    )
    config.write_text(config.read_text(encoding="utf-8") + blocks, encoding="utf-8")


async def stop(server: ServerProcess) -> None:
    if server.process.returncode is None:
        await server.terminate()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGKILL)  # a chain node a crashed server left


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    site = await prepare_site(tmp_path_factory.mktemp("inputs"))
    add_users(site.config)
    server = await ServerProcess.start(site, 1)
    try:
        yield Served(site, server, await server.endpoint())
    finally:
        await stop(server)


@contextlib.asynccontextmanager
async def session(served: Served, user: str) -> AsyncIterator[Client]:
    client = await secure_client(served.endpoint, served.site.mes_cert, user, timeout_s=30)
    async with client:
        yield client


async def still_serving(served: Served, client: Client) -> None:
    state = await client.get_node(ua.ObjectIds.Server_ServerStatus_State).read_value()
    assert state == ua.ServerState.Running
    assert served.server.process.returncode is None, served.server.output()[-3000:]


def quantity(pieces: int) -> ua.Variant:
    return ua.Variant(pieces, ua.VariantType.UInt32)


async def test_the_bracket_bomb_is_an_invalid_argument_and_the_server_keeps_serving(
    served: Served,
) -> None:
    async with session(served, "auditor") as auditor:
        with pytest.raises(ua.uaerrors.BadInvalidArgument):
            await call_method(auditor, "Parts", "VerifyCertificate", text(BRACKET_BOMB))
        await still_serving(served, auditor)
    async with session(served, "quality_engineer") as engineer:
        with pytest.raises(ua.uaerrors.BadInvalidArgument):
            await call_method(
                engineer, "Parts", "RecordInspection", text("PO-000001-01"), text(BRACKET_BOMB)
            )
        await still_serving(served, engineer)


async def test_a_call_is_audited_before_it_runs_and_again_with_its_status(
    served: Served,
) -> None:
    async with session(served, "auditor") as auditor:
        with pytest.raises(ua.uaerrors.BadInvalidArgument):
            await call_method(auditor, "Parts", "VerifyCertificate", text(BRACKET_BOMB))
    calls = [e for e in served.audit() if e.user == "auditor" and e.target == "VerifyCertificate"]
    started, ended = calls[-2:]
    assert (started.action, started.role, started.result) == ("call", "auditor", "Started")
    assert "(200000 characters)" in started.detail
    assert len(started.detail) < 200
    assert ended.detail == started.detail
    assert ended.result.startswith("BadInvalidArgument: BundleJson nests arrays and objects")
    assert "limit of 64 levels" in ended.result


async def test_arrays_and_huge_numbers_get_precise_codes_and_no_traceback(served: Served) -> None:
    strings = ua.Variant(["{}", "{}"], ua.VariantType.String)
    async with session(served, "quality_engineer") as engineer:
        with pytest.raises(ua.uaerrors.BadTypeMismatch):
            await call_method(engineer, "Parts", "VerifyCertificate", strings)
        with pytest.raises(ua.uaerrors.BadTypeMismatch):
            await call_method(engineer, "Parts", "RecordInspection", text("PO-000001-01"), strings)
        with pytest.raises(ua.uaerrors.BadInvalidArgument):
            await call_method(
                engineer, "Parts", "VerifyCertificate", text(f'{{"n": {HUGE_INTEGER}}}')
            )
        with pytest.raises(ua.uaerrors.BadInvalidArgument):
            await call_method(
                engineer,
                "Parts",
                "RecordInspection",
                text("PO-000001-01"),
                text(f'{{"check": "ct", "result": "pass", "value": {HUGE_INTEGER}}}'),
            )
        await still_serving(served, engineer)
    results = [e.result for e in served.audit() if e.user == "quality_engineer"]
    assert "BadTypeMismatch: BundleJson must be one String" in results
    assert any("number of 5000 characters, above the limit of 64" in r for r in results)
    assert "Traceback" not in served.server.output()


async def test_an_order_for_an_unknown_design_is_not_found(served: Served) -> None:
    async with session(served, "mes") as mes:
        with pytest.raises(ua.uaerrors.BadNotFound):
            await call_method(
                mes,
                "PrintOrders",
                "CreatePrintOrder",
                text("no-such-design"),
                quantity(1),
                text("x"),
            )
    assert orders_stored(served) == {}


async def test_an_order_above_the_pieces_the_licence_has_left_is_out_of_range(
    served: Served,
) -> None:
    async with session(served, "mes") as mes:
        for pieces in (10_000, LICENCE_QUOTA + 1):
            with pytest.raises(ua.uaerrors.BadOutOfRange):
                await call_method(
                    mes,
                    "PrintOrders",
                    "CreatePrintOrder",
                    text(DESIGN),
                    quantity(pieces),
                    text("stock"),
                )
    refusals = [e.result for e in served.audit() if e.target == "CreatePrintOrder"]
    assert (
        f"the licence for design {DESIGN} revision {REVISION} allows {LICENCE_QUOTA} pieces"
        in refusals[-1]
    )
    assert orders_stored(served) == {}


async def test_an_order_the_printer_agent_refuses_ends_rejected_with_the_reason(
    served: Served,
) -> None:
    model = served.site.data_dir / "designs" / DESIGN / REVISION / "model.stl"
    original = model.read_bytes()
    model.write_bytes(original + b"solid tampered\nendsolid\n")
    try:
        async with session(served, "mes") as mes:
            order_id = await call_method(
                mes, "PrintOrders", "CreatePrintOrder", text(DESIGN), quantity(1), text("spare")
            )
            state = await wait_for_final_state(mes, order_id)
            reason = await order_value(mes, order_id, "StateReason")
    finally:
        model.write_bytes(original)
    assert state == "rejected"
    assert reason.startswith("refused by the printer agent: the local dossier of design")
    assert "model.stl" in reason
    assert orders_stored(served) == {order_id: "rejected"}


async def order_value(client: Client, order_id: str, name: str) -> str:
    ns = await client.get_namespace_index("urn:trustfloor:site")
    node = client.get_node(ua.NodeId(f"PrintOrders/{order_id}/{name}", ns))
    return str(await node.read_value())


async def wait_for_final_state(client: Client, order_id: str, timeout_s: float = 60) -> str:
    """The order's state once it is final (the print flow looks at open orders every second)."""
    return await wait_for(
        lambda: order_value(client, order_id, "State"),
        lambda state: state in ("certified", "rejected", "cancelled"),
        timeout_s=timeout_s,
        poll_s=0.2,
    )


def orders_stored(served: Served) -> dict[str, str]:
    with read_only(served.site.store("orders.sqlite")) as db:
        rows = db.execute("SELECT seq, state FROM orders").fetchall()
    return {order_id_of(seq): state for seq, state in rows}
