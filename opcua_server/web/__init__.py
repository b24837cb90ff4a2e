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
    AfterSalesBoard,
    AlertBoard,
    AlertView,
    ConsoleServices,
    Evidence,
    Floor,
    LoginChecker,
    PartsRegister,
    Point,
    RecallView,
    StatementView,
    StatusLists,
    Tracer,
    Window,
)

__all__ = [
    "AfterSalesBoard",
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
    "RecallView",
    "RoleRefusedError",
    "StatementView",
    "StatusLists",
    "TooManyRequestsError",
    "Tracer",
    "WebConsole",
    "WebError",
    "Window",
]
