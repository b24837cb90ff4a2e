"""Errors of the web console: a request refused before any service was asked."""

from __future__ import annotations

from opcua_server.errors import ServerError


class WebError(ServerError):
    """The web console could not start or refused a request."""


class NotSignedInError(WebError):
    """The request needs a signed-in user and came without a live session."""


class CsrfRefusedError(WebError):
    """A state-changing request came without the form token of its session."""


class RoleRefusedError(WebError):
    """The signed-in user's role may not do what the request asks (as over OPC UA)."""


class TooManyRequestsError(WebError):
    """An address asked for the public page more often than the configured rate."""


class TooLargeError(WebError):
    """A state-changing request declared a body larger than the console accepts."""
