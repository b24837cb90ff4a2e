"""OPC UA client connector: a subscription per sampling interval, reconnect, plain writes."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from asyncua import Client, Node, ua
from asyncua.common.subscription import (
    DataChangeEvent,
    OverflowPolicy,
    StatusChangeEvent,
    Subscription,
)

from connectors.opcua_client.errors import OpcUaWriteError
from connectors.opcua_client.quality import Plain, reading_of, status_name
from connectors.opcua_client.session import (
    LINK_ERRORS,
    Link,
    connect,
    endpoint_password,
    keep_sessions,
    new_client,
    relay_until_lost,
    require_pki,
    secure,
    serve_one_session,
)
from connectors.resilience import Backoff, LogOnce
from models import Cause, Clock, OpcUaMachine, OpcUaTag, Reading, ReadingSink, bad

log = logging.getLogger(__name__)

NOTIFICATION_QUEUE = 10_000
"""Notifications buffered per subscription while the sink applies back-pressure. When full,
the connection is dropped and re-established (Bad readings, then fresh values): never a
silent loss."""

_VARIANT_CASTS: dict[ua.VariantType, type[float] | type[int] | type[bool] | type[str]] = {
    ua.VariantType.Boolean: bool,
    ua.VariantType.SByte: int,
    ua.VariantType.Byte: int,
    ua.VariantType.Int16: int,
    ua.VariantType.UInt16: int,
    ua.VariantType.Int32: int,
    ua.VariantType.UInt32: int,
    ua.VariantType.Int64: int,
    ua.VariantType.UInt64: int,
    ua.VariantType.Float: float,
    ua.VariantType.Double: float,
    ua.VariantType.String: str,
}
"""Scalar types ``write`` can send, with the Python type the value is converted to."""


@dataclass(slots=True)
class _Session(Link):
    """One connected session: the link, and the machine's nodes resolved on this server."""

    nodes: dict[str, ua.NodeId] = field(default_factory=dict)
    variant_types: dict[str, ua.VariantType] = field(default_factory=dict)


class OpcUaConnector:
    """Subscribes to one machine's OPC UA server and turns every notification into a reading.

    Tags sharing a ``sampling_interval_ms`` share one subscription (publishing interval =
    sampling interval). When the server goes away the connector emits Bad(COMMUNICATION)
    readings for every tag at each reconnect attempt, backs off exponentially, and on success
    opens a new session and re-creates the subscriptions, whose first notifications carry the
    current values.
    """

    def __init__(
        self,
        machine: OpcUaMachine,
        clock: Clock,
        *,
        pki_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.machine = machine
        self._clock = clock
        self._endpoint = machine.opcua
        self._password = endpoint_password(
            machine.opcua, os.environ if environ is None else environ, owner=machine.id
        )
        self._pki_dir = pki_dir
        require_pki(self._endpoint, pki_dir, owner=machine.id)
        self._backoff = backoff or Backoff()
        self._session: _Session | None = None
        self._log = LogOnce(log, f"opcua {machine.id} {self._endpoint.url}")
        self.connected = False
        self.sessions = 0
        """Sessions opened so far (tests and status lines read it)."""

    @property
    def name(self) -> str:
        return f"opcua:{self.machine.id}"

    async def run(self, sink: ReadingSink) -> None:
        """Subscribe until cancelled; while the server is unreachable every tag reads Bad."""

        async def link_down(reason: str) -> None:
            self._log.failed("link", reason)
            await sink.put(self._all_bad(self.machine.tags, Cause.COMMUNICATION, reason))

        try:
            await keep_sessions(lambda: self._serve_one_session(sink), link_down, self._backoff)
        finally:
            self.connected = False

    async def write(self, tag: str, value: Plain) -> None:
        """Write ``value`` to ``tag``'s node as a plain Variant of the node's data type.

        No source or server timestamp is sent: PLCs and open62541 servers answer
        BadWriteNotSupported to a DataValue carrying them (OPC 10000-4 §5.10.4 lets a server
        refuse timestamps it cannot apply).
        """
        session = self._session
        if session is None or tag not in session.nodes:
            known = tag in {t.name for t in self.machine.tags}
            raise OpcUaWriteError(
                f"cannot write {self.machine.id}/{tag}: "
                + ("not connected" if known else "no such tag"),
                advice="check the tag name, or wait until the machine is connected and retry",
            )
        node = session.client.get_node(session.nodes[tag])
        try:
            variant_type = await self._variant_type(session, tag, node)
            variant = ua.Variant(_cast(value, variant_type, tag), variant_type)
            await node.write_value(ua.DataValue(variant))
        except ua.UaStatusCodeError as error:
            raise OpcUaWriteError(
                f"{self.machine.id}/{tag}: the server refused the write with "
                f"{status_name(error.code)}",
                advice="check that the node is writable for this user and takes this value",
            ) from error
        except LINK_ERRORS as error:
            raise OpcUaWriteError(
                f"{self.machine.id}/{tag}: write failed: {error!r}",
                advice="the connection dropped; retry once the machine is connected again",
            ) from error

    async def _serve_one_session(self, sink: ReadingSink) -> str:
        """Connect, subscribe and relay notifications until the link is lost; returns why."""

        async def serve(session: _Session) -> None:
            try:
                subscriptions = await self._subscribe(session, sink)
                self._session, self.connected = session, True
                self.sessions += 1
                self._backoff.reset()
                self._log.succeeded("link")
                relays = [self._relay(session, sub, tags, sink) for sub, tags in subscriptions]
                await relay_until_lost(session, relays, self.name)
            finally:
                self._session, self.connected = None, False

        client = new_client(self._endpoint, self._password)
        return await serve_one_session(client, self._endpoint, self.name, self._connect, serve)

    async def _connect(self, client: Client) -> _Session:
        await secure(client, self._endpoint, self._pki_dir)
        session = _Session(client)
        await connect(session)
        namespaces = await client.get_namespace_array()
        session.nodes = _resolve(self.machine.tags, namespaces)
        return session

    async def _subscribe(
        self, session: _Session, sink: ReadingSink
    ) -> list[tuple[Subscription, dict[int, OpcUaTag]]]:
        """One subscription per sampling interval; tags whose item fails read Bad with its code."""
        subscriptions: list[tuple[Subscription, dict[int, OpcUaTag]]] = []
        failed: list[Reading] = self._unresolved(session)
        for interval, tags in _by_interval(t for t in self.machine.tags if t.name in session.nodes):
            subscription = await session.client.create_subscription(
                interval,
                None,
                queue_maxsize=NOTIFICATION_QUEUE,
                overflow=OverflowPolicy.DISCONNECT,
            )
            nodes = [session.client.get_node(session.nodes[t.name]) for t in tags]
            handles = await subscription.subscribe_data_change(
                nodes, sampling_interval=interval, queuesize=1
            )
            by_handle: dict[int, OpcUaTag] = {}
            for tag, handle in zip(tags, handles, strict=True):
                if isinstance(handle, ua.StatusCode):
                    reason = f"cannot monitor {tag.node_id}: {status_name(handle.value)}"
                    failed.append(self._bad(tag, Cause.DEVICE_EXCEPTION, reason))
                else:
                    by_handle[handle] = tag
            subscriptions.append((subscription, by_handle))
        if failed:
            await sink.put(failed)
        return subscriptions

    def _unresolved(self, session: _Session) -> list[Reading]:
        reason = "cannot resolve {} here: namespace URI not on the server, or malformed"
        return [
            self._bad(tag, Cause.DEVICE_EXCEPTION, reason.format(tag.node_id))
            for tag in self.machine.tags
            if tag.name not in session.nodes
        ]

    async def _relay(
        self,
        session: _Session,
        subscription: Subscription,
        tags: dict[int, OpcUaTag],
        sink: ReadingSink,
    ) -> None:
        """Hand each notification of ``subscription`` to ``sink``, in the order received."""
        async for event in subscription:
            if isinstance(event, DataChangeEvent):
                tag = tags.get(event.data.subscription_data.server_handle)
                if tag is not None:
                    value = event.data.monitored_item.Value
                    await sink.put([reading_of(self.machine.id, tag, value, self._clock.now())])
            elif isinstance(event, StatusChangeEvent) and event.notification.Status.is_bad():
                session.end(f"subscription ended: {status_name(event.notification.Status.value)}")
                return

    async def _variant_type(self, session: _Session, tag: str, node: Node) -> ua.VariantType:
        if tag not in session.variant_types:
            session.variant_types[tag] = await node.read_data_type_as_variant_type()
        return session.variant_types[tag]

    def _bad(self, tag: OpcUaTag, cause: Cause, reason: str) -> Reading:
        return bad(self.machine.id, tag.name, self._clock.now(), cause, reason)

    def _all_bad(self, tags: Iterable[OpcUaTag], cause: Cause, reason: str) -> list[Reading]:
        return [self._bad(tag, cause, reason) for tag in tags]


def _resolve(tags: Iterable[OpcUaTag], namespaces: list[str]) -> dict[str, ua.NodeId]:
    """NodeIds of the tags, ``nsu=`` URIs turned into this server's namespace indexes.

    OPC 10000-6 §5.3.1.10: an index is only valid on one server at one time, so a URI
    survives a server that reorders its namespaces on restart.
    """
    resolved: dict[str, ua.NodeId] = {}
    for tag in tags:
        try:
            node_id = ua.NodeId.from_string(tag.node_id)
        except (ValueError, ua.UaError):
            continue
        uri = getattr(node_id, "NamespaceUri", None)
        if uri:
            if uri not in namespaces:
                continue
            node_id = ua.NodeId(node_id.Identifier, namespaces.index(uri), node_id.NodeIdType)
        resolved[tag.name] = node_id
    return resolved


def _by_interval(tags: Iterable[OpcUaTag]) -> list[tuple[float, list[OpcUaTag]]]:
    groups: dict[float, list[OpcUaTag]] = {}
    for tag in tags:
        groups.setdefault(tag.sampling_interval_ms, []).append(tag)
    return sorted(groups.items(), key=lambda item: item[0])


def _cast(value: Plain, variant_type: ua.VariantType, tag: str) -> Plain:
    cast = _VARIANT_CASTS.get(variant_type)
    if cast is None:
        raise OpcUaWriteError(
            f"cannot write {tag}: its node holds {variant_type.name}, not a plain scalar",
            advice="only Boolean, integer, Float, Double and String nodes can be written",
        )
    if cast is int and isinstance(value, float) and not value.is_integer():
        raise OpcUaWriteError(
            f"cannot write {value} to {tag}: its node holds {variant_type.name} (whole numbers)",
            advice="send a whole number",
        )
    return cast(value)
