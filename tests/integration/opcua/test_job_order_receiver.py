"""The ISA-95 job order receiver: an MES stores, starts, aborts and clears print job orders."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, ua
from asyncua.common.node import Node

from models import OrderState
from opcua_server.runtime.site import Site
from tests.fakes import KNOWN_DESIGN, FakeOrderBook
from tests.support import NAMESPACE_URI, secure_client

pytestmark = pytest.mark.asyncio(loop_scope="session")

ISA95 = "http://opcfoundation.org/UA/ISA95-JOBCONTROL_V2/"
NO_ERROR, UNKNOWN_JOB_ORDER_ID, INVALID_JOB_ORDER_STATUS = 1, 2, 8
INVALID_REQUEST = 1 << 32


def job_order(job_id: str, design: str = KNOWN_DESIGN, quantity: int = 3) -> ua.Variant:
    """An ISA95JobOrderDataType naming a design (work master) and a Quantity parameter."""
    data = ua.ISA95JobOrderDataType(
        JobOrderID=job_id,
        WorkMasterID=[ua.ISA95WorkMasterDataType(ID=design)],
        JobOrderParameters=[
            ua.ISA95ParameterDataType(
                ID="Quantity", Value=ua.Variant(quantity, ua.VariantType.UInt32)
            )
        ],
    )
    return ua.Variant(data, ua.VariantType.ExtensionObject)


def text(value: str) -> ua.Variant:
    return ua.Variant(value, ua.VariantType.String)


async def receiver(client: Client) -> Node:
    isa95 = await client.get_namespace_index(ISA95)
    return await client.nodes.objects.get_child([f"{isa95}:JobOrderControl"])


async def call(client: Client, method: str, *args: ua.Variant) -> ua.CallMethodResult:
    """The raw CallMethodResult: an Uncertain answer still carries its ReturnStatus."""
    isa95 = await client.get_namespace_index(ISA95)
    node = await receiver(client)
    request = ua.CallMethodRequest()
    request.ObjectId = node.nodeid
    request.MethodId = (await node.get_child([f"{isa95}:{method}"])).nodeid
    request.InputArguments = list(args)
    (result,) = await client.uaclient.call([request])
    if result.StatusCode.is_bad():
        raise ua.UaStatusCodeError(result.StatusCode.value)
    result.OutputArguments = [variant.Value for variant in result.OutputArguments]
    return result


async def states(client: Client) -> dict[str, str]:
    isa95 = await client.get_namespace_index(ISA95)
    listing = await (await receiver(client)).get_child([f"{isa95}:JobOrderList"])
    entries: list[Any] = await listing.read_value()
    return {entry.JobOrder.JobOrderID: entry.State[0].StateText.Text for entry in entries}


def orders_of(site: Site) -> FakeOrderBook:
    assert site.server is not None
    desk = site.server.ports.orders
    assert isinstance(desk, FakeOrderBook)
    return desk


async def test_the_receiver_is_an_isa95_job_order_receiver(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    async with await secure_client(site.server.endpoint, trusted_cert, "mes") as client:
        isa95 = await client.get_namespace_index(ISA95)
        node = await receiver(client)
        assert await node.read_type_definition() == ua.NodeId(1002, isa95)
        site_ns = await client.get_namespace_index(NAMESPACE_URI)
        assert node.nodeid == ua.NodeId("JobOrderControl", site_ns)


async def test_a_stored_job_order_waits_and_a_started_one_raises_a_print_order(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    async with await secure_client(site.server.endpoint, trusted_cert, "mes") as client:
        stored = await call(client, "Store", job_order("MES-1", quantity=4))
        assert stored.OutputArguments[0] == NO_ERROR
        assert (await states(client))["MES-1"] == "NotAllowedToStart"
        before = set(orders_of(site).orders)
        started = await call(client, "Start", text("MES-1"))
        assert started.OutputArguments[0] == NO_ERROR
        (new,) = set(orders_of(site).orders) - before
        order = orders_of(site).orders[new]
        assert (order.design_id, order.quantity) == (KNOWN_DESIGN, 4)
        assert "MES-1" in order.reason
        assert (await states(client))["MES-1"] == "AllowedToStart"


async def test_abort_cancels_the_print_order_and_clear_forgets_the_job_order(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    async with await secure_client(site.server.endpoint, trusted_cert, "planner") as client:
        assert (await call(client, "StoreAndStart", job_order("MES-2"))).OutputArguments[
            0
        ] == NO_ERROR
        premature = await call(client, "Clear", text("MES-2"))
        assert premature.StatusCode.value == ua.StatusCodes.Uncertain
        assert premature.OutputArguments[0] == INVALID_JOB_ORDER_STATUS
        assert (await call(client, "Abort", text("MES-2"))).OutputArguments[0] == NO_ERROR
        assert (await states(client))["MES-2"] == "Aborted"
        cancelled = [o for o in orders_of(site).orders.values() if "MES-2" in o.reason]
        assert [o.state.isa95 for o in cancelled] == ["Aborted"]
        assert (await call(client, "Clear", text("MES-2"))).OutputArguments[0] == NO_ERROR
        assert "MES-2" not in await states(client)


async def test_refusals_answer_uncertain_with_the_isa95_return_status(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    async with await secure_client(site.server.endpoint, trusted_cert, "mes") as client:
        unknown = await call(client, "Start", text("never-stored"))
        assert unknown.StatusCode.value == ua.StatusCodes.Uncertain
        assert unknown.OutputArguments[0] == UNKNOWN_JOB_ORDER_ID
        no_quantity = await call(client, "Store", job_order("MES-3", quantity=0))
        assert no_quantity.OutputArguments[0] == INVALID_REQUEST
        assert "MES-3" not in await states(client)


async def test_only_mes_planner_and_admin_may_command_job_orders(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    async with await secure_client(site.server.endpoint, trusted_cert, "operator") as client:
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            await call(client, "Store", job_order("MES-4"))
    audit = (Path(site.settings.data_dir) / site.settings.server.audit_file).read_text()
    refused = [line for line in audit.splitlines() if '"target": "Store"' in line]
    assert any("BadUserAccessDenied" in line for line in refused)


class _Events:
    def __init__(self) -> None:
        self.received: asyncio.Queue[Any] = asyncio.Queue()

    def event_notification(self, event: Any) -> None:
        self.received.put_nowait(event)


async def test_each_change_sends_a_job_order_status_event(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    async with await secure_client(site.server.endpoint, trusted_cert, "mes") as client:
        isa95 = await client.get_namespace_index(ISA95)
        handler = _Events()
        subscription = await client.create_subscription(50, handler)
        await subscription.subscribe_events(await receiver(client), ua.NodeId(1006, isa95))
        await call(client, "Store", job_order("MES-5"))
        event = await asyncio.wait_for(handler.received.get(), timeout=10)
        assert event.JobOrder.JobOrderID == "MES-5"
        assert event.JobState[0].StateText.Text == "NotAllowedToStart"
        await subscription.delete()


async def test_cancel_ends_a_job_order_not_yet_running_and_its_print_order(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    async with await secure_client(site.server.endpoint, trusted_cert, "mes") as client:
        await call(client, "Store", job_order("MES-6"))
        assert (await call(client, "Cancel", text("MES-6"))).OutputArguments[0] == NO_ERROR
        await call(client, "StoreAndStart", job_order("MES-7"))
        assert (await call(client, "Cancel", text("MES-7"))).OutputArguments[0] == NO_ERROR
        held = await states(client)
        assert (held["MES-6"], held["MES-7"]) == ("Aborted", "Aborted")
        cancelled = [o for o in orders_of(site).orders.values() if "MES-7" in o.reason]
        assert [o.state.isa95 for o in cancelled] == ["Aborted"]
        again = await call(client, "Cancel", text("MES-7"))
        assert again.OutputArguments[0] == INVALID_JOB_ORDER_STATUS


async def test_revoke_start_stores_the_job_order_again_and_update_changes_it(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    async with await secure_client(site.server.endpoint, trusted_cert, "planner") as client:
        await call(client, "StoreAndStart", job_order("MES-8", quantity=2))
        assert (await call(client, "RevokeStart", text("MES-8"))).OutputArguments[0] == NO_ERROR
        assert (await states(client))["MES-8"] == "NotAllowedToStart"
        revoked = [o for o in orders_of(site).orders.values() if "MES-8" in o.reason]
        assert [o.state.isa95 for o in revoked] == ["Aborted"]
        updated = await call(client, "Update", job_order("MES-8", quantity=5))
        assert updated.OutputArguments[0] == NO_ERROR
        before = set(orders_of(site).orders)
        await call(client, "Start", text("MES-8"))
        (new,) = set(orders_of(site).orders) - before
        assert orders_of(site).orders[new].quantity == 5
        late = await call(client, "Update", job_order("MES-8", quantity=6))
        assert late.OutputArguments[0] == INVALID_JOB_ORDER_STATUS


@pytest.mark.parametrize("method", ["Stop", "Pause", "Resume"])
async def test_what_a_printer_cannot_do_answers_not_supported(
    site: Site, trusted_cert: tuple[Path, Path], method: str
) -> None:
    assert site.server is not None
    async with await secure_client(site.server.endpoint, trusted_cert, "mes") as client:
        with pytest.raises(ua.uaerrors.BadNotSupported):
            await call(client, method, text("MES-1"))


async def test_a_held_print_order_interrupts_its_job_order_which_the_mes_cannot_start_again(
    site: Site, trusted_cert: tuple[Path, Path]
) -> None:
    assert site.server is not None
    async with await secure_client(site.server.endpoint, trusted_cert, "mes") as client:
        await call(client, "StoreAndStart", job_order("MES-9"))
        [order] = [o for o in orders_of(site).orders.values() if "MES-9" in o.reason]
        held = order.model_copy(update={"state": OrderState.HELD, "state_reason": "recall RC-1"})
        orders_of(site).orders[order.id] = held
        await site.server.show_order(held)  # as the order book tells the server of a change
        assert (await states(client))["MES-9"] == "Interrupted"
        ns = await client.get_namespace_index(NAMESPACE_URI)
        node = client.get_node(ua.NodeId(f"PrintOrders/{order.id}/State", ns))
        assert await node.read_value() == "held"
        before = set(orders_of(site).orders)
        again = await call(client, "Start", text("MES-9"))
        assert again.OutputArguments[0] == INVALID_JOB_ORDER_STATUS
        assert set(orders_of(site).orders) == before
        assert (await call(client, "Abort", text("MES-9"))).OutputArguments[0] == NO_ERROR
        assert orders_of(site).orders[order.id].state is OrderState.CANCELLED
