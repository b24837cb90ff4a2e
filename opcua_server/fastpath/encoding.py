"""Patch response_encoding: Read and Publish responses encoded once per value, as asyncua does."""

# Replaces UaProcessor.send_response (asyncua 2.1.0).
#
# Why: ReadResponse and PublishResponse were encoded field by field by asyncua's generic
# serializer, ~13 µs per DataValue. `EncodedValues` encodes a DataValue with a specialised
# encoder (OPC 10000-6 §5.2.2.17 DataValue, §5.2.2.16 Variant) into the very bytes asyncua
# produces (tests compare them), and keeps the bytes per DataValue object, checked against the
# fields they were made from on every use, so a value read by many Read calls or sent to many
# subscribers is encoded once. Only servers passed to `install_fast_path` (`encode_for`).
#
# Checked: the source digest of send_response, and the field layouts of ReadResponse,
# DataChangeNotification, MonitoredItemNotification and DataValue that the encoder writes in
# order.

from __future__ import annotations

import struct
import weakref
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from asyncua import ua
from asyncua.server.internal_server import InternalServer
from asyncua.server.uaprocessor import UaProcessor
from asyncua.ua.ua_binary import Primitives, list_to_binary, nodeid_to_binary, variant_to_binary
from asyncua.ua.ua_binary import struct_to_binary as _asyncua_struct_to_binary

from opcua_server.fastpath.copies import DATA_VALUE_FIELDS, IMMUTABLE_LEAVES
from opcua_server.fastpath.patching import Patch, Target


def struct_to_binary(obj: Any) -> bytes:
    """asyncua's generic encoder of a structure (typed: asyncua is untyped to mypy here)."""
    return bytes(_asyncua_struct_to_binary(obj))


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
    if type(leaf) not in IMMUTABLE_LEAVES:
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


def encode_for(iserver: InternalServer) -> None:
    """Let ``iserver`` send its Read and Publish responses through `encode_response`."""
    _FAST_SERVERS.add(iserver)


PATCH = Patch(
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
        (ua.DataValue, DATA_VALUE_FIELDS),
    ),
)
