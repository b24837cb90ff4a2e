"""Shared pieces of the part-report tests: a job with an excursion, an HTML reader, PNG pixels."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser

import numpy as np
from matplotlib.image import imread
from numpy.typing import NDArray

from ledger.report.plots import EXCURSION_COLOUR, LINE_COLOUR
from models.parts import Sample
from tests.unit.ledger.ledgerkit import good_samples

EXCURSION_SECONDS = range(10, 14)
"""Seconds of the job during which the laser power of ``excursion_samples`` is too high."""


def excursion_samples(start: datetime, seconds: int = 30) -> list[Sample]:
    """``good_samples`` except laser_power_w at 300 W (window 270..290 W) for 4 seconds."""
    bad = {start + timedelta(seconds=s) for s in EXCURSION_SECONDS}
    return [
        s._replace(value=300.0) if s.parameter == "laser_power_w" and s.ts in bad else s
        for s in good_samples(start, seconds)
    ]


@dataclass
class Row:
    """One table row of the report: its section, class and cell texts."""

    section: str
    css: str
    cells: list[str] = field(default_factory=list)


@dataclass
class Element:
    """One start tag of the report, with the section it lies in."""

    tag: str
    attrs: dict[str, str]
    section: str


class ReportPage(HTMLParser):
    """The report read back with the standard library's parser: tags, rows, text per section."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.rows: list[Row] = []
        self.texts: dict[str, list[str]] = {}
        self._section = ""
        self._row: Row | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "section":
            self._section = values.get("id", "")
        self.elements.append(Element(tag, values, self._section))
        if tag == "tr":
            self._row = Row(self._section, values.get("class", ""))
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.cells.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "section":
            self._section = ""

    def handle_data(self, data: str) -> None:
        self.texts.setdefault(self._section, []).append(data)
        if self._cell is not None:
            self._cell.append(data)

    def text(self, section: str) -> str:
        """All the text of one section, as a reader sees it."""
        return " ".join(" ".join(self.texts.get(section, [])).split())

    def tags(self, tag: str, section: str | None = None) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and section in (None, e.section)]

    def body_rows(self, section: str) -> list[Row]:
        """Rows of a section's tables, header rows left out."""
        return [r for r in self.rows if r.section == section and r.css]

    def row_of(self, section: str, first_cell: str) -> Row:
        [row] = [r for r in self.rows if r.section == section and r.cells[:1] == [first_cell]]
        return row


def decode_png(data: bytes) -> NDArray[np.float32]:
    """An RGB(A) PNG as an array of floats in 0..1 (matplotlib's reader: no PIL here)."""
    pixels: NDArray[np.float32] = imread(io.BytesIO(data), format="png")
    return pixels


def rgb(colour: str) -> NDArray[np.float64]:
    """``#rrggbb`` as red, green, blue in 0..1."""
    return np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])


def pixels_of(image: NDArray[np.float32], colour: str, tolerance: float = 0.04) -> int:
    """How many pixels have the colour ``#rrggbb`` (within ``tolerance`` per channel)."""
    close = np.all(np.abs(image[..., :3] - rgb(colour)) <= tolerance, axis=-1)
    return int(np.count_nonzero(close))


def excursion_pixels(image: NDArray[np.float32]) -> int:
    """Pixels drawn in the report's excursion colour."""
    return pixels_of(image, EXCURSION_COLOUR)


def line_pixels(image: NDArray[np.float32]) -> int:
    """Pixels drawn in the colour of the plotted parameter lines."""
    return pixels_of(image, LINE_COLOUR)
