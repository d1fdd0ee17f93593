"""Excel (.xlsx) import and export for every registry, with one set of safety rules.

An importer describes its columns; this module reads the file defensively (size and
zip-bomb limits, real xlsx only, header check), validates every row, reports each bad
cell as (row, column, reason), and by default writes nothing when any row is bad.
Exports never produce a cell a spreadsheet would execute (formula injection).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (not xlsx, too large, wrong columns)."""


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based spreadsheet row, header is row 1
    column: str
    reason: str

    def __str__(self) -> str:
        return _("row %(row)s, column %(column)s: %(reason)s") % {
            "row": self.row,
            "column": self.column,
            "reason": self.reason,
        }


class CellError(ValueError):
    """Raised by a column parser; the message is shown to the user."""


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # as shown in the template (Chinese); the key is accepted too
    parse: Callable[[Any], Any] = str
    required: bool = True
    example: Any = ""
    help: str = ""


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def safe_cell(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula (CWE-1236)."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def max_import_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_BYTES", 10 * 1024 * 1024))


def open_workbook(source: BinaryIO | bytes, *, size: int | None = None):
    """Open an uploaded .xlsx read-only, refusing oversize files and zip bombs."""
    data = source if isinstance(source, bytes) else source.read(max_import_bytes() + 1)
    limit = max_import_bytes()
    if len(data) > limit or (size is not None and size > limit):
        raise ImportFileError(_("The file is larger than %(mb)s MB.") % {"mb": limit // 2**20})
    if not data:
        raise ImportFileError(_("The file is empty."))
    if not data.startswith(b"PK\x03\x04"):
        raise ImportFileError(_("The file is not an .xlsx workbook."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > 20 * limit:
            raise ImportFileError(_("The workbook unpacks to an implausible size."))
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise ImportFileError(_("The file is not a readable .xlsx workbook.")) from exc


def read_rows(workbook, columns: Sequence[Column]) -> Iterable[tuple[int, dict[str, Any]]]:
    """Yield (row number, {key: raw value}) after checking the header row."""
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None or not any(cell not in (None, "") for cell in header):
        raise ImportFileError(_("The file is empty: the first row must hold the column names."))
    by_name = {c.header: c for c in columns} | {c.key: c for c in columns}
    names = [str(h).strip() if h is not None else "" for h in header]
    unknown = [n for n in names if n and n not in by_name]
    present = {by_name[n].key for n in names if n in by_name}
    missing = [c.header for c in columns if c.required and c.key not in present]
    if unknown or missing:
        parts = []
        if missing:
            parts.append(_("missing columns: %s") % "、".join(missing))
        if unknown:
            parts.append(_("unknown columns: %s") % "、".join(unknown))
        raise ImportFileError("; ".join(parts))
    keys = [by_name[n].key if n in by_name else None for n in names]
    for number, values in enumerate(rows, start=2):
        if values is None or all(v in (None, "") for v in values):
            continue
        yield number, {k: v for k, v in zip(keys, values, strict=False) if k}


def parse_row(
    number: int, raw: dict[str, Any], columns: Sequence[Column], errors: list[RowError]
) -> dict[str, Any] | None:
    """Parse one row; append its errors; None when any cell was bad."""
    parsed: dict[str, Any] = {}
    ok = True
    for column in columns:
        value = raw.get(column.key)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, ""):
            if column.required:
                errors.append(RowError(number, column.header, _("a value is required")))
                ok = False
            continue
        try:
            parsed[column.key] = column.parse(value)
        except (CellError, ValueError, TypeError) as exc:
            errors.append(RowError(number, column.header, str(exc) or _("invalid value")))
            ok = False
    return parsed if ok else None


def workbook_bytes(
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    notes: Sequence[tuple[str, str]] = (),
) -> bytes:
    """An .xlsx with a header row and the given rows, every text cell made safe."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append([c.header for c in columns])
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    if notes:
        help_sheet = book.create_sheet(_("Instructions")[:31])
        help_sheet.append([_("column"), _("meaning")])
        for name, text in notes:
            help_sheet.append([safe_cell(name), safe_cell(text)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_bytes(title: str, columns: Sequence[Column]) -> bytes:
    """The downloadable template: header, one example row, and a sheet of column help."""
    notes = [(c.header, (c.help or "") + ("" if c.required else _(" (optional)"))) for c in columns]
    return workbook_bytes(title, columns, [[c.example for c in columns]], notes)
