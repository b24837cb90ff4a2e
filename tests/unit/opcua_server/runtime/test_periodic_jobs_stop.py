"""Stopping the periodic jobs lets a turn under way end instead of cancelling it."""

from __future__ import annotations

import asyncio

import pytest

from opcua_server.runtime.scheduling import PeriodicJobs

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_job_under_way_when_the_jobs_stop_ends_its_turn() -> None:
    started, release, ended = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def turn() -> None:
        started.set()
        await release.wait()  # an answer from the chain, say, still on its way
        ended.set()

    jobs = PeriodicJobs()
    jobs.every(0.01, turn, "slow turn")
    jobs.start()
    await asyncio.wait_for(started.wait(), 30)
    stopping = asyncio.create_task(jobs.stop())
    await asyncio.sleep(0)  # the stop is under way before the answer arrives
    release.set()
    await asyncio.wait_for(stopping, 30)
    assert ended.is_set(), "the turn was cancelled by the stop"
