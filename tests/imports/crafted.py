"""Hand-made .xlsx files: the XML is written into the zip directly, so a workbook of
millions of rows stays a few kilobytes and takes well under a second to build.

A real spreadsheet program never writes these; an attacker, a broken exporter or a
file cut off in transit does.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" '
    b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b"</Types>"
)
ROOT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="xl/workbook.xml"/>'
    b"</Relationships>"
)
WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    b"</Relationships>"
)
SHEET_OPEN = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
SHEET_PART = "xl/worksheets/sheet1.xml"


def row_xml(number: int, values: Sequence[object]) -> bytes:
    """One ``<row>`` of inline strings and numbers."""
    cells = []
    for column, value in enumerate(values, start=1):
        ref = f"{get_column_letter(column)}{number}"
        if isinstance(value, int | float) and not isinstance(value, bool):
            cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        elif value is not None:
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'.encode()


def workbook(
    sheet_chunks: Iterable[bytes],
    *,
    shared_strings: Iterable[bytes] | None = None,
    styles: Iterable[bytes] | None = None,
) -> bytes:
    """A minimal .xlsx whose first sheet is ``sheet_chunks`` joined (written as it comes,
    never held whole), with shared strings and styles parts when given."""
    content_types, workbook_rels = CONTENT_TYPES, WORKBOOK_RELS
    parts: list[tuple[str, Iterable[bytes]]] = []
    for name, chunks, kind in (
        ("sharedStrings.xml", shared_strings, "sharedStrings"),
        ("styles.xml", styles, "styles"),
    ):
        if chunks is None:
            continue
        content_types = content_types.replace(
            b"</Types>",
            f'<Override PartName="/xl/{name}" ContentType="application/'
            f'vnd.openxmlformats-officedocument.spreadsheetml.{kind}+xml"/></Types>'.encode(),
        )
        workbook_rels = workbook_rels.replace(
            b"</Relationships>",
            f'<Relationship Id="rId{len(parts) + 2}" Type="http://schemas.openxmlformats.org/'
            f'officeDocument/2006/relationships/{kind}" Target="{name}"/>'
            "</Relationships>".encode(),
        )
        parts.append((f"xl/{name}", chunks))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        for name, chunks in (*parts, (SHEET_PART, sheet_chunks)):
            with archive.open(name, "w") as part:
                for chunk in chunks:
                    part.write(chunk)
    return out.getvalue()


def repeated(opening: bytes, element: bytes, count: int, closing: bytes) -> Iterable[bytes]:
    """An XML part of ``count`` copies of ``element`` (a few KB zipped for millions)."""
    yield opening
    for start in range(0, count, 100_000):
        yield element * min(100_000, count - start)
    yield closing


def sheet(
    header: Sequence[object],
    rows: Sequence[Sequence[object]] = (),
    *,
    empty_rows: int = 0,
    dimension: str | None = None,
    close: bool = True,
) -> Iterable[bytes]:
    """The chunks of a sheet: header, ``rows``, then ``empty_rows`` bare ``<row/>``
    elements (each one a row to a reader: it numbers them one after another)."""
    yield SHEET_OPEN
    if dimension:
        yield f'<dimension ref="{dimension}"/>'.encode()
    yield b"<sheetData>"
    yield row_xml(1, header)
    for number, values in enumerate(rows, start=2):
        yield row_xml(number, values)
    chunk = 100_000
    for start in range(0, empty_rows, chunk):
        yield b"<row/>" * min(chunk, empty_rows - start)
    if close:
        yield b"</sheetData></worksheet>"


def empty_rows_workbook(header: Sequence[object], empty_rows: int, rows=()) -> bytes:
    """A workbook with a header, ``rows`` and then ``empty_rows`` empty rows."""
    return workbook(sheet(header, rows, empty_rows=empty_rows))


def cut_off_workbook(header: Sequence[object], rows: Sequence[Sequence[object]]) -> bytes:
    """A sound zip whose sheet XML stops in the middle of a row, as a file written by a
    program that died does."""
    whole = b"".join(sheet(header, rows))
    return workbook([whole[: len(whole) - 40]])


def understated_workbook(header: Sequence[object], empty_rows: int) -> bytes:
    """A zip bomb that lies: the directory says the sheet unpacks to 1 KB."""
    data = bytearray(empty_rows_workbook(header, empty_rows))
    name = SHEET_PART.encode()
    at = data.find(b"PK\x01\x02")
    while at != -1:
        (name_length,) = struct.unpack_from("<H", data, at + 28)
        if bytes(data[at + 46 : at + 46 + name_length]) == name:
            struct.pack_into("<I", data, at + 24, 1024)  # uncompressed size
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)
