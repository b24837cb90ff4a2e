"""The JSON API under /api: the console's actions for scripts and the MES, same sign-in."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from models import Alert, HealthScore, HealthState, OrderState, PrinterStatus, PrintOrder
from opcua_server.web.actions import Console
from opcua_server.web.app import signed_in, web_state
from opcua_server.web.parts import PartSummary
from opcua_server.web.services import AlertView

router = APIRouter(tags=["console"])


class SessionOut(BaseModel):
    """Who is signed in, and the token to send as X-CSRF-Token with each POST."""

    user: str
    role: str
    csrf_token: str


class AlertOut(BaseModel):
    """An open maintenance alert and its OPC UA condition's states."""

    alert: Alert
    acked: bool
    confirmed: bool
    comment: str = ""


class CommentIn(BaseModel):
    comment: str = Field("", max_length=500)


class OrderIn(BaseModel):
    design_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(1, ge=1)
    reason: str = Field("", max_length=500)


class RevokeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class VerificationOut(BaseModel):
    valid: bool
    reason: str


class PartOut(BaseModel):
    """A part's certificate as the console reads it (fields the certificate lacks are empty)."""

    serial: str
    design_id: str
    revision: str
    oem: str
    printer: str
    order_id: str
    material_lot: str
    verdict: str
    issued_at: str
    status: str = Field(description="valid, suspended or revoked")
    proof: str = Field(description="anchored, or awaiting anchor")
    anchor: dict[str, Any] | None
    certificate: dict[str, Any] | None = None


def console(request: Request) -> Console:
    return web_state(request).console


def _alert(view: AlertView) -> AlertOut:
    return AlertOut(
        alert=view.alert, acked=view.acked, confirmed=view.confirmed, comment=view.comment
    )


def _part(part: PartSummary, *, full: bool) -> PartOut:
    return PartOut(
        serial=part.serial,
        design_id=part.design_id,
        revision=part.revision,
        oem=part.oem,
        printer=part.printer,
        order_id=part.order_id,
        material_lot=part.material_lot,
        verdict=part.verdict,
        issued_at=part.issued_at,
        status=part.status,
        proof=part.proof,
        anchor=dataclasses.asdict(part.anchor) if part.anchor is not None else None,
        certificate=part.certificate if full else None,
    )


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> JSONResponse:
    """This API's OpenAPI 3.1 description (signed-in users only, like the API itself)."""
    return JSONResponse(request.app.openapi())


@router.get("/session")
async def session(request: Request) -> SessionOut:
    s = signed_in(request)
    return SessionOut(user=s.user, role=s.role.value, csrf_token=s.csrf)


@router.get("/alerts")
async def alerts(request: Request) -> list[AlertOut]:
    return [_alert(view) for view in await console(request).alerts()]


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(request: Request, alert_id: str, body: CommentIn) -> AlertOut:
    return _alert(await console(request).acknowledge(signed_in(request), alert_id, body.comment))


@router.post("/alerts/{alert_id}/confirm")
async def confirm(request: Request, alert_id: str, body: CommentIn) -> AlertOut:
    return _alert(await console(request).confirm(signed_in(request), alert_id, body.comment))


@router.get("/orders")
async def orders(
    request: Request, state: OrderState | None = None, design: str = ""
) -> list[PrintOrder]:
    return await console(request).orders(state, design)


@router.post("/orders", status_code=201)
async def create_order(request: Request, body: OrderIn) -> PrintOrder:
    return await console(request).create_order(
        signed_in(request), body.design_id, body.quantity, body.reason
    )


@router.post("/orders/{order_id}/cancel")
async def cancel_order(request: Request, order_id: str) -> PrintOrder:
    return await console(request).cancel_order(signed_in(request), order_id)


class MachineOut(BaseModel):
    """A machine's latest health score; numbers a model could not give (NaN) are null."""

    machine: str
    ts: datetime
    state: HealthState
    anomaly_score: float | None
    rul_h: float | None
    rul_low_h: float | None
    rul_high_h: float | None
    top_contributors: tuple[str, ...]
    model_version: str


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _machine(score: HealthScore) -> MachineOut:
    return MachineOut(
        machine=score.machine,
        ts=score.ts,
        state=score.state,
        anomaly_score=_finite(score.anomaly_score),
        rul_h=_finite(score.rul),
        rul_low_h=_finite(score.rul_low),
        rul_high_h=_finite(score.rul_high),
        top_contributors=score.top_contributors,
        model_version=score.model_version,
    )


@router.get("/machines")
async def machines(request: Request) -> list[MachineOut]:
    floor = console(request).services.floor
    return [_machine(score) for score in floor.health()] if floor is not None else []


@router.get("/machines/{machine}/trend")
async def trend(request: Request, machine: str, signal: str) -> dict[str, list[float]]:
    """Recent readings of one signal, as columns for a chart: unix seconds and values."""
    floor = console(request).services.floor
    points = await floor.trend(machine, signal) if floor is not None else []
    return {"t": [p.ts.timestamp() for p in points], "v": [p.value for p in points]}


@router.get("/printers")
async def printers(request: Request) -> list[PrinterStatus]:
    floor = console(request).services.floor
    return list(floor.printers()) if floor is not None else []


@router.get("/parts")
async def parts(request: Request, q: str = "") -> list[PartOut]:
    return [_part(p, full=False) for p in await console(request).parts(q)]


@router.get("/parts/{serial}")
async def part(request: Request, serial: str) -> PartOut:
    return _part(await console(request).part(serial), full=True)


@router.post("/parts/{serial}/revoke", status_code=204)
async def revoke(request: Request, serial: str, body: RevokeIn) -> None:
    await console(request).revoke(signed_in(request), serial, body.reason)


@router.post("/verify")
async def verify(request: Request) -> VerificationOut:
    """Verify a proof bundle sent as the request body (the JSON of `certificate export`)."""
    outcome = await console(request).verify(signed_in(request), await request.body())
    return VerificationOut(valid=outcome.valid, reason=outcome.reason)
