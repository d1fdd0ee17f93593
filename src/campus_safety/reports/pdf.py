"""Rendering a scheduled report as an A4 PDF with its charts and a Chinese font embedded.

Library: fpdf2 — pure Python (one wheel, no system libraries, unlike WeasyPrint's
Pango/Cairo), maintained, and it embeds a *subset* of an OpenType/TrueType font,
CFF-outlined CJK fonts included (ReportLab embeds TrueType outlines only, so it cannot
embed Noto CJK), which keeps a report to a few hundred kilobytes. Charts are drawn as
vector shapes with fpdf2's own primitives (bars and lines), so there is no second
library to keep: a matplotlib figure would add tens of megabytes and its own font set-up
for a handful of bars.

The font is ``REPORTS_PDF_FONT`` (default: Debian's fonts-noto-cjk, Noto Sans CJK; the
Simplified Chinese face is picked out of the collection).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from fpdf import FPDF
from fpdf.fonts import FontFace

DEFAULT_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FAMILY = "cjk"
logging.getLogger("fontTools").setLevel(logging.WARNING)  # subsetting chatter, per glyph
MARKED_POINTS = 40  # a line of up to this many points marks each point
PALETTE = [(37, 99, 235), (22, 163, 74), (245, 158, 11), (220, 38, 38), (124, 58, 237)]


class FontMissing(RuntimeError):
    """No CJK font to embed: the report would print boxes instead of Chinese."""


def font_path() -> Path:
    path = Path(getattr(settings, "REPORTS_PDF_FONT", "") or DEFAULT_FONT)
    if not path.exists():
        raise FontMissing(f"CJK font not found: {path} (install fonts-noto-cjk)")
    return path


@functools.cache
def _face_index(path: str) -> int:
    """The Simplified Chinese face of a collection (0 for a single font)."""
    if not path.lower().endswith((".ttc", ".otc")):
        return 0
    from fontTools.ttLib import TTCollection

    collection = TTCollection(path, lazy=True)
    try:
        for index, face in enumerate(collection.fonts):
            family = face["name"].getDebugName(1) or ""
            if family.endswith(" SC"):
                return index
    finally:
        collection.close()
    return 0


class ReportPDF(FPDF):
    def __init__(self, title: str, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.report_title = title
        self.footer_text = footer_text
        path = font_path()
        self.add_font(FAMILY, "", str(path), collection_font_number=_face_index(str(path)))
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 16, 18)
        self.set_title(title)
        self.set_creator("campus-safety")

    def header(self) -> None:
        self.set_font(FAMILY, size=8)
        self.set_text_color(100, 116, 139)
        self.cell(0, 5, self.report_title, align="L")
        self.ln(8)
        self.set_text_color(15, 23, 42)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        self.set_text_color(100, 116, 139)
        self.cell(0, 5, f"{self.footer_text}  ·  {self.page_no()}/{{nb}}", align="C")

    def heading(self, text: str, size: float = 13, keep_with: float = 0) -> None:
        """A heading; ``keep_with``: the height (mm) of what follows it, so a heading is
        never left alone at the foot of a page with its chart on the next."""
        self._ensure_room(size * 0.6 + 5.5 + keep_with)
        self.ln(2)
        self.set_font(FAMILY, size=size)
        self.multi_cell(0, size * 0.6, text)
        self.ln(1.5)

    def paragraph(self, text: str, size: float = 10.5) -> None:
        self.set_font(FAMILY, size=size)
        self.multi_cell(0, size * 0.58, text)
        self.ln(1.5)

    def note(self, text: str) -> None:
        self.set_text_color(100, 116, 139)
        self.paragraph(text, size=8)
        self.set_text_color(15, 23, 42)

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.set_font(FAMILY, size=9)
        self.set_fill_color(255, 255, 255)  # not a chart's last colour
        with super().table(
            text_align=["LEFT", *["RIGHT"] * (len(columns) - 1)],
            line_height=5.5,
            first_row_as_headings=True,
            headings_style=FontFace(emphasis="", fill_color=(226, 232, 240)),
        ) as table:
            table.row([str(c) for c in columns])
            for row in rows:
                table.row(["" if v is None else str(v) for v in row])
        self.ln(3)

    def bar_chart(
        self,
        labels: Sequence[str],
        series: dict[str, Sequence[float]],
        *,
        height: float = 55,
        maximum: float | None = None,
        percent: bool = False,
    ) -> None:
        """Grouped vertical bars, one colour per series, with a legend."""
        if not labels:
            return
        self._ensure_room(height + 16)
        x0, y0 = self.l_margin + 10, self.get_y() + 2
        width = self.w - self.l_margin - self.r_margin - 12
        top = maximum or max([max(v, default=0) for v in series.values()] + [1])
        self._axes(x0, y0, width, height, top, percent)
        group = width / len(labels)
        bar = group * 0.8 / max(len(series), 1)
        for s, (_name, values) in enumerate(series.items()):
            self.set_fill_color(*PALETTE[s % len(PALETTE)])
            for i, value in enumerate(values):
                h = height * (value or 0) / top
                x = x0 + i * group + group * 0.1 + s * bar
                if h > 0:
                    self.rect(x, y0 + height - h, bar * 0.92, h, style="F")
        self.set_font(FAMILY, size=6.5)
        for i, label in enumerate(labels):
            self.set_xy(x0 + i * group, y0 + height + 0.8)
            self.cell(group, 3.5, str(label)[:8], align="C")
        self._legend(list(series), y0 + height + 5)

    def line_chart(
        self,
        labels: Sequence[str],
        series: dict[str, Sequence[float | None]],
        *,
        height: float = 50,
        maximum: float | None = None,
        percent: bool = False,
    ) -> None:
        """Lines over the labels (a None value breaks the line)."""
        if not labels:
            return
        self._ensure_room(height + 16)
        x0, y0 = self.l_margin + 10, self.get_y() + 2
        width = self.w - self.l_margin - self.r_margin - 12
        values = [v for vs in series.values() for v in vs if v is not None]
        top = maximum or max([*values, 1])
        self._axes(x0, y0, width, height, top, percent)
        step = width / max(len(labels) - 1, 1)
        self.set_line_width(0.5)
        for s, (_name, points) in enumerate(series.items()):
            self.set_draw_color(*PALETTE[s % len(PALETTE)])
            previous = None
            for i, value in enumerate(points):
                if value is None:
                    previous = None
                    continue
                point = (x0 + i * step, y0 + height - height * value / top)
                if previous is not None:
                    self.line(*previous, *point)
                if len(labels) <= MARKED_POINTS:  # few points: each one seen (even alone)
                    self.set_fill_color(*PALETTE[s % len(PALETTE)])
                    self.circle(point[0], point[1], 0.7, style="F")
                previous = point
        self.set_line_width(0.2)
        self.set_draw_color(0, 0, 0)
        self.set_font(FAMILY, size=6.5)
        every = max(1, len(labels) // 8)
        for i, label in enumerate(labels):
            if i % every == 0:
                self.set_xy(x0 + i * step - 8, y0 + height + 0.8)
                self.cell(16, 3.5, str(label), align="C")
        self._legend(list(series), y0 + height + 5)

    def _ensure_room(self, needed: float) -> None:
        if self.get_y() + needed > self.h - self.b_margin:
            self.add_page()

    def _axes(self, x0: float, y0: float, width: float, height: float, top: float, pct: bool):
        self.set_draw_color(203, 213, 225)
        self.set_line_width(0.15)
        self.set_font(FAMILY, size=6.5)
        self.set_text_color(100, 116, 139)
        for k in range(5):
            y = y0 + height - height * k / 4
            self.line(x0, y, x0 + width, y)
            value = top * k / 4
            text = f"{100 * value:.0f}%" if pct else f"{value:,.0f}"
            self.set_xy(x0 - 11, y - 1.7)
            self.cell(10, 3.4, text, align="R")
        self.set_text_color(15, 23, 42)
        self.set_draw_color(0, 0, 0)

    def _legend(self, names: list[str], y: float) -> None:
        self.set_font(FAMILY, size=7.5)
        x = self.l_margin + 10
        for s, name in enumerate(names):
            self.set_fill_color(*PALETTE[s % len(PALETTE)])
            self.rect(x, y + 0.8, 3, 3, style="F")
            self.set_xy(x + 4, y)
            self.cell(self.get_string_width(name) + 2, 4.5, name)
            x += self.get_string_width(name) + 10
        self.set_xy(self.l_margin, y + 7)
