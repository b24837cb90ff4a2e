"""A licence's terms as an OEM writes them: dates, a quota, an overdraft, a price per piece."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from ledger.contract import OPEN_END
from ledger.errors import LicenceTermsError

MICROS = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class LicenceTerms:
    """What ``oem licence grant`` sets: ``pieces`` (the quota) and ``overdraft`` more, counted
    from ``valid_from`` until before ``valid_until`` (Unix seconds), at ``price_micros``
    millionths of ``currency`` per piece (0 and "": no price)."""

    pieces: int
    valid_from: int = 0
    valid_until: int = OPEN_END
    overdraft: int = 0
    price_micros: int = 0
    currency: str = ""


def _instant(text: str, *, end_of_day: bool) -> int:
    """A date (YYYY-MM-DD: the day's start, or the next day's start when ``end_of_day``) or an
    ISO 8601 time (UTC when it names no zone) as Unix seconds."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return int((start + timedelta(days=1 if end_of_day else 0)).timestamp())
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise LicenceTermsError(
            f"{text!r} is neither a date (2026-12-31) nor an ISO 8601 time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def licence_period(valid_from: str | None, valid_until: str | None) -> tuple[int, int]:
    """The period ``--from DATE --until DATE`` names, as Unix seconds [start, end).

    A date ``--until`` includes that whole day (UTC); either bound may be left open.
    """
    start = _instant(valid_from, end_of_day=False) if valid_from else 0
    end = _instant(valid_until, end_of_day=True) if valid_until else OPEN_END
    if start >= end:
        raise LicenceTermsError(
            f"the licence would end ({valid_until}) before it starts ({valid_from})"
        )
    return start, end


def parse_price(amount: str, currency: str) -> tuple[int, str]:
    """``--price AMOUNT CURRENCY`` as (millionths of the currency, ISO 4217 code)."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise LicenceTermsError(f"price {amount!r} is not a number") from None
    micros = value * MICROS
    if not value.is_finite() or value < 0 or micros != micros.to_integral_value():
        raise LicenceTermsError(f"price {amount!r} must be positive with at most 6 decimals")
    code = currency.upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise LicenceTermsError(f"currency {currency!r} is not an ISO 4217 code such as EUR")
    return int(micros), code


def price_text(micros: int, currency: str) -> str:
    """A price per piece as people write it (``12.5 EUR``); "-" when none was set."""
    if not currency:
        return "-"
    return f"{(Decimal(micros) / MICROS).normalize():f} {currency}"


def day_text(timestamp: int) -> str:
    """A licence bound as an ISO 8601 UTC time; "open" for an unbounded one."""
    if timestamp in (0, OPEN_END):
        return "open"
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")
