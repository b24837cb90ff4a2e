"""The web console: pages, JSON API, server-sent events and the public verification page."""

from opcua_server.web.errors import (
    CsrfRefusedError,
    NotSignedInError,
    RoleRefusedError,
    TooManyRequestsError,
    WebError,
)
from opcua_server.web.server import WebConsole
from opcua_server.web.services import (
    AlertBoard,
    AlertView,
    ConsoleServices,
    Evidence,
    Floor,
    LoginChecker,
    PartsRegister,
    Point,
    StatusLists,
    Tracer,
    Window,
)

__all__ = [
    "AlertBoard",
    "AlertView",
    "ConsoleServices",
    "CsrfRefusedError",
    "Evidence",
    "Floor",
    "LoginChecker",
    "NotSignedInError",
    "PartsRegister",
    "Point",
    "RoleRefusedError",
    "StatusLists",
    "TooManyRequestsError",
    "Tracer",
    "WebConsole",
    "WebError",
    "Window",
]
