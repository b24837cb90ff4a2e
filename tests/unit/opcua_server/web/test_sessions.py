"""Web sessions and the public page's budget, on a manual clock."""

from __future__ import annotations

from config import Role
from models.timebase import ManualClock
from opcua_server.web.ratelimit import RateLimiter
from opcua_server.web.sessions import SessionStore, tokens_match


def test_a_session_ends_after_its_idle_time_and_each_use_extends_it() -> None:
    clock = ManualClock()
    store = SessionStore(idle_s=10, clock=clock)
    session = store.open("planner", Role.PLANNER)
    clock.advance(9)
    assert store.find(session.token) is session
    clock.advance(9)
    assert store.find(session.token) is session, "used 9 s ago"
    clock.advance(10)
    assert store.find(session.token) is None
    assert len(store) == 0


def test_each_login_gets_new_tokens_and_logout_ends_the_session() -> None:
    store = SessionStore(idle_s=10, clock=ManualClock())
    first, second = store.open("planner", Role.PLANNER), store.open("planner", Role.PLANNER)
    assert first.token != second.token
    assert first.csrf != second.csrf
    store.close(first.token)
    assert store.find(first.token) is None
    assert store.find(second.token) is second


def test_the_oldest_session_goes_when_the_store_is_full() -> None:
    clock = ManualClock()
    store = SessionStore(idle_s=100, clock=clock, max_sessions=2)
    oldest = store.open("a", Role.AUDITOR)
    clock.advance(1)
    store.open("b", Role.AUDITOR)
    store.open("c", Role.AUDITOR)
    assert store.find(oldest.token) is None
    assert len(store) == 2


def test_tokens_match_only_when_both_are_given_and_equal() -> None:
    assert tokens_match("abc", "abc")
    assert not tokens_match("abc", "abd")
    assert not tokens_match(None, "abc")
    assert not tokens_match("", "")


def test_an_address_gets_its_budget_per_minute() -> None:
    clock = ManualClock()
    limiter = RateLimiter(per_minute=2, clock=clock)
    assert limiter.allow("peer-a")
    assert limiter.allow("peer-a")
    assert not limiter.allow("peer-a")
    assert limiter.allow("peer-b"), "another address has its own budget"
    clock.advance(60)
    assert limiter.allow("peer-a")
