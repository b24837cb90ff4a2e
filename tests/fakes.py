"""Test doubles at the ports seam only: fakes of the order book and certificate desk."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from models import (
    InvalidStateError,
    NotFoundError,
    OrderState,
    PrintOrder,
    VerificationOutcome,
)

KNOWN_DESIGN = "bearing-housing"
KNOWN_SERIAL = "P-0001"


class FakeOrderBook:
    """A fake order book: keeps orders in memory and follows the real state rules."""

    def __init__(self) -> None:
        self.orders: dict[str, PrintOrder] = {}

    async def create_order(
        self,
        design_id: str,
        quantity: int,
        reason: str,
        requested_by: str,
        *,
        material_lot: str = "",
    ) -> PrintOrder:
        if design_id != KNOWN_DESIGN:
            raise NotFoundError(f"no design {design_id!r}")
        now = datetime.now(UTC)
        order = PrintOrder(
            id=f"PO-{len(self.orders) + 1:04d}",
            design_id=design_id,
            quantity=quantity,
            reason=reason,
            requested_by=requested_by,
            material_lot=material_lot,
            created_at=now,
            updated_at=now,
        )
        self.orders[order.id] = order
        return order

    async def cancel_order(self, order_id: str, cancelled_by: str) -> PrintOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise NotFoundError(f"no order {order_id!r}")
        if not order.state.is_open:
            raise InvalidStateError(f"order {order_id} is {order.state.value}")
        cancelled = order.model_copy(
            update={"state": OrderState.CANCELLED, "updated_at": datetime.now(UTC)}
        )
        self.orders[order_id] = cancelled
        return cancelled


class FakeCertificateDesk:
    """A fake certificate desk: one known serial; records inspections and revocations."""

    def __init__(self) -> None:
        self.inspections: list[tuple[str, str, str]] = []
        self.revocations: list[tuple[str, str, str]] = []

    def _known(self, serial: str) -> None:
        if serial != KNOWN_SERIAL:
            raise NotFoundError(f"no part {serial!r}")

    async def certificate_json(self, serial: str) -> str:
        self._known(serial)
        return json.dumps({"serial": serial, "verdict": "pass"})

    async def proof_bundle_json(self, serial: str) -> str:
        self._known(serial)
        return json.dumps({"certificate": {"serial": serial}, "proof": []})

    async def verify_bundle(self, bundle_json: str) -> VerificationOutcome:
        bundle = json.loads(bundle_json)
        serial = bundle.get("certificate", {}).get("serial")
        if serial == KNOWN_SERIAL:
            return VerificationOutcome(True, "signature, inclusion and anchor verified")
        return VerificationOutcome(False, f"unknown certificate {serial!r}")

    async def record_inspection(self, serial: str, results_json: str, inspector: str) -> None:
        self._known(serial)
        self.inspections.append((serial, results_json, inspector))

    async def revoke(self, serial: str, reason: str, revoked_by: str) -> None:
        self._known(serial)
        self.revocations.append((serial, reason, revoked_by))
