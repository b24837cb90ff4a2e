"""The console's ASGI app: the sign-in gate, form tokens, error pages, and every route."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from config import WebSettings
from models import Clock, InvalidRequestError, InvalidStateError, NotFoundError, TrustfloorError
from opcua_server.web.actions import Console
from opcua_server.web.errors import (
    CsrfRefusedError,
    NotSignedInError,
    RoleRefusedError,
    TooLargeError,
    TooManyRequestsError,
)
from opcua_server.web.ratelimit import RateLimiter
from opcua_server.web.services import ConsoleServices
from opcua_server.web.sessions import SessionStore, WebSession, new_token, tokens_match

HERE = Path(__file__).parent
SESSION_COOKIE = "trustfloor_session"
LOGIN_COOKIE = "trustfloor_login"
"""Holds the login form's token until the form comes back (double-submit, before any session)."""
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_BODY_BYTES = 2_000_000
"""Largest body a state-changing request may declare (a proof bundle is far smaller)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PREFIXES = ("/static/", "/verify/", "/status/")


@dataclass
class WebState:
    """What every request handler shares: the console, sessions, limits, templates."""

    console: Console
    sessions: SessionStore
    public_limit: RateLimiter
    settings: WebSettings
    templates: Jinja2Templates
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the console stops: live streams end so the server can close."""

    @property
    def secure_cookies(self) -> bool:
        return self.settings.tls


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def signed_in(request: Request) -> WebSession:
    """The request's session (the gate has let only signed-in requests through here)."""
    session: WebSession = request.state.session
    return session


def is_public(path: str) -> bool:
    return path == "/login" or path.startswith(PUBLIC_PREFIXES)


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


async def form_token(request: Request) -> str | None:
    """The form token sent in the header, or in an HTML form's hidden field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def gate(request: Request) -> None:
    """Every route's first step: public pages pass; everything else needs a live session, and
    a state-changing request its session's form token (the login form its own, first)."""
    web = web_state(request)
    path = request.url.path
    changes = request.method not in SAFE_METHODS
    if changes and int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
        raise TooLargeError(
            f"request body larger than {MAX_BODY_BYTES} bytes", advice="send a smaller file"
        )
    if changes and path == "/login" and not await _login_token_matches(request):
        raise CsrfRefusedError("the login form's token is missing or stale")
    if is_public(path):
        return
    session = web.sessions.find(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise NotSignedInError("sign in first", advice="open /login")
    request.state.session = session
    if changes and not tokens_match(await form_token(request), session.csrf):
        await web.console.audited(session, request.method, path, "no valid form token", "refused")
        raise CsrfRefusedError("the form token is missing or does not match the session")


async def _login_token_matches(request: Request) -> bool:
    return tokens_match(await form_token(request), request.cookies.get(LOGIN_COOKIE))


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page from the package's templates, with the session and its form token."""
    session = getattr(request.state, "session", None)
    context.setdefault("session", session)
    context.setdefault("csrf", session.csrf if session is not None else "")
    response: HTMLResponse = web_state(request).templates.TemplateResponse(
        request, name, context, status_code=status_code
    )
    return response


def _refusal(request: Request, status: int, error: TrustfloorError) -> Response:
    if is_api(request.url.path) or "text/html" not in request.headers.get("accept", "text/html"):
        return JSONResponse({"detail": str(error), "advice": error.advice}, status_code=status)
    return render(request, "refused.html", status_code=status, status=status, error=error)


async def _not_signed_in(request: Request, error: Exception) -> Response:
    assert isinstance(error, NotSignedInError)
    if is_api(request.url.path):
        return JSONResponse({"detail": str(error)}, status_code=401)
    target = "/login" if request.url.path == "/" else f"/login?next={quote(request.url.path)}"
    return RedirectResponse(target, status_code=303)


STATUS_OF: tuple[tuple[type[TrustfloorError], int], ...] = (
    (CsrfRefusedError, 403),
    (RoleRefusedError, 403),
    (TooManyRequestsError, 429),
    (TooLargeError, 413),
    (NotFoundError, 404),
    (InvalidStateError, 409),
    (InvalidRequestError, 400),
)


async def _refused(request: Request, error: Exception) -> Response:
    assert isinstance(error, TrustfloorError)
    status = next((code for kind, code in STATUS_OF if isinstance(error, kind)), 400)
    return _refusal(request, status, error)


def build_app(services: ConsoleServices, settings: WebSettings, clock: Clock) -> FastAPI:
    """The console over ``services``: pages, the JSON API under /api, the public page."""
    from opcua_server.web import api, live, pages

    app = FastAPI(
        title="trustfloor web console",
        summary="Alerts, print orders, parts and certificates of one trustfloor site.",
        version="1",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(gate)],
    )
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals["csrf_field"] = CSRF_FIELD
    app.state.web = WebState(
        console=Console(services),
        sessions=SessionStore(settings.session_idle_s, clock),
        public_limit=RateLimiter(settings.public_requests_per_minute, clock),
        settings=settings,
        templates=templates,
    )
    app.add_exception_handler(NotSignedInError, _not_signed_in)
    app.add_exception_handler(TrustfloorError, _refused)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(login_routes())
    app.include_router(pages.router)
    app.include_router(live.router)
    app.include_router(api.router, prefix="/api")
    return app


def login_routes() -> Any:
    from fastapi import APIRouter

    router = APIRouter(include_in_schema=False)

    @router.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request, next: str = "/") -> Response:
        token = new_token()
        response = render(request, "login.html", login_token=token, next=_local(next), error="")
        _set_cookie(request, response, LOGIN_COOKIE, token, path="/login")
        return response

    @router.post("/login")
    async def login(request: Request) -> Response:
        web = web_state(request)
        form = await request.form()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        target = _local(str(form.get("next", "/")))
        peer = f"web {request.client.host if request.client else 'unknown'}"
        accepted = await web.console.services.users.login(username, password, peer)
        role = web.console.services.roles.get(username)
        if not accepted or role is None:
            token = new_token()
            response = render(
                request,
                "login.html",
                status_code=401,
                login_token=token,
                next=target,
                error="Wrong user name or password, or too many attempts: wait and try again.",
            )
            _set_cookie(request, response, LOGIN_COOKIE, token, path="/login")
            return response
        session = web.sessions.open(username, role)
        redirect = RedirectResponse(target, status_code=303)
        _set_cookie(request, redirect, SESSION_COOKIE, session.token, path="/")
        redirect.delete_cookie(LOGIN_COOKIE, path="/login")
        return redirect

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        web = web_state(request)
        session = signed_in(request)
        web.sessions.close(session.token)
        await web.console.audited(session, "logout", "session", "", "Good")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return router


def _local(target: str) -> str:
    """``target`` if it is a path on this site, else the board (no open redirects)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _set_cookie(request: Request, response: Response, name: str, value: str, path: str) -> None:
    response.set_cookie(
        name,
        value,
        path=path,
        httponly=True,
        samesite="strict",
        secure=web_state(request).secure_cookies,
    )
