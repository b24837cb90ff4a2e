"""Patch read_request_cache: a ReadRequest's node list is decoded once per distinct body."""

# Replaces uaprocessor.struct_from_binary, as UaProcessor._process_message calls it
# (asyncua 2.1.0).
#
# Why: decoding a ReadRequest's ReadValueIds cost ~10 µs each. Clients poll the same node list
# again and again, so decoded ReadParameters are kept by the bytes they were decoded from (a
# pure function of them); each request gets its own list, the ReadValueIds in it are shared
# (asyncua and trustfloor only read them). Process-wide; behaviour-preserving.
#
# Checked: the source digests of struct_from_binary and of UaProcessor._process_message, the
# caller that hands it the request body (the login patch wraps that caller and names asyncua's
# function as its __wrapped__, so the digest still reads asyncua's source), and the field
# layout of ReadParameters.

from __future__ import annotations

from typing import Any

import asyncua.server.uaprocessor as uaprocessor
from asyncua import ua
from asyncua.common.utils import Buffer
from asyncua.server.uaprocessor import UaProcessor

from opcua_server.fastpath.patching import Patch, Target

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


PATCH = Patch(
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
)
