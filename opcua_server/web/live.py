"""Server-sent events: the board's panels, pushed again whenever what they show changes."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from opcua_server.web.app import web_state
from opcua_server.web.pages import board_context

router = APIRouter(include_in_schema=False)

PANELS = ("alerts", "orders", "printers", "machines")
"""Board panels, each rendered by ``_<panel>.html`` and sent as an event of that name."""
EVERY_S = 1.0
"""How often the panels are rendered again to see whether they changed."""


def sse_event(name: str, html: str) -> str:
    """One event of the text/event-stream format (HTML5 §9.2): each line a ``data:`` line."""
    data = "\n".join(f"data: {line}" for line in html.splitlines() or [""])
    return f"event: {name}\n{data}\n\n"


async def panel_events(request: Request) -> AsyncIterator[str]:
    """Each panel once, then each panel again whenever its HTML changes, until the browser
    leaves or the console stops."""
    web = web_state(request)
    sent: dict[str, str] = {}
    yield "retry: 2000\n\n"
    while not web.closing.is_set() and not await request.is_disconnected():
        context = await board_context(request)
        context["session"] = request.state.session
        context["csrf"] = request.state.session.csrf
        for panel in PANELS:
            html = web.templates.get_template(f"_{panel}.html").render(context)
            digest = hashlib.sha256(html.encode()).hexdigest()
            if sent.get(panel) != digest:
                sent[panel] = digest
                yield sse_event(panel, html)
        try:
            await asyncio.wait_for(web.closing.wait(), EVERY_S)
        except TimeoutError:
            continue


@router.get("/events")
async def events(request: Request) -> StreamingResponse:
    return StreamingResponse(
        panel_events(request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
