"""Planner webhook: signed JSON POSTs from a durable SQLite queue, retried with backoff."""

# At least once, in order: a notification is on disk (WAL, synchronous=FULL) before ``enqueue``
# returns, and it stays pending until the receiver answers 2xx, across restarts. While the
# receiver fails (connection error, timeout, 408, 425, 429, 5xx) the head of the queue is retried
# with exponential backoff, doubling from ``retry_initial_s`` up to ``retry_max_s``; a receiver
# that refuses a notification for good (any other status, redirects included) gets it marked
# refused and logged, and the queue moves on. Delivered keys are kept, so enqueueing a key again
# (a replay after a crash) sends nothing twice from here; receivers dedupe retries by the
# Idempotency-Key header, which is the same on every attempt. Each POST carries:
#   Idempotency-Key: <alert id>:<event>
#   X-Trustfloor-Event: <event>
#   X-Trustfloor-Signature: sha256=<hex HMAC-SHA256 (RFC 2104, FIPS 180-4) of the exact body>
# HTTP runs in a worker thread with urllib (no extra dependency).

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import http.client
import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from config import WebhookSettings
from maintenance.durable import DurableFile
from maintenance.errors import MaintenanceError
from models import Clock, SystemClock, from_micros, to_micros

log = logging.getLogger(__name__)

USER_AGENT = "trustfloor-webhook/1"
_RETRY_STATUSES = frozenset({408, 425, 429})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    body BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'refused')),
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_us INTEGER NOT NULL,
    done_us INTEGER,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS notifications_pending ON notifications (state, seq);
"""


class NotifierError(MaintenanceError):
    """The notification queue cannot be opened or written, or the webhook is misconfigured."""

    advice = "check that <data_dir>/queue is writable and the maintenance.webhook settings"


class WebhookSecretError(NotifierError):
    """The environment variable that should hold the webhook's signing secret is not set."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One message for the planners' webhook; ``key`` (alert id + event) identifies it."""

    key: str
    event: str
    payload: Mapping[str, Any]
    """JSON-serialisable; the body is ``{"event", "idempotency_key", **payload}``."""


@dataclass(frozen=True, slots=True)
class Queued:
    """A stored notification."""

    seq: int
    key: str
    event: str
    body: bytes
    state: str
    attempts: int
    queued_at: datetime
    last_error: str


class Outcome(StrEnum):
    """What the receiver made of one POST."""

    DELIVERED = "delivered"
    RETRY = "retry"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one :meth:`WebhookNotifier.deliver_due` round did."""

    delivered: int
    refused: int
    pending: int
    retry_at: datetime | None
    """When the failing head of the queue is due again; None when nothing failed."""


def encode(notification: Notification) -> bytes:
    """The POST body: compact, key-sorted UTF-8 JSON, so its signature is reproducible."""
    body = {"event": notification.event, "idempotency_key": notification.key}
    body.update(notification.payload)
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: bytes, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 (RFC 2104 with SHA-256 of FIPS 180-4) of ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is :func:`sign` of ``body`` (constant-time; for receivers, tests)."""
    return hmac.compare_digest(sign(secret, body), signature)


def classify(status: int) -> Outcome:
    """2xx delivered; 408, 425, 429 and 5xx worth retrying; anything else refused for good."""
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status in _RETRY_STATUSES or status >= 500:
        return Outcome.RETRY
    return Outcome.REFUSED


def backoff_s(attempts: int, initial_s: float, max_s: float) -> float:
    """Wait after the ``attempts``-th failure in a row: initial_s · 2^(attempts−1), capped."""
    return min(max_s, initial_s * 2.0 ** min(max(attempts - 1, 0), 60))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A POST must reach the configured URL itself: a redirect is answered as its status."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> int:
    """POST ``body`` and return the HTTP status; OSError or HTTPException when none came."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return int(error.code)


class WebhookNotifier:
    """Queues notifications durably and POSTs them, signed, to one receiver."""

    def __init__(
        self,
        spool: Path,
        url: str,
        secret: bytes,
        *,
        clock: Clock | None = None,
        timeout_s: float = 10.0,
        retry_initial_s: float = 5.0,
        retry_max_s: float = 3600.0,
    ) -> None:
        if not secret:
            raise WebhookSecretError("the webhook secret is empty")
        self.url = url
        self._secret = secret
        self._clock = clock or SystemClock()
        self._timeout_s = timeout_s
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._file = DurableFile(spool, _SCHEMA, NotifierError)
        self._hold_until: datetime | None = None
        self._wake = asyncio.Event()

    @classmethod
    def from_settings(
        cls,
        settings: WebhookSettings,
        data_dir: Path,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Clock | None = None,
    ) -> WebhookNotifier:
        """The notifier of ``maintenance.webhook``, its secret read from the environment."""
        secret = (os.environ if environ is None else environ).get(settings.secret_env, "")
        if not secret:
            raise WebhookSecretError(
                f"environment variable {settings.secret_env} (maintenance.webhook.secret_env) "
                "is not set",
                advice=f"set {settings.secret_env} to the secret the receiver checks signatures "
                "with, or remove maintenance.webhook",
            )
        return cls(
            data_dir / "queue" / settings.spool_file,
            settings.url,
            secret.encode(),
            clock=clock,
            timeout_s=settings.timeout_s,
            retry_initial_s=settings.retry_initial_s,
            retry_max_s=settings.retry_max_s,
        )

    async def enqueue(self, notification: Notification) -> bool:
        """Store ``notification`` durably; False when its key was queued before (sent once)."""
        added = await asyncio.to_thread(self._insert, notification)
        if added:
            self._wake.set()
        return added

    async def pending(self, limit: int = 1000) -> list[Queued]:
        """Notifications not yet delivered, oldest first."""
        rows = await asyncio.to_thread(
            self._file.rows,
            "SELECT * FROM notifications WHERE state = 'pending' ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [_queued(row) for row in rows]

    async def get(self, key: str) -> Queued | None:
        """The stored notification with this key, whatever its state."""
        rows = await asyncio.to_thread(
            self._file.rows, "SELECT * FROM notifications WHERE key = ?", (key,)
        )
        return _queued(rows[0]) if rows else None

    async def deliver_due(self, limit: int = 100) -> DeliveryReport:
        """POST pending notifications in order until the queue is empty, one fails, or ``limit``.

        Does nothing while a failure's backoff lasts (see ``retry_at``).
        """
        if self._hold_until is not None and self._clock.now() < self._hold_until:
            return await self._report(0, 0)
        delivered = refused = 0
        for head in await self.pending(limit):
            outcome, detail = await self._attempt(head)
            if outcome is Outcome.RETRY:
                await self._failed(head, detail)
                return await self._report(delivered, refused)
            await asyncio.to_thread(self._finish, head.seq, outcome, detail)
            delivered += outcome is Outcome.DELIVERED
            refused += outcome is Outcome.REFUSED
        self._hold_until = None
        return await self._report(delivered, refused)

    async def run(self) -> None:
        """Deliver until cancelled: when notifications arrive, and when a backoff ends."""
        while True:
            self._wake.clear()
            report = await self.deliver_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._idle_s(report))

    async def close(self) -> None:
        await asyncio.to_thread(self._file.close)

    def _idle_s(self, report: DeliveryReport) -> float | None:
        """How long to wait for new notifications before the next round (None: until one)."""
        if report.retry_at is not None:
            return max(0.0, (report.retry_at - self._clock.now()).total_seconds())
        return 0.0 if report.pending else None

    async def _report(self, delivered: int, refused: int) -> DeliveryReport:
        rows = await asyncio.to_thread(
            self._file.rows, "SELECT count(*) FROM notifications WHERE state = 'pending'"
        )
        return DeliveryReport(delivered, refused, int(rows[0][0]), self._hold_until)

    async def _attempt(self, head: Queued) -> tuple[Outcome, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": head.key,
            "X-Trustfloor-Event": head.event,
            "X-Trustfloor-Signature": sign(self._secret, head.body),
            "X-Trustfloor-Attempt": str(head.attempts + 1),
        }
        try:
            status = await asyncio.to_thread(post, self.url, head.body, headers, self._timeout_s)
        except (OSError, http.client.HTTPException) as error:
            return Outcome.RETRY, f"no answer from {self.url}: {error}"
        return classify(status), f"HTTP {status}"

    async def _failed(self, head: Queued, detail: str) -> None:
        attempts = await asyncio.to_thread(self._count_failure, head.seq, detail)
        wait_s = backoff_s(attempts, self._retry_initial_s, self._retry_max_s)
        self._hold_until = self._clock.now() + timedelta(seconds=wait_s)
        log_at = logging.WARNING if attempts == 1 else logging.DEBUG
        message = "webhook %s: %s (attempt %d, next in %.0f s)"
        log.log(log_at, message, head.key, detail, attempts, wait_s)

    def _insert(self, notification: Notification) -> bool:
        body = encode(notification)
        now = to_micros(self._clock.now())
        with self._file.transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO notifications (key, event, body, state, queued_us)"
                " VALUES (?, ?, ?, 'pending', ?)",
                (notification.key, notification.event, body, now),
            )
            return cursor.rowcount == 1

    def _count_failure(self, seq: int, detail: str) -> int:
        with self._file.transaction() as db:
            db.execute(
                "UPDATE notifications SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
                (detail, seq),
            )
            row = db.execute("SELECT attempts FROM notifications WHERE seq = ?", (seq,)).fetchone()
        return int(row[0])

    def _finish(self, seq: int, outcome: Outcome, detail: str) -> None:
        if outcome is Outcome.REFUSED:
            message = "webhook %s refused notification %d (%s); it will not be retried"
            log.error(message, self.url, seq, detail)
        error = "" if outcome is Outcome.DELIVERED else detail
        with self._file.transaction() as db:
            db.execute(
                "UPDATE notifications SET state = ?, attempts = attempts + 1, done_us = ?,"
                " last_error = ? WHERE seq = ?",
                (outcome.value, to_micros(self._clock.now()), error, seq),
            )


def _queued(row: Any) -> Queued:
    return Queued(
        seq=row["seq"],
        key=row["key"],
        event=row["event"],
        body=bytes(row["body"]),
        state=row["state"],
        attempts=row["attempts"],
        queued_at=from_micros(row["queued_us"]),
        last_error=row["last_error"],
    )
