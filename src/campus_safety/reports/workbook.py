"""The summary report as an Excel workbook: a sheet about the report, then one sheet per
block of ``blocks.summary_blocks`` — the page's figures, as numbers a spreadsheet can
add up (rates as fractions shown as percentages, times in seconds)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from campus_safety import spreadsheets as xl
from campus_safety.reports.blocks import COUNT, RATE, SECONDS, Block, Cell

SHEET_NAME_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def sheet_name(title: str) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\."""
    return title.translate(SHEET_NAME_FORBIDDEN).strip()[:31] or "-"


def _value(sheet: WriteOnlyWorksheet, cell: Cell, bold: bool = False) -> Any:
    value = cell.value
    if value is not None and cell.kind == COUNT:
        value = int(value)
    elif value is not None and cell.kind == SECONDS:
        value = round(float(value))
    elif value is not None and cell.kind == RATE:
        value = float(value)
    else:
        value = xl.safe_cell(value)
    out = WriteOnlyCell(sheet, value=value)
    if cell.kind == RATE:
        out.number_format = "0.0%"
    if bold:
        out.font = Font(bold=True)
    return out


def _header(sheet: WriteOnlyWorksheet, texts: list[str]) -> list[Any]:
    cells = []
    for text in texts:
        cell = WriteOnlyCell(sheet, value=xl.safe_cell(str(text)))
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def summary_workbook(
    blocks: list[Block], *, title: str, generated_at: dt.datetime, rule_label: str
) -> bytes:
    """The .xlsx bytes: "About" first, then a sheet per block with its header, rows,
    total and note."""
    book = Workbook(write_only=True)
    about = book.create_sheet(sheet_name(_("About this report")))
    about.column_dimensions["A"].width = 18
    about.column_dimensions["B"].width = 70
    for label, value in (
        (_("Report title"), _("%(scope)s · campus safety summary report") % {"scope": title}),
        (_("Generated at"), timezone.localtime(generated_at).strftime("%Y-%m-%d %H:%M")),
        (_("Staffing rule"), rule_label),
        (_("Source"), source_note()),
    ):
        about.append([*_header(about, [label]), xl.safe_cell(str(value))])
    for block in blocks:
        sheet = book.create_sheet(sheet_name(block.title))
        sheet.column_dimensions["A"].width = 28
        sheet.append(_header(sheet, block.columns))
        for row in block.rows:
            sheet.append([_value(sheet, cell) for cell in row])
        if block.total is not None:
            sheet.append([_value(sheet, cell, bold=True) for cell in block.total])
        if block.note:
            sheet.append([])
            sheet.append([xl.safe_cell(block.note)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def source_note() -> str:
    """Where the figures come from, in words (the page's footnote and the About sheet)."""
    return _(
        "Computed when the report was generated from the platform's records for your "
        "area: the school, guard and equipment registers, the approved devices and their "
        "live status, alarm cases (drills left out), hazard reports, gate-post check-ins "
        "and guard-tour rounds."
    )
