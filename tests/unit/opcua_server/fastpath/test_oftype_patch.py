"""OfType in a where clause holds for the given event type and its subtypes (OPC 10000-4 §7.7.3)."""

from __future__ import annotations

import itertools
import logging

import pytest
from asyncua import ua
from asyncua.common.events import Event
from asyncua.server.address_space import AddressSpace, NodeData
from asyncua.server.monitored_item_service import WhereClauseEvaluator

from opcua_server.fastpath import PATCHES, install_patch

DI = 3
BASE_EVENT = ua.NodeId(ua.ObjectIds.BaseEventType)
ALARM_CONDITION = ua.NodeId(ua.ObjectIds.AlarmConditionType)
OFF_NORMAL = ua.NodeId(ua.ObjectIds.OffNormalAlarmType)
MAINTENANCE_REQUIRED = ua.NodeId(15739, DI)
SYSTEM_EVENT = ua.NodeId(ua.ObjectIds.SystemEventType)
SUBTYPE_CHAINS = (
    (
        BASE_EVENT,
        ua.NodeId(ua.ObjectIds.ConditionType),
        ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType),
        ALARM_CONDITION,
        ua.NodeId(ua.ObjectIds.DiscreteAlarmType),
        OFF_NORMAL,
        ua.NodeId(ua.ObjectIds.InstrumentDiagnosticAlarmType),
        ua.NodeId(15143, DI),  # DeviceHealthDiagnosticAlarmType
        MAINTENANCE_REQUIRED,
    ),
    (BASE_EVENT, SYSTEM_EVENT),
)
"""The event types of the DI maintenance alarm, from BaseEventType down, and one aside."""


def type_tree() -> AddressSpace:
    """The types of SUBTYPE_CHAINS, each with its HasSubtype references both ways."""
    aspace = AddressSpace()
    for chain in SUBTYPE_CHAINS:
        for supertype, subtype in itertools.pairwise(chain):
            for node, other, forward in ((supertype, subtype, True), (subtype, supertype, False)):
                if node not in aspace:
                    aspace[node] = NodeData(node)
                reference = ua.ReferenceDescription(
                    ReferenceTypeId=ua.NodeId(ua.ObjectIds.HasSubtype),
                    IsForward=forward,
                    NodeId=other,
                )
                aspace[node].references.append(reference)
    return aspace


def of_type(event_type: ua.NodeId) -> ua.ContentFilterElement:
    return ua.ContentFilterElement(
        FilterOperator=ua.FilterOperator.OfType,
        FilterOperands=[ua.LiteralOperand(Value=ua.Variant(event_type))],
    )


def event(event_type: ua.NodeId, severity: int = 500) -> Event:
    happened = Event()
    happened.add_property("EventType", event_type, ua.VariantType.NodeId)
    happened.add_property("Severity", severity, ua.VariantType.UInt16)
    return happened


def passes(where: list[ua.ContentFilterElement], happened: Event) -> bool:
    evaluator = WhereClauseEvaluator(
        logging.getLogger(__name__), type_tree(), ua.ContentFilter(Elements=where)
    )
    return bool(evaluator.eval(happened))


@pytest.fixture(scope="module", autouse=True)
def _patched() -> None:
    assert install_patch(PATCHES["oftype_subtypes"])


def test_the_oftype_patch_fits_the_pinned_asyncua() -> None:
    """Fails when asyncua's where clause evaluation changed: re-check the patch against it."""
    assert PATCHES["oftype_subtypes"].problem() is None


@pytest.mark.parametrize("supertype", [OFF_NORMAL, ALARM_CONDITION, BASE_EVENT])
def test_an_event_of_a_subtype_passes_oftype_on_its_supertypes(supertype: ua.NodeId) -> None:
    assert passes([of_type(supertype)], event(MAINTENANCE_REQUIRED))


def test_an_event_passes_oftype_on_its_own_type() -> None:
    assert passes([of_type(MAINTENANCE_REQUIRED)], event(MAINTENANCE_REQUIRED))


@pytest.mark.parametrize(
    ("event_type", "filtered"),
    [
        (SYSTEM_EVENT, OFF_NORMAL),  # a sibling branch
        (OFF_NORMAL, MAINTENANCE_REQUIRED),  # a supertype is not of its subtype's type
        (ua.NodeId("unknown", 2), OFF_NORMAL),  # a type the server does not know
    ],
)
def test_an_event_of_an_unrelated_type_does_not_pass(
    event_type: ua.NodeId, filtered: ua.NodeId
) -> None:
    assert not passes([of_type(filtered)], event(event_type))


def test_oftype_combines_with_the_other_operators() -> None:
    """And(OfType OffNormalAlarmType, Severity >= 600): the other operators are asyncua's."""
    severity = ua.SimpleAttributeOperand(
        TypeDefinitionId=BASE_EVENT,
        BrowsePath=[ua.QualifiedName("Severity", 0)],
        AttributeId=ua.AttributeIds.Value,
    )
    at_least = ua.ContentFilterElement(
        FilterOperator=ua.FilterOperator.GreaterThanOrEqual,
        FilterOperands=[severity, ua.LiteralOperand(Value=ua.Variant(600))],
    )
    both = ua.ContentFilterElement(
        FilterOperator=ua.FilterOperator.And,
        FilterOperands=[ua.ElementOperand(Index=1), ua.ElementOperand(Index=2)],
    )
    where = [both, of_type(OFF_NORMAL), at_least]
    assert passes(where, event(MAINTENANCE_REQUIRED, severity=700))
    assert not passes(where, event(MAINTENANCE_REQUIRED, severity=500))
    assert not passes(where, event(SYSTEM_EVENT, severity=700))
