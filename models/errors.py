"""The root of every error trustfloor raises, with operator advice."""

from __future__ import annotations


class TrustfloorError(Exception):
    """Root error; each package derives its own sub-root from it.

    ``advice`` tells the operator what to do about it; the CLI prints it beside the message.
    """

    advice: str = ""

    def __init__(self, message: str, *, advice: str = "") -> None:
        super().__init__(message)
        if advice:
            self.advice = advice

    def diagnostics(self) -> str:
        """The message followed by the advice, as the CLI shows it."""
        text = str(self)
        return f"{text}\n  advice: {self.advice}" if self.advice else text


class NotFoundError(TrustfloorError):
    """A port was asked for something that does not exist (an order, a serial, a design)."""


class InvalidRequestError(TrustfloorError):
    """A port refused a request because its arguments are wrong."""


class OutOfRangeError(InvalidRequestError):
    """A port refused a quantity outside what is allowed (an order's size, a licence's room)."""


class InvalidStateError(TrustfloorError):
    """A port refused a request because the thing is not in a state that allows it."""
