"""The printer agent's licence check with terms: period, revocation, overdraft."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.agent import quota_refusal
from ledger.contract import LicenceState
from ledger.errors import LicenceNotValidError, QuotaExhaustedError

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())


def test_a_licence_outside_its_period_or_revoked_refuses_whatever_the_count() -> None:
    cases = {
        LicenceState(0, 0, valid_until=0): "no licence was granted",
        LicenceState(5, 0, revoked=True): "the licence is revoked",
        LicenceState(5, 0, valid_from=T + 1): "valid only from 2026-12-07T12:00:01Z",
        LicenceState(5, 0, valid_until=T): "expired at 2026-12-07T12:00:00Z",
    }
    for licence, reason in cases.items():
        refusal = quota_refusal("design x revision A", licence, 0, at=NOW)
        assert isinstance(refusal, LicenceNotValidError)
        assert str(refusal).startswith("design x revision A: ")
        assert reason in str(refusal)
    assert (
        quota_refusal("d", LicenceState(5, 0, valid_from=T, valid_until=T + 1), 0, at=NOW) is None
    )


def test_the_overdraft_is_room_to_print() -> None:
    licence = LicenceState(quota=2, used=2, overdraft=2)
    assert quota_refusal("d", licence, unanchored=1, at=NOW) is None
    refusal = quota_refusal("d", licence, unanchored=2, at=NOW)
    assert isinstance(refusal, QuotaExhaustedError)
    assert "allows 2 pieces and 2 more as overdraft: 2 anchored and 2 printed" in str(refusal)
