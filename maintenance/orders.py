"""Durable print-order book: SQLite with fsync on commit, ISA-95 states, one order per alert."""

# An order is on disk before any call that created or changed it returns (``DurableFile``:
# WAL, synchronous=FULL). Ids are ``PO-`` and the row's AUTOINCREMENT sequence, so they are never
# reused. ``alert_id`` is UNIQUE: however often the alert service retries (after a crash between
# creating an order and recording it on the alert, say), one alert has at most one order.
# Every change is also appended to ``order_changes`` (who, when, what), the order's audit trail;
# the note of the change that rejected, cancelled or held an order is its ``state_reason``. A held
# order is released to the state it had before the hold, which the trail keeps.

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path

from maintenance.durable import DurableFile
from maintenance.errors import MaintenanceError
from models import (
    HOLDABLE_STATES,
    MAX_ORDER_QUANTITY,
    NEXT_STATES,
    Clock,
    InvalidRequestError,
    InvalidStateError,
    NotFoundError,
    OrderState,
    OutOfRangeError,
    PrintOrder,
    SystemClock,
    from_micros,
    to_micros,
)

log = logging.getLogger(__name__)

OrderListener = Callable[[PrintOrder], Awaitable[None]]
"""Called with an order after each change is committed (the server updates its nodes)."""

LicenceCheck = Callable[[str, str, int], Awaitable[str | None]]
"""Why the site's licence cannot cover ``quantity`` more pieces of (design id, revision), or None
when it can or nobody can tell now (the printer agent checks again before each piece)."""

MAX_TEXT = 4096
MAX_NAME = 128
_DESIGN_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
_REVISION = re.compile(r"^[A-Za-z0-9._\-]{1,16}$")
_ORDER_ID = re.compile(r"^PO-(\d{6,})$")

STATES_WITH_REASON = frozenset({OrderState.REJECTED, OrderState.CANCELLED, OrderState.HELD})
"""States that stop the order from delivering (final ones and held): their last change's note is
the order's reason."""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS orders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    design_id TEXT NOT NULL,
    design_revision TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND {MAX_ORDER_QUANTITY}),
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    state TEXT NOT NULL,
    printer TEXT NOT NULL DEFAULT '',
    created_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL,
    alert_id TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS orders_by_state ON orders (state, seq);
CREATE TABLE IF NOT EXISTS order_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_seq INTEGER NOT NULL REFERENCES orders (seq),
    state TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL,
    at_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS order_changes_by_order ON order_changes (order_seq, seq);
CREATE TABLE IF NOT EXISTS order_lots (
    order_seq INTEGER PRIMARY KEY REFERENCES orders (seq),
    material_lot TEXT NOT NULL
);
"""

_SELECT_ORDERS = (
    "SELECT o.*, (SELECT c.note FROM order_changes c WHERE c.order_seq = o.seq"
    " ORDER BY c.seq DESC LIMIT 1) AS last_note,"
    " (SELECT l.material_lot FROM order_lots l WHERE l.order_seq = o.seq) AS material_lot"
    " FROM orders o"
)
"""Orders with the note of their latest change (the reason of a rejected or cancelled one) and
the material lot the MES named."""

MAX_LOT = 64
_LOT = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")

_INSERT_ORDER = (
    "INSERT INTO orders (design_id, design_revision, quantity, reason, requested_by, state,"
    " created_us, updated_us, alert_id) VALUES (?, ?, ?, ?, ?, 'created', ?, ?, ?)"
)


class OrderBookError(MaintenanceError):
    """The order book's file cannot be opened or written."""

    advice = "check that the data directory is writable and orders.sqlite is not corrupt"


class UnknownOrderError(OrderBookError, NotFoundError):
    """No order has the id asked for."""

    advice = "list the orders (PrintOrders folder or the order book) and use an existing id"


class UnknownDesignError(OrderBookError, NotFoundError):
    """The design to print is not registered at this site."""

    advice = "register the design's dossier first, or correct the design id"


class OrderRequestError(OrderBookError, InvalidRequestError):
    """An order's arguments are wrong (design id, revision, text lengths)."""

    advice = "give a design id made of letters, digits, _ and -, and texts within their limits"


class OrderQuantityError(OrderBookError, OutOfRangeError):
    """An order's quantity is not a whole number in 1..MAX_ORDER_QUANTITY."""

    advice = f"order 1..{MAX_ORDER_QUANTITY} pieces"


class LicenceExceededError(OrderBookError, OutOfRangeError):
    """An order asks for more pieces than the site's licence of the design has left."""

    advice = "order at most the pieces left, or ask the design's OEM for a larger licence"


class OrderStateError(OrderBookError, InvalidStateError):
    """The order is not in a state that allows the change asked for."""

    advice = (
        "an order can be cancelled only while created or dispatched (or held), held only while "
        "created or dispatched, and released only while held; read its state first"
    )


def order_id_of(seq: int) -> str:
    """``PO-000123`` for sequence number 123."""
    return f"PO-{seq:06d}"


def _seq_of(order_id: str) -> int:
    match = _ORDER_ID.match(order_id)
    if match is None:
        raise UnknownOrderError(f"no order {order_id!r}: order ids look like PO-000123")
    return int(match.group(1))


def _order_of(row: sqlite3.Row) -> PrintOrder:
    state = OrderState(row["state"])
    return PrintOrder(
        id=order_id_of(row["seq"]),
        design_id=row["design_id"],
        design_revision=row["design_revision"],
        quantity=row["quantity"],
        reason=row["reason"],
        requested_by=row["requested_by"],
        state=state,
        printer=row["printer"],
        created_at=from_micros(row["created_us"]),
        updated_at=from_micros(row["updated_us"]),
        alert_id=row["alert_id"] or "",
        state_reason=row["last_note"] if state in STATES_WITH_REASON else "",
        material_lot=row["material_lot"] or "",
    )


def _check_text(name: str, value: str, longest: int, *, required: bool) -> None:
    if required and not value.strip():
        raise OrderRequestError(f"{name} must not be empty")
    if len(value) > longest:
        raise OrderRequestError(f"{name} is longer than {longest} characters")


def check_request(
    design_id: str, quantity: int, reason: str, requested_by: str, design_revision: str
) -> None:
    """Raise OrderRequestError unless the order's arguments are well formed."""
    if not _DESIGN_ID.match(design_id):
        raise OrderRequestError(f"design id {design_id!r} is not letters, digits, _ and -")
    if not _REVISION.match(design_revision):
        raise OrderRequestError(f"design revision {design_revision!r} is not 1..16 characters")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise OrderQuantityError(f"quantity must be a whole number, not {quantity!r}")
    if not 1 <= quantity <= MAX_ORDER_QUANTITY:
        raise OrderQuantityError(f"quantity {quantity} is not in 1..{MAX_ORDER_QUANTITY}")
    _check_text("reason", reason, MAX_TEXT, required=False)
    _check_text("requested_by", requested_by, MAX_NAME, required=True)


def check_material_lot(material_lot: str) -> None:
    """Raise OrderRequestError unless ``material_lot`` is "" or a printable lot id."""
    if material_lot and not _LOT.match(material_lot):
        raise OrderRequestError(
            f"material lot {material_lot[:MAX_LOT]!r} is not 1..{MAX_LOT} printable characters"
        )


def check_transition(order: PrintOrder, state: OrderState, *, releasing: bool = False) -> None:
    """Raise OrderStateError unless ``order`` may move to ``state``; a held order goes back to
    created or dispatched only when it is ``releasing`` (never by the print flow's own moves)."""
    allowed = NEXT_STATES.get(order.state, frozenset())
    if order.state is OrderState.HELD and not releasing:
        allowed = allowed - HOLDABLE_STATES
    if state not in allowed:
        options = ", ".join(sorted(s.value for s in allowed)) or "none (final)"
        raise OrderStateError(
            f"order {order.id} is {order.state.value}: it cannot become {state.value} "
            f"(allowed next: {options})"
        )


class SqliteOrderBook:
    """The site's print orders (implements ``models.ports.OrderBook``), durable on every call.

    ``design_exists`` (optional) tells whether a design id is registered at the site; orders
    for unknown designs are refused with UnknownDesignError. ``licence_check`` (optional) says
    why the licence cannot cover an order's pieces; such orders are refused with
    LicenceExceededError.
    """

    def __init__(
        self,
        path: Path,
        *,
        clock: Clock | None = None,
        design_exists: Callable[[str], bool] | None = None,
        licence_check: LicenceCheck | None = None,
    ) -> None:
        self._file = DurableFile(path, _SCHEMA, OrderBookError)
        self._clock = clock or SystemClock()
        self._design_exists = design_exists
        self._licence_check = licence_check
        self._listeners: list[OrderListener] = []

    def add_listener(self, listener: OrderListener) -> None:
        """Call ``listener`` with every order after it was created or changed."""
        self._listeners.append(listener)

    async def create_order(
        self,
        design_id: str,
        quantity: int,
        reason: str,
        requested_by: str,
        *,
        design_revision: str = "A",
        material_lot: str = "",
    ) -> PrintOrder:
        """A new order in state created (the MES, a planner); ``material_lot`` is the
        feedstock lot the MES asks for ("" when it names none)."""
        check_material_lot(material_lot)
        await self._check_new(design_id, quantity, reason, requested_by, design_revision)
        order, _ = await asyncio.to_thread(
            self._insert,
            design_id,
            design_revision,
            quantity,
            reason,
            requested_by,
            None,
            material_lot,
        )
        await self._announce(order)
        return order

    async def create_order_for_alert(
        self,
        alert_id: str,
        design_id: str,
        quantity: int,
        reason: str,
        *,
        requested_by: str = "maintenance",
        design_revision: str = "A",
    ) -> PrintOrder:
        """The order of ``alert_id``: created on the first call, the same order on every later one.

        Idempotent across restarts too: the alert id is UNIQUE in the file.
        """
        _check_text("alert_id", alert_id, MAX_NAME, required=True)
        existing = await self.order_for_alert(alert_id)
        if existing is not None:
            return existing
        await self._check_new(design_id, quantity, reason, requested_by, design_revision)
        order, created = await asyncio.to_thread(
            self._insert, design_id, design_revision, quantity, reason, requested_by, alert_id
        )
        if created:
            await self._announce(order)
        return order

    async def cancel_order(self, order_id: str, cancelled_by: str) -> PrintOrder:
        """Cancel an order that is still created or dispatched."""
        return await self.update_state(
            order_id, OrderState.CANCELLED, actor=cancelled_by, note=f"cancelled by {cancelled_by}"
        )

    async def hold_order(self, order_id: str, held_by: str, reason: str) -> PrintOrder:
        """Hold an order that is still created or dispatched: the print flow leaves it until it
        is released or cancelled. ``reason`` (a recall campaign, say) is its state reason."""
        return await self.update_state(order_id, OrderState.HELD, actor=held_by, note=reason)

    async def release_order(self, order_id: str, released_by: str, note: str = "") -> PrintOrder:
        """Release a held order to the state it had before it was held."""
        _check_text("actor", released_by, MAX_NAME, required=True)
        order = await asyncio.to_thread(
            self._release, order_id, released_by, note[:MAX_TEXT] or f"released by {released_by}"
        )
        await self._announce(order)
        return order

    async def update_state(
        self,
        order_id: str,
        state: OrderState,
        *,
        actor: str,
        printer: str | None = None,
        note: str = "",
    ) -> PrintOrder:
        """Move an order along its life (see ``NEXT_STATES``); ``printer`` once it is dispatched.

        ``note`` says why (kept in the order's trail; a rejected order's ``state_reason``).
        """
        _check_text("actor", actor, MAX_NAME, required=True)
        note = note[:MAX_TEXT]
        order = await asyncio.to_thread(self._transition, order_id, state, actor, printer, note)
        await self._announce(order)
        return order

    async def get_order(self, order_id: str) -> PrintOrder:
        """The order with this id; UnknownOrderError when there is none."""
        rows = await asyncio.to_thread(
            self._file.rows, f"{_SELECT_ORDERS} WHERE o.seq = ?", (_seq_of(order_id),)
        )
        if not rows:
            raise UnknownOrderError(f"no order {order_id!r}")
        return _order_of(rows[0])

    async def order_for_alert(self, alert_id: str) -> PrintOrder | None:
        """The order raised for ``alert_id``, if there is one."""
        rows = await asyncio.to_thread(
            self._file.rows, f"{_SELECT_ORDERS} WHERE o.alert_id = ?", (alert_id,)
        )
        return _order_of(rows[0]) if rows else None

    async def list_orders(
        self, states: Collection[OrderState] | None = None, limit: int = 100
    ) -> list[PrintOrder]:
        """Orders, newest first, optionally only those in ``states``."""
        wanted = [s.value for s in (states if states is not None else OrderState)]
        marks = ", ".join("?" * len(wanted))
        sql = f"{_SELECT_ORDERS} WHERE o.state IN ({marks}) ORDER BY o.seq DESC LIMIT ?"
        rows = await asyncio.to_thread(self._file.rows, sql, (*wanted, limit))
        return [_order_of(row) for row in rows]

    async def close(self) -> None:
        await asyncio.to_thread(self._file.close)

    async def _check_new(
        self, design_id: str, quantity: int, reason: str, requested_by: str, revision: str
    ) -> None:
        check_request(design_id, quantity, reason, requested_by, revision)
        if self._design_exists is not None and not self._design_exists(design_id):
            raise UnknownDesignError(f"no design {design_id!r} is registered at this site")
        if self._licence_check is not None:
            refusal = await self._licence_check(design_id, revision, quantity)
            if refusal is not None:
                raise LicenceExceededError(refusal)

    def _insert(
        self,
        design_id: str,
        revision: str,
        quantity: int,
        reason: str,
        requested_by: str,
        alert_id: str | None,
        material_lot: str = "",
    ) -> tuple[PrintOrder, bool]:
        """The new order and True; or, for an alert that already has one, that order and False."""
        now = to_micros(self._clock.now())
        values = (design_id, revision, quantity, reason, requested_by, now, now, alert_id)
        try:
            with self._file.transaction() as db:
                seq = db.execute(_INSERT_ORDER, values).lastrowid
                _record_change(db, int(seq or 0), OrderState.CREATED, requested_by, reason, now)
                if material_lot:
                    db.execute(
                        "INSERT INTO order_lots (order_seq, material_lot) VALUES (?, ?)",
                        (seq, material_lot),
                    )
        except sqlite3.IntegrityError as error:
            if alert_id is None:
                raise OrderBookError(f"order not stored: {error}") from error
            rows = self._file.rows(f"{_SELECT_ORDERS} WHERE o.alert_id = ?", (alert_id,))
            return _order_of(rows[0]), False
        rows = self._file.rows(f"{_SELECT_ORDERS} WHERE o.seq = ?", (seq,))
        return _order_of(rows[0]), True

    def _transition(
        self, order_id: str, state: OrderState, actor: str, printer: str | None, note: str
    ) -> PrintOrder:
        seq = _seq_of(order_id)
        with self._file.transaction() as db:
            check_transition(_locked_order(db, order_id, seq), state)
            return _move(db, seq, state, actor, printer, note, to_micros(self._clock.now()))

    def _release(self, order_id: str, actor: str, note: str) -> PrintOrder:
        seq = _seq_of(order_id)
        with self._file.transaction() as db:
            order = _locked_order(db, order_id, seq)
            if order.state is not OrderState.HELD:
                raise OrderStateError(
                    f"order {order.id} is {order.state.value}, not held: nothing to release"
                )
            before = _state_before_hold(db, seq)
            check_transition(order, before, releasing=True)
            return _move(db, seq, before, actor, None, note, to_micros(self._clock.now()))

    async def _announce(self, order: PrintOrder) -> None:
        """Tell the listeners; the order is already stored, so a failing listener is only logged."""
        for listener in self._listeners:
            try:
                await listener(order)
            except Exception:
                log.exception("order listener failed for %s (the order itself is stored)", order.id)


def _locked_order(db: sqlite3.Connection, order_id: str, seq: int) -> PrintOrder:
    """The order as it stands inside the caller's transaction; UnknownOrderError if none."""
    row = db.execute(f"{_SELECT_ORDERS} WHERE o.seq = ?", (seq,)).fetchone()
    if row is None:
        raise UnknownOrderError(f"no order {order_id!r}")
    return _order_of(row)


def _state_before_hold(db: sqlite3.Connection, seq: int) -> OrderState:
    """The state the order's trail shows before its latest hold (created when it shows none)."""
    row = db.execute(
        "SELECT state FROM order_changes WHERE order_seq = ? AND seq < (SELECT max(seq)"
        " FROM order_changes WHERE order_seq = ? AND state = ?) ORDER BY seq DESC LIMIT 1",
        (seq, seq, OrderState.HELD.value),
    ).fetchone()
    return OrderState.CREATED if row is None else OrderState(row["state"])


def _move(
    db: sqlite3.Connection,
    seq: int,
    state: OrderState,
    actor: str,
    printer: str | None,
    note: str,
    now: int,
) -> PrintOrder:
    """Set the order's state (and printer) and append the change to its trail."""
    db.execute(
        "UPDATE orders SET state = ?, printer = coalesce(?, printer), updated_us = ? WHERE seq = ?",
        (state.value, printer, now, seq),
    )
    _record_change(db, seq, state, actor, note or printer or "", now)
    return _order_of(db.execute(f"{_SELECT_ORDERS} WHERE o.seq = ?", (seq,)).fetchone())


def _record_change(
    db: sqlite3.Connection, seq: int, state: OrderState, actor: str, note: str, at_us: int
) -> None:
    db.execute(
        "INSERT INTO order_changes (order_seq, state, actor, note, at_us) VALUES (?, ?, ?, ?, ?)",
        (seq, state.value, actor, note, at_us),
    )
