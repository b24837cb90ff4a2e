"""The quality engineer's HTML report of parts certified by a real ledger on anvil."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from config.settings import LedgerSettings, Settings
from ledger.errors import UnknownRecordError
from ledger.report import ReportError, certificate_report
from models import ExitCode
from models.errors import TrustfloorError
from models.parts import EvidenceGap, InspectionResult, PrinterHealth, Verdict
from tests.e2e.report_kit import (
    ReportPage,
    decode_png,
    excursion_pixels,
    excursion_samples,
    line_pixels,
)
from tests.integration.ledger.ledger_chainkit import Ledger, Site, make_site
from tests.unit.ledger.ledgerkit import T0, WINDOW, good_samples, write_design

pytestmark = pytest.mark.asyncio(loop_scope="session")

TRICKY_NOTE = '<b>"burr" & </td></table><script>alert(1)</script>'
CMM = InspectionResult(
    check="cmm",
    result=Verdict.PASS,
    inspector="anna",
    at=T0,
    value=0.02,
    unit="mm",
    note=TRICKY_NOTE,
)


@pytest_asyncio.fixture(loop_scope="session")
async def site(ledger: Ledger, tmp_path: Path) -> AsyncIterator[Site]:
    """A printing site that is also the design's OEM, the design registered and installed."""
    await ledger.admin.add_oem(ledger.issuer.address)
    await ledger.admin.add_issuer(ledger.issuer.address)
    printing = make_site(tmp_path / "site", ledger.issuer)
    released = write_design(tmp_path / "released")
    await printing.service.register_design(released, quota=10)
    printing.install(released)
    yield printing
    printing.store.close()


def settings_of(site: Site, trusted_issuers: tuple[str, ...] = ()) -> Settings:
    """Settings whose ledger store is the site's (``<data_dir>/ledger.sqlite``)."""
    ledger = LedgerSettings(trusted_issuers=trusted_issuers)
    return Settings(data_dir=site.store.path.parent, ledger=ledger)


def render(site: Site, serial: str, out: Path) -> tuple[str, ReportPage]:
    result = certificate_report(settings_of(site), serial, out, clock=site.clock)
    assert result.exit_code == ExitCode.OK
    text = out.read_text(encoding="utf-8")
    return result.output, ReportPage(text)


def plot_images(page: ReportPage) -> dict[str, bytes]:
    """Each figure's parameter and its embedded PNG, decoded from the data URI."""
    figures = page.tags("figure", "plots")
    images = page.tags("img", "plots")
    assert len(images) == len(figures)
    prefix = "data:image/png;base64,"
    assert all(i.attrs["src"].startswith(prefix) for i in images)
    return {
        f.attrs["data-parameter"]: base64.b64decode(i.attrs["src"][len(prefix) :])
        for f, i in zip(figures, images, strict=True)
    }


def assert_self_contained(html: str, page: ReportPage) -> None:
    assert not re.search(r"https?://|file:|url\(|@import", html, re.IGNORECASE)
    assert [e.tag for e in page.elements if e.tag in ("script", "link", "iframe", "object")] == []
    for element in page.elements:
        for name in ("src", "href", "data"):
            if name in element.attrs:
                assert element.attrs[name].startswith("data:"), element


async def test_a_passing_anchored_part(site: Site, tmp_path: Path) -> None:
    await site.print_part("P-1", inspections=(CMM,))
    anchored = await site.anchor_now()
    out = tmp_path / "P-1.html"

    output, page = render(site, "P-1", out)

    assert output == f"wrote {out}: part P-1, PASS, 4 parameter plot(s)\n"
    verdict = page.tags("section")[0]
    assert verdict.attrs == {"id": "verdict", "class": "verdict pass"}
    assert page.text("verdict").startswith("✓ PASS The certificate states: PASS.")
    identity = {r.cells[0]: r.cells[1] for r in page.rows if r.section == "identity"}
    assert identity["Design"] == "pump-impeller revision C (Coolant pump impeller)"
    assert (identity["Printer"], identity["Order"]) == ("am-cell-2", "PO-88123")
    assert identity["Material lot"] == "Ti64-L2291"
    assert identity["Issuer"] == site.service.address
    rows = page.body_rows("checks")
    assert {r.cells[0] for r in rows} == set(WINDOW)
    assert all(r.css == "passes" and r.cells[-1] == "✓ pass" for r in rows)
    assert page.row_of("checks", "laser_power_w").cells[1:12] == [
        "W", "270", "290", "0", "30", "280", "281", "280.5", "0.408248", "0", "none"
    ]  # fmt: skip
    images = plot_images(page)
    assert sorted(images) == sorted(WINDOW)
    for png in images.values():
        pixels = decode_png(png)
        assert line_pixels(pixels) > 200
        assert excursion_pixels(pixels) == 0
    [cmm] = page.body_rows("inspections")
    assert cmm.cells == ["cmm", "✓ pass", "0.02 mm", "anna", "2026-11-03T09:00:00Z", TRICKY_NOTE,
                         "in the certificate"]  # fmt: skip
    assert page.tags("b") == []
    proof = {r.cells[0]: r.cells[1] for r in page.rows if r.section == "proof"}
    assert proof["Status"].startswith("anchored in block")
    assert proof["Transaction"] == anchored.anchored[0].tx_hash
    assert (proof["Leaf index"], proof["Revocation"]) == ("0 of 1", "not revoked")
    assert [li.attrs["class"] for li in page.tags("li", "proof")] == ["passes"] * 6
    assert f"Warning: issuer {site.service.address} NOT checked" in page.text("proof")
    pinned = settings_of(site, trusted_issuers=(site.service.address,))
    certificate_report(pinned, "P-1", out, clock=site.clock)
    assert "NOT checked" not in ReportPage(out.read_text(encoding="utf-8")).text("proof")
    assert_self_contained(out.read_text(), page)


async def test_a_part_with_an_excursion_waiting_for_its_batch(site: Site, tmp_path: Path) -> None:
    await site.print_part("P-2", samples=excursion_samples(site.clock.now()))

    output, page = render(site, "P-2", tmp_path / "P-2.html")

    assert "part P-2, FAIL, 4 parameter plot(s)" in output
    assert page.tags("section")[0].attrs["class"] == "verdict fail"
    assert page.text("verdict") == (
        "✗ FAIL The certificate states: FAIL. "
        "laser_power_w: outside [270, 290] W for 4 s in 1 excursion(s), tolerance 0 s"
    )
    laser = page.row_of("checks", "laser_power_w")
    assert laser.css == "fails"
    assert laser.cells[7] == "300"  # max
    assert laser.cells[10:] == ["4", "1: 10–14 s (worst 300)", "✗ fail"]
    assert {r.cells[0] for r in page.body_rows("checks") if r.css == "fails"} == {"laser_power_w"}
    figures = {f.attrs["data-parameter"]: f.attrs["data-excursions"] for f in page.tags("figure")}
    assert figures == {"bed_temp_c": "0", "chamber_o2_ppm": "0", "laser_power_w": "1",
                       "layer_time_s": "0"}  # fmt: skip
    marked = {name: excursion_pixels(decode_png(png)) for name, png in plot_images(page).items()}
    assert marked.pop("laser_power_w") > 100
    assert set(marked.values()) == {0}
    proof = {r.cells[0]: r.cells[1] for r in page.rows if r.section == "proof"}
    assert proof["Status"] == "waiting for batch"
    assert "Batch root" not in proof
    assert "certificate inclusion: no inclusion proof" in page.text("proof")
    assert "match the certificate's samples digest" in page.text("checks")


async def test_a_revoked_part_with_a_later_failed_inspection(site: Site, tmp_path: Path) -> None:
    await site.print_part("P-3")
    await site.anchor_now()
    ct = InspectionResult(check="ct-scan", result=Verdict.FAIL, inspector="bo", at=T0, note="void")
    await site.service.add_inspection("P-3", ct)
    await site.service.revoke("P-3", "porosity <found> in CT", "bo")

    _, page = render(site, "P-3", tmp_path / "P-3.html")

    assert page.tags("section")[0].attrs["class"] == "verdict revoked"
    verdict = page.text("verdict")
    assert verdict.startswith("✗ REVOKED The certificate states: PASS. certificate revoked at")
    assert "by bo: porosity <found> in CT" in verdict
    later = page.row_of("inspections", "ct-scan")
    assert (later.css, later.cells[1], later.cells[-1]) == (
        "fails",
        "✗ fail",
        "later record: waiting for batch",
    )
    proof = {r.cells[0]: r.cells[1] for r in page.rows if r.section == "proof"}
    assert proof["Revocation"].startswith("REVOKED at ")
    assert proof["Revocation"].endswith(
        "porosity <found> in CT (revocation record waiting for batch)"
    )


async def test_unknown_and_uncertified_serials_say_what_to_do(site: Site, tmp_path: Path) -> None:
    settings = settings_of(site)
    with pytest.raises(UnknownRecordError, match="no part with serial P-404") as unknown:
        certificate_report(settings, "P-404", tmp_path / "x.html")
    assert "--data-dir" in unknown.value.advice
    await site.service.start_job(
        serial="P-5",
        design_id="pump-impeller",
        revision="C",
        printer="am-cell-2",
        order_id="PO-9",
        material_lot="Ti64-L2291",
        layers_planned=412,
    )
    with pytest.raises(TrustfloorError, match="P-5 has no certificate yet: its job is printing"):
        certificate_report(settings, "P-5", tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()
    await site.print_part("P-6")
    with pytest.raises(ReportError, match="cannot write the report") as unwritable:
        certificate_report(settings, "P-6", tmp_path / "missing" / "P-6.html")
    assert unwritable.value.advice


async def test_the_printers_health_at_build_the_lots_source_and_the_gaps(
    site: Site, tmp_path: Path
) -> None:
    job = await site.service.start_job(
        serial="P-7",
        design_id="pump-impeller",
        revision="C",
        printer="am-cell-2",
        order_id="PO-10",
        material_lot="",
        layers_planned=412,
    )
    start = PrinterHealth(at=site.clock.now(), state="Printing", hours_since_maintenance=12.5)
    await site.service.job_started(job.job_id, start, "316L-B0042")
    await site.service.record_samples(job.job_id, good_samples(site.clock.now(), 30))
    gap = EvidenceGap(start=T0, end=T0 + timedelta(seconds=5), cause="printer connection lost")
    await site.service.record_gap(job.job_id, gap)
    site.clock.advance(30)
    end = PrinterHealth(
        at=site.clock.now(),
        state="Completed",
        alarms=("filter pressure high",),
        anomaly_score=0.4,
    )
    await site.service.finish_job(job.job_id, 412, health=end)
    await site.service.issue_certificate("P-7")

    _, page = render(site, "P-7", tmp_path / "P-7.html")

    identity = {r.cells[0]: r.cells[1] for r in page.rows if r.section == "identity"}
    assert identity["Material lot"] == "316L-B0042"
    assert identity["Material lot from"] == "the printer (its feedstock at job start)"
    assert identity["Printer at job start"] == (
        "Printing at 2026-11-03T09:00:00Z; alarms: none; 12.5 h since maintenance"
    )
    assert identity["Printer at job end"] == (
        "Completed at 2026-11-03T09:00:30Z; alarms: filter pressure high; anomaly score 0.4"
    )
    assert identity["Evidence gaps"] == (
        "2026-11-03T09:00:00Z to 2026-11-03T09:00:05Z (printer connection lost)"
    )
    assert "Noted (fails nothing by itself): evidence gap from" in page.text("verdict")
