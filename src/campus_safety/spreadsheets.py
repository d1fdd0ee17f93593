"""Excel (.xlsx) import and export for every registry, with one set of safety rules.

An importer describes its columns; this module reads the file defensively (size and
zip-bomb limits, real xlsx only, header check), validates every row, reports each bad
cell as (row, column, reason), and by default writes nothing when any row is bad.
Exports never produce a cell a spreadsheet would execute (formula injection).

Reading is bounded whatever the file claims (issue #13): every part's unpacked size,
the tags of every part openpyxl reads whole, and every row read — empty or not —
against ``IMPORT_MAX_ROWS``; a damaged or cut-off file is an ``ImportFileError`` with
a reason, never an exception from the layers below (bench/import_limits.py).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import ExpatError

from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.packaging.relationship import get_rels_path
from openpyxl.reader.excel import ExcelReader, _find_workbook_part
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.xml.constants import ARC_CONTENT_TYPES, ARC_STYLE, SHARED_STRINGS, SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

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


def max_part_bytes() -> int:
    """The most one part of the zip (a sheet, the shared strings) may unpack to."""
    return int(getattr(settings, "IMPORT_MAX_PART_BYTES", 128 * 1024 * 1024))


def max_rows() -> int:
    return int(getattr(settings, "IMPORT_MAX_ROWS", 50_000))


def max_shared_string_tags() -> int:
    """Tags in the shared strings, which openpyxl reads whole into a list (~25 µs and
    ~90 bytes a string): room for 20 columns of text in every row, 4 tags a string."""
    return (max_rows() + 1) * 80


MAX_PARTS = 1000  # a workbook of a few sheets has a dozen parts; Excel's own stay far below
# Tags in any other part openpyxl reads whole into objects (the manifest, the workbook
# and its relations, the styles): Excel itself stops at 64,000 cell formats, and each
# costs openpyxl ~30 µs and ~730 bytes (200,000 tags: at most ~6 s and ~150 MB).
MAX_WHOLE_PART_TAGS = 200_000
READ_CHUNK = 256 * 1024
# What openpyxl and the zip and XML layers under it raise on a file that is damaged,
# cut off or not what it says it is: each means "this file cannot be read", never a 500.
UNREADABLE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ParseError,
    ExpatError,
    InvalidFileException,
    KeyError,
    IndexError,
    ValueError,  # also defusedxml's refusals and openpyxl's bad cell references
    TypeError,
)
_XML_PROLOGUE = re.compile(rb"\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*)*", re.S)
_XML_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")


def not_readable() -> ImportFileError:
    return ImportFileError(_("The file is not a readable .xlsx workbook."))


def damaged() -> ImportFileError:
    return ImportFileError(
        _(
            "The workbook is damaged: part of it is cut off or corrupted. Open it in your "
            "spreadsheet program, save it again and upload the new copy."
        )
    )


def too_large_unpacked() -> ImportFileError:
    return ImportFileError(_("The workbook unpacks to an implausible size."))


def check_workbook(data: bytes) -> dict[str, int]:
    """Refuse, quickly and with a reason, a file that is not a whole, plausible .xlsx;
    return the number of tags (``<``) in each of its parts.

    Runs where the upload arrives, before anything is queued: the size limits, the zip's
    directory (at most ``max_part_bytes`` per part, twice that in all), then every part
    read through with a cap — a part whose directory understates its size fails its
    checksum at the cap instead of unpacking without end — and every XML part must
    close the element it opens (a sheet cut off in the middle is refused here). Only
    zlib works on the data, outside the interpreter lock; nothing is parsed.
    """
    limit = max_import_bytes()
    if len(data) > limit:
        raise ImportFileError(_("The file is larger than %(mb)s MB.") % {"mb": limit // 2**20})
    if not data:
        raise ImportFileError(_("The file is empty."))
    if not data.startswith(b"PK\x03\x04"):
        raise ImportFileError(_("The file is not an .xlsx workbook."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
            part_limit = max_part_bytes()
            if (
                len(parts) > MAX_PARTS
                or any(info.file_size > part_limit for info in parts)
                or sum(info.file_size for info in parts) > 2 * part_limit
            ):
                raise too_large_unpacked()
            return {info.filename: _check_part(archive, info, part_limit) for info in parts}
    except ImportFileError:
        raise
    except (zlib.error, EOFError) as exc:  # a part's data is corrupt or stops short
        raise damaged() from exc
    except zipfile.BadZipFile as exc:
        if "CRC" in str(exc):  # a part is not what the directory says it is
            raise damaged() from exc
        raise not_readable() from exc
    except UNREADABLE as exc:
        raise not_readable() from exc


def _check_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> int:
    """Read one part through (at most ``limit`` bytes); an XML part must be whole.
    Returns the part's tags."""
    head, tail, size, tags = b"", b"", 0, 0
    with archive.open(info) as part:
        while chunk := part.read(READ_CHUNK):
            size += len(chunk)
            if size > limit:
                raise too_large_unpacked()
            tags += chunk.count(b"<")
            if len(head) < 4096:
                head += chunk[: 4096 - len(head)]
            tail = chunk[-4096:] if len(chunk) >= 4096 else (tail + chunk)[-4096:]
    if info.filename.endswith((".xml", ".rels")) and not _closes_its_root(head, tail):
        raise damaged()
    return tags


def _closes_its_root(head: bytes, tail: bytes) -> bool:
    """Does an XML part end by closing the element it starts with (or is that element
    empty, ``<x/>``)? A DOCTYPE — never in a workbook, the way in for entity tricks —
    counts as unreadable. Parts in UTF-16 (allowed, rare) are left to the reader."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    head = head.removeprefix(b"\xef\xbb\xbf")
    prologue = _XML_PROLOGUE.match(head)
    rest = head[prologue.end() if prologue else 0 :]
    if rest.startswith(b"<!"):
        raise not_readable()
    root = _XML_ROOT.match(rest)
    if root is None:
        return False
    end = tail.rstrip()
    if end.endswith(b"</" + root.group(1) + b">"):
        return True
    return end.endswith(b"/>") and re.fullmatch(rb"<[^<>]*/>\s*", rest) is not None


def open_workbook(source: BinaryIO | bytes, *, size: int | None = None):
    """Open an uploaded .xlsx read-only, refusing oversize files and zip bombs."""
    data = source if isinstance(source, bytes) else source.read(max_import_bytes() + 1)
    limit = max_import_bytes()
    if size is not None and size > limit:
        raise ImportFileError(_("The file is larger than %(mb)s MB.") % {"mb": limit // 2**20})
    tags = check_workbook(data)
    try:
        reader = _ImportReader(data, tags)
        reader.read()
    except ImportFileError:
        raise
    except UNREADABLE as exc:
        raise damaged() from exc
    return reader.wb


class _HeadSizedSheet(ReadOnlyWorksheet):
    """A read-only worksheet that takes its size from the ``<dimension>`` at the head of
    its XML, or has none. openpyxl's own, lacking one, parses the whole sheet to find
    that out when the workbook opens — 30,000,000 empty rows took minutes and GBs."""

    def _get_size(self) -> None:
        with self._get_source() as source:
            for _event, element in iterparse(source, events=("start",)):
                if element.tag == f"{{{SHEET_MAIN_NS}}}dimension":
                    bounds = SheetDimension.from_tree(element).boundaries
                    self._min_column, self._min_row, self._max_column, self._max_row = bounds
                    return
                if element.tag == f"{{{SHEET_MAIN_NS}}}sheetData":
                    return


class _ImportReader(ExcelReader):
    """openpyxl's read-only workbook reader, cut to what an import reads, with a bound
    on every part it reads whole (``check_workbook`` counted their tags): the shared
    strings ``max_shared_string_tags``, the manifest, the workbook, its relations and
    the styles ``MAX_WHOLE_PART_TAGS`` each — a few kilobytes of any of them can unpack
    into millions of objects. Worksheets are streamed (``_HeadSizedSheet``, and the
    row limit in ``read_rows``); chart sheets, properties and the theme are not read."""

    def __init__(self, data: bytes, tags: dict[str, int]) -> None:
        super().__init__(io.BytesIO(data), read_only=True, data_only=True)
        self.tags = tags

    def _bound(self, name: str, limit: int = MAX_WHOLE_PART_TAGS) -> None:
        if self.tags.get(name, 0) > limit:
            raise too_large_unpacked()

    def read(self) -> None:
        self._bound(ARC_CONTENT_TYPES)
        self.read_manifest()
        strings = self.package.find(SHARED_STRINGS)
        if strings is not None:
            self._bound(strings.PartName[1:], max_shared_string_tags())
        self.read_strings()
        workbook = _find_workbook_part(self.package).PartName[1:]
        self._bound(workbook)
        self._bound(get_rels_path(workbook))
        self.read_workbook()
        self._bound(ARC_STYLE)
        apply_stylesheet(self.archive, self.wb)
        self.read_worksheets()
        self.parser.assign_names()

    def read_worksheets(self) -> None:
        for sheet, rel in self.parser.find_sheets():
            if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                worksheet = _HeadSizedSheet(self.wb, sheet.name, rel.target, self.shared_strings)
                worksheet.sheet_state = sheet.state
                self.wb._sheets.append(worksheet)


def _sheet_rows(sheet: Any, **bounds: int) -> Iterator[tuple[Any, ...]]:
    """``sheet.iter_rows(values_only=True, **bounds)``, with a damaged sheet (XML cut off
    or malformed, a cell reference that is not one) an ``ImportFileError``."""
    rows = sheet.iter_rows(values_only=True, **bounds)
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except UNREADABLE as exc:
            raise damaged() from exc
        yield values


def read_rows(
    workbook,
    columns: Sequence[Column],
    *,
    limit: int | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Iterable[tuple[int, dict[str, Any]]]:
    """Yield (row number, {key: raw value}) after checking the header row.

    Every row read counts against ``limit`` (default ``IMPORT_MAX_ROWS``), empty or
    not: a sheet of millions of empty rows, or one row numbered 30,000,000 (the reader
    fills the gap), is refused at the limit instead of read to its end. The sheet's
    ``<dimension>`` is not believed (it only sizes the progress shown), and no row is
    read wider than the header.
    """
    limit = max_rows() if limit is None else limit
    try:
        sheet = workbook.worksheets[0]
    except UNREADABLE as exc:
        raise damaged() from exc
    claimed = sheet.max_row if isinstance(sheet.max_row, int) else None
    expected = min(claimed - 1, limit) if claimed and claimed > 1 else None
    sheet.reset_dimensions()
    header = next(_sheet_rows(sheet, min_row=1, max_row=1), None)
    if header is None or not any(cell not in (None, "") for cell in header):
        raise ImportFileError(_("The file is empty: the first row must hold the column names."))
    by_name = {c.header: c for c in columns} | {c.key: c for c in columns}
    names = [str(h).strip() if h is not None else "" for h in header]
    while names and not names[-1]:
        names.pop()
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
    for read, values in enumerate(_sheet_rows(sheet, min_row=2, max_col=len(names)), start=1):
        if read > limit:
            raise ImportFileError(
                _(
                    "More than %(n)s rows (empty rows count too): split the file or delete "
                    "the empty rows."
                )
                % {"n": limit}
            )
        if progress:
            progress(read, expected)
        if values is None or all(v in (None, "") for v in values):
            continue
        yield read + 1, {k: v for k, v in zip(keys, values, strict=False) if k}


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


def bulk_upsert(
    model: type[Any],
    rows: Iterable[dict[str, Any]],
    *,
    existing: dict[Any, Any],
    key: Callable[[dict[str, Any]], Any],
    fields: Sequence[str],
    fill: Callable[[Any, dict[str, Any]], None] | None = None,
) -> tuple[list[Any], list[Any]]:
    """A registry's ``write``: each row onto the object ``existing`` holds under
    ``key(row)`` (a new one when none), then one bulk INSERT and one bulk UPDATE of
    ``fields`` per 500 — no save() per row, so no signal or audit entry per row (the
    import's own entry stands for them). ``fill(obj, row)`` sets more than the row's
    own fields. Returns (created, updated)."""
    created, updated = [], []
    for row in rows:
        obj = existing.get(key(row)) or model()
        for name, value in row.items():
            setattr(obj, name, value)
        if fill is not None:
            fill(obj, row)
        (updated if obj.pk else created).append(obj)
    model.objects.bulk_create(created, batch_size=500)
    model.objects.bulk_update(updated, list(fields), batch_size=500)
    return created, updated


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
    progress: Callable[[int, int | None], None] | None = None,
    finish: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Validate every row; write all of them, or none when any is bad (unless
    ``keep_good``: then the good rows are written and the bad ones reported).

    ``progress(rows read, rows expected or None)`` is called for every row read;
    ``finish(result)`` inside the transaction that writes the rows (or would have), so
    that whoever tracks or audits the import (``imports.services.import_workbook``)
    commits with it — or, by raising, undoes the write."""
    from django.db import transaction

    workbook = open_workbook(source)
    result = ImportResult()
    parsed: list[tuple[int, dict[str, Any]]] = []
    try:
        for number, raw in read_rows(workbook, registry.columns, progress=progress):
            result.rows += 1
            row = parse_row(number, raw, registry.columns, result.errors)
            if row is not None:
                parsed.append((number, row))
    finally:
        workbook.close()
    if result.rows == 0:
        raise ImportFileError(_("The file has a header but no rows."))
    good = registry.check(parsed, user, result.errors)
    result.errors.sort(key=lambda e: (e.row, e.column))
    with transaction.atomic():
        if not (result.errors and not keep_good):
            result.created, result.updated = registry.write([row for _, row in good], user)
        if finish is not None:
            finish(result)
    return result


def export_bytes(registry: Registry, queryset: Any, *, reveal: bool = False) -> bytes:
    """The rows of ``queryset`` (already scoped and filtered by the caller); personal
    data masked unless ``reveal`` (the caller checks the role and audits)."""
    return workbook_bytes(
        registry.title,
        registry.columns,
        (registry.export_row(obj, reveal) for obj in queryset.iterator(2000)),
    )
