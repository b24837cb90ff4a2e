"""A machine's health as OPC 10000-100 (DI) DeviceHealth: the NAMUR NE 107 states an MES knows."""

# DI §4.5.4 IDeviceHealthType: a DeviceHealth variable of DataType DeviceHealthEnumeration
# (ns=DI;i=6244) on the device, here each machine object, which says so with HasInterface
# IDeviceHealthType (ns=DI;i=15051). Our health states map onto NE 107 as a planner reads them:
# no verdict yet (a baseline is being learnt) is CHECK_FUNCTION; a warning or an alarm means the
# wear reserve is running out while the machine still works, MAINTENANCE_REQUIRED.

from __future__ import annotations

from enum import IntEnum

from asyncua import Server, ua

from models import HealthState
from opcua_server.model.nodes import NodeBuilder

DEVICE_HEALTH_ENUMERATION = 6244
I_DEVICE_HEALTH_TYPE = 15051
"""Numeric ids in the DI namespace (Opc.Ua.Di.NodeSet2.xml 1.05)."""


class DeviceHealth(IntEnum):
    """DeviceHealthEnumeration (OPC 10000-100 §5.5.4)."""

    NORMAL = 0
    FAILURE = 1
    CHECK_FUNCTION = 2
    OFF_SPEC = 3
    MAINTENANCE_REQUIRED = 4


DEVICE_HEALTH_OF: dict[HealthState, DeviceHealth] = {
    HealthState.UNKNOWN: DeviceHealth.CHECK_FUNCTION,
    HealthState.NORMAL: DeviceHealth.NORMAL,
    HealthState.WARNING: DeviceHealth.MAINTENANCE_REQUIRED,
    HealthState.ALARM: DeviceHealth.MAINTENANCE_REQUIRED,
}


def device_health_variant(state: HealthState) -> ua.Variant:
    """The DeviceHealth value of a health state (an enumeration travels as Int32)."""
    return ua.Variant(int(DEVICE_HEALTH_OF[state]), ua.VariantType.Int32)


async def add_device_health(
    server: Server, builder: NodeBuilder, machine: ua.NodeId, base: str, di_namespace: int
) -> ua.NodeId:
    """DI's DeviceHealth on ``machine`` (and HasInterface IDeviceHealthType); CHECK_FUNCTION
    until the first score."""
    interface = ua.NodeId(I_DEVICE_HEALTH_TYPE, di_namespace)
    await server.get_node(machine).add_reference(
        interface, ua.ObjectIds.HasInterface, bidirectional=False
    )
    return await builder.variable(
        machine,
        f"{base}/DeviceHealth",
        ua.QualifiedName("DeviceHealth", di_namespace),
        int(DeviceHealth.CHECK_FUNCTION),
        ua.VariantType.Int32,
        data_type=ua.NodeId(DEVICE_HEALTH_ENUMERATION, di_namespace),
        description="NAMUR NE 107 health of the machine (OPC 10000-100 DeviceHealth)",
    )
