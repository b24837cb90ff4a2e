"""Power loss at any stage of the closed loop: after a restart nothing is lost, doubled or stuck."""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ledger.signing import same_address
from tests.e2e.crash_kit import (
    FINAL_ORDER_STATES,
    JOB_RANK,
    ORDER_RANK,
    STAGES,
    ChainView,
    CrashSite,
    ServerProcess,
    Snapshot,
    chain_saved_block,
    create_order,
    open_orders,
    prepare_site,
    read_chain,
    read_only,
    snapshot,
    stages,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

CLOSED_ORDER_STATES = frozenset({"certified", "rejected"})
"""Where every order ends: a crash never cancels one (only the MES does, and it does not here)."""

SEED = int(os.environ.get("TRUSTFLOOR_CRASH_SEED", "40540"))
"""Draws the aimed stages, the order quantities and how far into its stage each kill lands;
printed with the results. Set TRUSTFLOOR_CRASH_SEED to replay a failure or explore others."""
POLL_S = 0.1
INGEST_LOOKBACK = 5
"""Ingest is under way when the historian grew over the last this-many polls."""
KILL_DELAY_S = 0.8
"""A kill lands up to this long after its stage was first seen (halved when the stage ends)."""
STAGE_TIMEOUT_S = 30.0
MIN_KILLS = 3
"""Kills go on, each aimed at a stage not interrupted yet, until every stage was (at least 3)."""
LOOP_STAGES = [stage for stage in STAGES if stage != "ingest"]
"""The stages a kill aims at; ingest runs all the time, so every kill interrupts it too."""
OPEN_ORDERS = 2
RECOVERY_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Kill:
    """One SIGKILL: the stage it aimed at, the stages the stores showed, what they held."""

    aimed: str
    stages: frozenset[str]
    before: Snapshot
    chain_kept_block: int
    """The newest block the chain node had saved when it was killed: later ones are lost."""


async def read(site: CrashSite, saved_block: int = 0) -> Snapshot:
    return await asyncio.to_thread(snapshot, site, chain_saved_block(site, saved_block))


@dataclass
class Mes:
    """The MES: places print orders on the running server and remembers each one it placed."""

    site: CrashSite
    endpoint: str = ""
    placed: list[str] = field(default_factory=list)

    async def order(self, quantity: int) -> None:
        self.placed.append(await create_order(self.site, self.endpoint, quantity))


async def provoke(mes: Mes, aimed: str, rng: random.Random) -> None:
    """Give the aimed stage work: open orders (a new one to dispatch when dispatch is aimed).

    With two orders open, one waits for the printer while the other's pieces print, seal and
    anchor, so a kill usually interrupts several stages at once."""
    quantities = [rng.randint(1, 2) for _ in range(OPEN_ORDERS)]
    if aimed == "ingest":
        return
    missing = OPEN_ORDERS - len(open_orders(await read(mes.site)))
    for quantity in quantities[: max(missing, int(aimed == "dispatch"))]:
        await mes.order(quantity)


async def kill_during(mes: Mes, server: ServerProcess, aimed: str, delay_s: float) -> Kill:
    """Poll the stores; ``delay_s`` into the aimed stage, SIGKILL the whole process group.

    The MES orders one more piece whenever every order is closed before the stage was hit."""
    site = mes.site
    loop = asyncio.get_running_loop()
    recent: deque[Snapshot] = deque([await read(site)], maxlen=INGEST_LOOKBACK)
    seen_since: float | None = None
    deadline = loop.time() + STAGE_TIMEOUT_S
    while loop.time() < deadline:
        await asyncio.sleep(POLL_S)
        now = await read(site, recent[-1].chain_saved_block)
        found = stages(now, recent[0])
        recent.append(now)
        if aimed != "ingest" and not open_orders(now):
            await mes.order(1)
        if aimed not in found:
            if seen_since is not None:
                seen_since, delay_s = None, delay_s / 2
            continue
        seen_since = loop.time() if seen_since is None else seen_since
        if loop.time() - seen_since >= delay_s:
            await server.kill()
            return Kill(aimed, found, now, chain_saved_block(site, now.chain_saved_block))
    raise AssertionError(f"seed {SEED}: the stores never showed {aimed} for {delay_s:.2f} s")


async def recovered(site: CrashSite) -> Snapshot:
    """The stores once every order is closed and every certificate anchored."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECOVERY_TIMEOUT_S
    while waiting := pending(now := await read(site)):
        if loop.time() > deadline:
            raise AssertionError(f"seed {SEED}: still pending after restart: {waiting}")
        await asyncio.sleep(0.5)
    return now


def pending(now: Snapshot) -> list[str]:
    """What is still under way: open orders, unfinished jobs, unsealed or unanchored records."""
    return [
        *(f"order {o} is {s}" for o, s in now.orders.items() if s not in CLOSED_ORDER_STATES),
        *(f"part {p} is {s}" for p, (_, s) in now.jobs.items() if s != "certified"),
        *(f"part {p} has no certificate" for p in now.jobs.keys() - now.certificates.keys()),
        *(f"certificate {p} is in no batch" for p, c in now.certificates.items() if not c.root),
        *(f"batch {r.hex()} is {b.state}" for r, b in now.batches.items() if b.state != "anchored"),
    ]


def assert_nothing_lost(before: Snapshot, after: Snapshot) -> None:
    """Every record seen before a kill is still there, in the same or a later state."""
    assert before.readings <= after.readings, "historian rows lost"
    for order, state in before.orders.items():
        later = after.orders.get(order)
        assert later is not None, f"order {order} lost"
        if state in FINAL_ORDER_STATES:
            assert later == state, f"order {order} went from {state} to {later}"
        else:
            assert ORDER_RANK.get(later, 99) >= ORDER_RANK[state], f"{order}: {state} -> {later}"
    for part, (order, state) in before.jobs.items():
        assert part in after.jobs, f"part {part} lost"
        assert after.jobs[part][0] == order
        assert JOB_RANK[after.jobs[part][1]] >= JOB_RANK[state], f"part {part} went back"
    for part, certificate in before.certificates.items():
        kept = after.certificates.get(part)
        assert kept is not None, f"certificate of {part} lost"
        assert kept.leaf_hash == certificate.leaf_hash, f"certificate of {part} changed"
        assert certificate.root is None or kept.root == certificate.root, f"{part} moved batch"
    assert before.batches.keys() <= after.batches.keys(), "sealed batches lost"


def assert_nothing_doubled(site: CrashSite, after: Snapshot, ordered: list[str]) -> None:
    """One row per reading, one order per MES call, pieces numbered without gaps and never more
    good ones than ordered, one certificate per part."""
    with read_only(site.store("telemetry.sqlite")) as db:
        assert doubles(db, "readings", "point, ts_us") == 0
        assert doubles(db, "points", "machine, tag") == 0
    with read_only(site.store("ledger.sqlite")) as db:
        assert doubles(db, "leaves", "serial", "WHERE kind = 'certificate'") == 0
        assert doubles(db, "jobs", "serial") == 0
    assert sorted(after.orders) == sorted(ordered), "orders the MES did not place, or lost"
    for order, quantity in after.quantities.items():
        serials = sorted(part for part, (of, _) in after.jobs.items() if of == order)
        assert serials == [f"{order}-{n:02d}" for n in range(1, len(serials) + 1)]
        good = [part for part in serials if after.certificates[part].verdict == "pass"]
        assert len(good) <= quantity, f"{order}: {len(good)} good pieces, {quantity} ordered"
        if after.orders[order] == "certified":
            assert len(good) == quantity, f"{order} certified with {len(good)} of {quantity}"


def doubles(db: sqlite3.Connection, table: str, columns: str, where: str = "") -> int:
    """How many values of ``columns`` occur in more than one row of ``table``."""
    query = (
        f"SELECT count(*) FROM (SELECT 1 FROM {table} {where} GROUP BY {columns}"
        " HAVING count(*) > 1)"
    )
    return int(db.execute(query).fetchone()[0])


def assert_anchored_once(site: CrashSite, after: Snapshot, chain: ChainView) -> None:
    """Each sealed batch's root is anchored exactly once, by the site, as its receipt says; the
    licence counted every certificate once."""
    roots = Counter(anchor.root for anchor in chain.anchors)
    assert roots == Counter(after.batches.keys()), "anchors on chain differ from sealed batches"
    for anchor in chain.anchors:
        batch = after.batches[anchor.root]
        assert same_address(anchor.issuer, site.key.address)
        assert (batch.tx_hash, batch.block) == (anchor.tx_hash, anchor.block), "stale receipt"
    assert chain.licence_used == len(after.certificates), "pieces counted on chain"


def anchors_lost(kills: list[Kill]) -> set[bytes]:
    """Roots anchored in blocks the killed chain node had not saved: reconcile sends them again."""
    return {
        root
        for kill in kills
        for root, batch in kill.before.batches.items()
        if batch.block is not None and batch.block > kill.chain_kept_block
    }


def interrupted(kills: list[Kill]) -> frozenset[str]:
    return frozenset().union(*(kill.stages for kill in kills))


def hit_every_stage(kills: list[Kill]) -> bool:
    return interrupted(kills) >= set(STAGES)


async def test_sigkill_at_every_stage_loses_doubles_and_strands_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    print(f"\ncrash-safety seed {SEED}")
    site = await prepare_site(tmp_path)
    mes = Mes(site)
    kills: list[Kill] = []
    servers: list[ServerProcess] = []
    try:
        while len(kills) < MIN_KILLS or not hit_every_stage(kills):
            aimed = rng.choice([s for s in LOOP_STAGES if s not in interrupted(kills)] or STAGES)
            servers.append(server := await ServerProcess.start(site, len(servers) + 1))
            mes.endpoint = await server.endpoint()
            await provoke(mes, aimed, rng)
            kills.append(await kill_during(mes, server, aimed, rng.uniform(0, KILL_DELAY_S)))
            print(f"kill {len(kills)}: aimed at {aimed}, stores showed {sorted(kills[-1].stages)}")
        servers.append(server := await ServerProcess.start(site, len(servers) + 1))
        await server.endpoint()
        after = await recovered(site)
        chain = await read_chain(site)
        status = await server.terminate()
    finally:
        for started in servers:
            if started.process.returncode is None:
                await started.kill()
    for kill in kills:
        assert_nothing_lost(kill.before, after)
    print(
        f"after {len(kills)} kills: {len(after.orders)} orders, {len(after.jobs)} parts,"
        f" {len(after.batches)} batches; {len(anchors_lost(kills))} anchors lost with the chain"
        " node and anchored again"
    )
    assert_nothing_doubled(site, after, mes.placed)
    assert_anchored_once(site, after, chain)
    assert status == 0, server.output()
    assert "stopped cleanly" in server.output()
    for started in servers:
        assert "Traceback" not in started.output(), started.output()
