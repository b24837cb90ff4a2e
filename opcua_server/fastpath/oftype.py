"""Patch oftype_subtypes: a where clause's OfType holds for the given type and its subtypes."""

# Replaces WhereClauseEvaluator._eval_el (asyncua 2.1.0) for the OfType operator only.
#
# Why: asyncua answers OfType with `event.EventType == operand`, an exact match, while
# OPC 10000-4 §7.7.3 makes OfType true when the event's type is the given type or one of its
# subtypes. Our maintenance alarms are DI MaintenanceRequiredAlarmType conditions, a subtype of
# OffNormalAlarmType; a client filtering its subscription or its event history (the same
# evaluator serves both) with OfType OffNormalAlarmType, or AlarmConditionType, must find them.
# Every other operator is evaluated by asyncua's own code. Process-wide.
#
# Checked: the source digests of WhereClauseEvaluator.__init__ (which keeps `elements` and
# `_aspace`), _eval_el (which it replaces) and _eval_op (which evaluates the operand).

from __future__ import annotations

from typing import Any

from asyncua import ua
from asyncua.server.address_space import AddressSpace
from asyncua.server.monitored_item_service import WhereClauseEvaluator

from opcua_server.fastpath.patching import Patch, Target

_original_eval_el = WhereClauseEvaluator._eval_el
HAS_SUBTYPE = ua.NodeId(ua.ObjectIds.HasSubtype)


def supertype_of(aspace: AddressSpace, type_id: ua.NodeId) -> ua.NodeId | None:
    """The type ``type_id`` is a HasSubtype of, or None (a root type or an unknown node)."""
    node = aspace.get(type_id)
    if node is None:
        return None
    for reference in node.references:
        if not reference.IsForward and reference.ReferenceTypeId == HAS_SUBTYPE:
            return reference.NodeId
    return None


def is_type_or_subtype(aspace: AddressSpace, type_id: ua.NodeId, wanted: ua.NodeId) -> bool:
    """Whether ``type_id`` is ``wanted`` or, through HasSubtype, one of its subtypes."""
    seen: set[ua.NodeId] = set()
    current: ua.NodeId | None = type_id
    while current is not None and current not in seen:
        if current == wanted:
            return True
        seen.add(current)
        current = supertype_of(aspace, current)
    return False


def _of_type(evaluator: WhereClauseEvaluator, element: Any, event: Any) -> bool:
    """OfType (OPC 10000-4 §7.7.3), remembered per evaluator for each (event type, operand)."""
    wanted = evaluator._eval_op(element.FilterOperands[0], event)
    event_type = event.EventType
    answers: dict[tuple[ua.NodeId, ua.NodeId], bool] = evaluator.__dict__.setdefault(
        "_of_type_answers", {}
    )
    key = (event_type, wanted)
    if key not in answers:
        answers[key] = is_type_or_subtype(evaluator._aspace, event_type, wanted)
    return answers[key]


def _eval_el(self: WhereClauseEvaluator, index: int, event: Any) -> Any:
    """WhereClauseEvaluator._eval_el (asyncua 2.1.0) with OfType matching subtypes too."""
    element = self.elements[index]
    if element.FilterOperator == ua.FilterOperator.OfType:
        return _of_type(self, element, event)
    return _original_eval_el(self, index, event)


PATCH = Patch(
    "oftype_subtypes",
    (
        Target(
            WhereClauseEvaluator,
            "__init__",
            "df7d261fef0fa1262a602db2c939dfc3d4e4fa6e67b0c0fe04b30c64b5a3244d",
        ),
        Target(
            WhereClauseEvaluator,
            "_eval_el",
            "e87aee4a1045c13c7f9feae00ba1b0c03db8106db305e3fb23ce44dcfef558c4",
            _eval_el,
        ),
        Target(
            WhereClauseEvaluator,
            "_eval_op",
            "08df7ae98ab7231c8c2e1b4d9e205e27a16a36d0e3b7ff3d8445d79b3d1187fb",
        ),
    ),
)
