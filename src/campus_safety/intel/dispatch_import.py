"""110 dispatch exports (接处警数据) in, as incidents.

Each 110 centre exports its own columns, so every source keeps its mapping: which of
its column headers holds the call number, the time, the position, the category… and
how its categories translate into incident kinds. A file is a CSV (UTF-8 or GB18030,
the Chinese Excel default) or an .xlsx read under the platform's spreadsheet limits.
Rows are checked one by one: a good row becomes an incident (source 110, its call
number as ``source_ref``), a bad one is reported with its row, column and reason, and
a call number already imported — in an earlier file or earlier in this one — is
skipped, so a corrected file can simply be imported again."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campus_safety import clock, spreadsheets
from campus_safety.audit import services as audit
from campus_safety.intel import datums, services
from campus_safety.intel.geo import SchoolPoints
from campus_safety.intel.models import DispatchSource, Incident, IncidentKind
from campus_safety.spreadsheets import ImportFileError, RowError

# The fields a mapping fills: (key, label, required).
FIELDS = (
    ("call_number", gettext_lazy("Call number"), True),
    ("received_at", gettext_lazy("Time of the call"), True),
    ("latitude", gettext_lazy("Latitude"), True),
    ("longitude", gettext_lazy("Longitude"), True),
    ("category", gettext_lazy("Category"), False),
    ("address", gettext_lazy("Address"), False),
    ("summary", gettext_lazy("Summary"), False),
    ("outcome", gettext_lazy("Outcome"), False),
)
REQUIRED = [key for key, _label, required in FIELDS if required]

# Words in a 110 category that name the kind, when the source's own table has no entry.
KIND_WORDS = (
    ("抢劫", IncidentKind.ROBBERY), ("抢夺", IncidentKind.ROBBERY),
    ("敲诈", IncidentKind.ROBBERY), ("勒索", IncidentKind.ROBBERY),
    ("盗窃", IncidentKind.THEFT), ("偷", IncidentKind.THEFT),
    ("诈骗", IncidentKind.FRAUD),
    ("殴打", IncidentKind.ASSAULT), ("伤害", IncidentKind.ASSAULT),
    ("斗殴", IncidentKind.ASSAULT), ("打架", IncidentKind.ASSAULT),
    ("猥亵", IncidentKind.HARASSMENT), ("骚扰", IncidentKind.HARASSMENT),
    ("欺凌", IncidentKind.BULLYING),
    ("闯入", IncidentKind.INTRUSION), ("翻墙", IncidentKind.INTRUSION),
    ("交通", IncidentKind.TRAFFIC), ("精神", IncidentKind.MENTAL),
)  # fmt: skip
TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%Y%m%d%H%M%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H时%M分",
)  # fmt: skip


@dataclass
class DispatchResult:
    rows: int = 0
    created: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)


def kind_of(category: str, kind_map: dict[str, str]) -> str:
    """The incident kind for a 110 category: the source's table, else its words."""
    category = (category or "").strip()
    if category in kind_map and kind_map[category] in IncidentKind.values:
        return kind_map[category]
    return kind_in_words(category) or IncidentKind.OTHER


def kind_in_words(text: str) -> str | None:
    """The incident kind a Chinese text names (盗窃 → theft…), or None."""
    for word, kind in KIND_WORDS:
        if word in (text or ""):
            return kind
    return None


def parse_time(value: Any) -> dt.datetime:
    """A call's time: a spreadsheet date, or text in the usual export formats (local)."""
    if isinstance(value, dt.datetime):
        when = value
    else:
        text = str(value).strip()
        for fmt in TIME_FORMATS:
            try:
                when = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(_("not a date and time (e.g. 2026-05-01 14:30:00)"))
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    return when


def parse_coordinate(value: Any, low: float, high: float) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError(_("not a number")) from None
    if not low <= number <= high:
        raise ValueError(_("out of range"))
    return number


def read_table(name: str, data: bytes) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """Header and (row number, values) of a CSV or .xlsx, bounded by IMPORT_MAX_ROWS."""
    limit = spreadsheets.max_rows()
    if len(data) > spreadsheets.max_import_bytes():
        raise ImportFileError(
            _("The file is larger than %(mb)s MB.") % {"mb": spreadsheets.max_import_bytes() >> 20}
        )
    if name.lower().endswith(".xlsx"):
        book = spreadsheets.open_workbook(data)
        try:
            rows = book.worksheets[0].iter_rows(values_only=True)
            table = []
            for values in rows:
                table.append(list(values))
                if len(table) > limit + 1:
                    break
        except spreadsheets.UNREADABLE as exc:
            raise spreadsheets.damaged() from exc
    elif name.lower().endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes any byte string
            raise ImportFileError(_("The file is not readable text."))
        try:
            table = []
            for values in csv.reader(io.StringIO(text)):
                table.append(values)
                if len(table) > limit + 1:
                    break
        except csv.Error as exc:
            raise ImportFileError(_("The CSV file is damaged: %(e)s") % {"e": exc}) from exc
    else:
        raise ImportFileError(_("Upload a .csv or .xlsx file."))
    if len(table) > limit + 1:
        raise ImportFileError(_("More than %(n)s rows: split the file.") % {"n": limit})
    if not table or not any(v not in (None, "") for v in table[0]):
        raise ImportFileError(_("The file is empty: the first row must hold the column names."))
    header = [str(v).strip() if v is not None else "" for v in table[0]]
    body = [
        (number, row)
        for number, row in enumerate(table[1:], start=2)
        if any(v not in (None, "") for v in row)
    ]
    return header, body


def check_mapping(column_map: dict[str, str], header: list[str] | None = None) -> None:
    """Every required field mapped, and (with a file's header) every mapped column there."""
    missing = [str(label) for key, label, req in FIELDS if req and not column_map.get(key)]
    if missing:
        raise ImportFileError(_("Map these fields to a column: %s") % "、".join(missing))
    if header is not None:
        absent = sorted({h for h in column_map.values() if h and h not in header})
        if absent:
            raise ImportFileError(_("The file has no column %s") % "、".join(absent))


def import_dispatch(source: DispatchSource, name: str, data: bytes, *, user: Any) -> DispatchResult:
    """Import one export with the source's saved mapping, row by row (see the module)."""
    header, body = read_table(name, data)
    check_mapping(source.column_map, header)
    index = {key: header.index(col) for key, col in source.column_map.items() if col in header}
    labels = {key: source.column_map[key] for key in index}
    points = SchoolPoints.load()
    result = DispatchResult(rows=len(body))
    seen: set[str] = set()
    already = set(
        Incident.objects.filter(source=Incident.Source.DISPATCH).values_list(
            "source_ref", flat=True
        )
    )

    def cell(row: list[Any], key: str) -> Any:
        i = index.get(key)
        value = row[i] if i is not None and i < len(row) else None
        return value.strip() if isinstance(value, str) else value

    for number, row in body:
        errors: list[RowError] = []
        values: dict[str, Any] = {}
        for key, parse in (
            ("call_number", lambda v: str(v).strip()[:64]),
            ("received_at", parse_time),
            ("latitude", lambda v: parse_coordinate(v, -90, 90)),
            ("longitude", lambda v: parse_coordinate(v, -180, 180)),
        ):
            raw = cell(row, key)
            if raw in (None, ""):
                errors.append(RowError(number, labels[key], _("a value is required")))
                continue
            try:
                values[key] = parse(raw)
            except ValueError as exc:
                errors.append(RowError(number, labels[key], str(exc)))
        if errors:
            result.errors += errors
            continue
        if source.coordinate_system != datums.WGS84:
            values["latitude"], values["longitude"] = datums.to_wgs84(
                values["latitude"], values["longitude"], source.coordinate_system
            )
        call = values["call_number"]
        if call in already or call in seen:
            result.duplicates += 1
            continue
        try:
            services.check_place(user, values["latitude"], values["longitude"], points)
        except ValidationError as exc:
            result.errors.append(RowError(number, labels["latitude"], " ".join(exc.messages)))
            continue
        try:
            with transaction.atomic():
                services.record_incident(
                    kind=kind_of(str(cell(row, "category") or ""), source.kind_map),
                    occurred_at=values["received_at"],
                    latitude=values["latitude"],
                    longitude=values["longitude"],
                    address=str(cell(row, "address") or ""),
                    summary=str(cell(row, "summary") or ""),
                    source=Incident.Source.DISPATCH,
                    source_ref=call,
                    user=user,
                    points=points,
                    outcome=str(cell(row, "outcome") or ""),
                    audit_it=False,
                )
        except IntegrityError:  # imported meanwhile by another upload
            result.duplicates += 1
            continue
        seen.add(call)
        result.created += 1
    audit.record(
        "intel.dispatch.import",
        source,
        user=user,
        detail={
            "file": name[:120],
            "rows": result.rows,
            "created": result.created,
            "duplicates": result.duplicates,
            "errors": len(result.errors),
            "coordinates": source.coordinate_system,
        },
    )
    return result


def save_mapping_and_import(
    *,
    user: Any,
    source: DispatchSource | None,
    new_source: str,
    column_map: dict[str, str],
    kind_map: dict[str, str],
    coordinate_system: str,
    name: str,
    content: bytes,
) -> tuple[DispatchSource, DispatchResult]:
    """The page's and the API's import: the file's header must hold every mapped column
    (else ``ImportFileError`` and nothing is saved); then the source's mapping, category
    table and coordinate system are saved and the rows imported with them."""
    header, _body = read_table(name, content)
    check_mapping(column_map, header)
    if coordinate_system not in datums.SYSTEMS:
        raise ImportFileError(_("Unknown coordinate system."))
    if source is None:
        source, _made = DispatchSource.objects.get_or_create(
            name=new_source.strip()[:80],
            defaults={"updated_at": clock.now(), "updated_by": user},
        )
    source.column_map = column_map
    source.kind_map = kind_map
    source.coordinate_system = coordinate_system
    source.updated_at, source.updated_by = clock.now(), user
    source.save()
    return source, import_dispatch(source, name, content, user=user)
