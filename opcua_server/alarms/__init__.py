"""Part 9 alarm conditions: a pure state machine (conditions) and the asyncua glue (manager)."""

from opcua_server.alarms.conditions import (
    AlarmError,
    AlertInfo,
    ConditionMethodError,
    ConditionState,
)
from opcua_server.alarms.manager import AlarmManager

__all__ = ["AlarmError", "AlarmManager", "AlertInfo", "ConditionMethodError", "ConditionState"]
