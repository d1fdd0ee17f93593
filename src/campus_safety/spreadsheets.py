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


def parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise CellError(_("not a whole number"))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise CellError(_("not a whole number")) from None
    if number < 0 or number > 10_000_000:
        raise CellError(_("out of range"))
    return number


def parse_float(low: float, high: float) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        try:
            number = float(str(value).strip())
        except ValueError:
            raise CellError(_("not a number")) from None
        if not low <= number <= high:
            raise CellError(_("must be between %(low)s and %(high)s") % {"low": low, "high": high})
        return number

    return parse


TRUE_WORDS = {"是", "有", "yes", "y", "true", "1"}
FALSE_WORDS = {"否", "无", "no", "n", "false", "0"}


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(_("answer 是 or 否"))


def parse_digits(length: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        if not (text.isascii() and text.isdigit() and len(text) == length):
            raise CellError(_("must be %(n)s digits") % {"n": length})
        return text

    return parse


def parse_text(max_length: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip()
        if len(text) > max_length:
            raise CellError(_("longer than %(n)s characters") % {"n": max_length})
        if text.startswith(FORMULA_TRIGGERS[:4]):
            raise CellError(_("must not start with = + - @"))
        return text

    return parse


def parse_choice(choices: Any, aliases: dict[str, str] | None = None) -> Callable[[Any], str]:
    """Accept the stored key, the English or Chinese label, or a common Chinese alias."""
    from django.utils import translation

    def parse(value: Any) -> str:
        text = str(value).strip()
        lookup = dict(aliases or {})
        for key, label in choices:
            lookup[key] = key
            with translation.override("en"):
                lookup[str(label)] = key
            with translation.override("zh-hans"):
                lookup[str(label)] = key
        if text not in lookup:
            raise CellError(_("unknown value %(v)s") % {"v": text[:30]})
        return lookup[text]

    return parse


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


@dataclass(frozen=True)
class Registry:
    """How one kind of record goes in and out of a workbook.

    ``check`` resolves references and checks what single cells cannot (duplicates,
    scope, existing rows); it appends errors and returns the rows still good.
    ``write`` saves good rows inside one transaction and returns (created, updated).
    """

    kind: str
    title: str
    columns: tuple[Column, ...]
    check: Callable[
        [list[tuple[int, dict[str, Any]]], Any, list[RowError]], list[tuple[int, dict[str, Any]]]
    ]
    write: Callable[[list[dict[str, Any]], Any], tuple[int, int]]
    queryset: Callable[[Any], Any]
    export_row: Callable[[Any, bool], Sequence[Any]]  # (object, reveal personal data)


REGISTRIES: dict[str, Registry] = {}


def register(registry: Registry) -> Registry:
    REGISTRIES[registry.kind] = registry
    return registry


def get_registry(kind: str) -> Registry:
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("imports")  # every app's imports.py registers itself; cached
    try:
        return REGISTRIES[kind]
    except KeyError:
        raise ImportFileError(
            _("Unknown kind %(kind)s; choose one of %(kinds)s.")
            % {"kind": kind, "kinds": ", ".join(sorted(REGISTRIES))}
        ) from None


def import_workbook(
    registry: Registry,
    source: BinaryIO | bytes,
    user: Any,
    *,
    keep_good: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Validate every row; write all of them, or none when any is bad (unless
    ``keep_good``: then the good rows are written and the bad ones reported)."""
    from django.db import transaction

    from campus_safety.audit.services import record

    workbook = open_workbook(source)
    result = ImportResult()
    limit = int(getattr(settings, "IMPORT_MAX_ROWS", 50_000))
    parsed: list[tuple[int, dict[str, Any]]] = []
    for number, raw in read_rows(workbook, registry.columns):
        result.rows += 1
        if result.rows > limit:
            raise ImportFileError(_("More than %(n)s rows: split the file.") % {"n": limit})
        row = parse_row(number, raw, registry.columns, result.errors)
        if row is not None:
            parsed.append((number, row))
        if progress:
            progress(1)
    workbook.close()
    if result.rows == 0:
        raise ImportFileError(_("The file has a header but no rows."))
    good = registry.check(parsed, user, result.errors)
    result.errors.sort(key=lambda e: (e.row, e.column))
    if result.errors and not keep_good:
        record(
            f"import.{registry.kind}",
            user=user,
            outcome="failure",
            detail={"rows": result.rows, "errors": len(result.errors)},
        )
        return result
    with transaction.atomic():
        result.created, result.updated = registry.write([row for _, row in good], user)
        record(
            f"import.{registry.kind}",
            user=user,
            detail={
                "rows": result.rows,
                "created": result.created,
                "updated": result.updated,
                "rejected": len({e.row for e in result.errors}),
            },
        )
    return result


def export_bytes(registry: Registry, queryset: Any, *, reveal: bool = False) -> bytes:
    """The rows of ``queryset`` (already scoped and filtered by the caller); personal
    data masked unless ``reveal`` (the caller checks the role and audits)."""
    return workbook_bytes(
        registry.title,
        registry.columns,
        (registry.export_row(obj, reveal) for obj in queryset.iterator(2000)),
    )
