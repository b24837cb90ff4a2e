"""The OPC UA fast path: its encodings equal asyncua's, its copies deepcopy's, its guards hold."""

from __future__ import annotations

import copy
import gc
import importlib
import logging
import pkgutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from asyncua import ua
from asyncua.common.utils import Buffer
from asyncua.ua.ua_binary import struct_from_binary, struct_to_binary
from hypothesis import given, settings
from hypothesis import strategies as st

import opcua_server.fastpath
from opcua_server.fastpath import (
    CHANNEL_PATCHES,
    PATCHES,
    Patch,
    Target,
    install_patch,
    patching,
    quiet_startup,
    thaw,
)
from opcua_server.fastpath.copies import copy_data_value
from opcua_server.fastpath.encoding import (
    EncodedValues,
    encode_data_value,
    encode_publish_response,
    encode_read_response,
)
from opcua_server.fastpath.patching import source_digest
from opcua_server.fastpath.reads import DecodedReads
from opcua_server.fastpath.variants import _guess_type

# --- DataValues of every shape a server holds ---

INTEGER_RANGES = {
    ua.VariantType.SByte: (-(2**7), 2**7 - 1),
    ua.VariantType.Byte: (0, 2**8 - 1),
    ua.VariantType.Int16: (-(2**15), 2**15 - 1),
    ua.VariantType.UInt16: (0, 2**16 - 1),
    ua.VariantType.Int32: (-(2**31), 2**31 - 1),
    ua.VariantType.UInt32: (0, 2**32 - 1),
    ua.VariantType.Int64: (-(2**63), 2**63 - 1),
    ua.VariantType.UInt64: (0, 2**64 - 1),
}
times = st.one_of(
    st.datetimes(min_value=datetime(1500, 1, 1), max_value=datetime(9999, 12, 31)),
    st.datetimes(timezones=st.just(UTC)),
)


def integer_variants(vtype: ua.VariantType, low: int, high: int) -> st.SearchStrategy[ua.Variant]:
    return st.integers(low, high).map(lambda v: ua.Variant(v, vtype))


integers = [integer_variants(t, low, high) for t, (low, high) in INTEGER_RANGES.items()]
doubles = st.one_of(st.floats(), st.just(float("nan")))
variants = st.one_of(
    st.one_of(st.floats(), st.just(float("nan"))).map(
        lambda v: ua.Variant(v, ua.VariantType.Double)
    ),
    st.floats(width=32).map(lambda v: ua.Variant(v, ua.VariantType.Float)),
    st.booleans().map(lambda v: ua.Variant(v, ua.VariantType.Boolean)),
    st.one_of(st.none(), st.text()).map(lambda v: ua.Variant(v, ua.VariantType.String)),
    st.one_of(st.none(), st.binary()).map(lambda v: ua.Variant(v, ua.VariantType.ByteString)),
    times.map(lambda v: ua.Variant(v, ua.VariantType.DateTime)),
    st.lists(st.floats(), max_size=4).map(lambda v: ua.Variant(v, ua.VariantType.Double)),
    st.text(max_size=8).map(lambda v: ua.Variant(ua.LocalizedText(v))),
    st.just(ua.Variant()),
    *integers,
)
statuses = st.one_of(
    st.none(),
    st.sampled_from(
        [
            ua.StatusCodes.Good,
            ua.StatusCodes.UncertainEngineeringUnitsExceeded,
            ua.StatusCodes.BadCommunicationError,
            ua.StatusCodes.BadWaitingForInitialData,
        ]
    ).map(ua.StatusCode),
)
picoseconds = st.one_of(st.none(), st.none(), st.integers(0, 9999))


@st.composite
def data_values(draw: st.DrawFn) -> ua.DataValue:
    return ua.DataValue(
        draw(variants),
        StatusCode=draw(statuses),
        SourceTimestamp=draw(st.one_of(st.none(), times)),
        ServerTimestamp=draw(st.one_of(st.none(), times)),
        SourcePicoseconds=draw(picoseconds),
        ServerPicoseconds=draw(picoseconds),
    )


def published(value: float = 21.5, status: int = ua.StatusCodes.Good) -> ua.DataValue:
    """A DataValue as the Machines folder publishes one."""
    now = datetime(2026, 11, 22, 8, 30, 15, 123456, tzinfo=UTC)
    return ua.DataValue(
        ua.Variant(value, ua.VariantType.Double),
        StatusCode=ua.StatusCode(status),
        SourceTimestamp=now - timedelta(milliseconds=40),
        ServerTimestamp=now,
    )


# --- encodings ---


@settings(max_examples=300)
@given(data_values())
def test_a_data_value_encodes_to_asyncuas_exact_bytes(value: ua.DataValue) -> None:
    assert encode_data_value(value) == struct_to_binary(value)


@given(st.lists(data_values(), max_size=6))
def test_a_read_response_encodes_to_asyncuas_exact_bytes(values: list[ua.DataValue]) -> None:
    response = ua.ReadResponse()
    response.ResponseHeader.RequestHandle = 42
    response.Results = values
    assert encode_read_response(response, EncodedValues()) == struct_to_binary(response)


def publish_response(values: list[ua.DataValue]) -> ua.PublishResponse:
    """Data changes between a status change and an event list, as one publish can carry."""
    changes = ua.DataChangeNotification()
    for handle, value in enumerate(values, 7):
        changes.MonitoredItems.append(ua.MonitoredItemNotification(handle, value))
    events = ua.EventNotificationList()
    events.Events.append(
        ua.EventFieldList(3, [ua.Variant("alarm"), ua.Variant(500, ua.VariantType.UInt16)])
    )
    response = ua.PublishResponse()
    response.Parameters.SubscriptionId = 9
    response.Parameters.AvailableSequenceNumbers = [4, 5]
    response.Parameters.NotificationMessage.SequenceNumber = 5
    response.Parameters.NotificationMessage.NotificationData = [
        ua.StatusChangeNotification(Status=ua.StatusCode(ua.StatusCodes.Good)),
        changes,
        events,
    ]
    return response


@given(st.lists(data_values(), max_size=6))
def test_a_publish_response_encodes_to_asyncuas_exact_bytes(values: list[ua.DataValue]) -> None:
    response = publish_response(values)
    assert encode_publish_response(response, EncodedValues()) == struct_to_binary(response)


def test_encoding_a_publish_response_leaves_it_as_asyncua_keeps_it_for_republish() -> None:
    response = publish_response([published()])
    before = copy.deepcopy(response)
    encode_publish_response(response, EncodedValues())
    assert response == before
    assert type(response.Parameters.NotificationMessage.NotificationData[1]) is (
        ua.DataChangeNotification
    )


def test_an_unchanged_value_is_encoded_once() -> None:
    cache, value = EncodedValues(), published()
    first = cache.encode(value)
    assert cache.encode(value) is first
    assert len(cache) == 1


@pytest.mark.parametrize(
    "change",
    [
        lambda v: setattr(v.Value, "Value", 22.5),
        lambda v: setattr(v.Value, "Value", -0.0),
        lambda v: setattr(v.Value, "VariantType", ua.VariantType.Float),
        lambda v: setattr(v, "Value", ua.Variant(21.5, ua.VariantType.Double)),
        lambda v: setattr(v.StatusCode, "value", ua.StatusCodes.BadSensorFailure),
        lambda v: setattr(v, "StatusCode", None),
        lambda v: setattr(v, "SourceTimestamp", datetime(2027, 1, 1, tzinfo=UTC)),
        lambda v: setattr(v, "ServerTimestamp", None),
        lambda v: setattr(v, "SourcePicoseconds", 7),
        lambda v: setattr(v.Value, "Value", [1.0, 2.0]),
    ],
    ids=[
        "value",
        "negative zero",
        "variant type",
        "new equal variant",
        "status",
        "no status",
        "source time",
        "no server time",
        "picoseconds",
        "array",
    ],
)
def test_a_value_changed_in_place_is_encoded_afresh(change: object) -> None:
    cache, value = EncodedValues(), published(0.0)
    cache.encode(value)
    change(value)  # type: ignore[operator]  # the parametrised lambdas
    assert cache.encode(value) == struct_to_binary(value)


def test_the_cache_keeps_at_most_its_limit() -> None:
    cache = EncodedValues(limit=3)
    values = [published(float(n)) for n in range(5)]
    for value in values:
        cache.encode(value)
    assert len(cache) == 3
    assert [cache.encode(v) for v in values] == [struct_to_binary(v) for v in values]


# --- the monitored item's copy ---


@settings(max_examples=300)
@given(data_values())
def test_the_cheap_copy_equals_deepcopy_and_shares_nothing_mutable(value: ua.DataValue) -> None:
    copied = copy_data_value(value)
    assert struct_to_binary(copied) == struct_to_binary(copy.deepcopy(value))  # NaN-proof ==
    assert copied is not value
    assert copied.Value is not value.Value
    assert value.StatusCode is None or copied.StatusCode is not value.StatusCode
    if isinstance(value.Value.Value, list | ua.LocalizedText):
        assert copied.Value.Value is not value.Value.Value


def test_a_copy_does_not_follow_later_changes_of_the_original() -> None:
    value = published()
    copied = copy_data_value(value)
    value.Value.Value = 99.0
    value.StatusCode.value = ua.StatusCodes.BadSensorFailure
    assert copied.Value.Value == 21.5
    assert copied.StatusCode == ua.StatusCode(ua.StatusCodes.Good)


def test_a_variant_of_none_is_null() -> None:
    assert PATCHES["null_variant"].problem() is None
    assert ua.Variant(None).VariantType is ua.VariantType.Null
    assert _guess_type(ua.Variant(), None) is ua.VariantType.Null
    assert _guess_type(ua.Variant(), 1.5) is ua.VariantType.Double
    assert _guess_type(ua.Variant(), "x") is ua.VariantType.String


# --- the read request cache ---


def read_request_body(nodes: list[str]) -> bytes:
    params = ua.ReadParameters()
    params.TimestampsToReturn = ua.TimestampsToReturn.Both
    for name in nodes:
        item = ua.ReadValueId()
        item.NodeId = ua.NodeId(name, 2)
        item.AttributeId = ua.AttributeIds.Value
        params.NodesToRead.append(item)
    return bytes(struct_to_binary(params))


def test_a_read_request_decodes_as_asyncua_decodes_it_with_its_own_list() -> None:
    body, reads = read_request_body(["Machines/m1/a", "Machines/m1/b"]), DecodedReads()
    expected = struct_from_binary(ua.ReadParameters, Buffer(body))
    buffers = [Buffer(body), Buffer(body)]
    first, second = (reads.decode(buffer) for buffer in buffers)
    assert first == second == expected
    assert first.NodesToRead is not second.NodesToRead
    assert all(len(buffer) == 0 for buffer in buffers)


def test_the_read_request_cache_keeps_at_most_its_limit() -> None:
    reads = DecodedReads(limit=2)
    bodies = [read_request_body([f"n{i}"]) for i in range(4)]
    decoded = [reads.decode(Buffer(body)) for body in bodies]
    assert len(reads._entries) == 2
    assert [p.NodesToRead[0].NodeId.Identifier for p in decoded] == ["n0", "n1", "n2", "n3"]


# --- the guards ---


class Victim:
    """Stands in for an asyncua class."""

    def answer(self) -> int:
        return 41


def better_answer(self: Victim) -> int:
    return 42


def victim_patch(digest: str) -> Patch:
    return Patch("victim", (Target(Victim, "answer", digest, better_answer),))


@pytest.fixture
def restore_victim(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(patching, "_installed", set())
    original = Victim.answer
    yield
    Victim.answer = original  # type: ignore[method-assign]


@pytest.mark.usefixtures("restore_victim")
def test_a_patch_installs_when_its_target_has_the_expected_source() -> None:
    digest = source_digest(Victim.answer)
    assert digest is not None
    assert install_patch(victim_patch(digest))
    assert Victim().answer() == 42
    assert install_patch(victim_patch(digest)), "installing twice is harmless"


@pytest.mark.usefixtures("restore_victim")
def test_a_patch_is_refused_with_a_warning_when_asyncua_changed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="opcua_server.fastpath.patching"):
        assert not install_patch(victim_patch("0" * 64))
    assert Victim().answer() == 41
    assert "'victim' not installed" in caplog.text
    assert "asyncua 2.1.0" in caplog.text


def test_a_patch_is_refused_when_a_structure_changed() -> None:
    patch = Patch("layout", (), field_layouts=((ua.DataValue, ("Value", "StatusCode")),))
    assert "DataValue fields are not" in str(patch.problem())


def test_a_function_without_source_does_not_match() -> None:
    assert source_digest(len) is None
    assert "is not the asyncua" in str(Target(Victim, "__init__", "0" * 64).problem())
    assert "is missing" in str(Target(Victim, "missing", "0" * 64).problem())


@pytest.mark.parametrize("name", list(PATCHES))
def test_every_patch_fits_the_pinned_asyncua(name: str) -> None:
    """Fails when asyncua is upgraded: re-measure and re-check each patch, then re-pin it."""
    assert PATCHES[name].problem() is None


def test_the_fast_path_installs_its_patches_in_their_order() -> None:
    assert list(PATCHES) == [
        "monitored_item_copy",
        "null_variant",
        "batched_data_changes",
        "response_encoding",
        "read_request_cache",
        "login_off_the_loop",
        "bulk_value_writes",
        "nodeset_reverse_references",
        "shared_attribute_values",
        "shared_reference_parts",
        "standard_nodes_code_released",
        "oftype_subtypes",
    ]


def test_every_patch_written_is_installed_or_guarded() -> None:
    """A patch module whose Patch is in neither table would never be applied nor checked."""
    registered = {id(patch) for patch in (*PATCHES.values(), *CHANNEL_PATCHES.values())}
    package = opcua_server.fastpath
    forgotten = [
        f"{info.name}.{name}"
        for info in pkgutil.iter_modules(package.__path__)
        for name, value in vars(importlib.import_module(f"{package.__name__}.{info.name}")).items()
        if isinstance(value, Patch) and id(value) not in registered
    ]
    assert forgotten == []


# --- quiet start ---


def test_the_gc_is_paused_while_starting_and_what_was_built_is_frozen() -> None:
    assert gc.isenabled()
    try:
        with quiet_startup():
            assert not gc.isenabled()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        thaw()
    assert gc.get_freeze_count() == 0


def test_a_failed_start_resumes_the_gc_without_freezing() -> None:
    with pytest.raises(RuntimeError), quiet_startup():
        raise RuntimeError("cannot listen")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
