"""A real HTTP receiver on 127.0.0.1 for webhook tests: fails the first N requests, then accepts."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from maintenance.notify import verify

SECRET = b"webhook-test-secret"


@dataclass(frozen=True)
class Received:
    """One POST as the receiver saw it, and whether its signature checked out."""

    headers: dict[str, str]
    body: bytes
    answered: int
    signed: bool

    @property
    def key(self) -> str:
        return self.headers["Idempotency-Key"]

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """The planner's webhook endpoint; ``fail_first`` requests get ``fail_status``."""

    url: str = ""
    fail_first: int = 0
    fail_status: int = 503
    accept_status: int = 200
    received: list[Received] = field(default_factory=list)
    waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            failing = len(self.received) < self.fail_first
            status = self.fail_status if failing else self.accept_status
            signature = headers.get("X-Trustfloor-Signature", "")
            self.received.append(Received(headers, body, status, verify(SECRET, body, signature)))
            for loop, event in self.waiters:
                loop.call_soon_threadsafe(event.set)
        return status

    @property
    def delivered(self) -> list[Received]:
        return [r for r in self.received if 200 <= r.answered < 300]

    async def wait_for(self, count: int, timeout_s: float = 10.0) -> None:
        """Until ``count`` requests arrived (the receiver tells the loop; no polling)."""
        event = asyncio.Event()
        with self._lock:
            self.waiters.append((asyncio.get_running_loop(), event))
        try:
            async with asyncio.timeout(timeout_s):
                while len(self.received) < count:
                    await event.wait()
                    event.clear()
        finally:
            with self._lock:
                self.waiters.remove((asyncio.get_running_loop(), event))


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.answer(dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests assert on what was received."""

    return Handler


@contextmanager
def running_receiver(**options: Any) -> Iterator[Receiver]:
    """A receiver listening on a free port of 127.0.0.1, stopped on exit."""
    receiver = Receiver(**options)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/trustfloor"
    thread = threading.Thread(
        target=server.serve_forever, args=(0.02,), name="webhook-receiver", daemon=True
    )
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
