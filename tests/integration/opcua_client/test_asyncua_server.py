"""OPC UA client connector against a real asyncua server: quality, groups, restart, writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Node, Server, ua
from asyncua.crypto import cert_gen
from asyncua.crypto.permission_rules import User, UserRole
from cryptography.x509.oid import ExtendedKeyUsageOID

from connectors.opcua_client import OpcUaConnector, OpcUaWriteError
from models import Cause, Quality, SystemClock
from tests.integration.opcua_client.opcua_client_kit import (
    CollectingSink,
    fast_backoff,
    machine,
    running,
    tag,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

NAMESPACE = "urn:trustfloor:tests:asyncua-machine"
USER, PASSWORD = "trustfloor", "plc-secret-7"


@dataclass
class MachineServer:
    """A real asyncua server standing in for a machine's PLC."""

    server: Server
    url: str
    ns: int
    nodes: dict[str, Node]

    def node_id(self, name: str) -> str:
        return f"nsu={NAMESPACE};s=Machine/{name}"

    async def set(self, name: str, value: object, vtype: ua.VariantType) -> None:
        await self.nodes[name].write_value(ua.DataValue(ua.Variant(value, vtype)))


VARIABLES: dict[str, tuple[object, ua.VariantType]] = {
    "Temperature": (21.5, ua.VariantType.Double),
    "Counter": (0, ua.VariantType.Int32),
    "Running": (True, ua.VariantType.Boolean),
    "Mode": ("auto", ua.VariantType.String),
    "Setpoint": (0.0, ua.VariantType.Double),
    "Steps": (0, ua.VariantType.UInt16),
    "Drifting": (42.0, ua.VariantType.Double),
    "Broken": (0.0, ua.VariantType.Double),
}


async def populate(server: Server) -> tuple[int, dict[str, Node]]:
    ns = await server.register_namespace(NAMESPACE)
    folder = await server.nodes.objects.add_object(ua.NodeId("Machine", ns), "Machine")
    nodes: dict[str, Node] = {}
    for name, (value, vtype) in VARIABLES.items():
        node_id = ua.NodeId(f"Machine/{name}", ns)
        nodes[name] = await folder.add_variable(node_id, name, ua.Variant(value, vtype))
    for name in ("Setpoint", "Steps"):
        await nodes[name].set_writable()
    await server.write_attribute_value(
        nodes["Drifting"].nodeid,
        ua.DataValue(ua.Variant(42.0), ua.StatusCode(ua.StatusCodes.UncertainLastUsableValue)),
    )
    await server.write_attribute_value(
        nodes["Broken"].nodeid,
        ua.DataValue(ua.Variant(0.0), ua.StatusCode(ua.StatusCodes.BadSensorFailure)),
    )
    return ns, nodes


def listening_url(server: Server) -> str:
    port = server.bserver._server.sockets[0].getsockname()[1]  # asyncua keeps no public port
    return f"opc.tcp://127.0.0.1:{port}/machine"


async def start_plc() -> MachineServer:
    """A started machine server without security on a free port of 127.0.0.1."""
    server = Server()
    await server.init()
    server.set_endpoint("opc.tcp://127.0.0.1:0/machine")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    ns, nodes = await populate(server)
    await server.start()
    url = listening_url(server)
    server.set_endpoint(url)  # a restart binds the same port again
    return MachineServer(server, url, ns, nodes)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def plc() -> AsyncIterator[MachineServer]:
    running_plc = await start_plc()
    yield running_plc
    await running_plc.server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def restartable_plc() -> AsyncIterator[MachineServer]:
    """A server of the test's own: the tasks of its restart end with the test."""
    running_plc = await start_plc()
    yield running_plc
    await running_plc.server.stop()
    # A server keeps a session whose connection dropped, so that its client may reactivate it
    # (OPC 10000-4 §6.7); asyncua offers no public call to drop those when it stops.
    for session in list(running_plc.server.iserver._external_sessions.values()):
        await session.close_session()


def all_tags(plc: MachineServer, **extra: object) -> list[dict[str, object]]:
    return [tag(name.lower(), plc.node_id(name), **extra) for name in VARIABLES]


async def test_values_of_each_type_arrive_good_with_source_timestamps(plc: MachineServer) -> None:
    sink = CollectingSink()
    connector = OpcUaConnector(machine(plc.url, all_tags(plc)), SystemClock())
    async with running(connector, sink):
        temperature = await sink.good("temperature")
        running_ = await sink.good("running")
        mode = await sink.good("mode")
        counter = await sink.good("counter")
    assert temperature.value == 21.5
    assert running_.value is True
    assert mode.value == "auto"
    assert counter.value == 0
    assert isinstance(counter.value, int)
    assert temperature.source_ts.tzinfo is not None
    assert abs((datetime.now(UTC) - temperature.source_ts).total_seconds()) < 3600


async def test_status_codes_map_to_quality_and_cause_with_the_status_name(
    plc: MachineServer,
) -> None:
    sink = CollectingSink()
    connector = OpcUaConnector(machine(plc.url, all_tags(plc)), SystemClock())
    async with running(connector, sink):
        drifting = await sink.wait_for(lambda r: r.tag == "drifting", what="drifting")
        broken = await sink.wait_for(lambda r: r.tag == "broken", what="broken")
    assert drifting.quality is Quality.UNCERTAIN
    assert drifting.value == 42.0, "an uncertain value is kept"
    assert drifting.cause is Cause.DEVICE_EXCEPTION
    assert drifting.reason == "UncertainLastUsableValue"
    assert broken.quality is Quality.BAD
    assert broken.value is None
    assert broken.reason == "BadSensorFailure"


async def test_engineering_range_makes_a_good_value_uncertain(plc: MachineServer) -> None:
    sink = CollectingSink()
    tags = [tag("temperature", plc.node_id("Temperature"), eu_low=0.0, eu_high=20.0)]
    connector = OpcUaConnector(machine(plc.url, tags), SystemClock())
    async with running(connector, sink):
        reading = await sink.wait_for(lambda r: r.tag == "temperature", what="temperature")
    assert reading.quality is Quality.UNCERTAIN
    assert reading.cause is Cause.OUT_OF_RANGE
    assert "above the engineering range" in reading.reason


async def test_changes_are_delivered_and_each_sampling_interval_gets_a_subscription(
    plc: MachineServer,
) -> None:
    sink = CollectingSink()
    tags = [
        tag("counter", plc.node_id("Counter"), sampling_interval_ms=50),
        tag("temperature", plc.node_id("Temperature"), sampling_interval_ms=250),
    ]
    connector = OpcUaConnector(machine(plc.url, tags), SystemClock())
    before = set(plc.server.iserver.subscription_service.subscriptions)
    async with running(connector, sink):
        await sink.good("counter")
        await sink.good("temperature")
        created = set(plc.server.iserver.subscription_service.subscriptions) - before
        intervals = sorted(
            plc.server.iserver.subscription_service.subscriptions[s].data.RevisedPublishingInterval
            for s in created
        )
        for value in (1, 2, 3):
            await plc.set("Counter", value, ua.VariantType.Int32)
            await sink.good("counter", value=value)
    assert intervals == [50.0, 250.0]


async def test_server_restart_reads_bad_then_resubscribes_and_reads_good(
    restartable_plc: MachineServer,
) -> None:
    sink = CollectingSink()
    connector = OpcUaConnector(
        machine(restartable_plc.url, all_tags(restartable_plc)),
        SystemClock(),
        backoff=fast_backoff(),
    )
    async with running(connector, sink):
        await sink.good("counter")
        await restartable_plc.server.stop()
        try:
            down = await sink.wait_for(
                lambda r: (
                    r.quality is Quality.BAD
                    and r.tag == "counter"
                    and r.cause is Cause.COMMUNICATION
                ),
                what="bad counter",
            )
            lost_at = sink.readings.index(down)
            outage = await sink.wait_for(
                lambda r: r.tag == "mode" and r.cause is Cause.COMMUNICATION, after=lost_at
            )
        finally:
            await restartable_plc.server.start()
        assert not connector.connected
        await sink.good("mode", after=lost_at)
        await restartable_plc.set("Counter", 41, ua.VariantType.Int32)
        await sink.good("counter", value=41, after=lost_at)
    assert connector.sessions >= 2
    assert outage.value is None
    assert outage.quality is Quality.BAD
    tags_bad = {r.tag for r in sink.readings[lost_at:] if r.cause is Cause.COMMUNICATION}
    assert tags_bad == {name.lower() for name in VARIABLES}, "every tag reads Bad while down"


async def test_write_round_trip_sends_plain_values_of_the_node_type(plc: MachineServer) -> None:
    sink = CollectingSink()
    tags = [tag("setpoint", plc.node_id("Setpoint")), tag("steps", plc.node_id("Steps"))]
    connector = OpcUaConnector(machine(plc.url, tags), SystemClock())
    async with running(connector, sink):
        await sink.good("setpoint")
        await connector.write("setpoint", 12.5)
        await connector.write("steps", 7.0)
        echoed = await sink.good("setpoint", value=12.5)
        written = await plc.nodes["Setpoint"].read_data_value()
        steps = await plc.nodes["Steps"].read_data_value()
    assert echoed.value == 12.5
    assert written.SourceTimestamp is None, "the client sent no source timestamp"
    assert steps.Value.Value == 7
    assert steps.Value.VariantType is ua.VariantType.UInt16


async def test_refused_and_impossible_writes_raise_with_the_reason(plc: MachineServer) -> None:
    sink = CollectingSink()
    tags = [tag("temperature", plc.node_id("Temperature")), tag("steps", plc.node_id("Steps"))]
    connector = OpcUaConnector(machine(plc.url, tags), SystemClock())
    with pytest.raises(OpcUaWriteError, match="not connected"):
        await connector.write("steps", 1)
    async with running(connector, sink):
        await sink.good("temperature")
        with pytest.raises(OpcUaWriteError, match=r"BadNotWritable|BadUserAccessDenied"):
            await connector.write("temperature", 30.0)
        with pytest.raises(OpcUaWriteError, match="whole numbers"):
            await connector.write("steps", 2.5)
        with pytest.raises(OpcUaWriteError, match="no such tag"):
            await connector.write("nope", 1)


async def test_unknown_nodes_and_namespaces_read_bad_with_the_reason(plc: MachineServer) -> None:
    sink = CollectingSink()
    tags = [
        tag("temperature", plc.node_id("Temperature")),
        tag("ghost", f"ns={plc.ns};s=Machine/Ghost"),
        tag("elsewhere", "nsu=urn:nobody;s=X"),
    ]
    connector = OpcUaConnector(machine(plc.url, tags), SystemClock())
    async with running(connector, sink):
        await sink.good("temperature")
        ghost = await sink.wait_for(lambda r: r.tag == "ghost", what="ghost")
        elsewhere = await sink.wait_for(lambda r: r.tag == "elsewhere", what="elsewhere")
    assert ghost.quality is Quality.BAD
    assert ghost.cause is Cause.DEVICE_EXCEPTION
    assert "BadNodeIdUnknown" in ghost.reason
    assert elsewhere.quality is Quality.BAD
    assert "urn:nobody" in elsewhere.reason


async def test_unreachable_server_keeps_reporting_bad_communication() -> None:
    from tests.support import free_port

    sink = CollectingSink()
    url = f"opc.tcp://127.0.0.1:{free_port()}/none"
    connector = OpcUaConnector(
        machine(url, [tag("a", "ns=2;s=A")]), SystemClock(), backoff=fast_backoff()
    )
    async with running(connector, sink):
        first = await sink.wait_for(lambda r: r.tag == "a", what="first attempt")
        await sink.wait_for(lambda r: r.tag == "a", after=sink.readings.index(first) + 1)
    assert {r.cause for r in sink.readings} == {Cause.COMMUNICATION}
    assert "cannot connect" in first.reason


class OneUser:
    """Accepts only USER/PASSWORD, as a PLC with one account does."""

    def get_user(
        self,
        iserver: object,
        username: str | None = None,
        password: str | None = None,
        certificate: object = None,
    ) -> User | None:
        if username == USER and password == PASSWORD:
            return User(role=UserRole.User)
        return None


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def secure_plc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MachineServer]:
    """An asyncua server offering only Basic256Sha256 SignAndEncrypt with a username login."""
    pki = tmp_path_factory.mktemp("secure-plc")
    server = Server(user_manager=OneUser())  # asyncua duck-types the user manager
    await server.init()
    server.set_endpoint("opc.tcp://127.0.0.1:0/secure")
    server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
    server.set_identity_tokens([ua.UserNameIdentityToken])
    await cert_gen.setup_self_signed_certificate(
        pki / "key.pem",
        pki / "cert.der",
        "urn:trustfloor:tests:secure-plc",
        "localhost",
        [ExtendedKeyUsageOID.SERVER_AUTH],
        {},
    )
    await server.load_certificate(str(pki / "cert.der"))
    await server.load_private_key(str(pki / "key.pem"))
    ns, nodes = await populate(server)
    await server.start()
    url = listening_url(server).replace("/machine", "/secure")
    yield MachineServer(server, url, ns, nodes)
    await server.stop()


async def test_sign_and_encrypt_with_a_username_reads_and_writes(
    secure_plc: MachineServer, tmp_path: Path
) -> None:
    config = machine(
        secure_plc.url,
        [
            tag("temperature", secure_plc.node_id("Temperature")),
            tag("setpoint", secure_plc.node_id("Setpoint")),
        ],
        security_policy="Basic256Sha256",
        security_mode="SignAndEncrypt",
        username=USER,
        password_env="PLC_PASSWORD",
    )
    connector = OpcUaConnector(
        config, SystemClock(), environ={"PLC_PASSWORD": PASSWORD}, pki_dir=tmp_path / "pki"
    )
    sink = CollectingSink()
    async with running(connector, sink):
        await sink.good("temperature", value=21.5)
        await connector.write("setpoint", 3.25)
        await sink.good("setpoint", value=3.25)
    assert (tmp_path / "pki" / "own" / "client.der").is_file()


async def test_a_wrong_password_reads_bad_with_the_servers_refusal(
    secure_plc: MachineServer, tmp_path: Path
) -> None:
    config = machine(
        secure_plc.url,
        [tag("temperature", secure_plc.node_id("Temperature"))],
        security_policy="Basic256Sha256",
        security_mode="SignAndEncrypt",
        username=USER,
        password_env="PLC_PASSWORD",
    )
    connector = OpcUaConnector(
        config, SystemClock(), environ={"PLC_PASSWORD": "wrong"}, pki_dir=tmp_path / "pki"
    )
    sink = CollectingSink()
    async with running(connector, sink):
        refused = await sink.wait_for(lambda r: r.tag == "temperature", what="refusal")
    assert refused.quality is Quality.BAD
    assert "BadUserAccessDenied" in refused.reason
