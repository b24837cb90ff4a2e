"""The web console in a real browser (Debian's Chromium, driven by Playwright) on a real site."""

# One site serves every test of this module (start-up is slow on two cores): it has one mill,
# one printer and the demo's designs. An alert raised by the test appears on the planner's board
# without a reload; acknowledging it there is seen by an OPC UA client; the spare-part order it
# raises is printed and certified, and its certificate page, proof bundle and public page are
# checked. Screenshots of each page go to the test's tmp folder; with UPDATE_SCREENSHOTS=1 the
# board and the part page are also copied to docs/screenshots/ for the README.

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import math
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import ua
from playwright.async_api import Browser, Page, async_playwright, expect

from ledger import TraceCriteria
from ledger.recall import Disposition
from maintenance.alert_policy import Observation
from models import HealthScore, HealthState, OrderState
from opcua_server.runtime.recalls import open_recall_office
from opcua_server.runtime.site import Site
from tests.support import (
    PASSWORDS,
    REPO,
    secure_client,
    site_settings,
    trusted_client_certificate,
    wait_for,
)

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]

CHROMIUM = "/usr/bin/chromium"
MACHINE, COMPONENT = "mill-1", "spindle_bearing"
DESIGN = "spindle-bearing-housing"
PRINTED_WITHIN_S = 240.0
"""Bound on printing and certifying one part on the simulated printer (never a measurement)."""
UI_WAIT_MS = 20_000
FINAL_STATES = (OrderState.CERTIFIED, OrderState.REJECTED, OrderState.CANCELLED)
BUSY_PIECES = 5
"""About four seconds a piece on the simulated printer: the time a test has to cancel."""
ENVIRON = {"TRUSTFLOOR_DEMO_PASSWORD": "web-console-e2e"}


@dataclass
class WebSite:
    site: Site
    browser: Browser
    url: str
    screens: Path
    client_cert: tuple[Path, Path]
    stock_order: str
    """An order for one part, raised at start: its certificate is the one the tests open."""

    @contextlib.asynccontextmanager
    async def page(self, user: str | None = None) -> AsyncIterator[Page]:
        """A fresh browser context (its own cookies), signed in as ``user`` when given; closed
        after use, which ends its live stream."""
        context = await self.browser.new_context(base_url=self.url)
        context.set_default_timeout(UI_WAIT_MS)
        try:
            page = await context.new_page()
            if user is not None:
                await sign_in(page, user)
            yield page
        finally:
            await context.close()

    async def shot(self, page: Page, name: str) -> Path:
        path = self.screens / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path


async def sign_in(page: Page, user: str) -> None:
    await page.goto("/login")
    await page.get_by_label("User name").fill(user)
    await page.get_by_label("Password").fill(PASSWORDS[user])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def web(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebSite]:
    folder = tmp_path_factory.mktemp("web-console")
    settings = site_settings(folder / "var", machines=1)
    settings = settings.model_copy(
        update={
            "web": settings.web.model_copy(update={"enabled": True, "port": 0}),
            "maintenance": settings.maintenance.model_copy(update={"min_duration_s": 0.0}),
            "ledger": settings.ledger.model_copy(update={"batch_max_age_s": 1}),
        }
    )
    site = Site(settings, environ=ENVIRON, demo_designs=True)
    await site.start()
    assert site.web is not None
    assert site.server is not None
    trusted = site.server.pki.trusted
    trusted.mkdir(parents=True, exist_ok=True)
    cert = trusted_client_certificate(trusted, folder / "client", "web-e2e")
    screens = folder / "screenshots"
    screens.mkdir()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            assert site.order_book is not None
            stock = await site.order_book.create_order(DESIGN, 1, "stock", "e2e")
            yield WebSite(site, browser, site.web.url.rstrip("/"), screens, cert, stock.id)
        finally:
            await browser.close()
            await site.stop()
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        for name in ("board", "part"):
            if (screens / f"{name}.png").exists():
                shutil.copy(screens / f"{name}.png", REPO / "docs" / "screenshots" / f"{name}.png")


async def acked_over_opcua(web: WebSite) -> bool:
    """AckedState/Id of the mill's alarm condition, read by an OPC UA client (the MES)."""
    assert web.site.server is not None
    assert web.site.server.namespaces is not None
    ns = web.site.server.namespaces.site
    client = await secure_client(web.site.server.endpoint, web.client_cert, user="mes")
    async with client:
        condition = client.get_node(ua.NodeId(f"Alarms/{MACHINE}/{COMPONENT}", ns))
        acked = await condition.get_child(["0:AckedState", "0:Id"])
        return bool(await acked.read_value())


async def certified_serial(web: WebSite) -> str:
    """The serial of the part printed for the module's stock order, once it is certified."""
    book = web.site.order_book
    assert book is not None

    async def state() -> OrderState:
        return (await book.get_order(web.stock_order)).state

    done = await wait_for(state, lambda s: s in FINAL_STATES, timeout_s=PRINTED_WITHIN_S)
    assert done is OrderState.CERTIFIED
    return f"{web.stock_order}-01"


async def printer_busy(web: WebSite) -> None:
    """Keep the one printer printing for a while, so that a new order waits (and can be
    cancelled: an order is cancelled only before it prints)."""
    book = web.site.order_book
    assert book is not None
    filler = await book.create_order(DESIGN, BUSY_PIECES, "keeps the printer busy", "e2e")

    async def state() -> OrderState:
        return (await book.get_order(filler.id)).state

    await wait_for(state, lambda s: s is OrderState.PRINTING, timeout_s=PRINTED_WITHIN_S)


async def test_an_alert_appears_live_and_its_acknowledgement_reaches_opcua(web: WebSite) -> None:
    async with web.page("planner") as page:
        await expect(page.get_by_text("No open alerts.")).to_be_visible()
        await page.evaluate("window.stayedOnThisPage = true")
        alerts = web.site.alerts
        assert alerts is not None
        score = HealthScore(
            machine=MACHINE,
            ts=web.site.clock.now(),
            anomaly_score=5.0,
            rul_low=30.0,
            rul_high=60.0,
            state=HealthState.ALARM,
            top_contributors=("vibration_rms",),
        )
        [alert] = await alerts.observe([Observation(score, COMPONENT)])
        row = page.locator(f"#alert-{alert.id}")
        await expect(row).to_be_visible()
        assert await page.evaluate("window.stayedOnThisPage") is True, "the board was not reloaded"
        await web.shot(page, "board")
        assert not await acked_over_opcua(web)
        await row.get_by_label(f"Comment on {MACHINE} {COMPONENT}").fill("seen, part on order")
        await row.get_by_role("button", name="Acknowledge").click()
        await expect(page.locator(f"#alert-{alert.id} .state")).to_contain_text("acknowledged")
        assert await acked_over_opcua(web)
        audit = web.site.server.audit.entries() if web.site.server else []
        assert any(e.user == "planner" and e.action == "web Acknowledge" for e in audit)


async def test_a_planner_creates_and_cancels_an_order(web: WebSite) -> None:
    await printer_busy(web)
    async with web.page("planner") as page:
        await page.goto("/orders")
        await page.get_by_label("Design id").fill(DESIGN)
        await page.get_by_label("Quantity").fill("1")
        await page.get_by_label("Reason").fill("stock for the spring shutdown")
        await page.get_by_role("button", name="Create order").click()
        notice = page.get_by_role("status")
        await expect(notice).to_contain_text("created")
        order_id = (await notice.inner_text()).split()[1]
        await web.shot(page, "orders")
        await page.get_by_role("button", name=f"Cancel order {order_id}").click()
        await expect(page.locator(f"#order-{order_id} .state")).to_contain_text("cancelled")
        book = web.site.order_book
        assert book is not None
        assert (await book.get_order(order_id)).state is OrderState.CANCELLED


async def test_a_role_without_the_right_is_refused(web: WebSite) -> None:
    async with web.page("auditor") as page:
        await page.goto("/orders")
        await expect(page.get_by_role("button", name="Create order")).to_have_count(0)
        token = await page.request.get("/api/session")
        answer = await page.request.post(
            "/api/orders",
            data=json.dumps({"design_id": DESIGN, "quantity": 1}),
            headers={
                "X-CSRF-Token": (await token.json())["csrf_token"],
                "Content-Type": "application/json",
            },
        )
        assert answer.status == 403
        assert "auditor may not CreatePrintOrder" in (await answer.json())["detail"]


async def test_a_quality_engineer_traces_a_part_by_its_lot_and_an_auditor_may_not(
    web: WebSite,
) -> None:
    serial = await certified_serial(web)
    async with web.page("quality_engineer") as page:
        await page.goto(f"/parts/{serial}")
        await page.goto("/trace")
        await page.get_by_label("Serial").fill(serial)
        await page.get_by_role("button", name="Trace").click()
        row = page.locator("#trace-parts tbody tr").filter(has_text=serial)
        await expect(row).to_have_count(1)
        lot = (await row.locator("td").nth(3).inner_text()).strip()
        assert lot
        await page.goto("/trace")
        await page.get_by_label("Material lot").fill(lot)
        await page.get_by_role("button", name="Trace").click()
        await expect(page.locator("#trace-parts tbody tr").filter(has_text=serial)).to_have_count(1)
        await page.goto("/trace?lot=NO-SUCH-LOT")
        await expect(page.locator("#traced")).to_have_text("0 part(s)")
    async with web.page("auditor") as page:
        refused = await page.goto(f"/trace?serial={serial}")
        assert refused is not None
        assert refused.status == 403


async def test_a_form_without_its_token_is_refused(web: WebSite) -> None:
    async with web.page("planner") as page:
        await page.goto("/orders")
        await page.locator("#new-order input[name=csrf_token]").evaluate("e => e.remove()")
        await page.get_by_label("Design id").fill(DESIGN)
        await page.get_by_role("button", name="Create order").click()
        await expect(page.get_by_role("heading", name="403: refused")).to_be_visible()
        await web.shot(page, "refused")


async def test_a_certificate_page_shows_its_evidence_charts(web: WebSite) -> None:
    serial = await certified_serial(web)
    async with web.page("quality_engineer") as page:
        await page.goto("/parts")
        await web.shot(page, "parts")
        await page.get_by_role("link", name=serial).click()
        await expect(page.get_by_role("heading", name=f"Part {serial}")).to_be_visible()
        charts = page.locator("figure[data-evidence][data-rendered=true] canvas")
        await expect(charts.first).to_be_visible()
        assert await charts.count() >= 2
        await expect(page.locator("#certificate-status")).to_contain_text("valid")
        await web.shot(page, "part")
        listed = await (await page.request.get("/api/parts")).json()
        assert serial in [p["serial"] for p in listed]
        detail = await (await page.request.get(f"/api/parts/{serial}")).json()
        assert (detail["design_id"], detail["status"]) == (DESIGN, "valid")
        assert detail["certificate"]["serial"] == serial
        assert (await page.request.get("/api/parts/NO-SUCH-PART")).status == 404


async def test_a_tampered_bundle_is_refused_with_its_reason(web: WebSite, tmp_path: Path) -> None:
    serial = await certified_serial(web)
    desk = web.site.server.ports.certificates if web.site.server else None
    assert desk is not None
    bundle = json.loads(await desk.proof_bundle_json(serial))
    bundle["certificate"]["document"]["material_lot"] = "LOT-FORGED"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(bundle))
    async with web.page("quality_engineer") as page:
        await page.goto("/parts")
        await page.get_by_label("Bundle file").set_input_files(str(tampered))
        await page.get_by_role("button", name="Verify").click()
        verdict = page.locator("#verification")
        await expect(verdict).to_contain_text("Not genuine")
        assert len((await verdict.inner_text()).split(":", 1)[1].strip()) > 10, "a reason is given"
        await web.shot(page, "verify-tampered")


async def test_the_public_page_tells_a_genuine_part_from_an_unknown_one(web: WebSite) -> None:
    serial = await certified_serial(web)
    async with web.page() as page:
        await page.goto(f"/verify/{serial}")
        await expect(page.locator("#genuine")).to_contain_text("Genuine")
        await expect(page.locator("#status")).to_have_text("valid")
        text = await page.locator("main").inner_text()
        assert "LaserPower" not in text, "no process data"
        assert "LOT-" not in text, "no material lot"
        assert "am-1" not in text, "no printer"
        await web.shot(page, "public-genuine")
        await page.goto("/verify/NO-SUCH-PART")
        await expect(page.locator("#genuine")).to_contain_text("Unknown")
        await web.shot(page, "public-unknown")


async def test_the_login_works_from_the_keyboard_alone(web: WebSite) -> None:
    async with web.page() as page:
        await page.goto("/login")
        await web.shot(page, "login")
        await page.keyboard.type("planner")
        await page.keyboard.press("Tab")
        await page.keyboard.type(PASSWORDS["planner"])
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name="Planner board")).to_be_visible()
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement.textContent")
        assert focused == "Skip to content"


async def test_confirming_follows_acknowledging_over_the_web(web: WebSite) -> None:
    alerts = web.site.alerts
    assert alerts is not None
    [alert] = await alerts.open_alerts()
    async with web.page("operator") as page:
        row = page.locator(f"#alert-{alert.id}")
        await row.get_by_label(f"Comment on {MACHINE} {COMPONENT}").fill("spindle checked")
        await row.get_by_role("button", name="Confirm").click()
        await expect(page.locator(f"#alert-{alert.id} .state")).to_contain_text("confirmed")
    assert web.site.server is not None
    assert web.site.server.alarms is not None
    condition = web.site.server.alarms.condition(MACHINE, COMPONENT)
    assert condition is not None
    assert condition.confirmed
    assert condition.comment == "spindle checked"


async def test_only_the_quality_role_revokes_and_the_public_page_says_so(web: WebSite) -> None:
    serial = await certified_serial(web)
    async with web.page("planner") as page:
        await page.goto(f"/parts/{serial}")
        await expect(page.get_by_role("button", name="Revoke certificate")).to_have_count(0)
    async with web.page("quality_engineer") as page:
        await page.goto(f"/parts/{serial}")
        await page.get_by_label("Reason").fill("powder lot recalled")
        await page.get_by_role("button", name="Revoke certificate").click()
        await expect(page.locator("#certificate-status")).to_contain_text("revoked")
    async with web.page() as page:
        await page.goto(f"/verify/{serial}")
        await expect(page.locator("#status")).to_have_text("revoked")
        await expect(page.locator("#genuine")).to_contain_text("revoked")
        published = await page.request.get("/status/revocation")
        assert published.headers["content-type"] == "application/vc+jwt"
        assert revoked_bits(await published.text()) == 1
        assert (await page.request.get("/status/expired")).status == 404


def revoked_bits(token: str) -> int:
    """How many bits the status list credential in a compact JWS sets."""
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    encoded = claims["credentialSubject"]["encodedList"]
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=="))
    return sum(bin(byte).count("1") for byte in bits)


async def test_machine_health_shows_on_the_board_and_in_the_api(web: WebSite) -> None:
    scoring = web.site.scoring
    assert scoring is not None
    scoring.latest[MACHINE] = HealthScore(
        machine=MACHINE,
        ts=web.site.clock.now(),
        anomaly_score=math.nan,
        rul=120.0,
        rul_low=90.0,
        rul_high=150.0,
        state=HealthState.UNKNOWN,
        top_contributors=("vibration_rms",),
    )
    async with web.page("planner") as page:
        panel = page.locator("#panel-machines")
        await expect(panel).to_contain_text("120 (90–150)")
        answer = await page.request.get("/api/machines")
        assert answer.ok
        [machine] = await answer.json()
    assert machine["anomaly_score"] is None, "NaN (no score while refilling) is null in JSON"
    assert (machine["rul_low_h"], machine["rul_high_h"]) == (90.0, 150.0)


LABELS_AND_CONTRAST = """
() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.offsetParent === null) continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(el.tagName + " " + ratio.toFixed(2));
  }
  const unlabelled = [...document.querySelectorAll("input:not([type=hidden]), select")]
    .filter((i) => !(i.labels && i.labels.length) && !i.getAttribute("aria-label"))
    .map((i) => i.name);
  return { low, unlabelled };
}
"""
"""WCAG 2.1 contrast (1.4.3: 4.5:1 for text) of every visible text, and a label for every field."""


async def test_every_page_labels_its_fields_and_keeps_text_contrast(web: WebSite) -> None:
    serial = await certified_serial(web)
    async with web.page("quality_engineer") as page:
        for path in (
            "/",
            "/orders",
            "/parts",
            f"/parts/{serial}",
            f"/verify/{serial}",
            f"/trace?serial={serial}",
        ):
            await page.goto(path)
            found = await page.evaluate(LABELS_AND_CONTRAST)
            assert found == {"low": [], "unlabelled": []}, path


async def test_a_recall_opened_by_the_quality_engineer_shows_with_its_progress(
    web: WebSite,
) -> None:
    book = web.site.order_book
    assert book is not None
    order = await book.create_order(DESIGN, 1, "recalled later", "e2e")

    async def state() -> OrderState:
        return (await book.get_order(order.id)).state

    done = await wait_for(state, lambda s: s in FINAL_STATES, timeout_s=PRINTED_WITHIN_S)
    assert done is OrderState.CERTIFIED
    serial = f"{order.id}-01"
    async with open_recall_office(web.site.settings, ENVIRON) as office:
        opened = await office.open_campaign(
            TraceCriteria(serial=serial),
            reason="powder lot contaminated",
            disposition=Disposition.QUARANTINE,
            revoke=False,
            opened_by="qe-anna",
        )
    campaign = opened.opened.campaign.id
    async with web.page("quality_engineer") as page:
        await page.goto("/recalls")
        row = page.locator("#recalls tbody tr").filter(has_text=campaign)
        await expect(row).to_contain_text("powder lot contaminated")
        await expect(row).to_contain_text("0 of 1 closed")
        await expect(row).to_contain_text(f"{serial} (open)")
        await page.goto(f"/verify/{serial}")
        await expect(page.locator("#status")).to_have_text("suspended")
