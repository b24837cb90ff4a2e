"""What a signed-in user may do in the console: role check, audit, then one service call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

from config import Role
from models import (
    CertificateDesk,
    InvalidRequestError,
    NotFoundError,
    OrderBook,
    OrderState,
    PrintOrder,
    VerificationOutcome,
)
from opcua_server.security.roles import METHOD_ROLES
from opcua_server.web.errors import RoleRefusedError, WebError
from opcua_server.web.parts import PartSummary, part_summary
from opcua_server.web.services import (
    AfterSalesBoard,
    AlertBoard,
    AlertView,
    ConsoleServices,
    Evidence,
    RecallView,
    StatementView,
)
from opcua_server.web.sessions import WebSession

MAX_BUNDLE_BYTES = 1_000_000
"""Largest proof bundle accepted for verification."""
MAX_TEXT = 500
"""Longest comment, reason or design id a form may send."""


class NotAvailableError(WebError, NotFoundError):
    """The site runs without the service the request needs (no ledger, no order book)."""


def may(role: Role, action: str) -> bool:
    """Whether ``role`` may do ``action`` (an OPC UA method name of security.roles)."""
    return role in METHOD_ROLES.get(action, frozenset())


class Console:
    """The console's actions over the site's services, each checked and audited as over OPC UA."""

    def __init__(self, services: ConsoleServices) -> None:
        self.services = services

    def audit(
        self, session: WebSession | None, action: str, target: str, detail: str, result: str
    ) -> None:
        user, role = (session.user, session.role.value) if session else ("anonymous", "none")
        self.services.audit.record(
            user=user,
            role=role,
            action=f"web {action}",
            target=target,
            detail=detail,
            result=result,
        )

    async def audited(
        self, session: WebSession | None, action: str, target: str, detail: str, result: str
    ) -> None:
        """Record the action in the audit log, off the event loop (each entry is fsynced)."""
        await asyncio.to_thread(self.audit, session, action, target, detail, result)

    async def require(self, session: WebSession, action: str, target: str = "") -> None:
        """Refuse (and audit the refusal) unless the session's role may call ``action``."""
        if may(session.role, action):
            return
        await self.audited(session, action, target, "", "BadUserAccessDenied")
        raise RoleRefusedError(
            f"{session.role.value} may not {action}",
            advice="sign in as a user whose role allows it",
        )

    # trace

    async def trace(self, session: WebSession, criteria: Mapping[str, str]) -> dict[str, Any]:
        """Parts and open orders matching ``criteria`` (lot, printer, from, until, design,
        revision, dossier, order, serial), for the roles that may call ``Trace``."""
        await self.require(session, "Trace")
        if self.services.tracer is None:
            raise NotAvailableError("this site keeps no ledger to trace parts in")
        query = {key: value for key, value in criteria.items() if value}
        answer = await self.services.tracer.trace_json(json.dumps(query))
        await self.audited(session, "Trace", "", json.dumps(query), "Good")
        found: dict[str, Any] = json.loads(answer)
        return found

    async def recalls(self, session: WebSession) -> Sequence[RecallView]:
        """The recall campaigns, newest first, for the roles that may trace parts."""
        await self.require(session, "Trace")
        return await self._after_sales().recalls()

    async def statements(self, session: WebSession) -> Sequence[StatementView]:
        """The usage and billing statements the site issued, for the roles that may trace."""
        await self.require(session, "Trace")
        return await self._after_sales().statements()

    def _after_sales(self) -> AfterSalesBoard:
        if self.services.after_sales is None:
            raise NotAvailableError("this site keeps no ledger")
        return self.services.after_sales

    # alerts

    def _alerts(self) -> AlertBoard:
        if self.services.alerts is None:
            raise NotAvailableError("this site has no maintenance alerts")
        return self.services.alerts

    async def alerts(self) -> Sequence[AlertView]:
        return await self._alerts().alerts() if self.services.alerts is not None else []

    async def acknowledge(self, session: WebSession, alert_id: str, comment: str) -> AlertView:
        await self.require(session, "Acknowledge", alert_id)
        view = await self._alerts().acknowledge(alert_id, _text(comment), session.user)
        await self.audited(session, "Acknowledge", alert_id, _text(comment), "Good")
        return view

    async def confirm(self, session: WebSession, alert_id: str, comment: str) -> AlertView:
        await self.require(session, "Confirm", alert_id)
        view = await self._alerts().confirm(alert_id, _text(comment), session.user)
        await self.audited(session, "Confirm", alert_id, _text(comment), "Good")
        return view

    # orders

    def _orders(self) -> OrderBook:
        if self.services.orders is None:
            raise NotAvailableError("this site has no order book")
        return self.services.orders

    async def orders(
        self, state: OrderState | None = None, design: str = "", limit: int = 100
    ) -> list[PrintOrder]:
        if self.services.orders is None:
            return []
        found = await self.services.orders.list_orders(
            [state] if state is not None else None, limit=limit
        )
        return [o for o in found if design.lower() in o.design_id.lower()]

    async def create_order(
        self, session: WebSession, design_id: str, quantity: int, reason: str
    ) -> PrintOrder:
        await self.require(session, "CreatePrintOrder", design_id)
        if not design_id.strip():
            raise InvalidRequestError("give the design id of the part to print")
        order = await self._orders().create_order(
            _text(design_id.strip()), quantity, _text(reason), session.user
        )
        detail = f"{quantity} x {design_id}: {reason}"
        await self.audited(session, "CreatePrintOrder", order.id, detail, "Good")
        return order

    async def cancel_order(self, session: WebSession, order_id: str) -> PrintOrder:
        await self.require(session, "CancelPrintOrder", order_id)
        order = await self._orders().cancel_order(order_id, session.user)
        await self.audited(session, "CancelPrintOrder", order_id, "", "Good")
        return order

    # parts and certificates

    def _certificates(self) -> CertificateDesk:
        if self.services.certificates is None:
            raise NotAvailableError("this site has no ledger of certificates")
        return self.services.certificates

    async def part(self, serial: str) -> PartSummary:
        """The part's certificate and where it stands (NotFoundError for an unknown serial)."""
        desk = self._certificates()
        certificate = await desk.certificate_json(serial)
        bundle = await desk.proof_bundle_json(serial)
        return part_summary(serial, certificate, bundle)

    async def parts(self, query: str = "", limit: int = 100) -> list[PartSummary]:
        """Printed parts whose serial, design or order contains ``query``, newest first."""
        if self.services.parts is None or self.services.certificates is None:
            return []
        found = []
        for serial in await self.services.parts.serials(limit):
            try:
                part = await self.part(serial)
            except NotFoundError:
                continue
            text = f"{part.serial} {part.design_id} {part.order_id} {part.material_lot}".lower()
            if query.lower() in text:
                found.append(part)
        return found

    async def evidence(self, serial: str) -> Evidence:
        if self.services.parts is None:
            return Evidence()
        return await self.services.parts.evidence(serial)

    async def public_check(self, serial: str) -> tuple[PartSummary | None, bool]:
        """The part of ``serial`` (None if unknown) and whether its proof bundle verifies."""
        desk = self._certificates()
        try:
            part = await self.part(serial)
        except NotFoundError:
            return None, False
        outcome = await desk.verify_bundle(await desk.proof_bundle_json(serial))
        return part, outcome.valid

    async def verify(self, session: WebSession, bundle: bytes) -> VerificationOutcome:
        await self.require(session, "VerifyCertificate")
        if len(bundle) > MAX_BUNDLE_BYTES:
            outcome = VerificationOutcome(False, f"bundle larger than {MAX_BUNDLE_BYTES} bytes")
        else:
            text = bundle.decode("utf-8", errors="replace")
            outcome = await self._certificates().verify_bundle(text)
        result = "valid" if outcome.valid else "invalid"
        await self.audited(session, "VerifyCertificate", "bundle", outcome.reason, result)
        return outcome

    async def revoke(self, session: WebSession, serial: str, reason: str) -> None:
        await self.require(session, "RevokeCertificate", serial)
        if not reason.strip():
            raise InvalidRequestError("say why the certificate is revoked")
        await self._certificates().revoke(serial, _text(reason), session.user)
        await self.audited(session, "RevokeCertificate", serial, _text(reason), "Good")


def _text(value: str) -> str:
    return value[:MAX_TEXT]
