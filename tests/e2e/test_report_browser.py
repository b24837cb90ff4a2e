"""The part report as a quality engineer opens it: headless Chromium shows and prints it."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from config.settings import ChainSettings, Settings
from ledger.commands import design_register, designs_dir
from ledger.report import certificate_report
from ledger.report.plots import WINDOW_FILL
from models import ExitCode
from tests.e2e.report_kit import (
    ReportPage,
    decode_png,
    excursion_pixels,
    excursion_samples,
    line_pixels,
    rgb,
)
from tests.integration.ledger.ledger_chainkit import NO_ENV, print_part
from tests.unit.ledger.ledgerkit import T0, write_design

pytestmark = pytest.mark.asyncio(loop_scope="session")

WIDTH, HEIGHT = 1200, 3600
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium() -> str:
    found = shutil.which("chromium")
    assert found, "headless Chromium is needed: apt-get install -y chromium"
    return found


async def run_chromium(profile: Path, page: Path, *flags: str) -> None:
    """Run headless Chromium on ``page`` once (a fresh profile, no network) and wait for it."""
    process = await asyncio.create_subprocess_exec(
        chromium(),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        *flags,
        page.as_uri(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(90):
            output, _ = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, output.decode(errors="replace")


def shaded_bands(pixels: NDArray[np.float32], min_height: int = 50) -> int:
    """How many separate horizontal bands of the page hold a shaded process window (grid lines
    and the plotted line, a few pixels each, do not split a band)."""
    rows = np.count_nonzero(
        np.all(np.abs(pixels[..., :3] - rgb(WINDOW_FILL)) <= 0.02, axis=-1), axis=1
    )
    bridged = np.convolve(rows > 200, np.ones(9), mode="same") > 0
    shaded = np.concatenate([[False], bridged, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(shaded))
    heights = edges[1::2] - edges[::2]
    return int(np.count_nonzero(heights >= min_height))


async def test_the_report_renders_and_prints_in_chromium(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", chain=ChainSettings(chain_id=4345))
    released = write_design(tmp_path / "released")
    assert (await design_register(settings, released, quota=3, environ=NO_ENV)).exit_code == 0
    shutil.copytree(released, designs_dir(settings) / "pump-impeller" / "C")
    await print_part(settings, "P-EX", samples=excursion_samples(T0), seconds=30)
    report = tmp_path / "part.html"
    assert certificate_report(settings, "P-EX", report).exit_code == ExitCode.OK
    page = ReportPage(report.read_text(encoding="utf-8"))
    assert len(page.tags("img", "plots")) == len(page.body_rows("checks")) == 4

    screenshot = tmp_path / "part.png"
    await run_chromium(
        tmp_path / "profile",
        report,
        f"--screenshot={screenshot}",
        f"--window-size={WIDTH},{HEIGHT}",
    )
    pixels = decode_png(screenshot.read_bytes())
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    ink = np.any(pixels[..., :3] < 0.9, axis=-1)
    assert ink.mean() > 0.03, "the screenshot is (nearly) blank"
    quantised = np.round(pixels[..., :3] * 31).astype(np.int32)
    colours = np.unique(quantised[..., 0] * 1024 + quantised[..., 1] * 32 + quantised[..., 2])
    assert colours.size > 200, "too few colours: the plots are not drawn"
    assert shaded_bands(pixels) == 4, "not one plot with a shaded window per parameter"
    assert line_pixels(pixels) > 1_000, "no parameter lines"
    assert excursion_pixels(pixels) > 100, "the excursion is not marked"

    pdf = tmp_path / "part.pdf"
    await run_chromium(
        tmp_path / "profile", report, f"--print-to-pdf={pdf}", "--no-pdf-header-footer"
    )
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(data) > 20_000
    assert re.search(rb"/MediaBox\s*\[\s*0 0 59[45]\.\d+ 84[12]\.\d+", data), "not A4"
