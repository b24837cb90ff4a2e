"""A secure asyncua server with the AlarmManager and event history, for alarm tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asyncua import Client, Server, ua

from models.timebase import ManualClock
from opcua_server.alarms import AlarmManager
from opcua_server.fastpath import PATCHES, install_patch
from opcua_server.history.events import EventHistory, EventStore
from opcua_server.model.companion import NODESETS, nodeset_text, without_design_tool_only
from opcua_server.model.namespaces import AMB, DI
from opcua_server.security.pki import PkiPaths, TrustListValidator, ensure_application_certificate
from opcua_server.security.roles import METHOD_ROLES, SessionUserRuleset, authorize
from opcua_server.security.users import ConfigUserManager
from tests.support import NAMESPACE_URI, free_port, site_settings

MACHINES = ("mill-1", "pump-1")


START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
TICK = timedelta(milliseconds=1)
"""Each reading of the alarm clock is one millisecond after the previous one: ordered,
repeatable times."""


@dataclass
class AlarmSite:
    """What the alarm tests reach for: the server, its alarms and event history."""

    server: Server
    endpoint: str
    namespace: int
    alarms: AlarmManager
    store: EventStore
    history: EventHistory
    clock: ManualClock
    machines: dict[str, ua.NodeId] = field(default_factory=dict)


def by_role(action: str) -> None:
    """The role check the composition root applies: only METHOD_ROLES may call each method."""
    authorize(action, METHOD_ROLES[action])


async def _add_machines(server: Server, namespace: int) -> dict[str, ua.NodeId]:
    folder = await server.nodes.objects.add_folder(
        ua.NodeId("Machines", namespace), ua.QualifiedName("Machines", namespace)
    )
    machines: dict[str, ua.NodeId] = {}
    for machine in MACHINES:
        node = await folder.add_object(
            ua.NodeId(f"Machines/{machine}", namespace), ua.QualifiedName(machine, namespace)
        )
        machines[machine] = node.nodeid
    return machines


async def import_alarm_nodesets(server: Server) -> None:
    """The DI and AMB nodesets, where the alarms' type builds on: DI MaintenanceRequiredAlarmType
    and AMB IMaintenanceEventType."""
    for nodeset in NODESETS:
        if nodeset.model_uri in (DI, AMB):
            await server.import_xml(xmlstring=without_design_tool_only(nodeset_text(nodeset.file)))


async def _secure_server(data_dir: Path) -> tuple[Server, str]:
    """Basic256Sha256 SignAndEncrypt, the test users, per-request session users for the roles."""
    cfg = site_settings(data_dir).server
    pki = PkiPaths(data_dir / "pki")
    ensure_application_certificate(pki, cfg)
    server = Server(user_manager=ConfigUserManager(cfg.users))
    install_patch(PATCHES["oftype_subtypes"])  # as the site server does: OfType takes subtypes
    await server.init()
    await import_alarm_nodesets(server)
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/alarms"
    server.set_endpoint(endpoint)
    await server.set_application_uri(cfg.application_uri)
    await server.load_certificate(str(pki.own_certificate))
    await server.load_private_key(str(pki.own_key))
    server.set_security_policy(
        [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt],
        permission_ruleset=SessionUserRuleset(),
    )
    server.set_identity_tokens([ua.UserNameIdentityToken])
    server.set_certificate_validator(TrustListValidator(pki, trust_unknown=True))
    return server, endpoint


@asynccontextmanager
async def running_alarm_site(data_dir: Path) -> AsyncIterator[AlarmSite]:
    """The server listening on 127.0.0.1 with a Machines folder, alarms and event history."""
    server, endpoint = await _secure_server(data_dir)
    namespace = await server.register_namespace(NAMESPACE_URI)
    machines = await _add_machines(server, namespace)
    store = EventStore(data_dir / "events.sqlite")
    clock = ManualClock(START, tick=TICK)
    alarms = AlarmManager(server, namespace, store, clock=clock, authorize=by_role)
    await alarms.start()
    history = EventHistory(store, server)
    # What the HistoryRead service of the server does for ReadEventDetails.
    server.iserver.history_manager.read_history = history.read_history
    await server.start()
    try:
        yield AlarmSite(server, endpoint, namespace, alarms, store, history, clock, machines)
    finally:
        await server.stop()
        await store.close()


class EventCollector:
    """asyncua subscription handler that queues every event notification's fields."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def event_notification(self, event: Any) -> None:
        self.events.put_nowait(event.get_event_props_as_fields_dict())

    async def next(self, timeout_s: float = 10.0) -> dict[str, Any]:
        """The next event's fields as plain values."""
        async with asyncio.timeout(timeout_s):
            fields = await self.events.get()
        return {name: variant.Value for name, variant in fields.items()}


async def call(client: Client, condition: ua.NodeId, method: int, *args: Any) -> int:
    """Call a condition method the way OPC 10000-9 §5.7.3 describes: ObjectId = ConditionId."""
    request = ua.CallMethodRequest()
    request.ObjectId = condition
    request.MethodId = ua.NodeId(method)
    request.InputArguments = [
        ua.Variant(args[0], ua.VariantType.ByteString),
        ua.Variant(ua.LocalizedText(args[1]), ua.VariantType.LocalizedText),
    ]
    (result,) = await client.uaclient.call([request])
    return int(result.StatusCode.value)


async def acknowledge(client: Client, condition: ua.NodeId, event_id: bytes, note: str) -> int:
    method = ua.ObjectIds.AcknowledgeableConditionType_Acknowledge
    return await call(client, condition, method, event_id, note)


async def confirm(client: Client, condition: ua.NodeId, event_id: bytes, note: str) -> int:
    return await call(
        client, condition, ua.ObjectIds.AcknowledgeableConditionType_Confirm, event_id, note
    )
