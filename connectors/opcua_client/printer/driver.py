"""An AM printer driven over OPC UA by its mapping: job orders, state, feedstock, process values."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from asyncua import Client, ua
from asyncua.common.subscription import DataChangeNotif

from config import ArgumentSource, ArgumentType, MethodArgument, PrinterMapping, PrinterMethod
from connectors.opcua_client.printer.errors import (
    PrinterLinkError,
    PrinterRefusedError,
    PrinterUnreachableError,
)
from connectors.opcua_client.printer.paths import (
    Resolved,
    required_missing,
    resolve_mapping,
    resolve_method,
)
from connectors.opcua_client.quality import plain_value, status_name, timestamp_of
from connectors.opcua_client.session import (
    LINK_ERRORS,
    Link,
    connect,
    describe,
    endpoint_password,
    keep_sessions,
    new_client,
    relay_until_lost,
    require_pki,
    secure,
    serve_one_session,
)
from connectors.resilience import Backoff, LogOnce
from models import (
    Cause,
    Clock,
    MessageSecurityMode,
    Printer,
    PrinterJobState,
    PrinterStatus,
    PrinterTag,
    PrintJob,
    Quality,
    Reading,
    ReadingSink,
    Sample,
    bad,
    trusted_reading,
)

log = logging.getLogger(__name__)

NOT_CONNECTED_YET = "not connected yet"

NOTIFICATION_QUEUE = 10_000
"""Notifications held while the sink applies back-pressure; when full the link is re-made."""

READING_TAGS = {
    "state": PrinterTag.STATE,
    "job_id": PrinterTag.JOB_ID,
    "design_id": PrinterTag.DESIGN_ID,
    "layers_planned": PrinterTag.LAYERS_PLANNED,
    "current_layer": PrinterTag.CURRENT_LAYER,
    "material_lot": PrinterTag.MATERIAL_LOT,
}
"""Mapped job nodes published as readings, under the tag names the site uses."""

_STATUS_KEYS = (
    "state",
    "job_id",
    "current_layer",
    "layers_planned",
    "material_lot",
    "dossier_sha256",
    "alarms",
    "reason",
)

_VARIANT_TYPES = {t: getattr(ua.VariantType, t.value) for t in ArgumentType}
_CASTS: dict[ArgumentType, type] = {
    ArgumentType.STRING: str,
    ArgumentType.BOOLEAN: bool,
    ArgumentType.FLOAT: float,
    ArgumentType.DOUBLE: float,
}


@dataclass(slots=True)
class _Link(Link):
    """One session with the printer: the link, and where the mapped nodes are."""

    resolved: Resolved = field(default_factory=Resolved)


class _Notifications:
    """asyncua subscription handler: data changes onto a queue, a bad status ends the link."""

    def __init__(self, link: _Link, keys: Mapping[int, str]) -> None:
        self.queue: asyncio.Queue[tuple[str, ua.DataValue]] = asyncio.Queue(NOTIFICATION_QUEUE)
        self._link = link
        self._keys = keys

    def datachange_notification(self, node: object, value: object, data: DataChangeNotif) -> None:
        key = self._keys.get(data.subscription_data.server_handle)
        if key is None:
            return
        try:
            self.queue.put_nowait((key, data.monitored_item.Value))
        except asyncio.QueueFull:
            self._link.end("notifications piled up faster than they were stored")

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        if status.Status.is_bad():
            self._link.end(f"subscription ended: {status_name(status.Status.value)}")


class OpcUaPrinterControl:
    """Implements ``models.ports.PrinterControl`` (and ``Connector``) for one printer over OPC UA.

    ``run`` keeps a session: it finds the mapped nodes (a missing required one is reported by
    its mapping key and the path segment not found), subscribes to the job nodes and process
    values, and publishes them as readings (the state through the mapping's table, process
    values scaled). When the printer goes away every tag reads Bad, the driver reconnects with
    back-off, and ``status`` and the job calls raise PrinterUnreachableError meanwhile; on
    reconnect it re-attaches to the job the printer reports by its id. Job calls follow the
    mapping's argument lists; a refusal raises PrinterRefusedError with the printer's reason.
    """

    def __init__(
        self,
        printer: Printer,
        mapping: PrinterMapping,
        clock: Clock,
        *,
        pki_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.printer = printer
        self.mapping = mapping
        self._clock = clock
        self._endpoint = printer.opcua
        self._password = endpoint_password(
            printer.opcua,
            os.environ if environ is None else environ,
            owner=printer.opcua.url,
            error=PrinterLinkError,
        )
        self._pki_dir = pki_dir
        require_pki(self._endpoint, pki_dir, owner=f"printer {printer.id}", error=PrinterLinkError)
        self._backoff = backoff or Backoff()
        self._link: _Link | None = None
        self._down_reason = NOT_CONNECTED_YET
        self._jobs: dict[str, PrintJob] = {}
        self._listeners: set[asyncio.Queue[Sample]] = set()
        self._log = LogOnce(log, f"printer {printer.id} {self._endpoint.url}")
        self.connected = False
        self.sessions = 0
        """Sessions opened so far."""
        self.attached_job = ""
        """The job the printer reported when the last session opened ("" when none)."""

    @property
    def printer_id(self) -> str:
        return self.printer.id

    @property
    def name(self) -> str:
        return f"printer:{self.printer.id}"

    @property
    def endpoint(self) -> str:
        return self._endpoint.url

    @property
    def security_mode(self) -> MessageSecurityMode:
        return self._endpoint.security_mode

    @property
    def down_reason(self) -> str:
        """Why the link is down ("" while it is up; "not connected yet" before the first try)."""
        return "" if self.connected else self._down_reason

    # --- Connector -------------------------------------------------------------------------

    async def run(self, sink: ReadingSink) -> None:
        """Keep a session with the printer and publish its values until cancelled."""

        async def link_down(reason: str) -> None:
            self._down_reason = reason
            self._log.failed("link", reason)
            await sink.put(self._all_bad(reason))

        try:
            await keep_sessions(lambda: self._serve_one_session(sink), link_down, self._backoff)
        finally:
            self.connected = False

    async def _serve_one_session(self, sink: ReadingSink) -> str:
        async def serve(link: _Link) -> None:
            try:
                notifications = await self._subscribe(link)
                await self._attach(link)
                self._link, self.connected = link, True
                self.sessions += 1
                self._backoff.reset()
                self._log.succeeded("link")
                await relay_until_lost(link, [self._relay(notifications, sink)], self.name)
            finally:
                self._link, self.connected = None, False

        client = new_client(self._endpoint, self._password)
        return await serve_one_session(
            client, self._endpoint, self.name, self._open, serve, refusals=(PrinterLinkError,)
        )

    async def _open(self, client: Client) -> _Link:
        await secure(client, self._endpoint, self._pki_dir, PrinterLinkError)
        link = _Link(client)
        await connect(link)
        link.resolved = await resolve_mapping(client, self.mapping, self.printer.id)
        required_missing(link.resolved, self.mapping, self.printer.id)
        for key, why in link.resolved.missing.items():
            self._log.failed(f"optional {key}", f"optional mapped node {key} not found: {why}")
        return link

    async def _subscribe(self, link: _Link) -> _Notifications:
        keys = [k for k in (*READING_TAGS, *self._process_keys()) if k in link.resolved.nodes]
        by_handle: dict[int, str] = {}
        handler = _Notifications(link, by_handle)
        interval = self.mapping.sampling_interval_ms
        subscription = await link.client.create_subscription(interval, handler)
        nodes = [link.client.get_node(link.resolved.nodes[k]) for k in keys]
        handles = await subscription.subscribe_data_change(
            nodes, sampling_interval=interval, queuesize=10
        )
        for key, handle in zip(keys, handles, strict=True):
            if isinstance(handle, int):
                by_handle[handle] = key
            else:
                self._log.failed(f"monitor {key}", f"cannot monitor {key}: {handle}")
        return handler

    async def _attach(self, link: _Link) -> None:
        """Note the job the printer reports as this session opens (re-attaching to it)."""
        node = link.resolved.nodes["job_id"]
        job_id = str(await link.client.get_node(node).read_value() or "")
        if job_id and job_id != self.attached_job:
            log.info("printer %s: attached to job %s", self.printer.id, job_id)
        self.attached_job = job_id

    async def _relay(self, notifications: _Notifications, sink: ReadingSink) -> None:
        while True:
            key, data = await notifications.queue.get()
            reading = self._reading(key, data)
            if reading is None:
                continue
            await sink.put([reading])
            if key in self._process_keys() and reading.quality is Quality.GOOD:
                sample = Sample(reading.tag, reading.source_ts, float(reading.value or 0.0))
                for listener in self._listeners:
                    listener.put_nowait(sample)

    def _reading(self, key: str, data: ua.DataValue) -> Reading | None:
        tag = READING_TAGS.get(key) or key
        now = self._clock.now()
        ts = timestamp_of(data, now)
        code = data.StatusCode.value if data.StatusCode is not None else ua.StatusCodes.Good
        if not ua.StatusCode(code).is_good():
            return bad(self.printer.id, tag, ts, Cause.DEVICE_EXCEPTION, status_name(code))
        try:
            value = plain_value(data.Value.Value if data.Value is not None else None)
        except ValueError as error:
            return bad(self.printer.id, tag, ts, Cause.INVALID_VALUE, str(error))
        if key == "state":
            value = self._job_state(value).value
        elif key in self._process_keys():
            if not isinstance(value, int | float) or isinstance(value, bool):
                return bad(
                    self.printer.id, tag, ts, Cause.INVALID_VALUE, f"not a number: {value!r}"
                )
            process = self._process_keys()[key]
            value = float(value) * process[0] + process[1]
        elif key in ("current_layer", "layers_planned") and isinstance(value, int | float):
            value = int(value)
        elif value is None:
            value = ""
        return trusted_reading(self.printer.id, tag, ts, value, Quality.GOOD, Cause.NONE, "")

    def _process_keys(self) -> dict[str, tuple[float, float]]:
        return {v.parameter.value: (v.scale, v.offset) for v in self.mapping.process_values}

    def _job_state(self, value: object) -> PrinterJobState:
        return self.mapping.states.get(str(value), PrinterJobState.IDLE)

    def _all_bad(self, reason: str) -> list[Reading]:
        now = self._clock.now()
        tags = [*READING_TAGS.values(), *self._process_keys()]
        return [bad(self.printer.id, tag, now, Cause.COMMUNICATION, reason) for tag in tags]

    # --- PrinterControl --------------------------------------------------------------------

    async def submit(self, job: PrintJob) -> None:
        """Store the job order on the printer (ISA-95 Store); it waits until ``start``."""
        self._jobs[job.job_id] = job
        await self._call("store", job.job_id)

    async def start(self, job_id: str) -> None:
        """Start the stored job order ``job_id`` (ISA-95 Start)."""
        await self._call("start", job_id)
        self.attached_job = job_id

    async def abort(self, job_id: str) -> None:
        """Abort the job order ``job_id`` (ISA-95 Abort)."""
        await self._call("abort", job_id)

    async def clear(self, job_id: str) -> None:
        """Clear the job order ``job_id`` (ISA-95 Clear), when the printer has that method."""
        if "clear" in self.mapping.method_refs():
            await self._call("clear", job_id)

    async def status(self) -> PrinterStatus:
        """What the printer shows now, read in one request."""
        link = self._up()
        keys = [k for k in _STATUS_KEYS if k in link.resolved.nodes]
        nodes = [link.client.get_node(link.resolved.nodes[k]) for k in keys]
        try:
            values = dict(zip(keys, await link.client.read_values(nodes), strict=True))
        except LINK_ERRORS as error:
            raise self._unreachable(describe(error)) from error
        job_id = _text(values.get("job_id"))
        known = self._jobs.get(job_id)
        return PrinterStatus(
            id=self.printer.id,
            job_state=self._job_state(values.get("state")),
            current_layer=int(values.get("current_layer") or 0),
            layers_planned=int(values.get("layers_planned") or 0),
            material_lot=_text(values.get("material_lot")),
            order_id=known.order_id if known is not None else "",
            job_id=job_id,
            dossier_sha256=_text(values.get("dossier_sha256")),
            alarms=tuple(str(a) for a in values.get("alarms") or () if a),
            reason=_text(values.get("reason")),
        )

    async def process_samples(self) -> AsyncGenerator[Sample, None]:
        """The printer's process values (scaled) as its notifications bring them."""
        queue: asyncio.Queue[Sample] = asyncio.Queue()
        self._listeners.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._listeners.discard(queue)

    async def call(self, path: str, arguments: Sequence[tuple[object, ArgumentType]]) -> None:
        """Call a method the mapping does not name (a simulator's, say) at ``path`` under the
        printer; refused like a job call."""
        method = PrinterMethod(path=path)
        link = self._up()
        found = await resolve_method(link.client, self.mapping, self.printer.id, method)
        if isinstance(found, str):
            raise PrinterLinkError(
                f"printer {self.printer.id} has no method {path}: {found}",
                advice="check the method's path",
            )
        owner, target = found
        variants = [ua.Variant(_cast(v, t), _VARIANT_TYPES[t]) for v, t in arguments]
        await self._invoke(link, method, path, owner, target, variants)

    async def _call(self, key: str, job_id: str) -> None:
        link = self._up()
        method = self.mapping.method_refs()[key]
        if key not in link.resolved.methods:
            raise PrinterLinkError(
                f"printer {self.printer.id} has no {key} method "
                f"({link.resolved.missing.get(key, 'not mapped')})",
                advice="map the method in the printer's profile",
            )
        owner, target = link.resolved.methods[key]
        variants = [self._argument(argument, job_id) for argument in method.arguments]
        await self._invoke(link, method, f"{key} of job {job_id}", owner, target, variants)

    async def _invoke(
        self,
        link: _Link,
        method: PrinterMethod,
        what: str,
        owner: ua.NodeId,
        target: ua.NodeId,
        variants: list[ua.Variant],
    ) -> None:
        try:
            outputs = await link.client.get_node(owner).call_method(target, *variants)
        except ua.UaStatusCodeError as error:
            reason = await self._printer_reason(link)
            raise PrinterRefusedError(
                f"printer {self.printer.id} refused {what}: {status_name(error.code)}"
                + (f" ({reason})" if reason else ""),
                advice="see the printer's reason; retry when it is ready",
            ) from error
        except LINK_ERRORS as error:
            raise self._unreachable(describe(error)) from error
        results = outputs if isinstance(outputs, list) else [] if outputs is None else [outputs]
        refusal = refusal_of(method, results)
        if refusal is not None:
            raise PrinterRefusedError(
                f"printer {self.printer.id} refused {what}: {refusal}",
                advice="see the printer's reason; retry when it is ready",
            )

    def _argument(self, argument: MethodArgument, job_id: str) -> ua.Variant:
        if argument.source is ArgumentSource.JOB_ID:
            value: object = job_id
        else:
            job = self._jobs.get(job_id)
            if job is None:
                raise PrinterLinkError(
                    f"printer {self.printer.id}: job {job_id!r} was not submitted here, so its "
                    f"{argument.source} is unknown",
                    advice="submit the job before starting it",
                )
            value = _source_value(job, argument.source)
        return ua.Variant(_cast(value, argument.type), _VARIANT_TYPES[argument.type])

    async def _printer_reason(self, link: _Link) -> str:
        node = link.resolved.nodes.get("reason")
        if node is None:
            return ""
        try:
            return _text(await link.client.get_node(node).read_value())
        except LINK_ERRORS:
            return ""

    def _up(self) -> _Link:
        link = self._link
        if link is None or link.lost.is_set():
            raise self._unreachable(self._down_reason)
        return link

    def _unreachable(self, reason: str) -> PrinterUnreachableError:
        return PrinterUnreachableError(
            f"printer {self.printer.id} is not reachable at {self._endpoint.url}: {reason}",
            advice="the driver reconnects by itself; the job goes on on the printer meanwhile",
        )


def _source_value(job: PrintJob, source: ArgumentSource) -> object:
    return {
        ArgumentSource.JOB_ID: job.job_id,
        ArgumentSource.SERIAL: job.serial,
        ArgumentSource.DESIGN_ID: job.design.id,
        ArgumentSource.REVISION: job.design.revision,
        ArgumentSource.DOSSIER_SHA256: job.design.dossier_sha256,
        ArgumentSource.LAYERS_PLANNED: job.layers_planned,
        ArgumentSource.MATERIAL_LOT: job.material_lot,
        ArgumentSource.ORDER_ID: job.order_id,
    }[source]


def _cast(value: object, kind: ArgumentType) -> object:
    cast = _CASTS.get(kind, int)
    try:
        return cast(value)
    except (TypeError, ValueError) as error:
        raise PrinterLinkError(
            f"cannot send {value!r} as {kind}", advice="fix the argument's type in the mapping"
        ) from error


def refusal_of(method: PrinterMethod, results: Sequence[object]) -> str | None:
    """None when ``results`` mean accepted; otherwise the printer's reason (or the result)."""
    if method.result_index is None:
        return None
    if method.result_index >= len(results):
        return f"it returned {len(results)} outputs, the mapping reads output {method.result_index}"
    result = results[method.result_index]
    if result in method.accepted or str(result) in {str(a) for a in method.accepted}:
        return None
    index = method.message_index
    message = _text(results[index]) if index is not None and index < len(results) else ""
    return message or f"result {result!r}"


def _text(value: object) -> str:
    if value is None:
        return ""
    return str(plain_value(value))
