"""The web console's gate against a real listener: sign-in, form tokens, roles, idle sessions."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from config import Role, User, WebSettings
from maintenance import SqliteOrderBook
from models.timebase import ManualClock
from opcua_server.security.audit import AuditLog
from opcua_server.security.login_guard import LoginPolicy
from opcua_server.security.passwords import hash_password
from opcua_server.security.users import ConfigUserManager
from opcua_server.web import ConsoleServices, WebConsole
from tests.support import PASSWORDS

pytestmark = pytest.mark.asyncio(loop_scope="session")

PRINT_HOURS = 12.0
ROLES = {"planner": Role.PLANNER, "auditor": Role.AUDITOR}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Console:
    web: WebConsole
    clock: ManualClock
    audit: AuditLog
    orders: SqliteOrderBook

    @property
    def url(self) -> str:
        return self.web.url.rstrip("/")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def console(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Console]:
    folder: Path = tmp_path_factory.mktemp("web")
    clock = ManualClock()
    users = tuple(
        User(name=name, role=role, password_hash=hash_password(PASSWORDS[name]))
        for name, role in ROLES.items()
    )
    audit = AuditLog(folder / "audit.log")
    orders = SqliteOrderBook(folder / "orders.sqlite", clock=clock)
    manager = ConfigUserManager(
        users, {}, audit=audit, policy=LoginPolicy(backoff_s=0.0, max_failures=3), clock=clock
    )
    services = ConsoleServices(
        audit=audit,
        users=manager,
        roles={u.name: u.role for u in users},
        orders=orders,
        print_hours={"bracket": PRINT_HOURS},
    )
    web = WebConsole(WebSettings(enabled=True, port=0, session_idle_s=60), services, clock)
    await web.start()
    yield Console(web, clock, audit, orders)
    await web.stop()
    await orders.close()


def client(console: Console) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=console.url, follow_redirects=False)


async def sign_in(http: httpx.AsyncClient, user: str, password: str | None = None) -> str:
    """Sign in through the form; the session's form token."""
    form = await http.get("/login")
    token = TOKEN.search(form.text)
    assert token is not None
    answer = await http.post(
        "/login",
        data={
            "csrf_token": token.group(1),
            "username": user,
            "password": PASSWORDS[user] if password is None else password,
        },
    )
    assert answer.status_code == 303, answer.text
    board = await http.get("/")
    found = TOKEN.search(board.text)
    assert found is not None
    return found.group(1)


async def test_pages_redirect_to_the_login_and_the_api_answers_401(console: Console) -> None:
    async with client(console) as http:
        assert (await http.get("/")).headers["location"] == "/login"
        assert (await http.get("/orders")).headers["location"] == "/login?next=/orders"
        assert (await http.get("/api/alerts")).status_code == 401
        assert (await http.get("/api/openapi.json")).status_code == 401
        assert (await http.post("/api/orders", json={})).status_code == 401
        assert (await http.get("/static/htmx.min.js")).status_code == 200
        assert (await http.get("/login")).status_code == 200


async def test_the_login_form_token_is_checked_before_the_password(console: Console) -> None:
    before = len(console.audit.entries())
    async with client(console) as http:
        answer = await http.post(
            "/login", data={"username": "planner", "password": PASSWORDS["planner"]}
        )
    assert answer.status_code == 403
    assert "trustfloor_session" not in answer.cookies
    assert len(console.audit.entries()) == before, "no password was checked"


async def test_a_wrong_password_is_refused_and_audited_like_over_opcua(console: Console) -> None:
    async with client(console) as http:
        form = await http.get("/login")
        token = TOKEN.search(form.text)
        assert token is not None
        answer = await http.post(
            "/login",
            data={"csrf_token": token.group(1), "username": "auditor", "password": "wrong"},
        )
    assert answer.status_code == 401
    last = console.audit.entries()[-1]
    assert (last.user, last.action, last.result) == ("auditor", "login", "BadUserAccessDenied")
    assert last.detail.startswith("peer web 127.0.0.1")


async def test_the_session_cookie_is_httponly_and_strict(console: Console) -> None:
    async with client(console) as http:
        form = await http.get("/login")
        token = TOKEN.search(form.text)
        assert token is not None
        answer = await http.post(
            "/login",
            data={
                "csrf_token": token.group(1),
                "username": "planner",
                "password": PASSWORDS["planner"],
                "next": "//elsewhere.example/",
            },
        )
    cookie = answer.headers["set-cookie"].lower()
    assert "trustfloor_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" not in cookie, "plain HTTP: a Secure cookie would never come back"
    assert answer.headers["location"] == "/", "no redirect off the site"


async def test_a_post_without_the_form_token_gets_403(console: Console) -> None:
    async with client(console) as http:
        await sign_in(http, "planner")
        form = {"design_id": "bracket", "quantity": "1"}
        assert (await http.post("/orders", data=form)).status_code == 403
        assert (await http.post("/api/orders", json={"design_id": "bracket"})).status_code == 403
    assert await console.orders.list_orders() == []


async def test_a_planner_creates_and_cancels_an_order_each_audited(console: Console) -> None:
    async with client(console) as http:
        token = await sign_in(http, "planner")
        created = await http.post(
            "/api/orders",
            json={"design_id": "bracket", "quantity": 2, "reason": "spare"},
            headers={"X-CSRF-Token": token},
        )
        assert created.status_code == 201, created.text
        order_id = created.json()["id"]
        listed = await http.get("/orders")
        assert order_id in listed.text
        cancelled = await http.post(f"/orders/{order_id}/cancel", data={"csrf_token": token})
        assert cancelled.status_code == 303
    assert (await console.orders.get_order(order_id)).state.value == "cancelled"
    actions = [(e.user, e.action, e.target) for e in console.audit.entries()]
    assert ("planner", "web CreatePrintOrder", order_id) in actions
    assert ("planner", "web CancelPrintOrder", order_id) in actions


async def test_an_auditor_may_not_order_as_over_opcua(console: Console) -> None:
    async with client(console) as http:
        token = await sign_in(http, "auditor")
        answer = await http.post(
            "/api/orders", json={"design_id": "bracket"}, headers={"X-CSRF-Token": token}
        )
        page = await http.get("/orders")
    assert answer.status_code == 403
    assert "auditor may not CreatePrintOrder" in answer.json()["detail"]
    assert "New order" not in page.text
    last = console.audit.entries()[-1]
    assert (last.user, last.action, last.result) == (
        "auditor",
        "web CreatePrintOrder",
        "BadUserAccessDenied",
    )


async def test_an_idle_session_signs_out_and_logout_ends_it(console: Console) -> None:
    async with client(console) as http:
        token = await sign_in(http, "planner")
        console.clock.advance(59)
        assert (await http.get("/api/session")).status_code == 200
        console.clock.advance(60)
        assert (await http.get("/api/session")).status_code == 401
        token = await sign_in(http, "planner")
        assert (await http.post("/logout", data={"csrf_token": token})).status_code == 303
        assert (await http.get("/")).status_code == 303


async def test_the_api_is_described_by_openapi(console: Console) -> None:
    async with client(console) as http:
        await sign_in(http, "planner")
        described = (await http.get("/api/openapi.json")).json()
    paths = described["paths"]
    for path in ("/api/alerts", "/api/orders", "/api/parts", "/api/parts/{serial}"):
        assert path in paths
    assert "/login" not in paths


async def test_the_public_page_needs_no_login_and_is_rate_limited(console: Console) -> None:
    budget = console.web.settings.public_requests_per_minute
    async with client(console) as http:
        answers = [(await http.get("/verify/UNKNOWN-1")).status_code for _ in range(budget)]
        assert set(answers) == {404}, "unknown serial, and no sign-in asked"
        assert (await http.get("/verify/UNKNOWN-1")).status_code == 429
        console.clock.advance(61)
        assert (await http.get("/verify/UNKNOWN-1")).status_code == 404


async def test_a_body_larger_than_the_console_takes_is_refused_unread(console: Console) -> None:
    async with client(console) as http:
        token = await sign_in(http, "planner")
        answer = await http.post(
            "/api/verify", content=b"x" * 2_000_001, headers={"X-CSRF-Token": token}
        )
    assert answer.status_code == 413


async def test_the_board_shows_when_an_open_order_should_be_ready(console: Console) -> None:
    async with client(console) as http:
        token = await sign_in(http, "planner")
        created = await http.post(
            "/api/orders", json={"design_id": "bracket"}, headers={"X-CSRF-Token": token}
        )
        board = await http.get("/")
    order = await console.orders.get_order(created.json()["id"])
    ready = order.created_at + timedelta(hours=PRINT_HOURS)
    row = board.text[board.text.index(f'id="order-{order.id}"') :]
    assert ready.strftime("%Y-%m-%d %H:%M") in row[: row.index("</tr>")]


async def test_the_board_shows_a_held_order_with_its_recall_and_a_planner_may_cancel_it(
    console: Console,
) -> None:
    order = await console.orders.create_order("bracket", 1, "spare", "mes")
    await console.orders.hold_order(order.id, "qe-anna", "recall RC-0007")
    async with client(console) as http:
        token = await sign_in(http, "planner")
        board = await http.get("/")
        row = board.text[board.text.index(f'id="order-{order.id}"') :]
        assert "held (recall RC-0007)" in row[: row.index("</tr>")]
        page = await http.get("/orders")
        assert f'aria-label="Cancel order {order.id}"' in page.text
        cancelled = await http.post(f"/orders/{order.id}/cancel", data={"csrf_token": token})
        assert cancelled.status_code == 303
    assert (await console.orders.get_order(order.id)).state.value == "cancelled"
