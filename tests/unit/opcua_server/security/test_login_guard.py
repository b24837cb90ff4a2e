"""Login throttling: backoff after a failure, lockout after repeated failures, lifted in time."""

from __future__ import annotations

from config import ServerSettings
from models.timebase import ManualClock
from opcua_server.security.login_guard import LoginGuard, LoginPolicy

POLICY = LoginPolicy(backoff_s=1.0, max_failures=5, failure_window_s=60.0, lockout_s=300.0)
PEER = "10.0.0.7"


def fail(guard: LoginGuard, user: str, times: int, peer: str = PEER) -> list[bool]:
    return [guard.record_failure(user, peer) for _ in range(times)]


def test_a_first_attempt_waits_for_nothing() -> None:
    assert LoginGuard(POLICY, ManualClock()).wait_s("mes", PEER) == 0.0


def test_one_failure_delays_the_next_attempt_by_at_most_the_backoff() -> None:
    clock = ManualClock()
    guard = LoginGuard(POLICY, clock)
    fail(guard, "mes", 1)
    assert guard.wait_s("mes", "10.0.0.8") == 1.0, "the same user from elsewhere waits"
    assert guard.wait_s("planner", PEER) == 1.0, "another user from the same address waits"
    assert guard.wait_s("planner", "10.0.0.8") == 0.0
    clock.advance(0.25)
    assert guard.wait_s("mes", PEER) == 0.75
    clock.advance(1.0)
    assert guard.wait_s("mes", PEER) == 0.0


def test_repeated_failures_never_delay_longer_than_the_backoff() -> None:
    guard = LoginGuard(POLICY, ManualClock())
    fail(guard, "mes", 4)
    assert guard.wait_s("mes", PEER) == 1.0


def test_the_fifth_failure_in_the_window_locks_the_user_once() -> None:
    guard = LoginGuard(POLICY, ManualClock())
    assert fail(guard, "mes", 5) == [False, False, False, False, True]
    assert guard.is_locked("mes")
    assert not guard.is_locked("planner")
    assert fail(guard, "mes", 3) == [False, False, False], "a lockout begins only once"


def test_failures_older_than_the_window_do_not_count() -> None:
    clock = ManualClock()
    guard = LoginGuard(POLICY, clock)
    fail(guard, "mes", 4)
    clock.advance(61)
    assert fail(guard, "mes", 4) == [False] * 4
    assert not guard.is_locked("mes")


def test_a_lockout_is_lifted_after_the_lockout_time() -> None:
    clock = ManualClock()
    guard = LoginGuard(POLICY, clock)
    fail(guard, "mes", 5)
    clock.advance(299)
    assert guard.is_locked("mes")
    clock.advance(2)
    assert not guard.is_locked("mes")
    assert fail(guard, "mes", 1) == [False], "the count starts afresh after a lockout"


def test_attempts_while_locked_do_not_extend_the_lockout() -> None:
    clock = ManualClock()
    guard = LoginGuard(POLICY, clock)
    fail(guard, "mes", 5)
    clock.advance(200)
    fail(guard, "mes", 10)
    clock.advance(101)
    assert not guard.is_locked("mes")


def test_a_success_forgets_the_users_failures() -> None:
    guard = LoginGuard(POLICY, ManualClock())
    fail(guard, "mes", 4)
    guard.record_success("mes", PEER)
    assert fail(guard, "mes", 4) == [False] * 4
    assert not guard.is_locked("mes")


def test_unknown_names_are_locked_like_known_ones() -> None:
    guard = LoginGuard(POLICY, ManualClock())
    assert fail(guard, "nobody-here", 5)[-1] is True
    assert guard.is_locked("nobody-here")


def test_policy_comes_from_the_server_settings() -> None:
    settings = ServerSettings(login_lockout_s=30, login_max_failures=3, login_backoff_s=0.5)
    policy = LoginPolicy.from_settings(settings)
    assert (policy.lockout_s, policy.max_failures, policy.backoff_s) == (30, 3, 0.5)
    assert policy.failure_window_s == 60
