"""Alarm condition state machine (OPC 10000-9), event fields codec and history read windows."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asyncua import ua

from opcua_server.alarms import conditions
from opcua_server.alarms.conditions import (
    AlarmError,
    AlertInfo,
    ClientCall,
    ConditionMethodError,
    acknowledged,
    activated,
    confirmed,
    deactivated,
)
from opcua_server.alarms.fields import condition_fields, state_of
from opcua_server.history.events import (
    EventWindow,
    decode_continuation,
    decode_fields,
    encode_continuation,
    encode_fields,
)

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def sample_alert(severity: int = 700) -> AlertInfo:
    return AlertInfo("m", "c", severity, "msg", ua.NodeId("Machines/m", 2), "m")


def test_severity_outside_1_to_1000_is_refused_with_advice() -> None:
    for severity in (0, 1001):
        with pytest.raises(AlarmError) as refused:
            sample_alert(severity)
        assert "1..1000" in refused.value.advice


def test_retain_follows_active_acked_and_confirmed() -> None:
    cid = ua.NodeId("Alarms/m/c", 2)
    state = activated(None, sample_alert(), cid, T0, b"1")
    assert (state.active, state.acked, state.confirmed, state.retain) == (True, False, True, True)
    state = acknowledged(state, ClientCall(b"1", "ok", "mes", T0, b"2"))
    assert (state.acked, state.confirmed, state.retain) == (True, False, True)
    state = confirmed(state, ClientCall(b"2", "done", "planner", T0, b"3"))
    assert state.retain, "still active"
    state = deactivated(state, None, T0, b"4")
    assert not state.retain
    assert state.message == "msg (cleared)"
    again = activated(state, sample_alert(900), cid, T0 + timedelta(seconds=1), b"5")
    assert (again.active, again.acked, again.retain, again.last_severity) == (
        True,
        False,
        True,
        700,
    )


def test_transitions_check_the_event_id_and_the_state() -> None:
    state = activated(None, sample_alert(), ua.NodeId("Alarms/m/c", 2), T0, b"1")
    with pytest.raises(ConditionMethodError) as stale:
        acknowledged(state, ClientCall(b"0", "", None, T0, b"2"))
    assert stale.value.status == ua.StatusCodes.BadEventIdUnknown
    with pytest.raises(ConditionMethodError) as unacked:
        confirmed(state, ClientCall(b"1", "", None, T0, b"2"))
    assert unacked.value.status == ua.StatusCodes.BadConditionBranchAlreadyConfirmed


def test_condition_fields_round_trip_through_the_binary_codec() -> None:
    cid = ua.NodeId("Alarms/m/c", 2)
    state = acknowledged(
        activated(None, sample_alert(), cid, T0, b"1"), ClientCall(b"1", "ok", "mes", T0, b"2")
    )
    fields = condition_fields(state, ua.NodeId(15739, 3))
    decoded = decode_fields(encode_fields(fields))
    assert decoded == fields
    assert state_of(cid, "m", "c", decoded) == state


def test_read_window_directions_follow_part_11() -> None:
    later = T0 + timedelta(minutes=5)
    details = ua.ReadEventDetails()
    details.StartTime, details.EndTime = T0, later
    assert EventWindow.of(details).forward
    details.StartTime, details.EndTime = later, T0
    assert not EventWindow.of(details).forward
    details.StartTime, details.EndTime, details.NumValuesPerNode = ua.get_win_epoch(), later, 3
    only_end = EventWindow.of(details)
    assert (only_end.forward, only_end.limit) == (False, 3)
    assert decode_continuation(encode_continuation((12, 34))) == (12, 34)
    with pytest.raises(ValueError, match="size"):
        decode_continuation(b"x")
    assert decode_continuation(None) is None


def test_the_history_codec_keeps_every_field_type() -> None:
    fields = {
        "b": ua.Variant(b"\x00\x01", ua.VariantType.ByteString),
        "t": ua.Variant(ua.LocalizedText("x"), ua.VariantType.LocalizedText),
        "s": ua.Variant(ua.StatusCode(ua.StatusCodes.Good), ua.VariantType.StatusCode),
        "n": ua.Variant(ua.NodeId(), ua.VariantType.NodeId),
        "u": ua.Variant(7, ua.VariantType.UInt16),
    }
    assert decode_fields(encode_fields(fields)) == fields


def test_the_state_machine_needs_neither_asyncua_nor_an_event_loop() -> None:
    tree = ast.parse(Path(conditions.__file__).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name.split(".")[0] for name in imported} & {"asyncua", "asyncio"}


def test_the_state_machines_refusals_carry_the_opc_ua_status_codes() -> None:
    pure = [
        conditions.BAD_EVENT_ID_UNKNOWN,
        conditions.BAD_CONDITION_BRANCH_ALREADY_ACKED,
        conditions.BAD_CONDITION_BRANCH_ALREADY_CONFIRMED,
    ]
    assert pure == [
        ua.StatusCodes.BadEventIdUnknown,
        ua.StatusCodes.BadConditionBranchAlreadyAcked,
        ua.StatusCodes.BadConditionBranchAlreadyConfirmed,
    ]
