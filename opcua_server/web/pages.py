"""Server-rendered pages: the planner's board, orders, parts and certificates, the public page."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from models import NotFoundError, OrderState, PrintOrder
from opcua_server.web.actions import Console, may
from opcua_server.web.app import render, signed_in, web_state
from opcua_server.web.errors import TooManyRequestsError

router = APIRouter(include_in_schema=False)

OPEN_ORDER_STATES = (OrderState.CREATED, OrderState.DISPATCHED, OrderState.PRINTING)
BOARD_ORDER_STATES = (*OPEN_ORDER_STATES, OrderState.HELD)
"""The board shows the orders being made and those a recall holds."""


def console(request: Request) -> Console:
    return web_state(request).console


async def board_context(request: Request) -> dict[str, Any]:
    """What the board's live panels show (also what each server-sent update renders)."""
    c = console(request)
    floor = c.services.floor
    orders = await c.orders(limit=50)
    role = signed_in(request).role
    shown = [o for o in orders if o.state in BOARD_ORDER_STATES] or orders[:10]
    return {
        "alerts": await c.alerts(),
        "orders": shown,
        "ready_by": expected_ready(c, shown),
        "printers": floor.printers() if floor is not None else [],
        "health": floor.health() if floor is not None else [],
        "may_ack": may(role, "Acknowledge"),
        "may_confirm": may(role, "Confirm"),
    }


def expected_ready(c: Console, orders: list[PrintOrder]) -> dict[str, datetime]:
    """When each open order should be printed and certified: its creation plus the catalogue's
    print hours for its design (the figure the alert policy orders by)."""
    hours = c.services.print_hours
    return {
        o.id: o.created_at + timedelta(hours=hours[o.design_id])
        for o in orders
        if o.state in OPEN_ORDER_STATES and o.design_id in hours
    }


@router.get("/", response_class=HTMLResponse)
async def board(request: Request) -> Response:
    return render(request, "board.html", **await board_context(request))


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(request: Request, alert_id: str) -> Response:
    comment = str((await request.form()).get("comment", ""))
    await console(request).acknowledge(signed_in(request), alert_id, comment)
    return RedirectResponse("/", status_code=303)


@router.post("/alerts/{alert_id}/confirm")
async def confirm(request: Request, alert_id: str) -> Response:
    comment = str((await request.form()).get("comment", ""))
    await console(request).confirm(signed_in(request), alert_id, comment)
    return RedirectResponse("/", status_code=303)


@router.get("/orders", response_class=HTMLResponse)
async def orders(request: Request, state: str = "", design: str = "") -> Response:
    chosen = OrderState(state) if state in OrderState.__members__.values() else None
    found = await console(request).orders(chosen, design)
    return render(
        request,
        "orders.html",
        orders=found,
        states=list(OrderState),
        state=state,
        design=design,
        may_order=may(signed_in(request).role, "CreatePrintOrder"),
        message=request.query_params.get("message", ""),
    )


@router.post("/orders")
async def create_order(request: Request) -> Response:
    form = await request.form()
    quantity = _int(str(form.get("quantity", "1")))
    order = await console(request).create_order(
        signed_in(request),
        str(form.get("design_id", "")),
        quantity,
        str(form.get("reason", "")),
    )
    return RedirectResponse(f"/orders?message=order+{order.id}+created", status_code=303)


@router.post("/orders/{order_id}/cancel")
async def cancel_order(request: Request, order_id: str) -> Response:
    await console(request).cancel_order(signed_in(request), order_id)
    return RedirectResponse(f"/orders?message=order+{order_id}+cancelled", status_code=303)


TRACE_FIELDS = (
    "lot",
    "printer",
    "from",
    "until",
    "design",
    "revision",
    "dossier",
    "order",
    "serial",
)
"""The trace criteria the page's form offers (those of ``trustfloor trace``)."""


@router.get("/trace", response_class=HTMLResponse)
async def trace(request: Request) -> Response:
    """Find parts by lot, printer and window, design, dossier, order or serial."""
    criteria = {name: request.query_params.get(name, "").strip() for name in TRACE_FIELDS}
    found = None
    if any(criteria.values()):
        found = await console(request).trace(signed_in(request), criteria)
    return render(request, "trace.html", criteria=criteria, found=found)


@router.get("/recalls", response_class=HTMLResponse)
async def recalls(request: Request) -> Response:
    """Recall campaigns with each part's closure; statements of usage and billing."""
    c = console(request)
    session = signed_in(request)
    return render(
        request,
        "recalls.html",
        campaigns=await c.recalls(session),
        statements=await c.statements(session),
    )


@router.get("/parts", response_class=HTMLResponse)
async def parts(request: Request, q: str = "") -> Response:
    found = await console(request).parts(q)
    return render(request, "parts.html", parts=found, q=q, outcome=None)


@router.post("/parts/verify", response_class=HTMLResponse)
async def verify_upload(request: Request) -> Response:
    upload = (await request.form()).get("bundle")
    data = await upload.read() if upload is not None and not isinstance(upload, str) else b""
    outcome = await console(request).verify(signed_in(request), data)
    return render(request, "parts.html", parts=[], q="", outcome=outcome)


@router.get("/parts/{serial}", response_class=HTMLResponse)
async def part(request: Request, serial: str) -> Response:
    c = console(request)
    summary = await c.part(serial)
    evidence = await c.evidence(serial)
    charts = {
        name: {
            "t": [p.ts.timestamp() for p in points],
            "v": [p.value for p in points],
            "low": w.low if (w := evidence.windows.get(name)) else None,
            "high": w.high if w else None,
            "unit": w.unit if w else "",
        }
        for name, points in evidence.series.items()
    }
    return render(
        request,
        "part.html",
        part=summary,
        charts_json=json.dumps(charts).replace("<", "\\u003c"),
        charts=sorted(charts),
        may_revoke=may(signed_in(request).role, "RevokeCertificate"),
        certificate_json=json.dumps(summary.certificate, indent=2, sort_keys=True),
    )


@router.post("/parts/{serial}/revoke")
async def revoke(request: Request, serial: str) -> Response:
    reason = str((await request.form()).get("reason", ""))
    await console(request).revoke(signed_in(request), serial, reason)
    return RedirectResponse(f"/parts/{serial}", status_code=303)


@router.get("/verify/{serial}", response_class=HTMLResponse)
async def public_verification(request: Request, serial: str) -> Response:
    """What a part's QR code opens: genuine or not, and nothing confidential."""
    web = web_state(request)
    _within_public_limit(request)
    summary, genuine = await web.console.public_check(serial)
    status = 200 if summary is not None else 404
    return render(
        request, "verify.html", status_code=status, serial=serial, part=summary, genuine=genuine
    )


STATUS_PURPOSES = ("revocation", "suspension")
"""The status lists the ledger publishes (its exports name the same two purposes)."""


@router.get("/status/{purpose}")
async def status_list(request: Request, purpose: str) -> Response:
    """The signed status list credentials name (no login; rate-limited like /verify)."""
    _within_public_limit(request)
    lists = web_state(request).console.services.status_lists
    if lists is None or purpose not in STATUS_PURPOSES:
        raise NotFoundError(f"no status list {purpose!r} here")
    return Response(await lists.status_list(purpose), media_type="application/vc+jwt")


def _within_public_limit(request: Request) -> None:
    """TooManyRequestsError once an address asked the public pages too often this minute."""
    address = request.client.host if request.client else "unknown"
    if not web_state(request).public_limit.allow(address):
        raise TooManyRequestsError(
            "too many verification requests from this address", advice="wait a minute"
        )


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
