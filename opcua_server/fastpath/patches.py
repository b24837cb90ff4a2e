"""Fast path for the asyncua 2.1.0 server: cheap data changes, cached encodings, quiet start."""

# Written for asyncua 2.1.0. Every patch below replaces or relies on a few asyncua functions,
# listed with the SHA-256 of their source as this module was written against them. When asyncua
# changes any of them, that patch is refused with a logged warning and the server keeps running
# on asyncua's own, slower code with the same behaviour. `python -m bench.opcua` measures each.
#
# Where the server's time went (1000 Double variables, one subscriber; cProfile and py-spy):
#
# monitored_item_copy  A write to a monitored variable cost ~46 µs of server CPU against ~5 µs
#   unmonitored; ~40 µs of it was one `copy.deepcopy` of the DataValue
#   (MonitoredItemValues.set_current_datavalue), kept to compare the next value with for the
#   data-change trigger (OPC 10000-4 §7.22.2). `copy_data_value` returns what deepcopy returns
#   -- new DataValue, Variant and StatusCode objects -- by building them directly (~1 µs) when
#   every leaf is immutable (numbers, str, bytes, datetime, None, enum members): sharing an
#   immutable leaf is indistinguishable from copying it. Anything else (arrays, structures,
#   LocalizedText) still goes through deepcopy. Process-wide; behaviour-preserving.
#
# null_variant  The rest of a monitored write went mostly into `ua.MonitoredItemNotification()`,
#   which asyncua builds for every data change before it knows whether one is sent; its default
#   DataValue() makes a Variant(None), whose type guess looked up 'NoneType' among the
#   VariantType members through a raised-and-caught AttributeError (~3 µs) before answering Null.
#   `_guess_type` answers Null for None first: the same answer, without the exception.
#   Process-wide; behaviour-preserving.
#
# batched_data_changes  asyncua handled every write to a monitored variable at once: copy,
#   change test, a MonitoredItemNotification, the queue. An item with queue size 1 only ever
#   sends its latest value, and asyncua revises its sampling interval to the publishing
#   interval, so the item now samples (OPC 10000-4 §5.12.1.2 sampling interval, §5.12.1.5 queue
#   size 1): a write just records the item's latest value, and right before the subscription
#   publishes, each latest value goes through asyncua's own change test and queue as
#   datachange_callback would put it there, minus the throw-away default DataValue it builds
#   first. Values that change several times per publishing interval cost one change test
#   instead of several; a value that changes and changes back within one interval is, as on
#   any sampling server, not reported. Items with a longer queue, a deadband, or on a
#   subscription without a publishing loop keep asyncua's per-write handling. Only servers
#   passed to `install_fast_path`.
#
# response_encoding  ReadResponse and PublishResponse were encoded field by field by asyncua's
#   generic serializer, ~13 µs per DataValue. `EncodedValues` encodes a DataValue with a
#   specialised encoder (OPC 10000-6 §5.2.2.17 DataValue, §5.2.2.16 Variant) into the very bytes
#   asyncua produces (tests compare them), and keeps the bytes per DataValue object, checked
#   against the fields they were made from on every use, so a value read by many Read calls or
#   sent to many subscribers is encoded once. Only servers passed to `install_fast_path` use it.
#
# read_request_cache  Decoding a ReadRequest's ReadValueIds cost ~10 µs each. Clients poll the
#   same node list again and again, so decoded ReadParameters are kept by the bytes they were
#   decoded from (a pure function of them); each request gets its own list, the ReadValueIds in
#   it are shared (asyncua and trustfloor only read them). Process-wide; behaviour-preserving.
#
# quiet_startup  Python's cyclic GC ran full collections over the growing address space while
#   the standard nodes (~6200) and the site's nodes were built: ~1.5 s of a 4.1 s start on a
#   busy machine. GC is paused while the server starts, then what was built is frozen
#   (gc.freeze) so later collections, also those while serving, skip it; `thaw` undoes it when
#   the server stops. Not a patch: a context manager around TrustfloorServer.start.
#
# Together (bench/opcua.py, 1000 variables, 2 shared cores): server CPU per value read
# 16-21 -> 3.5-4 µs; per notification delivered (its own variable changes included)
# 80-100 -> 30-35 µs; start-to-ready 1.7-2.2 -> 1.2-1.5 s.
#
# Two more patches are about security, not speed, and are installed by `guard_channels`; a
# server that asked for them refuses to start when they do not fit (asyncua's own code would
# serve what they refuse):
#
# channel_refusals  asyncua's SecureConnection.select_policy raised a bare UaError for a policy
#   or mode the server does not offer, and UaProcessor.process let it escape: the client got no
#   answer and waited for its timeout (a Sign-only channel, a policy not configured).
#   `_select_policy` is the same choice failing with Bad_SecurityPolicyRejected (policy not
#   offered) or Bad_SecurityModeRejected (policy offered, not with that mode), both UaErrors as
#   before; `_answer_refused_channels` answers any OpenSecureChannel that fails with an Error
#   message carrying its status and closes the connection (OPC 10000-6 §7.1.5). The
#   process-wide part is only the exception type; the Error message is sent by servers with
#   `ChannelRules`.
#
# channel_rules  asyncua keeps a SecurityPolicy None channel for discovery even when no None
#   endpoint is offered, and served CreateSession, ActivateSession (also the take-over of a live
#   session) and then every service on it, without the permission ruleset and with passwords in
#   clear. `_refuse_by_channel_rules` refuses, before asyncua decodes the request, every
#   service but GetEndpoints, FindServers and CloseSecureChannel on such a channel with
#   Bad_SecurityPolicyRejected (as open62541 does with securityPolicyNoneDiscoveryOnly), and a
#   CreateSession beyond the server's session limit with Bad_TooManySessions (OPC 10000-4
#   §5.7.2.3). asyncua counts its open sessions in InternalServer._external_sessions (kept by
#   register/unregister_external_session). Only servers passed to `guard_channels`.

from __future__ import annotations

import asyncio
import copy
import functools
import gc
import hashlib
import inspect
import logging
import struct
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

import asyncua.server.uaprocessor as uaprocessor
from asyncua import Server, ua
from asyncua.common.connection import SecureConnection
from asyncua.common.utils import Buffer
from asyncua.server.internal_server import InternalServer
from asyncua.server.internal_session import InternalSession, SessionState
from asyncua.server.internal_subscription import InternalSubscription
from asyncua.server.monitored_item_service import MonitoredItemService, MonitoredItemValues
from asyncua.server.uaprocessor import UaProcessor
from asyncua.ua import ua_binary
from asyncua.ua.ua_binary import Primitives, list_to_binary, nodeid_to_binary, variant_to_binary
from asyncua.ua.ua_binary import struct_to_binary as _asyncua_struct_to_binary

from opcua_server.errors import ServerError

log = logging.getLogger(__name__)


def struct_to_binary(obj: Any) -> bytes:
    """asyncua's generic encoder of a structure (typed: asyncua is untyped to mypy here)."""
    return bytes(_asyncua_struct_to_binary(obj))


ASYNCUA_VERSION = "2.1.0"
"""The asyncua release the patches were written and measured against."""


# --- monitored_item_copy: what deepcopy returns, without its generic machinery ---

_IMMUTABLE_LEAVES = (int, float, bool, str, bytes, datetime, type(None))
"""Leaf types deepcopy would copy into an equal object that nobody can change in place."""

_TIMESTAMP_TYPES = (datetime, type(None))
_PICOSECOND_TYPES = (int, type(None))


def _copyable_cheaply(value: ua.DataValue) -> bool:
    """Whether every leaf of ``value`` is immutable (so sharing it equals deep-copying it)."""
    variant, status = value.Value, value.StatusCode
    return (
        type(value) is ua.DataValue
        and type(variant) is ua.Variant
        and type(variant.Value) in _IMMUTABLE_LEAVES
        and type(variant.VariantType) is ua.VariantType
        and type(variant.is_array) is bool
        and variant.Dimensions is None
        and (status is None or (type(status) is ua.StatusCode and type(status.value) is int))
        and type(value.SourceTimestamp) in _TIMESTAMP_TYPES
        and type(value.ServerTimestamp) in _TIMESTAMP_TYPES
        and type(value.SourcePicoseconds) in _PICOSECOND_TYPES
        and type(value.ServerPicoseconds) in _PICOSECOND_TYPES
    )


def copy_data_value(value: ua.DataValue) -> ua.DataValue:
    """``copy.deepcopy(value)``, built directly when every leaf of the DataValue is immutable."""
    if not _copyable_cheaply(value):
        return copy.deepcopy(value)
    variant, status = value.Value, value.StatusCode
    new_variant = object.__new__(ua.Variant)
    new_variant.Value = variant.Value
    new_variant.VariantType = variant.VariantType  # an enum member: deepcopy returns it too
    new_variant.Dimensions = None
    new_variant.is_array = variant.is_array
    clone = object.__new__(ua.DataValue)
    clone.Encoding = value.Encoding
    clone.Value = new_variant
    clone.StatusCode = None if status is None else ua.StatusCode(status.value)
    clone.SourceTimestamp = value.SourceTimestamp
    clone.ServerTimestamp = value.ServerTimestamp
    clone.SourcePicoseconds = value.SourcePicoseconds
    clone.ServerPicoseconds = value.ServerPicoseconds
    return clone


def _set_current_datavalue(self: MonitoredItemValues, cur_val: ua.DataValue) -> None:
    """MonitoredItemValues.set_current_datavalue (asyncua 2.1.0) with the cheap copy."""
    self.old_dvalue = self.current_dvalue
    self.current_dvalue = copy_data_value(cur_val)


# --- null_variant: Variant(None) without a failed enum lookup ---

_original_guess_type = ua.Variant._guess_type


def _guess_type(self: ua.Variant, val: Any) -> Any:
    """Variant._guess_type (asyncua 2.1.0): None is Null, as the original concludes last."""
    if val is None:
        return ua.VariantType.Null
    return _original_guess_type(self, val)


def _none_is_not_a_variant_type() -> str | None:
    if hasattr(ua.VariantType, "NoneType"):
        return "VariantType has a NoneType member"
    return None


# --- batched_data_changes: monitored items of queue size 1 sample once per publish ---

_original_datachange_callback = MonitoredItemService.datachange_callback
_original_publish_results = InternalSubscription.publish_results
_BATCHED_SPACES: weakref.WeakSet[Any] = weakref.WeakSet()


def _samples(service: MonitoredItemService, handle: int) -> bool:
    """Whether the item keeps only its latest value (queue size 1, no deadband) on a
    subscription with a publishing loop, of a server that installed the fast path."""
    batched: bool | None = getattr(service, "trustfloor_batched", None)
    if batched is None:
        batched = service.trustfloor_batched = service.aspace in _BATCHED_SPACES
    if not batched or service.isub.data.RevisedPublishingInterval <= 0:
        return False
    mid = service._monitored_datachange.get(handle)
    item = service._monitored_items.get(mid) if mid is not None else None
    if item is None or item.queue_size != 1:
        return False
    flt = item.filter  # asyncua reads a falsy filter (None, empty ExtensionObject) as none
    return not flt or (
        isinstance(flt, ua.DataChangeFilter) and flt.DeadbandType == ua.DeadbandType.None_
    )


async def _datachange_callback(
    self: MonitoredItemService, handle: int, value: ua.DataValue, error: Any = None
) -> None:
    """MonitoredItemService.datachange_callback (asyncua 2.1.0), deferred to the next publish
    for items that keep only their latest value."""
    pending: dict[int, ua.DataValue] | None = getattr(self, "trustfloor_pending", None)
    if error is None and _samples(self, handle):
        if pending is None:
            pending = self.trustfloor_pending = {}
        pending[handle] = value
        return
    if pending and handle in pending:  # the item stopped sampling: keep the order of values
        await _original_datachange_callback(self, handle, pending.pop(handle))
    await _original_datachange_callback(self, handle, value, error)


async def flush_data_changes(service: MonitoredItemService) -> None:
    """Put each sampling item's latest value through asyncua's change test and queue."""
    pending: dict[int, ua.DataValue] | None = getattr(service, "trustfloor_pending", None)
    if not pending:
        return
    service.trustfloor_pending = {}
    for handle, value in pending.items():
        mid = service._monitored_datachange.get(handle)
        item = service._monitored_items.get(mid) if mid is not None else None
        if item is not None and item.mode != ua.MonitoringMode.Disabled:  # else: deleted, off
            await _report_if_changed(service, mid, item, value)


async def _report_if_changed(
    service: MonitoredItemService, mid: int, item: Any, value: ua.DataValue
) -> None:
    """datachange_callback's steps (asyncua 2.1.0) for an item without deadband."""
    item.mvalue.set_current_datavalue(value)
    trigger = item.filter.Trigger if item.filter else ua.DataChangeTrigger.StatusValue
    if service._is_data_changed(item.mvalue, trigger):
        notification = ua.MonitoredItemNotification(item.client_handle, value)
        await service.isub.enqueue_datachange_event(mid, notification, item.queue_size)


async def _publish_results(self: InternalSubscription, requestdata: Any = None) -> bool:
    """InternalSubscription.publish_results (asyncua 2.1.0), sampling pending changes first."""
    await flush_data_changes(self.monitored_item_srv)
    result: bool = await _original_publish_results(self, requestdata)
    return result


# --- response_encoding: DataValues encoded once, into asyncua's exact bytes ---

_VALUE, _STATUS, _SOURCE_TS, _SERVER_TS = 0x01, 0x02, 0x04, 0x08
"""DataValue encoding mask bits (OPC 10000-6 §5.2.2.17)."""

_SCALAR_PACKERS: dict[ua.VariantType, Callable[[Any], bytes]] = {
    ua.VariantType.Boolean: struct.Struct("<?").pack,
    ua.VariantType.SByte: struct.Struct("<b").pack,
    ua.VariantType.Byte: struct.Struct("<B").pack,
    ua.VariantType.Int16: struct.Struct("<h").pack,
    ua.VariantType.UInt16: struct.Struct("<H").pack,
    ua.VariantType.Int32: struct.Struct("<i").pack,
    ua.VariantType.UInt32: struct.Struct("<I").pack,
    ua.VariantType.Int64: struct.Struct("<q").pack,
    ua.VariantType.UInt64: struct.Struct("<Q").pack,
    ua.VariantType.Float: struct.Struct("<f").pack,
    ua.VariantType.Double: struct.Struct("<d").pack,
    ua.VariantType.String: Primitives.String.pack,
    ua.VariantType.DateTime: Primitives.DateTime.pack,
    ua.VariantType.ByteString: Primitives.Bytes.pack,
}
"""Scalar Variant bodies (OPC 10000-6 §5.2.2.16) of the built-in types asyncua packs this way."""

_UINT32 = struct.Struct("<I").pack
_INT32 = struct.Struct("<i").pack
_BYTE = struct.Struct("<B").pack


class _LastTimestamp:
    """The encoding of the last DateTime encoded: values of one batch share their timestamps."""

    __slots__ = ("encoded", "timestamp")

    def __init__(self) -> None:
        self.timestamp: datetime | None = None
        self.encoded = b""

    def encode(self, timestamp: datetime) -> bytes:
        """DateTime (OPC 10000-6 §5.2.2.5) as asyncua packs it; reused for the same object."""
        if timestamp is not self.timestamp:
            self.encoded = Primitives.DateTime.pack(timestamp)
            self.timestamp = timestamp  # datetimes are immutable: same object, same bytes
        return self.encoded


_SOURCE_TIMES, _SERVER_TIMES = _LastTimestamp(), _LastTimestamp()


def _variant_bytes(variant: ua.Variant) -> bytes:
    pack = _SCALAR_PACKERS.get(variant.VariantType)
    if pack is None or variant.is_array or isinstance(variant.Value, list | tuple):
        return bytes(variant_to_binary(variant))
    return _BYTE(variant.VariantType.value & 0x3F) + pack(variant.Value)


def encode_data_value(value: ua.DataValue) -> bytes:
    """The DataValue's binary encoding, byte for byte what asyncua's serializer produces."""
    if value.SourcePicoseconds is not None or value.ServerPicoseconds is not None:
        return struct_to_binary(value)  # rare; asyncua orders these fields its own way
    try:
        mask, parts = 0, [b""]
        if value.Value is not None:
            mask |= _VALUE
            parts.append(_variant_bytes(value.Value))
        if value.StatusCode is not None:
            mask |= _STATUS
            parts.append(_UINT32(value.StatusCode.value))
        if value.SourceTimestamp is not None:
            mask |= _SOURCE_TS
            parts.append(_SOURCE_TIMES.encode(value.SourceTimestamp))
        if value.ServerTimestamp is not None:
            mask |= _SERVER_TS
            parts.append(_SERVER_TIMES.encode(value.ServerTimestamp))
    except (struct.error, TypeError, AttributeError, OverflowError):
        return struct_to_binary(value)  # let asyncua raise its own error for a bad value
    parts[0] = _BYTE(mask)
    return b"".join(parts)


def _fingerprint(value: ua.DataValue) -> tuple[Any, ...] | None:
    """Every field the encoding depends on (the Variant's value first), or None when one of
    them could change without the DataValue's fields changing (arrays, structures)."""
    variant, status = value.Value, value.StatusCode
    if type(variant) is not ua.Variant or variant.is_array or variant.Dimensions is not None:
        return None
    leaf = variant.Value
    if type(leaf) not in _IMMUTABLE_LEAVES:
        return None
    if status is not None and type(status) is not ua.StatusCode:
        return None
    return (
        leaf,
        variant.VariantType,
        None if status is None else status.value,
        value.SourceTimestamp,
        value.ServerTimestamp,
        value.SourcePicoseconds,
        value.ServerPicoseconds,
    )


class EncodedValues:
    """DataValue bytes kept per object and re-checked against its fields on every use.

    An entry is used only while the DataValue (or a newer object at the same address) holds
    the very same value object and equal other fields, so a value changed in place, or a new
    DataValue, is encoded afresh: the bytes always equal ``encode_data_value(value)``. At most
    ``limit`` entries (~270 bytes each) are kept, the oldest dropped first.
    """

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self._entries: dict[int, tuple[tuple[Any, ...], bytes]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def encode(self, value: ua.DataValue) -> bytes:
        """The encoding of ``value``, from the cache when nothing it depends on changed."""
        fingerprint = _fingerprint(value)
        if fingerprint is None:
            return encode_data_value(value)
        entry = self._entries.get(id(value))
        if entry is not None and entry[0][0] is fingerprint[0] and entry[0] == fingerprint:
            return entry[1]
        encoded = encode_data_value(value)
        if entry is None and len(self._entries) >= self.limit:
            del self._entries[next(iter(self._entries))]
        self._entries[id(value)] = (fingerprint, encoded)
        return encoded

    def encode_many(self, values: Sequence[ua.DataValue]) -> bytes:
        """An encoded ``list[DataValue]`` (OPC 10000-6 §5.2.5 arrays: Int32 length first)."""
        return _INT32(len(values)) + b"".join([self.encode(v) for v in values])


_VALUES = EncodedValues()


def _diagnostics(infos: Sequence[ua.DiagnosticInfo] | None) -> bytes:
    """A ``list[DiagnosticInfo]`` (OPC 10000-6 §5.2.2.12) as asyncua encodes it."""
    return bytes(list_to_binary(ua.DiagnosticInfo, infos))


_DATA_CHANGE_TYPE_ID = ua.NodeId(ua.ObjectIds.DataChangeNotification_Encoding_DefaultBinary)


def encode_read_response(response: ua.ReadResponse, values: EncodedValues = _VALUES) -> bytes:
    """ReadResponse (OPC 10000-4 §5.11.2.2) with its Results from the encoded-value cache."""
    return b"".join(
        (
            nodeid_to_binary(response.TypeId),
            struct_to_binary(response.ResponseHeader),
            values.encode_many(response.Results),
            _diagnostics(response.DiagnosticInfos),
        )
    )


def encode_data_change(notification: ua.DataChangeNotification, values: EncodedValues) -> bytes:
    """A DataChangeNotification body (OPC 10000-4 §7.25.2): handle + DataValue per item."""
    items = notification.MonitoredItems
    encoded = [_UINT32(item.ClientHandle) + values.encode(item.Value) for item in items]
    diagnostics = _diagnostics(notification.DiagnosticInfos)
    return _INT32(len(items)) + b"".join(encoded) + diagnostics


def encode_publish_response(response: ua.PublishResponse, values: EncodedValues = _VALUES) -> bytes:
    """PublishResponse (OPC 10000-4 §5.14.5.2) whose data changes come from the value cache.

    Each DataChangeNotification is swapped for an ExtensionObject holding its encoded body in a
    copy of the response's skeleton; the original, kept by asyncua for Republish, is untouched.
    """
    result = response.Parameters
    message = result.NotificationMessage
    data = [
        ua.ExtensionObject(_DATA_CHANGE_TYPE_ID, encode_data_change(item, values))
        if type(item) is ua.DataChangeNotification
        else item
        for item in message.NotificationData
    ]
    skeleton = replace(
        response,
        Parameters=replace(result, NotificationMessage=replace(message, NotificationData=data)),
    )
    return struct_to_binary(skeleton)


_RESPONSE_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    ua.ReadResponse: encode_read_response,
    ua.PublishResponse: encode_publish_response,
}
_FAST_SERVERS: weakref.WeakSet[InternalServer] = weakref.WeakSet()
_original_send_response = UaProcessor.send_response


def encode_response(response: Any) -> bytes:
    """A service response's encoding: Read and Publish through the fast path, others generic."""
    encoder = _RESPONSE_ENCODERS.get(type(response))
    return encoder(response) if encoder is not None else struct_to_binary(response)


def _send_response(
    self: UaProcessor,
    requesthandle: Any,
    seqhdr: Any,
    response: Any,
    msgtype: ua.MessageType = ua.MessageType.SecureMessage,
) -> None:
    """UaProcessor.send_response (asyncua 2.1.0), encoding through `encode_response`."""
    if self.iserver not in _FAST_SERVERS:
        _original_send_response(self, requesthandle, seqhdr, response, msgtype)
        return
    response.ResponseHeader.RequestHandle = requesthandle
    data = self._connection.message_to_binary(
        encode_response(response), message_type=msgtype, request_id=seqhdr.RequestId
    )
    self._transport.write(data)


# --- read_request_cache: ReadParameters decoded once per distinct request body ---

_original_struct_from_binary = uaprocessor.struct_from_binary


class DecodedReads:
    """Decoded ReadParameters kept by the bytes they came from (newest ``limit`` bodies)."""

    def __init__(self, limit: int = 16) -> None:
        self.limit = limit
        self._entries: dict[bytes, ua.ReadParameters] = {}

    def decode(self, data: Buffer) -> ua.ReadParameters:
        """What ``struct_from_binary(ua.ReadParameters, data)`` returns, with its own list."""
        raw = bytes(data.read(len(data)))
        cached = self._entries.get(raw)
        if cached is None:
            cached = _original_struct_from_binary(ua.ReadParameters, Buffer(raw))
            if len(self._entries) >= self.limit:
                del self._entries[next(iter(self._entries))]
            self._entries[raw] = cached
        return ua.ReadParameters(
            MaxAge=cached.MaxAge,
            TimestampsToReturn=cached.TimestampsToReturn,
            NodesToRead=list(cached.NodesToRead),
        )


_READS = DecodedReads()


def _struct_from_binary(objtype: Any, data: Any) -> Any:
    """uaprocessor's struct_from_binary, with ReadParameters from `DecodedReads`."""
    if objtype is ua.ReadParameters:
        return _READS.decode(data)
    return _original_struct_from_binary(objtype, data)


# --- the guarded patches ---


def source_digest(function: Callable[..., Any]) -> str | None:
    """SHA-256 of a function's source text (the 'shape' a patch was written against), or None
    when the source is not installed."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return None
    return hashlib.sha256(source.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Target:
    """An asyncua function a patch replaces (with ``replacement``) or relies on (without)."""

    owner: Any
    name: str
    sha256: str
    replacement: Any = None

    def problem(self) -> str | None:
        """Why the function is not the one the patch was written against, or None."""
        function = getattr(self.owner, self.name, None)
        if function is None:
            return f"{self.owner.__name__}.{self.name} is missing"
        if self.replacement is not None and function is self.replacement:
            return None  # installed already
        if not callable(function) or source_digest(function) != self.sha256:
            return f"{self.owner.__name__}.{self.name} is not the asyncua {ASYNCUA_VERSION} one"
        return None


@dataclass(frozen=True, slots=True)
class Patch:
    """One guarded change to asyncua: the functions it checks and replaces, the layouts it needs."""

    name: str
    targets: tuple[Target, ...]
    field_layouts: tuple[tuple[type, tuple[str, ...]], ...] = ()
    precondition: Callable[[], str | None] | None = None

    def problem(self) -> str | None:
        """Why the patch does not fit the installed asyncua, or None."""
        for target in self.targets:
            if (found := target.problem()) is not None:
                return found
        for cls, names in self.field_layouts:
            if tuple(f.name for f in fields(cls)) != names:
                return f"{cls.__name__} fields are not {names}"
        return None if self.precondition is None else self.precondition()

    def apply(self) -> None:
        for target in self.targets:
            if target.replacement is not None:
                setattr(target.owner, target.name, target.replacement)


_DATA_VALUE_FIELDS = (
    "Encoding",
    "Value",
    "StatusCode",
    "SourceTimestamp",
    "ServerTimestamp",
    "SourcePicoseconds",
    "ServerPicoseconds",
)
PATCHES: dict[str, Patch] = {
    "monitored_item_copy": Patch(
        "monitored_item_copy",
        (
            Target(
                MonitoredItemValues,
                "set_current_datavalue",
                "df9d5e87226514b2e2512f5a9f4e1a54f350b6f0e57b890b4dcfc1d5d2c731d5",
                _set_current_datavalue,
            ),
        ),
        ((ua.DataValue, _DATA_VALUE_FIELDS), (ua.Variant, ua.Variant.__slots__)),
    ),
    "null_variant": Patch(
        "null_variant",
        (
            Target(
                ua.Variant,
                "_guess_type",
                "74f3c30f862669844f9f31d6a357e523082d7c3e4f93b364744bfc5617c53f3b",
                _guess_type,
            ),
        ),
        precondition=_none_is_not_a_variant_type,
    ),
    "batched_data_changes": Patch(
        "batched_data_changes",
        (
            Target(
                MonitoredItemService,
                "datachange_callback",
                "d4468698f4d16058fe297b56f9900b9cd5883027bda8c94ce90b724c9045ea3b",
                _datachange_callback,
            ),
            Target(
                InternalSubscription,
                "publish_results",
                "61ce721eff3735ea0af1220d5e9b8691fb05a99bb488685fec4ff3cf88ad3818",
                _publish_results,
            ),
            Target(
                MonitoredItemService,
                "_is_data_changed",
                "57a0bdefa822c5a7c95c12a37642002c1fcd83c19864fa9daea519958f3a58ad",
            ),
            Target(
                InternalSubscription,
                "enqueue_datachange_event",
                "83acd6e086d9b1c9a22db83708576fb56fd61d42c85b0ade5c9c75d7650c1928",
            ),
            Target(
                InternalSubscription,
                "_enqueue_event",
                "e69c7f033b26833b03233367e984c8ac4643ef53c6b06a5906a6f0d2d9bb737c",
            ),
        ),
    ),
    "response_encoding": Patch(
        "response_encoding",
        (
            Target(
                UaProcessor,
                "send_response",
                "1acbe876910ab1312853c589b6d5b55d6e00ddb41bbf1f6bbd9eeeb295cf251b",
                _send_response,
            ),
        ),
        (
            (ua.ReadResponse, ("TypeId", "ResponseHeader", "Results", "DiagnosticInfos")),
            (ua.DataChangeNotification, ("MonitoredItems", "DiagnosticInfos")),
            (ua.MonitoredItemNotification, ("ClientHandle", "Value")),
            (ua.DataValue, _DATA_VALUE_FIELDS),
        ),
    ),
    "read_request_cache": Patch(
        "read_request_cache",
        (
            Target(
                UaProcessor,
                "_process_message",
                "029ff357dd3bdd16a53eec2a830fdc0660d2c1736123715255f7e3dead8ae11b",
            ),
            Target(
                uaprocessor,
                "struct_from_binary",
                "b88a8f35b6fd603ae61f0e2059ec7631c7a57d61e710ffd79a1651c06ff42423",
                _struct_from_binary,
            ),
        ),
        ((ua.ReadParameters, ("MaxAge", "TimestampsToReturn", "NodesToRead")),),
    ),
}
"""Every patch by name, in the order they are installed."""

_installed: set[str] = set()


def install_fast_path(server: Server, names: Iterable[str] | None = None) -> list[str]:
    """Install the named patches (default: all) for ``server``; returns every one now active.

    Idempotent. A patch whose asyncua targets differ from those it was written for is refused
    with a warning, and the server runs on asyncua's own code for that part.
    """
    for name in PATCHES if names is None else names:
        install_patch(PATCHES[name])
    _FAST_SERVERS.add(server.iserver)
    _BATCHED_SPACES.add(server.iserver.aspace)
    return sorted(_installed)


def install_patch(patch: Patch) -> bool:
    """Apply ``patch`` once if asyncua has the shape it was written for; warn and skip if not."""
    if patch.name in _installed:
        return True
    problem = patch.problem()
    if problem is not None:
        log.warning(
            "OPC UA fast path %r not installed: %s; it was written for asyncua %s, so the "
            "server serves this part on asyncua's own (slower) code",
            patch.name,
            problem,
            ASYNCUA_VERSION,
        )
        return False
    patch.apply()
    _installed.add(patch.name)
    return True


# --- channel_refusals and channel_rules: what a channel may carry, answered at once ---

_DISCOVERY_SERVICES = frozenset(
    ua.NodeId(i)
    for i in (
        ua.ObjectIds.GetEndpointsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.FindServersRequest_Encoding_DefaultBinary,
        ua.ObjectIds.FindServersOnNetworkRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CloseSecureChannelRequest_Encoding_DefaultBinary,
    )
)
"""What a SecurityPolicy None channel may carry when no None endpoint is offered."""

_CREATE_SESSION = ua.NodeId(ua.ObjectIds.CreateSessionRequest_Encoding_DefaultBinary)
_SESSION_REQUESTS = frozenset(
    {_CREATE_SESSION, ua.NodeId(ua.ObjectIds.ActivateSessionRequest_Encoding_DefaultBinary)}
)


@dataclass(frozen=True, slots=True)
class ChannelRules:
    """What one server's secure channels may carry beyond asyncua's own checks."""

    sessions_without_security: bool
    """Whether a SecurityPolicy None channel may carry sessions (a None endpoint is offered)."""
    max_sessions: int
    """Open sessions at most; one more CreateSession gets Bad_TooManySessions."""
    on_refused: Callable[[int], None] | None = None
    """Told the status of every channel, CreateSession and ActivateSession refused here (the
    session diagnostics count them; other refused requests are answered, not counted)."""

    def refusal(self, service: ua.NodeId, *, unsecured: bool, sessions: int) -> int | None:
        """The status a request for ``service`` is refused with, or None to serve it."""
        if unsecured and not self.sessions_without_security and service not in _DISCOVERY_SERVICES:
            return int(ua.StatusCodes.BadSecurityPolicyRejected)
        if service == _CREATE_SESSION and sessions >= self.max_sessions:
            return int(ua.StatusCodes.BadTooManySessions)
        return None

    def tell(self, status: int) -> None:
        if self.on_refused is not None:
            self.on_refused(status)


_CHANNEL_RULES: weakref.WeakKeyDictionary[InternalServer, ChannelRules] = (
    weakref.WeakKeyDictionary()
)
_original_process = UaProcessor.process
_original_process_message = UaProcessor.process_message


def _select_policy(
    self: SecureConnection,
    uri: str,
    peer_certificate: bytes | None,
    mode: ua.MessageSecurityMode | None = None,
) -> None:
    """SecureConnection.select_policy (asyncua 2.1.0), failing with the status that says why:
    Bad_SecurityPolicyRejected or Bad_SecurityModeRejected (OPC 10000-4 §5.6.2)."""
    for policy in self._policies:
        if policy.matches(uri, mode):
            self.security_policy = policy.create(peer_certificate)
            return
    current = self.security_policy
    if uri == current.URI and (mode is None or current.Mode == mode):
        return
    offered = uri == current.URI or any(policy.matches(uri) for policy in self._policies)
    if offered:
        raise ua.UaStatusCodeError(ua.StatusCodes.BadSecurityModeRejected)
    raise ua.UaStatusCodeError(ua.StatusCodes.BadSecurityPolicyRejected)


async def _answer_refused_channels(self: UaProcessor, header: ua.Header, body: Buffer) -> bool:
    """UaProcessor.process (asyncua 2.1.0); on a guarded server an OpenSecureChannel that fails
    is answered with an Error message and the connection closed (OPC 10000-6 §7.1.5)."""
    rules = _CHANNEL_RULES.get(self.iserver)
    if rules is None or header.MessageType != ua.MessageType.SecureOpen:
        result: bool = await _original_process(self, header, body)
        return result
    try:
        opened: bool = await _original_process(self, header, body)
    except ua.UaStatusCodeError as error:
        status = error.code
    except Exception:  # any failure to open the channel is fatal to it, answered all the same
        log.warning("refused to open a secure channel for %s", self.name, exc_info=True)
        status = ua.StatusCodes.BadSecurityChecksFailed
    else:
        return opened
    error_message = ua.ErrorMessage(ua.StatusCode(status), ua.StatusCode(status).name)
    self._transport.write(ua_binary.uatcp_to_binary(ua.MessageType.Error, error_message))
    rules.tell(status)
    return False  # asyncua closes the connection


def _is_unsecured(processor: UaProcessor) -> bool:
    return bool(processor._connection.security_policy.Mode == ua.MessageSecurityMode.None_)


async def _refuse_by_channel_rules(self: UaProcessor, seqhdr: Any, body: Buffer) -> bool | None:
    """UaProcessor.process_message (asyncua 2.1.0), refusing first what the server's
    ChannelRules refuse, with a ServiceFault carrying the status."""
    rules = _CHANNEL_RULES.get(self.iserver)
    if rules is not None:
        peek = body.copy()  # the request stays unread for asyncua
        service = ua_binary.nodeid_from_binary(peek)
        sessions = len(self.iserver._external_sessions)
        status = rules.refusal(service, unsecured=_is_unsecured(self), sessions=sessions)
        if status is not None:
            request_header = ua_binary.struct_from_binary(ua.RequestHeader, peek)
            fault = ua.ServiceFault()
            fault.ResponseHeader.ServiceResult = ua.StatusCode(status)
            self.send_response(request_header.RequestHandle, seqhdr, fault)
            if service in _SESSION_REQUESTS:
                rules.tell(status)
            return True
    result: bool | None = await _original_process_message(self, seqhdr, body)
    return result


CHANNEL_PATCHES: dict[str, Patch] = {
    "channel_refusals": Patch(
        "channel_refusals",
        (
            Target(
                SecureConnection,
                "select_policy",
                "516345b8a03ec75b416dbd8784ccdd2f1a0bc1088430c40a4f2a516232a200fb",
                _select_policy,
            ),
            Target(
                UaProcessor,
                "process",
                "70af297c7ab8b02f022b07a67f1b1d5c7e29a978f454ad925b77a85424520f21",
                _answer_refused_channels,
            ),
        ),
    ),
    "channel_rules": Patch(
        "channel_rules",
        (
            Target(
                UaProcessor,
                "process_message",
                "303c6a0c8e315eddc6b268ea3b86311c5b79a0a29390ce2459e35ed6d3427b9e",
                _refuse_by_channel_rules,
            ),
            Target(
                InternalServer,
                "register_external_session",
                "c78e1de5967c64b9289d470e2028b2f1b475e1928a78a0b0c8947029d57ae5ce",
            ),
            Target(
                InternalServer,
                "unregister_external_session",
                "b57afce91b201df64262bd605aa61cb59bb18d892b4683cbedc986386bdcf71e",
            ),
        ),
    ),
}
"""The security patches, installed by `guard_channels` (never skipped)."""


def guard_channels(server: Server, rules: ChannelRules) -> None:
    """Apply ``rules`` to every channel of ``server``.

    Raises ServerError when the installed asyncua is not the one the patches were written for:
    serving on asyncua's own code would serve what the rules refuse.
    """
    for patch in CHANNEL_PATCHES.values():
        if patch.name in _installed:
            continue
        problem = patch.problem()
        if problem is not None:
            raise ServerError(
                f"cannot apply the OPC UA channel rules ({patch.name}): {problem}",
                advice=f"install asyncua {ASYNCUA_VERSION}, the version trustfloor pins",
            )
        patch.apply()
        _installed.add(patch.name)
    _CHANNEL_RULES[server.iserver] = rules


# --- quiet_startup: no full collections over the address space while it is built ---


@contextmanager
def quiet_startup() -> Iterator[None]:
    """Pause the cyclic GC while the server starts, then freeze what was built (`thaw` undoes)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    except BaseException:
        if was_enabled:
            gc.enable()
        raise
    gc.freeze()
    if was_enabled:
        gc.enable()


def thaw() -> None:
    """Let the GC see frozen objects again (call when a server stops, so it can be freed)."""
    gc.unfreeze()


# --- login_off_the_loop: an ActivateSession's password is checked in a worker thread ---
#
# asyncua asks its user manager about a username and password synchronously, from
# InternalSession.activate_session inside UaProcessor._process_message, so a scrypt verification
# (~50 ms) stopped every session of the server, and a burst of wrong logins stalled the others.
# `_dispatch_with_login_check` replaces UaProcessor._process_message: for an ActivateSession
# whose session asyncua would activate (live session, accepted token type, valid client
# signature -- the checks asyncua makes before asking), it decrypts the UserNameIdentityToken in
# a worker thread and hands username and password to the user manager's `activation` context,
# which decides the login off the event loop; asyncua then runs unchanged inside that context
# and its synchronous get_user returns the decision. Requests of any other kind, and user
# managers without `activation`, go straight to asyncua's function. When this patch does not
# fit, get_user decides as before, on the event loop. Only user managers with `activation`.

_ACTIVATE_SESSION = ua.NodeId(ua.ObjectIds.ActivateSessionRequest_Encoding_DefaultBinary)
_asyncua_dispatch = UaProcessor._process_message


async def _dispatch_with_login_check(
    self: UaProcessor, typeid: ua.NodeId, requesthdr: ua.RequestHeader, seqhdr: Any, body: Buffer
) -> Any:
    """UaProcessor._process_message (asyncua 2.1.0); an ActivateSession's password login is
    decided by the user manager's ``activation`` first, off the event loop."""
    activation = getattr(self.iserver.user_manager, "activation", None)
    if activation is None or typeid != _ACTIVATE_SESSION:
        return await _asyncua_dispatch(self, typeid, requesthdr, seqhdr, body)
    credentials = await _password_credentials(self, requesthdr, body.copy())
    async with activation(_peer_host(self), credentials):
        return await _asyncua_dispatch(self, typeid, requesthdr, seqhdr, body)


# The wrapper names asyncua's function as __wrapped__, so `source_digest` (inspect follows it)
# still finds the asyncua source that read_request_cache relies on.
functools.update_wrapper(_dispatch_with_login_check, _asyncua_dispatch, assigned=(), updated=())


async def _password_credentials(
    processor: UaProcessor, requesthdr: ua.RequestHeader, body: Buffer
) -> tuple[str, str] | None:
    """Username and password of an ActivateSession that asyncua will ask its user manager
    about, or None (another token type, or a request asyncua refuses before asking)."""
    try:
        params = ua_binary.struct_from_binary(ua.ActivateSessionParameters, body)
        session = processor.session or processor.iserver.lookup_external_session(
            requesthdr.AuthenticationToken
        )
        token = params.UserIdentityToken
        if not _asks_about_password(processor, session, token):
            return None
        _verify_client_signature(processor, session, params)
        decrypt = processor.iserver.decrypt_user_token
        username, password = await asyncio.to_thread(decrypt, session, token)
    except Exception:  # asyncua refuses a malformed request itself, with its own status
        return None
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    return username, password


def _asks_about_password(
    processor: UaProcessor, session: InternalSession | None, token: Any
) -> bool:
    """Whether asyncua's activate_session would decrypt ``token`` and call get_user with it."""
    return (
        session is not None
        and session.state != SessionState.Closed
        and isinstance(token, ua.UserNameIdentityToken)
        and isinstance(token, processor.iserver.supported_tokens)
    )


def _verify_client_signature(
    processor: UaProcessor, session: InternalSession, params: ua.ActivateSessionParameters
) -> None:
    """The client signature check asyncua makes before activating; raises when it fails."""
    policy = processor._connection.security_policy
    signed = (
        session.nonce
        if policy.host_certificate is None
        else policy.host_certificate + session.nonce
    )
    policy.asymmetric_cryptography.verify(signed, params.ClientSignature.Signature)


def _peer_host(processor: UaProcessor) -> str:
    """The client's address, without its port (each connection has another)."""
    peer = processor.name
    return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"


PATCHES["login_off_the_loop"] = Patch(
    "login_off_the_loop",
    (
        Target(
            UaProcessor,
            "_process_message",
            "029ff357dd3bdd16a53eec2a830fdc0660d2c1736123715255f7e3dead8ae11b",
            _dispatch_with_login_check,
        ),
        Target(
            InternalSession,
            "activate_session",
            "cfe664a2bb572c9ffecfc1339759eadadec32eb82fc69df940a043019d9948fd",
        ),
        Target(
            InternalServer,
            "decrypt_user_token",
            "3f4ac207891e1cfd45cdaa03f9039613ff1809097214aec5a3ee5cc10728b29e",
        ),
        Target(
            InternalServer,
            "lookup_external_session",
            "93f4ee60c93a33b1562b395cec15056375860c6267e55ba827ce144ccd9220b1",
        ),
    ),
)
