"""The store-and-forward spool: order, cursor, bound, exclusivity and reopening after a crash."""

from __future__ import annotations

import tempfile
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from connectors.historian import Spool, SpoolError, SpoolFullError


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "queue" / "spool.sqlite"


@pytest.fixture
def spool(path: Path) -> Iterator[Spool]:
    opened = Spool(path, max_bytes=1000)
    yield opened
    opened.close()


def lines(*texts: str) -> list[bytes]:
    return [text.encode() for text in texts]


def test_lines_come_back_oldest_first_in_whole_appends(spool: Spool) -> None:
    assert spool.append(lines("a", "b")) == 1
    spool.append(lines("c"))
    spool.append(lines("d", "e"))
    first = spool.peek(3)
    assert first is not None
    assert (first.body, first.lines, first.first_seq, first.last_seq) == (b"a\nb\nc", 3, 1, 2)
    spool.ack(first)
    rest = spool.peek(1)  # an append larger than the limit still comes out whole
    assert rest is not None
    assert (rest.body, rest.lines) == (b"d\ne", 2)
    spool.ack(rest)
    assert spool.peek(10) is None
    assert (spool.pending, spool.pending_bytes, spool.acked_seq) == (0, 0, 3)


def test_unacknowledged_lines_are_replayed_after_reopening(path: Path) -> None:
    spool = Spool(path, max_bytes=1000)
    spool.append(lines("a", "b"))
    assert spool.peek(10) is not None  # sent, but the process died before the ack
    spool.close()
    reopened = Spool(path, max_bytes=1000)
    assert reopened.pending == 2
    batch = reopened.peek(10)
    assert batch is not None
    assert batch.body == b"a\nb"
    reopened.ack(batch)
    reopened.close()
    again = Spool(path, max_bytes=1000)
    assert (again.peek(10), again.acked_seq, again.pending) == (None, 1, 0)
    assert again.append(lines("c")) == 2  # sequence numbers are never reused
    again.close()


def test_a_full_spool_refuses_the_whole_append_and_keeps_the_rest(spool: Spool) -> None:
    spool.append([b"x" * 600])
    with pytest.raises(SpoolFullError) as caught:
        spool.append([b"y" * 300, b"z" * 200])
    assert "max_spool_mb" in caught.value.advice
    assert (spool.pending, spool.pending_bytes) == (1, 600)
    batch = spool.peek(10)
    assert batch is not None
    spool.ack(batch)
    spool.append([b"y" * 300, b"z" * 200])  # room again once delivered
    assert spool.pending == 2


def test_a_rejected_batch_is_kept_aside_and_the_cursor_moves_on(spool: Spool) -> None:
    spool.append(lines("bad", "worse"))
    spool.append(lines("good"))
    batch = spool.peek(2)
    assert batch is not None
    spool.reject(batch, "HTTP 400: field type conflict")
    assert spool.rejected() == [(1, b"bad\nworse", "HTTP 400: field type conflict")]
    following = spool.peek(10)
    assert following is not None
    assert following.body == b"good"


def test_a_batch_cannot_be_acknowledged_twice(spool: Spool) -> None:
    spool.append(lines("a"))
    batch = spool.peek(1)
    assert batch is not None
    spool.ack(batch)
    with pytest.raises(SpoolError):
        spool.ack(batch)


def test_only_one_process_owns_a_spool(spool: Spool, path: Path) -> None:
    with pytest.raises(SpoolError) as caught:
        Spool(path, max_bytes=1000)
    assert "another trustfloor process" in caught.value.advice


def no_newline(line: bytes) -> bool:
    return b"\n" not in line


class SpoolModel(RuleBasedStateMachine):
    """The spool behaves like a FIFO of lines, across reopenings, whatever the interleaving."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.path = Path(self.folder.name) / "spool.sqlite"
        self.spool = Spool(self.path, max_bytes=2_000)
        self.expected: deque[list[bytes]] = deque()  # undelivered appends, oldest first
        self.delivered: list[bytes] = []
        self.appended: list[bytes] = []

    @rule(items=st.lists(st.binary(min_size=1, max_size=40).filter(no_newline), max_size=8))
    def append(self, items: list[bytes]) -> None:
        try:
            self.spool.append(items)
        except SpoolFullError:
            return
        if items:
            self.expected.append(items)
            self.appended.extend(items)

    @precondition(lambda self: bool(self.expected))
    @rule(max_lines=st.integers(1, 12), accept=st.booleans())
    def deliver(self, max_lines: int, accept: bool) -> None:
        batch = self.spool.peek(max_lines)
        assert batch is not None
        taken = [self.expected[0]]
        for chunk in list(self.expected)[1:]:
            if sum(map(len, taken)) + len(chunk) > max_lines:
                break
            taken.append(chunk)
        assert batch.chunks == [b"\n".join(chunk) for chunk in taken]
        if accept:
            self.spool.ack(batch)
            for _ in taken:
                self.delivered.extend(self.expected.popleft())

    @rule()
    def reopen(self) -> None:
        self.spool.close()
        self.spool = Spool(self.path, max_bytes=2_000)

    @invariant()
    def counts_match(self) -> None:
        undelivered = [line for chunk in self.expected for line in chunk]
        assert self.spool.pending == len(undelivered)
        assert self.spool.pending_bytes == sum(len(b"\n".join(c)) for c in self.expected)
        assert self.delivered + undelivered == self.appended

    def teardown(self) -> None:
        self.spool.close()
        self.folder.cleanup()


TestSpoolModel = SpoolModel.TestCase
TestSpoolModel.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)
