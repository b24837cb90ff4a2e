"""MES and quality methods: validated arguments, role checks, audit, and calls into the ports."""

# Every call is audited twice: once before anything runs (who, which method, a summary of the
# arguments, result "Started"), so that even a call that brings the process down is on record,
# and once with its status when it ends. A client's mistake is answered with a precise status
# and logged in one line; only a failure of trustfloor itself logs a traceback.

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from asyncua import Server, ua

from models import (
    MAX_JSON_LENGTH,
    MAX_ORDER_QUANTITY,
    CertificateDesk,
    InvalidRequestError,
    InvalidStateError,
    NotFoundError,
    OrderDesk,
    OutOfRangeError,
    PrintOrder,
    parse_json_text,
)
from opcua_server.methods.trace import Tracer
from opcua_server.security.audit import AuditLog
from opcua_server.security.roles import (
    CURRENT_USER,
    METHOD_ROLES,
    RefusedError,
    authorize,
    describe,
)
from opcua_server.security.users import SiteUser

log = logging.getLogger(__name__)

MAX_ID_LENGTH = 128
MAX_TEXT_LENGTH = 4096
SUMMARY_LENGTH = 80
"""Characters of one argument that the audit log keeps (its full length is noted)."""

STARTED = "Started"
"""The result of a call's first audit entry, written before the method runs."""

_PORT_ERRORS: tuple[tuple[type[Exception], int], ...] = (
    (NotFoundError, ua.StatusCodes.BadNotFound),
    (OutOfRangeError, ua.StatusCodes.BadOutOfRange),
    (InvalidRequestError, ua.StatusCodes.BadInvalidArgument),
    (InvalidStateError, ua.StatusCodes.BadInvalidState),
)
"""What the client gets for each port refusal (the first class that matches wins)."""


@dataclass(frozen=True, slots=True)
class Arg:
    """One input or output argument of a method."""

    name: str
    variant_type: ua.VariantType
    description: str
    max_length: int = MAX_ID_LENGTH
    optional: bool = False
    """A trailing argument a caller may leave out or pass empty ("" then)."""

    def definition(self) -> ua.Argument:
        argument = ua.Argument()
        argument.Name = self.name
        argument.DataType = ua.NodeId(self.variant_type.value)
        argument.ValueRank = -1
        argument.Description = ua.LocalizedText(self.description)
        return argument


Handler = Callable[[SiteUser, list[Any]], Awaitable[list[Any]]]


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """A method: where it lives, its arguments, and what it does once checked."""

    name: str
    folder: str
    inputs: tuple[Arg, ...]
    outputs: tuple[Arg, ...]
    handler: Handler


def check_arguments(inputs: Sequence[Arg], variants: Sequence[ua.Variant]) -> list[Any]:
    """Values of ``variants`` if they match ``inputs`` in number, type and length.

    Optional trailing arguments left out are "". Raises RefusedError with the status code the
    caller gets otherwise.
    """
    required = sum(1 for arg in inputs if not arg.optional)
    if len(variants) < required:
        raise RefusedError(ua.StatusCodes.BadArgumentsMissing, f"expected {required} arguments")
    if len(variants) > len(inputs):
        raise RefusedError(ua.StatusCodes.BadTooManyArguments, f"expected {len(inputs)} arguments")
    values = []
    for arg, variant in zip(inputs, variants, strict=False):
        if variant.VariantType != arg.variant_type or variant.Value is None or variant.is_array:
            raise RefusedError(
                ua.StatusCodes.BadTypeMismatch, f"{arg.name} must be one {arg.variant_type.name}"
            )
        if isinstance(variant.Value, str) and not variant.Value.strip() and not arg.optional:
            raise RefusedError(ua.StatusCodes.BadInvalidArgument, f"{arg.name} must not be empty")
        if isinstance(variant.Value, str) and len(variant.Value) > arg.max_length:
            raise RefusedError(
                ua.StatusCodes.BadInvalidArgument, f"{arg.name} longer than {arg.max_length}"
            )
        values.append(variant.Value)
    return values + ["" for _ in inputs[len(variants) :]]


def parse_json_object(name: str, text: str) -> dict[str, Any]:
    """A JSON object from an argument, read by the bounded parser (models.jsontext).

    JsonTextError (BadInvalidArgument) when the text is malformed or beyond a limit;
    RefusedError(BadInvalidArgument) when it is JSON but not an object.
    """
    value = parse_json_text(text, what=name)
    if not isinstance(value, dict):
        raise RefusedError(ua.StatusCodes.BadInvalidArgument, f"{name} must be a JSON object")
    return value


def summarize_argument(variant: ua.Variant) -> str:
    """One argument as the audit log keeps it: short, with the length of what was cut."""
    value = variant.Value
    if variant.is_array and isinstance(value, list):
        return f"<array of {len(value)} {variant.VariantType.name}>"
    if isinstance(value, str | bytes) and len(value) > SUMMARY_LENGTH:
        unit = "characters" if isinstance(value, str) else "bytes"
        return f"{value[:SUMMARY_LENGTH]!r}... ({len(value)} {unit})"
    return repr(value)[:SUMMARY_LENGTH]


def summarize_arguments(variants: Sequence[ua.Variant]) -> str:
    return ", ".join(summarize_argument(v) for v in variants)


class MethodHost:
    """Builds the methods into the address space and serves them."""

    def __init__(
        self,
        server: Server,
        namespace: int,
        audit: AuditLog,
        *,
        orders: OrderDesk | None = None,
        certificates: CertificateDesk | None = None,
        on_order: Callable[[PrintOrder], Awaitable[None]] | None = None,
        tracer: Tracer | None = None,
        more: Sequence[MethodSpec] = (),
    ) -> None:
        """``more``: methods of other objects (e.g. the Maintenance object's), served alike."""
        self.tracer = tracer
        self._more = tuple(more)
        self._server = server
        self._namespace = namespace
        self._audit = audit
        self.orders = orders
        self.certificates = certificates
        self._on_order = on_order
        self.method_ids: dict[str, ua.NodeId] = {}

    def specs(self) -> list[MethodSpec]:
        design = Arg("DesignId", ua.VariantType.String, "id of a registered design")
        serial = Arg("SerialNumber", ua.VariantType.String, "serial number of a printed part")
        order_id = Arg("OrderId", ua.VariantType.String, "JobOrderID of a print order")
        return [
            MethodSpec(
                "CreatePrintOrder",
                "PrintOrders",
                (
                    design,
                    Arg(
                        "Quantity",
                        ua.VariantType.UInt32,
                        f"pieces to print, 1..{MAX_ORDER_QUANTITY} and within the licence",
                    ),
                    Arg(
                        "Reason", ua.VariantType.String, "why the parts are needed", MAX_TEXT_LENGTH
                    ),
                    Arg(
                        "MaterialLot",
                        ua.VariantType.String,
                        "optional: the feedstock lot to print from (empty or left out: the "
                        "printer's own)",
                        optional=True,
                    ),
                ),
                (order_id,),
                self._create_order,
            ),
            MethodSpec(
                "CancelPrintOrder",
                "PrintOrders",
                (order_id,),
                (Arg("State", ua.VariantType.String, "state after the call"),),
                self._cancel_order,
            ),
            MethodSpec(
                "GetCertificate",
                "Parts",
                (serial,),
                (
                    Arg(
                        "CertificateJson",
                        ua.VariantType.String,
                        "the signed certificate (RFC 8785 JSON)",
                    ),
                ),
                self._get_certificate,
            ),
            MethodSpec(
                "GetProofBundle",
                "Parts",
                (serial,),
                (
                    Arg(
                        "BundleJson",
                        ua.VariantType.String,
                        "certificate, inclusion proof and anchor",
                    ),
                ),
                self._get_bundle,
            ),
            MethodSpec(
                "VerifyCertificate",
                "Parts",
                (Arg("BundleJson", ua.VariantType.String, "a proof bundle", MAX_JSON_LENGTH),),
                (
                    Arg("Valid", ua.VariantType.Boolean, "whether every check passed"),
                    Arg("Reason", ua.VariantType.String, "what passed, or what failed"),
                ),
                self._verify,
            ),
            MethodSpec(
                "RecordInspection",
                "Parts",
                (
                    serial,
                    Arg(
                        "ResultsJson",
                        ua.VariantType.String,
                        "inspection results object",
                        MAX_JSON_LENGTH,
                    ),
                ),
                (),
                self._record_inspection,
            ),
            MethodSpec(
                "RevokeCertificate",
                "Parts",
                (
                    serial,
                    Arg("Reason", ua.VariantType.String, "why it is revoked", MAX_TEXT_LENGTH),
                ),
                (),
                self._revoke,
            ),
            MethodSpec(
                "Trace",
                "Parts",
                (
                    Arg(
                        "CriteriaJson",
                        ua.VariantType.String,
                        "object with lot, printer, from, until, design, revision, dossier, "
                        "order or serial, and upstream (true: each part's origin too)",
                        MAX_JSON_LENGTH,
                    ),
                ),
                (
                    Arg(
                        "TraceJson",
                        ua.VariantType.String,
                        "the parts named, their certificate's standing, order and fitting, "
                        "and the open orders for the same criteria",
                    ),
                ),
                self._trace,
            ),
        ]

    async def build(self) -> None:
        for spec in [*self.specs(), *self._more]:
            parent = self._server.get_node(ua.NodeId(spec.folder, self._namespace))
            node = await parent.add_method(
                ua.NodeId(f"{spec.folder}/{spec.name}", self._namespace),
                ua.QualifiedName(spec.name, self._namespace),
                self._serve(spec),
                [arg.definition() for arg in spec.inputs],
                [arg.definition() for arg in spec.outputs],
            )
            self.method_ids[spec.name] = node.nodeid

    def _serve(self, spec: MethodSpec) -> Callable[..., Awaitable[Any]]:
        async def call(_parent: ua.NodeId, *variants: ua.Variant) -> Any:
            return await self._call(spec, variants)

        return call

    async def _call(self, spec: MethodSpec, variants: Sequence[ua.Variant]) -> Any:
        async def checked(user: SiteUser) -> list[ua.Variant]:
            outputs = await spec.handler(user, check_arguments(spec.inputs, variants))
            return [
                ua.Variant(value, arg.variant_type)
                for value, arg in zip(outputs, spec.outputs, strict=True)
            ]

        return await audited_call(self._audit, spec.name, variants, checked)

    def _order_book(self) -> OrderDesk:
        if self.orders is None:
            raise RefusedError(ua.StatusCodes.BadNotSupported, "no order book on this site")
        return self.orders

    def _desk(self) -> CertificateDesk:
        if self.certificates is None:
            raise RefusedError(ua.StatusCodes.BadNotSupported, "no certificate ledger on this site")
        return self.certificates

    async def _create_order(self, user: SiteUser, args: list[Any]) -> list[Any]:
        design_id, quantity, reason, material_lot = args
        if not 1 <= quantity <= MAX_ORDER_QUANTITY:
            raise RefusedError(
                ua.StatusCodes.BadOutOfRange, f"Quantity must be 1..{MAX_ORDER_QUANTITY}"
            )
        order = await self._order_book().create_order(
            design_id, quantity, reason, str(user.name), material_lot=material_lot.strip()
        )
        await self._announce(order)
        return [order.id]

    async def _cancel_order(self, user: SiteUser, args: list[Any]) -> list[Any]:
        order = await self._order_book().cancel_order(args[0], str(user.name))
        await self._announce(order)
        return [order.state.value]

    async def _announce(self, order: PrintOrder) -> None:
        if self._on_order is not None:
            await self._on_order(order)

    async def _get_certificate(self, _user: SiteUser, args: list[Any]) -> list[Any]:
        return [await self._desk().certificate_json(args[0])]

    async def _get_bundle(self, _user: SiteUser, args: list[Any]) -> list[Any]:
        return [await self._desk().proof_bundle_json(args[0])]

    async def _verify(self, _user: SiteUser, args: list[Any]) -> list[Any]:
        parse_json_object("BundleJson", args[0])
        outcome = await self._desk().verify_bundle(args[0])
        return [outcome.valid, outcome.reason]

    async def _trace(self, _user: SiteUser, args: list[Any]) -> list[Any]:
        parse_json_object("CriteriaJson", args[0])
        if self.tracer is None:
            raise RefusedError(ua.StatusCodes.BadNotSupported, "no trace on this site")
        return [await self.tracer.trace_json(args[0])]

    async def _record_inspection(self, user: SiteUser, args: list[Any]) -> list[Any]:
        serial, results = args
        parse_json_object("ResultsJson", results)
        await self._desk().record_inspection(serial, results, str(user.name))
        return []

    async def _revoke(self, user: SiteUser, args: list[Any]) -> list[Any]:
        serial, reason = args
        await self._desk().revoke(serial, reason, str(user.name))
        return []


Answer = Callable[[int, Exception], Any]
"""What a refused call returns to the client, given its status and the refusal."""


def status_only(status: int, _error: Exception) -> ua.StatusCode:
    return ua.StatusCode(status)


async def audited_call(
    audit: AuditLog,
    target: str,
    variants: Sequence[ua.Variant],
    body: Callable[[SiteUser], Awaitable[Any]],
    answer: Answer = status_only,
) -> Any:
    """Run ``body`` for the session's user once METHOD_ROLES[target] allows it, audited twice.

    A refusal (RefusedError, a port's error) answers ``answer(status, error)`` and logs one
    line; any other failure answers BadInternalError with a traceback. Either way the server
    goes on.
    """
    user = CURRENT_USER.get()
    detail = summarize_arguments(variants)
    record_call(audit, target, user, detail, STARTED)
    try:
        authorize(target, METHOD_ROLES[target])
        assert user is not None  # authorize refused anonymous callers
        outputs = await body(user)
    except Exception as error:  # a bad call never disturbs the server
        status = refusal_status(target, user, error)
        record_call(audit, target, user, detail, _result(status, str(error)))
        return answer(status, error)
    record_call(audit, target, user, detail, _result(ua.StatusCodes.Good, ""))
    return outputs


def refusal_status(target: str, user: SiteUser | None, error: Exception) -> int:
    """The status a failed call answers: one log line for a refusal, a traceback for a fault."""
    status = _status_of(error)
    if status is None:
        log.exception("%s failed unexpectedly", target, exc_info=error)
        return int(ua.StatusCodes.BadInternalError)
    name, _ = describe(user)
    log.info("%s by %s refused: %s: %s", target, name, ua.StatusCode(status).name, error)
    return status


def record_call(
    audit: AuditLog, target: str, user: SiteUser | None, detail: str, result: str
) -> None:
    name, role = describe(user)
    audit.record(user=name, role=role, action="call", target=target, detail=detail, result=result)


def _status_of(error: Exception) -> int | None:
    """The status of a refusal (RefusedError, a port's error); None for a fault of our own."""
    if isinstance(error, RefusedError):
        return error.status
    for kind, status in _PORT_ERRORS:
        if isinstance(error, kind):
            return int(status)
    return None


def _result(status: int, reason: str) -> str:
    """The audit log's result: the status name, then the reason when there is one."""
    name = str(ua.StatusCode(status).name)
    return f"{name}: {reason}" if reason else name
