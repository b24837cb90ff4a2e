"""A recall by one lot, end to end: frozen and anchored in one batch, the open order held, the
webhook told, each part closed; verify says suspended (then lifted); a recall that revokes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ledger.store import LedgerStore
from maintenance import SqliteOrderBook
from models import ExitCode, OrderState, PrintOrder, RecordKind
from opcua_server.cli.main import main
from opcua_server.runtime.web_services import SiteAfterSales
from tests.integration.aftersales.kit import LOT_A, LOT_B, Floor, build_floor
from tests.integration.maintenance.webhook_kit import SECRET, Receiver, running_receiver


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as receiving:
        yield receiving


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Floor:
    return asyncio.run(build_floor(tmp_path_factory.mktemp("recall")))


@pytest.fixture(scope="module")
def config(floor: Floor, receiver: Receiver) -> Path:
    """The site's config: its data directory, its local chain, the planners' webhook."""
    path = floor.data_dir.parent / "site.toml"
    path.write_text(
        f'data_dir = "{floor.data_dir}"\n\n[chain]\nchain_id = {floor.settings.chain.chain_id}\n\n'
        f'[maintenance.webhook]\nurl = "{receiver.url}"\n'
    )
    return path


@pytest.fixture(autouse=True)
def webhook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTFLOOR_WEBHOOK_SECRET", SECRET.decode())


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().out


def run_json(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> Any:
    code, out = run(capsys, *argv, "--json")
    assert code == ExitCode.OK, out
    return json.loads(out)


def verify(capsys: pytest.CaptureFixture[str], config: Path, serial: str) -> tuple[int, str]:
    bundle = config.parent / f"{serial}.json"
    assert (
        main(["certificate", "export", serial, "--out", str(bundle), "--config", str(config)]) == 0
    )
    return run(capsys, "verify", bundle, "--config", config)


def order_of(floor: Floor, order_id: str) -> PrintOrder:
    async def read() -> PrintOrder:
        book = SqliteOrderBook(floor.data_dir / floor.settings.maintenance.orders_file)
        try:
            return await book.get_order(order_id)
        finally:
            await book.close()

    return asyncio.run(read())


def order_state(floor: Floor, order_id: str) -> OrderState:
    return order_of(floor, order_id).state


def new_order(floor: Floor, lot: str) -> str:
    """A new MES order for ``lot``, not printed yet."""

    async def create() -> str:
        book = SqliteOrderBook(floor.data_dir / floor.settings.maintenance.orders_file)
        try:
            order = await book.create_order(
                "pump-impeller", 1, "stock", "mes", design_revision="C", material_lot=lot
            )
            return order.id
        finally:
            await book.close()

    return asyncio.run(create())


def test_a_recall_by_lot_is_followed_from_suspension_to_closure(
    floor: Floor, config: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    opened = run_json(
        capsys,
        *("recall", "create", "--lot", LOT_A, "--reason", "powder lot contaminated"),
        *("--disposition", "return", "--by", "qe-anna", "--config", config),
    )
    campaign = opened["id"]
    assert [p["serial"] for p in opened["parts"]] == ["P-A1", "P-A2"]
    assert opened["records"] == 2
    assert opened["anchor"]["root"] == opened["batch_root"]
    assert opened["held_orders"] == [floor.open_order.id]
    assert opened["notified"] == "delivered"
    held = order_of(floor, floor.open_order.id)
    assert (held.state, held.state_reason) == (OrderState.HELD, f"recall {campaign}")
    [notice] = receiver.delivered
    assert notice.signed
    assert notice.json()["event"] == "recall.opened"
    assert notice.json()["affected_sha256"] == opened["affected_sha256"]

    store = LedgerStore(floor.data_dir / floor.settings.ledger.sqlite_file)
    try:
        suspensions = [store.leaf(s, RecordKind.SUSPENSION) for s in ("P-A1", "P-A2")]
        assert len({row.batch.id for row in suspensions if row and row.batch}) == 1
        assert len(store.suspended_positions()) == 2
    finally:
        store.close()

    code, out = verify(capsys, config, "P-A1")
    assert code == ExitCode.INVALID
    assert f"suspended by recall campaign {campaign}" in out
    traced = run_json(capsys, "trace", "--lot", LOT_A, "--config", config)
    assert {p["certificate"] for p in traced["parts"]} == {"suspended"}
    assert traced["parts"][0]["recalls"] == [{"campaign": campaign, "closure": None}]

    fine = run_json(
        capsys,
        *("recall", "close-part", campaign, "P-A1", "--as", "inspected-ok"),
        *("--note", "CT scan clean", "--by", "qe-ben", "--config", config),
    )
    assert fine["record"] == "reinstatement"
    assert not fine["campaign_closed"]
    code, out = verify(capsys, config, "P-A1")
    assert code == ExitCode.OK, out
    assert f"suspension by recall campaign {campaign} lifted" in out

    replaced = run_json(
        capsys,
        *("recall", "close-part", campaign, "P-A2", "--as", "replaced", "--by", "tech-carl"),
        *("--config", config),
    )
    assert replaced["replacement_order"]
    assert replaced["campaign_closed"]
    assert order_state(floor, replaced["replacement_order"]) is OrderState.CREATED
    assert replaced["released_orders"] == []  # a part was replaced: the lot stays in doubt
    assert order_state(floor, floor.open_order.id) is OrderState.HELD
    assert [r.json()["event"] for r in receiver.delivered] == ["recall.opened", "recall.closed"]

    shown = run_json(capsys, "recall", "show", campaign, "--config", config)
    assert shown["state"] == "closed"
    assert shown["progress"] == {"closed": 2, "total": 2}
    assert [(p["closure"], p["closed_by"]) for p in shown["parts"]] == [
        ("inspected-ok", "qe-ben"),
        ("replaced", "tech-carl"),
    ]
    assert shown["orders_still_held"] == [floor.open_order.id]
    code, out = run(capsys, "recall", "show", campaign, "--config", config)
    assert "(closed): 2 of 2 part(s) closed" in out
    assert f"held orders {floor.open_order.id} (1 still held)" in out
    released = run_json(
        capsys, "recall", "release-orders", campaign, "--by", "qe-anna", "--config", config
    )
    assert released == {"campaign": campaign, "released": [floor.open_order.id]}
    assert order_state(floor, floor.open_order.id) is OrderState.CREATED
    code, out = run(capsys, "recall", "list", "--config", config)
    assert out.startswith(f"recall {campaign} (closed): 2 of 2 part(s) closed")


def test_a_recall_that_revokes_and_a_part_taken_back(
    floor: Floor, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opened = run_json(
        capsys,
        *("recall", "create", "--lot", LOT_B, "--reason", "porosity", "--revoke"),
        *("--disposition", "scrap", "--config", config),
    )
    assert opened["action"] == "revoke"
    assert opened["records"] == 2
    traced = run_json(capsys, "trace", "--lot", LOT_B, "--config", config)
    assert {p["certificate"] for p in traced["parts"]} == {"revoked"}
    code, out = run(
        capsys, "take-back", "P-B1", "--dismantled", "--by", "tech-carl", "--config", config
    )
    assert code == ExitCode.OK
    assert "P-B1: taken-back by tech-carl" in out
    assert "P-B1: dismantled by tech-carl" in out
    [part] = run_json(capsys, "trace", "--serial", "P-B1", "--config", config)["parts"]
    assert [e["event"] for e in part["end_of_life"]] == ["taken-back", "dismantled"]
    code, out = run(capsys, "trace", "--serial", "P-B1", "--config", config)
    assert "recall RC-0002 (open)  taken-back" in out
    code, out = verify(capsys, config, "P-B1")
    assert code == ExitCode.INVALID  # revoked by the recall
    assert "end of life: taken-back at" in out
    assert "dismantled at" in out


def test_a_recall_that_names_no_part_is_refused(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["recall", "create", "--lot", "NO-SUCH-LOT", "--reason", "x", "--config", str(config)]
    )
    assert code == ExitCode.FAILURE
    assert "nothing to recall" in capsys.readouterr().err


def held_on_the_console(floor: Floor, campaign_id: str) -> Sequence[str]:
    """The orders the web console's Recalls page lists as held by the campaign."""
    views = asyncio.run(SiteAfterSales(floor.settings).recalls())
    return next(view for view in views if view.id == campaign_id).held_orders


def test_held_orders_are_released_when_every_part_is_inspected_ok_or_cancelled(
    floor: Floor, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    order = new_order(floor, LOT_A)
    inspect = [*("recall", "create", "--lot", LOT_A, "--reason", "check the lot again")]
    opened = run_json(capsys, *inspect, "--disposition", "inspect", "--config", config)
    assert order in opened["held_orders"]
    assert order in held_on_the_console(floor, opened["id"])
    for serial in ("P-A1", "P-A2"):
        closed = run_json(
            capsys,
            *("recall", "close-part", opened["id"], serial, "--as", "inspected-ok"),
            *("--config", config),
        )
    assert closed["campaign_closed"]
    assert order in closed["released_orders"]
    assert order_state(floor, order) is OrderState.CREATED

    first = run_json(capsys, *inspect, "--config", config)["id"]
    opened = run_json(capsys, *inspect, "--config", config)
    assert order in opened["held_orders"]  # held by both campaigns now
    release = ("recall", "release-orders")
    assert run_json(capsys, *release, first, "--config", config)["released"] == []
    assert order_state(floor, order) is OrderState.HELD  # the other campaign still holds it
    cancelled = run_json(capsys, "recall", "cancel-orders", opened["id"], "--config", config)
    assert order in cancelled["cancelled"]
    assert order_state(floor, order) is OrderState.CANCELLED
    code, out = run(capsys, "recall", "release-orders", opened["id"], "--config", config)
    assert code == ExitCode.OK
    assert "orders released: none" in out
