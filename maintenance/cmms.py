"""The planner's loop with a CMMS: alerts out as work requests, closures back as labels."""

# ``WorkRequestDesk`` opens one work request per alert (refreshed when the alert escalates or its
# part is ordered) and hands each change to a notifier (``maintenance.notify.WebhookNotifier``:
# durable outbox, signed POSTs, retries with backoff). Events: ``work_request.opened``,
# ``work_request.updated``, ``work_request.status``, ``work_request.closed``; the body holds
# ``work_request`` (maintenance/schemas/work_request.schema.json), and the Idempotency-Key is
# ``<id>:<revision>``.
#
# Closures come back three ways, all through ``WorkRequestDesk.close_now``: the CMMS POSTs to the
# ``ClosureReceiver`` (127.0.0.1 by default), `trustfloor maintenance close`, or the OPC UA
# method. The receiver accepts
#     POST /work-requests/<id>/closure   body: a Closure (JSON)
#     POST /work-requests/<id>/status    body: {"status": "IN_PROGRESS"}
# signed like our own webhook: ``X-Trustfloor-Signature: sha256=<hex HMAC-SHA256 of the body>``
# with the shared secret from the environment; 401 without a valid signature, 404 for an unknown
# request, 409 for a change its status does not allow, 422 for a malformed body or unknown codes.

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import ValidationError

from maintenance.alert_notices import Notifier
from maintenance.notify import Notification, verify
from maintenance.work_request_store import UnknownWorkRequestError, WorkRequestStore
from maintenance.work_requests import (
    Closure,
    WorkRequest,
    WorkRequestError,
    WorkRequestStateError,
    WorkRequestStatus,
    closed,
    from_alert,
    moved,
    refreshed,
    work_request_id,
)
from models import Alert, Clock, InvalidRequestError, SystemClock

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
"""Largest closure or status body the receiver reads."""
_PATH = re.compile(r"^/work-requests/(WR-\d{6})/(closure|status)$")


class ClosureSecretError(WorkRequestError):
    """The closure receiver has no shared secret to check the CMMS's signatures with."""

    advice = (
        "set the variable maintenance.cmms.receiver_secret_env names (default "
        "TRUSTFLOOR_CMMS_SECRET) to the secret the CMMS signs closures with, or remove "
        "maintenance.cmms.receiver_port"
    )


class ClosureInvalidError(WorkRequestError, InvalidRequestError):
    """A closure names an unknown ISO 14224 code, gives no time, or has a malformed field."""


def parsed_closure(fields: Mapping[str, object]) -> Closure:
    """The closure ``fields`` describe; ClosureInvalidError saying every problem otherwise."""
    try:
        return Closure.model_validate(dict(fields))
    except ValidationError as error:
        raise ClosureInvalidError(closure_problems(error)) from error


def closure_problems(error: ValidationError) -> str:
    """One line per problem of a closure, each naming its field when it has one."""
    problems = []
    for problem in error.errors(include_url=False):
        message = str(problem["msg"]).removeprefix("Value error, ")
        field = ".".join(str(part) for part in problem["loc"])
        problems.append(f"{field}: {message}" if field else message)
    return "; ".join(problems)


WorkRequestWatcher = Callable[[WorkRequest], None]
"""Told of every stored change of a work request, from the thread that made it (the event loop,
a worker thread or the closure receiver's): it must be quick and thread-safe."""


class WorkRequestDesk:
    """Opens, moves and closes work requests; tells the CMMS of each change it makes."""

    def __init__(
        self, store: WorkRequestStore, notifier: Notifier | None = None, clock: Clock | None = None
    ) -> None:
        self.store = store
        self._notifier = notifier
        self._clock = clock or SystemClock()
        self.watchers: list[WorkRequestWatcher] = []
        """Told of each change once it is stored, whoever made it (the OPC UA alarms)."""

    async def alert_changed(self, alert: Alert) -> WorkRequest:
        """Open the alert's work request, or refresh it (priority, RUL band, the part order)."""
        now = self._clock.now()
        current = await asyncio.to_thread(self.store.find, work_request_id(alert.id))
        if current is None:
            request = from_alert(alert, now)
            if await asyncio.to_thread(self.store.add, request):
                self._watched(request)
                await self._tell("work_request.opened", request)
            return request
        request = refreshed(current, alert, now)
        if _material(request) == _material(current):
            return current
        await asyncio.to_thread(self.store.save, request)
        self._watched(request)
        await self._tell("work_request.updated", request)
        return request

    async def move(self, request_id: str, status: WorkRequestStatus) -> WorkRequest:
        """Change the status (as the CMMS reports it)."""
        request = await asyncio.to_thread(self.move_now, request_id, status)
        await self._tell("work_request.status", request)
        return request

    async def close(self, request_id: str, closure: Closure) -> WorkRequest:
        """Close with what the technician found."""
        request = await asyncio.to_thread(self.close_now, request_id, closure)
        await self._tell("work_request.closed", request)
        return request

    async def close_work_request(self, request_id: str, closure: Mapping[str, object]) -> str:
        """WorkRequestCloser: ``close`` with the closure's fields (the OPC UA method); the
        status after."""
        done = await self.close(request_id, parsed_closure(closure))
        return done.status.value

    def move_now(self, request_id: str, status: WorkRequestStatus) -> WorkRequest:
        """``move`` without telling the CMMS (it told us); blocking."""
        request = self.store.get(request_id)
        changed = moved(request, status, self._clock.now())
        if changed is request:
            return request
        self._watched(self.store.save(changed))
        return changed

    def close_now(self, request_id: str, closure: Closure) -> WorkRequest:
        """``close`` without telling the CMMS (it told us); blocking; idempotent."""
        request = self.store.get(request_id)
        done = closed(request, closure, self._clock.now())
        if done is not request:
            self.store.save(done)
            self._watched(done)
            log.info("work request %s closed: %s", done.id, closure.failure_mode)
        return done

    def _watched(self, request: WorkRequest) -> None:
        """Tell the watchers of a stored change; a watcher's failure is only logged."""
        for watcher in self.watchers:
            try:
                watcher(request)
            except Exception:
                log.exception("a watcher of work request %s failed", request.id)

    async def _tell(self, event: str, request: WorkRequest) -> None:
        if self._notifier is None:
            return
        key = f"{request.id}:{request.revision}"
        payload = {"work_request": request.model_dump(mode="json")}
        await self._notifier.enqueue(Notification(key, event, payload))


def _material(request: WorkRequest) -> tuple[object, ...]:
    """What a CMMS needs to hear about again when it changes."""
    return (request.priority, request.due_date, request.spare_part_order, request.description)


class ClosureReceiver:
    """A small HTTP endpoint (a thread) where the CMMS reports status and closures, signed."""

    def __init__(
        self, desk: WorkRequestDesk, secret: bytes, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        """Bound to ``host:port`` (0: a free port); serving once ``start`` is called."""
        if not secret:
            raise ClosureSecretError("the closure receiver needs a non-empty shared secret")
        self._desk = desk
        self._secret = secret
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="closure-receiver", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def answer(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, Any]:
        """(HTTP status, JSON answer) of one POST."""
        if not verify(self._secret, body, headers.get("X-Trustfloor-Signature", "")):
            return 401, {"error": "missing or wrong X-Trustfloor-Signature"}
        match = _PATH.match(path)
        if match is None:
            return 404, {"error": "POST /work-requests/<WR-id>/closure or /status"}
        request_id, what = match.groups()
        try:
            document = json.loads(body)
            if what == "closure":
                done = self._desk.close_now(request_id, parsed_closure(document))
            else:
                status = WorkRequestStatus(document["status"])
                done = self._desk.move_now(request_id, status)
        except UnknownWorkRequestError as error:
            return 404, {"error": str(error)}
        except WorkRequestStateError as error:
            return 409, {"error": str(error)}
        except (ClosureInvalidError, ValueError, KeyError, TypeError) as error:
            return 422, {"error": str(error)}
        return 200, done.model_dump(mode="json")


def _handler(receiver: ClosureReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0") or 0)
            if length > MAX_BODY:
                self._send(413, {"error": f"body larger than {MAX_BODY} bytes"})
                return
            body = self.rfile.read(length)
            self._send(*receiver.answer(self.path, body, dict(self.headers.items())))

        def _send(self, status: int, answer: Any) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("closure receiver: " + format, *args)

    return Handler
