"""The closed loop as the MES sees it: order over OPC UA, printed parts, certificates verified."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua

from config import load_demo_settings
from ledger.bundle import read_bundle
from ledger.verify import verify_offline
from opcua_server.app import Site
from tests.support import call_method, make_client_certificate, secure_client, text

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "loop-demo-pass"
DESIGN = "spindle-bearing-housing"


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    data_dir = tmp_path_factory.mktemp("loop") / "var"
    environ = {"TRUSTFLOOR_DEMO_PASSWORD": PASSWORD}
    settings = load_demo_settings(data_dir, check_secrets=False)
    server = settings.server.model_copy(update={"port": 0, "metrics_port": 0})
    ledger = settings.ledger.model_copy(update={"batch_max_age_s": 1})
    settings = settings.model_copy(update={"server": server, "ledger": ledger})
    site = Site(settings, environ=environ, demo_designs=True, excursion_every=2)
    await site.start()
    await site.wait_connected()
    yield site
    await site.stop()


async def mes_client(site: Site, folder: Path) -> Client:
    assert site.server is not None
    cert = make_client_certificate(folder)
    return await secure_client(site.server.endpoint, cert, "mes", PASSWORD, timeout_s=15)


async def wait_for_value(client: Client, node_id: str, wanted: set[str], timeout_s: float) -> str:
    ns = await client.get_namespace_index("urn:trustfloor:site")
    node = client.get_node(ua.NodeId(node_id, ns))
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                value = str(await node.read_value())
            except ua.UaStatusCodeError:
                value = ""
            if value in wanted:
                return value
            await asyncio.sleep(0.3)


async def test_mes_order_becomes_certified_anchored_parts(demo: Site, tmp_path: Path) -> None:
    client = await mes_client(demo, tmp_path / "mes")
    async with client:
        quantity = ua.Variant(2, ua.VariantType.UInt32)
        order_id = await call_method(
            client, "PrintOrders", "CreatePrintOrder", text(DESIGN), quantity, text("e2e")
        )
        state = await wait_for_value(
            client, f"PrintOrders/{order_id}/State", {"certified", "rejected"}, 120
        )
        first, second = f"{order_id}-01", f"{order_id}-02"
        verdicts = [
            await wait_for_value(client, f"Parts/{serial}/Verdict", {"pass", "fail"}, 30)
            for serial in (first, second)
        ]
        assert verdicts == ["pass", "fail"], "the second job had an excursion injected"
        assert state == "rejected", "an order with a failed piece is rejected"
        assert demo.ledger is not None
        async with asyncio.timeout(60):
            while demo.pending_anchors() or demo.ledger.store.counts()["batches_anchored"] == 0:
                await asyncio.sleep(0.5)
            while True:
                bundle_json = await call_method(client, "Parts", "GetProofBundle", text(first))
                if json.loads(bundle_json)["certificate"].get("anchor"):
                    break
                await asyncio.sleep(0.5)
        offline = verify_offline(read_bundle(bundle_json))
        assert offline.valid, offline.reasons
        valid, reason = await call_method(client, "Parts", "VerifyCertificate", text(bundle_json))
        assert valid is True, reason
        assert "verdict pass" in reason
        failed_cert = json.loads(await call_method(client, "Parts", "GetCertificate", text(second)))
        assert "fail" in json.dumps(failed_cert).lower()
        assert "LaserPower" in json.dumps(failed_cert)
        produced = await wait_for_value(client, f"Designs/{DESIGN}/PartsProduced", {"2"}, 30)
        assert produced == "2"
